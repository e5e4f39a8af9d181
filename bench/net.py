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


def start_gunicorn(
    target: str,
    root: Path,
    *,
    workers: int = 2,
    threads: int = 1,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """Serve ``target`` with gunicorn on a spare loopback port (``BENCH_ROOT`` = ``root``);
    returns the process and the port once it accepts connections. The repository's
    gunicorn.conf.py is not read (``-c /dev/null``): the benchmark sets what it measures."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "-c", "/dev/null", "-w", str(workers),
        "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--timeout", "30",
        "--log-level", "warning", target,
    ]  # fmt: skip
    errors = log.open("w") if log else subprocess.DEVNULL  # owned by the child
    server = subprocess.Popen(
        command,
        env={**os.environ, "BENCH_ROOT": str(root), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    wait_port(port)
    return server, port


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
