"""Throwaway MariaDB and Redis servers on spare loopback ports, to stop and start at will
without touching the machine's own services."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..net import free_port, wait_port


class Redis:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        wait_port(self.port, up=False)


class MariaDB:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.datadir = root / "mariadb"
        self.socket = root / "mariadb.sock"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "mariadb.log"

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/drills"

    def install(self) -> None:
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "/usr/sbin/mariadbd",
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                "--skip-grant-tables",
                "--skip-name-resolve",
                f"--log-error={self.log}",
                "--innodb-buffer-pool-size=128M",
                "--max-connections=300",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, timeout=60)

    def create_database(self) -> None:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
        with conn.cursor() as cursor:
            cursor.execute("CREATE DATABASE IF NOT EXISTS drills CHARACTER SET utf8mb4")
        conn.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        wait_port(self.port, up=False)
