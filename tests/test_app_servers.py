"""Several app servers: each its own process, working directory and instance folder,
sharing the database and the tenants folder (a shared volume). A change an operator
makes anywhere — a setting in tenant.toml, a template override — reaches every worker
of every server within the registry poll interval, without a restart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

POLL = 0.5  # REGISTRY_POLL_SECONDS of the servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, folder: Path, config: dict, port: int) -> None:
        folder.mkdir(parents=True)
        settings = {**config, "INSTANCE_PATH": str(folder / "instance"),
                    "REGISTRY_POLL_SECONDS": POLL, "TESTING": False}  # fmt: skip
        (folder / "config.json").write_text(json.dumps(settings, default=str))
        root = Path(__file__).resolve().parent.parent
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.serve", str(folder / "config.json"), str(port)],
            cwd=folder,  # a working directory of its own
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the app server did not start")

    def page(self, path: str = "/") -> str:
        answer = httpx.get(f"http://127.0.0.1:{self.port}{path}", headers={"Host": "acme.test"})
        assert answer.status_code == 200, answer.status_code
        return answer.text

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def servers(app_config, tmp_path, make_shop, product):
    make_shop("acme", settings='name = "Acme"\n')
    running = [Server(tmp_path / name, app_config, _free_port()) for name in ("a", "b")]
    yield running
    for server in running:
        server.stop()


def _everywhere(servers, seen, path: str = "/", seconds: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if all(seen(server.page(path)) for server in servers):
            return time.monotonic() - started
        time.sleep(0.05)
    shown = [seen(server.page(path)) for server in servers]
    raise AssertionError(f"the change did not reach every server: {shown}")


def test_an_operators_change_reaches_every_app_server(app, servers, runner):
    assert all("Acme" in server.page() for server in servers)
    assert len({server.process.pid for server in servers}) == 2

    assert runner.invoke(["config", "set", "acme", "name", "Acme Anvils"]).exit_code == 0
    took = _everywhere(servers, lambda html: "Acme Anvils" in html)  # a setting
    assert took < POLL + 2.0  # the next poll of each server, not a restart

    made = runner.invoke(["theme", "override", "acme", "index.html"])
    assert made.exit_code == 0, made.output
    override = Path(app.config["TENANTS_DIR"]) / "acme" / "templates" / "index.html"
    text = override.read_text().replace(
        "{% block page_content %}", "{% block page_content %}<p>marker-42</p>", 1
    )
    override.write_text(text)
    assert runner.invoke(["cache", "clear", "acme"]).exit_code == 0
    _everywhere(servers, lambda html: "marker-42" in html)
