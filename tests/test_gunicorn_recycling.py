"""gunicorn.conf.py recycles workers by memory, not by request count: no restart every
couple of thousand requests (each would start with cold caches), and a worker over
``GUNICORN_MAX_WORKER_MEMORY_MB`` finishes its request and exits (docs/deploy.md)."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "gunicorn.conf.py"
VARIABLES = ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_WORKER_MEMORY_MB",
             "GUNICORN_MEMORY_CHECK_EVERY", "GUNICORN_ACCESSLOG",
             "STOREFRONT_ACCESS_LOG")  # fmt: skip


def _conf(monkeypatch, **env: str) -> dict:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Loading it names (and makes) a metrics folder in os.environ: a fresh one of this
    # test's, which monkeypatch forgets afterwards (left set, every later test's /_metrics
    # in this process would read that empty folder in multiprocess mode).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="gunicorn-conf-"))
    return runpy.run_path(str(CONF))


def _worker() -> SimpleNamespace:
    lines: list[str] = []
    log = SimpleNamespace(info=lambda message, *args: lines.append(message % args))
    return SimpleNamespace(alive=True, pid=4242, log=log, lines=lines)


def test_no_recycling_by_request_count_unless_asked(monkeypatch):
    conf = _conf(monkeypatch)
    assert conf["max_requests"] == 0  # gunicorn: 0 = never
    assert conf["MAX_WORKER_MEMORY_MB"] == 512
    asked = _conf(monkeypatch, GUNICORN_MAX_REQUESTS="100000")
    assert (asked["max_requests"], asked["max_requests_jitter"]) == (100000, 10000)


def test_a_worker_over_the_memory_limit_finishes_and_exits(monkeypatch):
    conf = _conf(monkeypatch, GUNICORN_MAX_WORKER_MEMORY_MB="300")
    recycle = conf["recycle_if_over"]
    worker = _worker()
    assert recycle(worker, lambda: 299.5) is False
    assert recycle(worker, lambda: 300.0) is False
    assert worker.alive is True and worker.lines == []
    assert recycle(worker, lambda: 301.0) is True
    assert worker.alive is False  # what max_requests sets: the request ends, then the exit
    assert worker.lines == ["worker 4242 holds 301 MiB (limit 300): recycled"]
    assert recycle(worker, lambda: 900.0) is False  # already leaving: said once
    assert recycle(_worker(), lambda: 10**6, limit_mb=0) is False  # 0: never


def test_the_hook_reads_memory_every_hundredth_request_only(monkeypatch):
    conf = _conf(monkeypatch, GUNICORN_MAX_WORKER_MEMORY_MB="300")
    hook = conf["post_request"]
    reads: list[int] = []

    def fake_rss() -> float:
        reads.append(1)
        return 400.0

    monkeypatch.setitem(hook.__globals__, "worker_rss_mb", fake_rss)
    worker = _worker()
    for _ in range(99):
        hook(worker, None, {}, None)
    assert reads == [] and worker.alive is True
    hook(worker, None, {}, None)
    assert reads == [1] and worker.alive is False


def test_the_hook_never_reads_memory_without_a_limit(monkeypatch):
    conf = _conf(monkeypatch, GUNICORN_MAX_WORKER_MEMORY_MB="0", GUNICORN_MEMORY_CHECK_EVERY="1")
    hook = conf["post_request"]
    monkeypatch.setitem(hook.__globals__, "worker_rss_mb", lambda: pytest.fail("read"))
    worker = _worker()
    hook(worker, None, {}, None)
    assert worker.alive is True


def test_this_process_resident_memory_is_read(monkeypatch):
    rss = _conf(monkeypatch)["worker_rss_mb"]()
    assert 5 < rss < 100_000  # MiB: a Python process with pytest loaded


def test_gunicorn_accepts_the_hook(monkeypatch):
    from gunicorn.config import Config

    conf = _conf(monkeypatch)  # loading it sets PROMETHEUS_MULTIPROC_DIR: restored after
    config = Config()
    config.set("post_request", conf["post_request"])  # gunicorn checks the hook's arity
    config.set("max_requests", conf["max_requests"])
    assert config.max_requests == 0


APP = """
import os

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"""


def _pids(tmp_path: Path, requests: int, **env: str) -> list[str]:
    """One worker under gunicorn.conf.py answering its pid ``requests`` times."""
    (tmp_path / "pid_app.py").write_text(APP)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "-w", "1", "-b",
         f"127.0.0.1:{port}", "--chdir", str(tmp_path), "pid_app:application"],
        env={**environment, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        pids = []
        with httpx.Client(timeout=10) as client:
            while len(pids) < requests:
                try:
                    pids.append(client.get(f"http://127.0.0.1:{port}/").text)
                except httpx.TransportError:  # starting, or between two workers
                    if server.poll() is not None:
                        raise
                    time.sleep(0.05)
        return pids
    finally:
        server.terminate()
        server.wait(20)


def test_gunicorn_recycles_a_worker_over_the_limit_and_keeps_one_under_it(tmp_path):
    over = _pids(tmp_path, 4, GUNICORN_MAX_WORKER_MEMORY_MB="1", GUNICORN_MEMORY_CHECK_EVERY="1")
    assert len(set(over)) == 4  # every request, a fresh worker
    under = _pids(tmp_path, 30)
    assert len(set(under)) == 1  # no recycling by count, far under the memory limit


def test_one_access_line_the_apps_unless_it_is_off(monkeypatch):
    assert _conf(monkeypatch)["accesslog"] is None  # the app writes its own line
    assert _conf(monkeypatch, STOREFRONT_ACCESS_LOG="true")["accesslog"] is None
    for off in ("false", "0"):  # what the app's config reads as off (JSON)
        assert _conf(monkeypatch, STOREFRONT_ACCESS_LOG=off)["accesslog"] == "-"
    assert _conf(monkeypatch, GUNICORN_ACCESSLOG="/var/log/a.log")["accesslog"] == "/var/log/a.log"
    both_off = _conf(monkeypatch, STOREFRONT_ACCESS_LOG="false", GUNICORN_ACCESSLOG="")
    assert both_off["accesslog"] is None


def test_the_cheap_access_line_is_gunicorns_line(tmp_path, monkeypatch):
    """gunicorn.conf.py's logger writes the shipped format's line itself (cheaper):
    the same line gunicorn's own logger writes; another format is gunicorn's."""
    import datetime
    import itertools

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = _conf(monkeypatch)
    response = SimpleNamespace(status="200 OK", sent=2708, headers=[("ETag", '"x"')])
    request = SimpleNamespace(headers=[("HOST", "acme.test"), ("USER-AGENT", 'curl/8 %s "x"')])
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/p/anvil?q=%20", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": 'curl/8 %s "x"',
               "storefront.shop": "acme", "storefront.request_id": "4f0c"}  # fmt: skip
    took = datetime.timedelta(seconds=1, microseconds=12_345)
    files = itertools.count()

    def line(logger_class, environ: dict, fmt: str = conf["access_log_format"]) -> str:
        config = Config()
        path = tmp_path / f"{next(files)}.log"
        config.set("accesslog", str(path))
        config.set("access_log_format", fmt)
        logger = logger_class(config)
        logger.access(response, request, environ, took)
        for handler in [*logger.access_log.handlers, *logger.error_log.handlers]:
            handler.close()
        return path.read_text()

    cheap = conf["logger_class"]
    assert line(cheap, environ) == line(Logger, environ)
    assert line(cheap, environ) == (
        '10.0.0.7 "GET /p/anvil?q=%20 HTTP/1.1" 200 2708 1012ms shop=acme rid=4f0c '
        '"curl/8 %s \\"x\\""\n'
    )
    bare = {k: v for k, v in environ.items() if not k.startswith(("storefront.", "HTTP_"))}
    assert line(cheap, bare) == line(Logger, bare)  # "-" where a value is missing
    other = "%(h)s %(s)s %({etag}o)s"
    assert line(cheap, environ, other) == line(Logger, environ, other) == '10.0.0.7 200 \\"x\\"\n'
