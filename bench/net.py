"""Loopback helpers shared by the benchmarks and the drills."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, up: bool = True, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not come {'up' if up else 'down'} in {timeout}s")


SHIPPED_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def gunicorn_command(
    target: str, port: int, workers: int, *, threads: int = 1, shipped: bool = False
) -> list[str]:
    """gunicorn with bare settings (``-c /dev/null``: the benchmark sets what it measures)
    or, ``shipped``, with the repository's gunicorn.conf.py as operators run it (its
    recycling, access log, preload and hooks) and only the workers and port given."""
    bind = ["-w", str(workers), "-b", f"127.0.0.1:{port}"]
    if shipped:
        return [sys.executable, "-m", "gunicorn", "-c", str(SHIPPED_CONF), *bind, target]
    return [sys.executable, "-m", "gunicorn", "-c", "/dev/null", *bind,
            "--threads", str(threads), "--timeout", "30", "--log-level", "warning",
            target]  # fmt: skip


def start_gunicorn(
    target: str,
    root: Path,
    *,
    workers: int = 2,
    threads: int = 1,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    shipped: bool = False,
) -> tuple[subprocess.Popen[bytes], int]:
    """Serve ``target`` with gunicorn on a spare loopback port (``BENCH_ROOT`` = ``root``);
    returns the process and the port once it accepts connections. Bare settings, or
    ``shipped``: gunicorn.conf.py, with the app's log level, every log line (the access
    lines included) written to ``log`` or a file in ``root``, as to a file or journald."""
    port = free_port()
    command = gunicorn_command(target, port, workers, threads=threads, shipped=shipped)
    if shipped:
        log = log or root / "gunicorn-shipped.log"
    output = log.open("a" if shipped else "w") if log else subprocess.DEVNULL  # the child's
    server = subprocess.Popen(
        command,
        env={
            **os.environ,
            "BENCH_ROOT": str(root),
            **(env or {}),
            **({"BENCH_SHIPPED": "1"} if shipped else {}),
        },  # fmt: skip
        stdout=output if shipped else subprocess.DEVNULL,
        stderr=output,
    )
    wait_port(port)
    return server, port


def wait_page(port: int, host: str, path: str, timeout: float = 60.0) -> None:
    """Until ``path`` at ``host`` answers 200: a worker has loaded the app (without a
    preload the port is open before any worker can answer)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class LoopbackSink:
    """A drill's stand-in for an outside service (an SMTP server, a webhook receiver) on
    a loopback port, served from daemon threads; it can be stopped (connections refused)
    and started again. Its handler finds it as ``self.server.sink``."""

    server_class: Any
    handler: Any

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: Any = None

    def start(self) -> None:
        self.server_class.allow_reuse_address = True
        self.server = self.server_class(("127.0.0.1", self.port), self.handler)
        self.server.sink = self
        self.server.daemon_threads = True
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
