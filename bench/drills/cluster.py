"""``make drills-cluster``: the platform beyond one machine, on loopback.

Three gunicorn app servers behind HAProxy; a 3-node MariaDB Galera cluster behind HAProxy
(one node takes the writes, the others are its backups, each health-checked); Redis with
a replica and three Sentinels (the app reaches it by a ``redis+sentinel://`` URL); 50
shops under concurrent shoppers while the drill

- kills an app server (SIGKILL) and brings it back,
- kills the Galera node HAProxy sends the writes to, then restarts it (it rejoins and
  catches up by IST or SST),
- restarts the S3-compatible object store that keeps the shops' pictures (moto's server;
  it keeps objects in memory, so it runs with its request recorder and replays that log
  when it comes back, the way a store with a disk comes back holding what it held),
- kills the Redis primary (the Sentinels promote the replica), then restarts it,

then runs the oversell drill (40 buyers, 10 units) and reconciles every acknowledged
order with the database, and the three nodes with each other. Every order's confirmation
mail (SMTP sink) and ``order.created`` webhook (a receiver checking signatures) must
arrive once. Meanwhile it scrapes each app server's ``/_metrics`` every few seconds
(``scrape.MetricsScraper``): a table shows, phase by phase, what the metrics said
(requests, 5xx, 429s, p95, outbox depth and age, jobs, mails, webhooks, failed scrapes)
next to what the shoppers saw. Prints a summary, writes
``bench/results/drills-cluster.json``, exits 1 if any check failed. Bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from ..net import free_port, wait_port
from ..platform_setup import build_app, migrate, provision, temp_root
from ..stats import percentile
from . import confirmed_order, s3_settings
from .__main__ import Drill, wind_down
from .hooks import WebhookSink
from .mail import start_worker, wait_drained
from .scrape import MetricsScraper, table
from .smtp import SmtpSink

GALERA = "/usr/lib/galera/libgalera_smm.so"
PACKAGES = {"galera-4": Path(GALERA), "haproxy": Path("/usr/sbin/haproxy"),
            "rsync": Path("/usr/bin/rsync")}  # fmt: skip
# Answers a fault may cost while it lasts (and a few seconds after): a proxy with no
# server (502/503), the app's own 503 for a lost database connection, a reset (599).
FAULT_STATUSES = {502, 503, 504, 599}


def ensure_packages() -> None:
    missing = [name for name, path in PACKAGES.items() if not path.exists()]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"drills-cluster needs Debian packages {' '.join(missing)} (apt-get install)")
    print(f"installing {' '.join(missing)} ...", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, capture_output=True)


def _until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


class Galera:
    """Three MariaDB nodes in one Galera cluster, each with its own ports and folder."""

    def __init__(self) -> None:
        # A folder of its own that the mysql user can reach: as root, the rsync daemon of
        # a state transfer runs as nobody and could not write the joiner's files.
        self.root = Path(tempfile.mkdtemp(prefix="storefront-galera-"))
        self.root.chmod(0o755)
        self.ports = [free_port() for _ in range(3)]
        self.gcomm = [free_port() for _ in range(3)]
        self.ist = [free_port() for _ in range(3)]
        self.sst = [free_port() for _ in range(3)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None, None, None]

    def _folder(self, i: int) -> Path:
        return self.root / f"n{i + 1}"

    def install(self) -> None:
        members = ",".join(f"127.0.0.1:{p}" for p in self.gcomm)
        for i in range(3):
            folder = self._folder(i)
            (folder / "data").mkdir(parents=True)
            (folder / "my.cnf").write_text(
                f"""[mysqld]
user=mysql
datadir={folder / "data"}
socket={folder / "mysqld.sock"}
port={self.ports[i]}
bind-address=127.0.0.1
pid-file={folder / "mysqld.pid"}
log-error={folder / "error.log"}
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=64M
innodb_flush_log_at_trx_commit=2
max_connections=300
skip-name-resolve
wsrep_on=ON
# Causal reads: a read waits until this node has applied what the cluster committed
# before it. Without it, a node HAProxy fails back to while it still applies writes
# certified elsewhere answers "no such row" for an order committed a moment ago.
wsrep_sync_wait=1
wsrep_provider={GALERA}
wsrep_cluster_name=storefront_drill
wsrep_cluster_address=gcomm://{members}
wsrep_node_address=127.0.0.1:{self.gcomm[i]}
wsrep_node_name=n{i + 1}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:{self.gcomm[i]};ist.recv_addr=127.0.0.1:{self.ist[i]};gcache.size=128M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{self.sst[i]}
"""
            )
            subprocess.run(
                ["mariadb-install-db", f"--defaults-file={folder / 'my.cnf'}", "--user=mysql",
                 "--auth-root-authentication-method=normal", "--skip-test-db"],
                check=True, capture_output=True,
            )  # fmt: skip

    def start(self, i: int, bootstrap: bool = False, recover: bool = False) -> None:
        subprocess.run(["chown", "-R", "mysql:mysql", str(self.root)], check=True)
        command = ["/usr/sbin/mariadbd", f"--defaults-file={self._folder(i) / 'my.cnf'}"]
        if bootstrap:
            command.append("--wsrep-new-cluster")
        position = self._recovered_position(i) if recover else None
        if position:  # what galera_recovery does under systemd: rejoin by IST if it can
            command.append(f"--wsrep-start-position={position}")
        self.processes[i] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _until(lambda: self.state(i) == "Synced", 180, f"Galera node n{i + 1} to sync")

    def _recovered_position(self, i: int) -> str | None:
        """The last transaction a killed node committed, read by ``--wsrep-recover``."""
        log = self._folder(i) / "recover.log"
        subprocess.run(
            ["/usr/sbin/mariadbd", f"--defaults-file={self._folder(i) / 'my.cnf'}",
             "--wsrep-recover", f"--log-error={log}"],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        found = re.search(r"Recovered position: (\S+)", log.read_text(errors="replace"))
        return found.group(1) if found else None

    def query(self, i: int, sql: str) -> list[tuple[Any, ...]]:
        import pymysql

        conn = pymysql.connect(
            unix_socket=str(self._folder(i) / "mysqld.sock"), user="root", connect_timeout=2
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def state(self, i: int) -> str:
        return str(self.query(i, "SHOW STATUS LIKE 'wsrep_local_state_comment'")[0][1])

    def size(self, i: int) -> int:
        return int(self.query(i, "SHOW STATUS LIKE 'wsrep_cluster_size'")[0][1])

    def prepare(self) -> None:
        for sql in (
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
            "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
            "CREATE USER IF NOT EXISTS 'haproxy'@'127.0.0.1'",
            "CREATE DATABASE IF NOT EXISTS drills CHARACTER SET utf8mb4",
        ):
            self.query(0, sql)

    def kill(self, i: int) -> None:
        process = self.processes[i]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        wait_port(self.ports[i], up=False)

    def joined_by(self, i: int) -> str:
        log = (self._folder(i) / "error.log").read_text(errors="replace")
        tail = log[log.rfind("Starting MariaDB") :] if "Starting MariaDB" in log else log
        return "IST" if "IST received" in tail else ("SST" if "SST" in tail else "?")

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisSentinels:
    """A Redis primary, one replica and three Sentinels (quorum 2)."""

    SERVICE = "drill"

    def __init__(self, root: Path) -> None:
        self.root = root / "redis"
        self.root.mkdir(parents=True)
        self.ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.servers: list[subprocess.Popen[bytes] | None] = [None, None]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    def _server(self, i: int, replica_of: int | None) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.ports[i]),
                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.root)]  # fmt: skip
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.servers[i] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_port(self.ports[i])

    def start(self) -> None:
        self._server(0, None)
        self._server(1, self.ports[0])
        for n, port in enumerate(self.sentinel_ports):
            conf = self.root / f"sentinel-{n}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.ports[0]} 2\n"
                f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                f"sentinel failover-timeout {self.SERVICE} 5000\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    [shutil.which("redis-server") or "redis-server", str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                )
            )
            wait_port(port)
        _until(lambda: len(self._ask("SENTINEL", "REPLICAS", self.SERVICE)) == 1, 30,
               "the Sentinels to see the replica")  # fmt: skip

    def _ask(self, *command: str) -> Any:
        import redis

        client = redis.Redis(port=self.sentinel_ports[0], socket_timeout=2)
        try:
            return client.execute_command(*command)
        finally:
            client.close()

    def primary(self) -> int:
        return int(self._ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE)[1])

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.SERVICE}"

    def kill_primary(self) -> int:
        port = self.primary()
        i = self.ports.index(port)
        process = self.servers[i]
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        return i

    def restart(self, i: int) -> None:
        """Back as it was started; the Sentinels turn it into a replica of the new primary."""
        self._server(i, None)

    def stop(self) -> None:
        for process in [*self.servers, *self.sentinels]:
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)


class ObjectStore:
    """moto's S3-compatible server behind HAProxy (``endpoint`` is the proxy's port).

    moto keeps objects in memory, so it runs with its request recorder: every request is
    appended to a log, and a restarted server replays the log's writes (a durable store's
    recovery) before HAProxy's health check, which asks for a marker object written
    last, lets traffic back to it. The recorder stops once the shops are provisioned (the
    drill writes no files after that)."""

    BUCKET = "drill-shops"  # s3_settings' bucket
    READY = f"/{BUCKET}/drill-ready"  # what HAProxy's check asks for

    def __init__(self, root: Path) -> None:
        self.port, self.backend_port = free_port(), free_port()
        self.log = root / "s3-recording.jsonl"
        self.replay_log = root / "s3-replay.jsonl"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def start(self, replay: bool = False) -> None:
        if replay:
            # The log's writes compacted (the last PUT to each address), in order (the
            # bucket first), without the marker (it comes last, when the rest is back).
            last: dict[str, str] = {}
            for n, line in enumerate(self.log.read_text().splitlines(keepends=True)):
                entry = json.loads(line)
                address = "/" + entry["url"].split("//", 1)[-1].split("/", 1)[-1]
                if entry["method"] not in ("PUT", "POST", "DELETE") or address == self.READY:
                    continue
                key = address if entry["method"] == "PUT" else f"{n} {address}"
                last.pop(key, None)  # a later PUT to an address replaces the earlier
                last[key] = line
            self.replay_log.write_text("".join(last.values()))
            env = {**os.environ, "MOTO_RECORDER_FILEPATH": str(self.replay_log)}
        else:
            env = {**os.environ, "MOTO_ENABLE_RECORDING": "1",
                   "MOTO_RECORDER_FILEPATH": str(self.log)}  # fmt: skip
        server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        self.process = subprocess.Popen(
            [server or "moto_server", "-H", "127.0.0.1", "-p", str(self.backend_port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.backend_port)
        if replay:
            self._api("replay-recording")
        else:
            httpx.put(f"{self.backend}/{self.BUCKET}").raise_for_status()
        # Readable without credentials: HAProxy's check does not sign its request.
        public = {"x-amz-acl": "public-read"}
        httpx.put(self.backend + self.READY, content=b"ready", headers=public).raise_for_status()

    def provisioned(self) -> None:
        self._api("stop-recording")

    def _api(self, action: str) -> None:
        httpx.post(f"{self.backend}/moto-api/recorder/{action}", timeout=300).raise_for_status()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        wait_port(self.backend_port, up=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def dress_shops(app: Any, hosts: list[str], hooks: WebhookSink) -> None:
    """Give every shop a picture on each product (stored in the object store, renditions
    made now) and a webhook endpoint for ``order.created`` at the drill's receiver."""
    import io

    from PIL import Image
    from sqlalchemy import select

    from storefront.catalog.images import add_image, make_renditions
    from storefront.catalog.models import Product
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for
    from storefront.webhooks.services import add_endpoint

    made: dict[str, dict[str, bytes]] = {}
    for n, host in enumerate(hosts):
        slug = host.split(".")[0]
        buffer = io.BytesIO()
        Image.new("RGB", (96, 96), (40 + n % 200, 120, 200)).save(buffer, "PNG")
        with app.app_context(), tenant_context(context_for(slug)):
            for product in db.session.scalars(select(Product)):
                make_renditions(add_image(product, buffer.getvalue(), alt="drill"), made)
            endpoint = add_endpoint(hooks.url(slug), ["order.created"])
            hooks.secrets[f"/hooks/{slug}"] = endpoint.secret
            db.session.commit()


MEDIA = re.compile(r"/media/[A-Za-z0-9/._-]+")


class HAProxy:
    def __init__(self, root: Path, galera: Galera, apps: list[int], store: ObjectStore) -> None:
        self.config = root / "haproxy.cfg"
        self.store_port = store.port
        self.sql_port, self.web_port = free_port(), free_port()
        sql = "\n".join(
            f"    server n{i + 1} 127.0.0.1:{port} check inter 500 fall 2 rise 2"
            + (" backup" if i else "")
            for i, port in enumerate(galera.ports)
        )
        web = "\n".join(
            f"    server a{i + 1} 127.0.0.1:{port} check inter 500 fall 2 rise 2"
            for i, port in enumerate(apps)
        )
        self.config.write_text(
            f"""global
    maxconn 4000
defaults
    timeout connect 2s
    timeout client 60s
    timeout server 60s
listen sql
    mode tcp
    bind 127.0.0.1:{self.sql_port}
    option mysql-check user haproxy
{sql}
listen web
    mode http
    bind 127.0.0.1:{self.web_port}
    balance roundrobin
    option httpchk GET /_health
    retries 2
    option redispatch
{web}
listen s3
    mode http
    bind 127.0.0.1:{store.port}
    option httpchk GET {store.READY}
    server s1 127.0.0.1:{store.backend_port} check inter 500 fall 2 rise 2
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["/usr/sbin/haproxy", "-f", str(self.config), "-db"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.sql_port)
        wait_port(self.web_port)
        wait_port(self.store_port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class AppServers:
    def __init__(self, root: Path, env: dict[str, str], count: int = 3) -> None:
        self.root = root
        self.env = env
        self.ports = [free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * count

    def metrics_dir(self, i: int) -> Path:
        """Where server ``i``'s workers (and a jobs worker beside it) write their metrics:
        its /_metrics adds them up. Kept across a restart, so its counters go on."""
        folder = self.root / f"metrics-a{i + 1}"
        folder.mkdir(exist_ok=True)
        return folder

    def start(self, i: int) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "-c", "/dev/null", "-w", "2", "--threads", "2",
            "-b", f"127.0.0.1:{self.ports[i]}", "--timeout", "30", "--log-level", "warning",
            "bench.drills.mail_app:application",
        ]  # fmt: skip
        log = (self.root / f"app-{i + 1}.log").open("a")
        # gunicorn.conf.py is not read here (-c /dev/null): the metrics folder is set here.
        env = {**os.environ, **self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir(i))}
        self.processes[i] = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        wait_port(self.ports[i], timeout=60)

    def kill(self, i: int) -> None:
        process = self.processes[i]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        # SIGKILL leaves the workers orphaned for a moment; they exit when they see it.
        subprocess.run(["pkill", "-9", "-f", f"127.0.0.1:{self.ports[i]}"], check=False)
        wait_port(self.ports[i], up=False)

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)


class ClusterDrill(Drill):
    """The single-machine drill's shoppers and checks, plus latency by phase; a 5xx is
    tolerated only while a fault lasts (and 5 s after it ends)."""

    def __init__(self, port: int, hosts: list[str]) -> None:
        super().__init__(port, hosts)
        self.fault = False
        self.fault_ended = float("-inf")
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.pictures = 0

    def record(self, status: int, what: str, detail: str = "") -> None:
        phase = self.phase
        with self.lock:
            self.statuses[(phase, status)] += 1
            if status < 500:
                return
            tolerated = self.fault or time.monotonic() < self.fault_ended + 5
            if not (tolerated and status in FAULT_STATUSES):
                self.failures.append(f"{phase}: {what} -> {status} {detail[:120]}")

    def get(self, client: httpx.Client, host: str, path: str) -> httpx.Response | None:
        """A product page, then (like a browser) its first picture, from the object store."""
        page = super().get(client, host, path)
        if page is not None and page.status_code == 200 and path.startswith("/p/"):
            if not (found := MEDIA.search(page.text)):
                with self.lock:
                    self.failures.append(f"{host}{path}: no picture on the page")
                return page
            picture = self._send(client, host, "GET", found.group(0))
            if picture is not None and picture.status_code == 404:
                with self.lock:  # the page links it: the store lost it
                    self.failures.append(f"{self.phase}: {host}{found.group(0)} -> 404")
            if picture is not None and picture.status_code == 200:
                with self.lock:
                    self.pictures += 1
                    if not picture.headers.get("content-type", "").startswith("image/"):
                        self.failures.append(f"{host}{found.group(0)}: not an image")
        return page

    def _send(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super()._send(*args, **kwargs)
        finally:
            with self.lock:
                self.latencies[self.phase].append(time.perf_counter() - started)


def _stored_orders(app: Any) -> set[str]:
    """The number of every order in the database, every shop's."""
    from sqlalchemy import select

    from storefront.extensions import db
    from storefront.orders.models import Order
    from storefront.tenancy import all_tenants

    with app.app_context(), all_tenants():
        numbers = set(db.session.scalars(select(Order.number)))
        db.session.remove()
    return numbers


def _mails_once(app: Any, sink: SmtpSink, drill: Drill) -> dict[str, int]:
    """Wait for the outbox to drain, then count each stored order's confirmation mail."""
    from collections import Counter

    left = wait_drained(app, 120)
    numbers = _stored_orders(app)
    ids: dict[str, Counter[str]] = {}
    for message in sink.messages:
        number = confirmed_order(str(message["Subject"]))
        if number is not None:
            ids.setdefault(number, Counter())[str(message["Message-ID"])] += 1
    result = {
        "orders": len(numbers),
        "mailed": sum(1 for n in numbers if n in ids),
        "missing": sum(1 for n in numbers if n not in ids),
        # Two different mails for one order: a real double.
        "duplicated": sum(1 for n in numbers if len(ids.get(n, ())) > 1),
        # The same mail (same Message-ID) sent again: the row's send went out but its
        # "done" was lost with the database node; at-least-once, recognisable by its id.
        "resent_same_message": sum(1 for n in numbers if max(ids.get(n, {0: 0}).values()) > 1),
        "outbox_left": left,
    }
    if result["missing"] or result["duplicated"] or left:
        drill.failures.append(f"MAILS: {result}")
    return result


def _webhooks_once(app: Any, hooks: WebhookSink, drill: Drill) -> dict[str, int]:
    """Every stored order's ``order.created`` arrived once (the outbox has drained)."""
    numbers = _stored_orders(app)
    received = hooks.orders()
    result = {
        "orders": len(numbers),
        "delivered": sum(1 for n in numbers if n in received),
        "missing": sum(1 for n in numbers if n not in received),
        "duplicated": sum(1 for n in numbers if len(received.get(n, ())) > 1),
        "resent_same_event": sum(1 for n in numbers if max(received.get(n, {0: 0}).values()) > 1),
        "unknown_orders": sum(1 for n in received if n not in numbers),
        "bad_signatures": hooks.bad_signatures,
    }
    if (
        result["missing"]
        or result["duplicated"]
        or result["unknown_orders"]
        or result["bad_signatures"]
    ):
        drill.failures.append(f"WEBHOOKS: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drills.cluster", description=__doc__)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--shoppers", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument(
        "--scrape-seconds",
        type=float,
        default=3.0,
        help="how often /_metrics of each app server is sampled",
    )
    args = parser.parse_args()
    ensure_packages()
    root = temp_root("drills-cluster")
    galera, redis = Galera(), RedisSentinels(root)
    apps: AppServers | None = None
    proxy: HAProxy | None = None
    sink = SmtpSink(free_port())
    hooks = WebhookSink(free_port())
    store = ObjectStore(root)
    worker: subprocess.Popen[bytes] | None = None
    try:
        sink.start()
        hooks.start()
        store.start()
        print("starting a 3-node Galera cluster ...", flush=True)
        galera.install()
        galera.start(0, bootstrap=True)
        galera.prepare()
        galera.start(1)
        galera.start(2)
        print(f"Galera: {galera.size(0)} nodes, synced", flush=True)
        print("starting Redis, its replica and three Sentinels ...", flush=True)
        redis.start()
        apps_ports_env: dict[str, str] = {}
        apps = AppServers(root, apps_ports_env)
        proxy = HAProxy(root, galera, apps.ports, store)
        proxy.start()
        database = f"mysql+pymysql://root@127.0.0.1:{proxy.sql_port}/drills"
        apps_ports_env.update(BENCH_ROOT=str(root), BENCH_DATABASE_URL=database,
                              BENCH_REDIS_URL=redis.url,
                              BENCH_SMTP_PORT=str(sink.port),
                              BENCH_S3_ENDPOINT=store.endpoint)  # fmt: skip
        os.environ.update(apps_ports_env)
        app = build_app(root, REDIS_URL=redis.url, WEBHOOK_ALLOW_PRIVATE=True,
                        **s3_settings(store.endpoint))  # fmt: skip
        migrate(app)
        hosts = provision(app, args.shops)
        print("pictures into the object store, webhook endpoints ...", flush=True)
        dress_shops(app, hosts, hooks)
        store.provisioned()
        print("starting three app servers behind HAProxy ...", flush=True)
        for i in range(3):
            apps.start(i)
        # Mails go through the job queue (Redis via the Sentinels) to one worker and an
        # SMTP sink: every order's confirmation must arrive once, whatever the faults.
        # The worker writes its job, mail and webhook counters beside server a1's workers
        # (as a worker on an app server would): a1's /_metrics shows them.
        worker = start_worker(
            {**os.environ, **apps_ports_env, "PROMETHEUS_MULTIPROC_DIR": str(apps.metrics_dir(0))}
        )
        web = f"http://127.0.0.1:{proxy.web_port}/_health"
        # gunicorn binds before its workers have loaded the app: on a loaded machine six
        # workers and the jobs worker take more than 30 s to import it.
        _until(lambda: httpx.get(web, timeout=2).status_code == 200, 120, "HAProxy's web backends")
        time.sleep(2)  # every backend through its rising checks, not only the first
        drill = ClusterDrill(proxy.web_port, hosts)
        shoppers = [threading.Thread(target=drill.shopper, args=(n,), daemon=True)
                    for n in range(args.shoppers)]  # fmt: skip
        rejoin: dict[str, Any] = {}

        def galera_back() -> None:
            started = time.monotonic()
            galera.start(0, recover=True)
            rejoin.update(seconds=round(time.monotonic() - started, 1), by=galera.joined_by(0))

        promoted: dict[str, Any] = {}

        def redis_down() -> None:
            before = redis.primary()
            promoted["killed"] = redis.kill_primary()
            started = time.monotonic()
            _until(lambda: redis.primary() != before, 30, "the Sentinels to promote")
            promoted["seconds"] = round(time.monotonic() - started, 1)

        s = args.seconds
        rejoin_thread = threading.Thread(target=galera_back)
        store_back: dict[str, Any] = {}

        def store_up() -> None:
            started = time.monotonic()
            store.start(replay=True)
            store_back["seconds"] = round(time.monotonic() - started, 1)

        timeline: list[tuple[float | None, str, Any, bool]] = [
            (0.0, "normal", None, False),
            (s * 0.10, "app server a1 killed", lambda: apps.kill(0), True),
            (s * 0.10 + 10, "app server a1 back", lambda: apps.start(0), False),
            (s * 0.25, "Galera writer n1 killed", lambda: galera.kill(0), True),
            (s * 0.25 + 15, "n1 rejoining", rejoin_thread.start, False),
            (s * 0.47, "object store killed", store.kill, True),
            (s * 0.47 + 8, "object store recovering", store_up, True),
            (None, "object store back", None, False),
            (s * 0.65, "Redis primary killed", redis_down, True),
            (s * 0.65 + 15, "Redis old primary back", lambda: redis.restart(promoted["killed"]),
             False),
            (s * 0.85, "after", None, False),
        ]  # fmt: skip
        scraper = MetricsScraper(
            [f"http://127.0.0.1:{port}/_metrics" for port in apps.ports],
            interval=args.scrape_seconds,
        )
        scraper.start(timeline[0][1])
        started = time.monotonic()
        for thread in shoppers:
            thread.start()
        for at, phase, action, fault in timeline:
            if at is not None:  # None: right after the step before
                time.sleep(max(0.0, started + at - time.monotonic()))
            print(f"t={time.monotonic() - started:5.1f}s  {phase}", flush=True)
            scraper.mark(phase)
            drill.phase = phase
            if fault:
                drill.fault = True
            elif drill.fault:
                drill.fault, drill.fault_ended = False, time.monotonic()
            if action is not None:
                action()
        time.sleep(max(0.0, started + s - time.monotonic()))
        rejoin_thread.join(180)
        scraper.mark("oversell")
        oversold, orders = wind_down(drill, shoppers, app, hosts[0])
        scraper.mark("outbox draining")
        mails = _mails_once(app, sink, drill)
        webhooks = _webhooks_once(app, hooks, drill)
        scraper.stop()
        metrics = scraper.report()
        nodes = [
            galera.query(i, "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM drills.orders")[0]
            for i in range(3)
        ]
        if len({tuple(map(int, n)) for n in nodes}) != 1:
            drill.failures.append(f"GALERA NODES DIFFER: {nodes}")
        phases: dict[str, dict[str, Any]] = {}
        for (phase, status), count in sorted(drill.statuses.items()):
            phases.setdefault(phase, {"statuses": {}})["statuses"][str(status)] = count
        for phase, values in drill.latencies.items():
            phases.setdefault(phase, {"statuses": {}}).update(
                requests=len(values),
                p50_ms=round(statistics.median(values) * 1000, 1),
                p99_ms=round(percentile(values, 99) * 1000, 1),
            )
        summary = {
            "shops": args.shops, "shoppers": args.shoppers, "seconds": s,
            "topology": "3 gunicorn app servers (2 workers x 2 threads) behind HAProxy; "
                        "3 Galera nodes behind HAProxy (one writer, two backups); "
                        "Redis primary + replica + 3 Sentinels; "
                        "moto's S3 server behind HAProxy",
            "responses": sum(drill.statuses.values()),
            "phases": phases,
            "orders": orders,
            "oversell": oversold,
            "galera_nodes_orders_and_sum": [list(map(int, n)) for n in nodes],
            "galera_rejoin": rejoin,
            "redis_promotion": promoted,
            "object_store_back_seconds": store_back.get("seconds"),
            "pictures_served": drill.pictures,
            "mails": mails,
            "webhooks": webhooks,
            "metrics_by_phase": metrics,
            "metrics_scrape_errors": scraper.errors,  # each server's last failed scrape
            "failures": drill.failures[:50],
            "failure_count": len(drill.failures),
        }  # fmt: skip
        print(json.dumps(summary, indent=2))
        print("\nwhat /_metrics said, by phase (summed over the app servers):")
        print(table(metrics), flush=True)
        results = Path(__file__).resolve().parent.parent / "results"
        results.mkdir(exist_ok=True)
        (results / "drills-cluster.json").write_text(json.dumps(summary, indent=2))
        for log in root.glob("app-*.log"):  # the servers' side of any failure
            shutil.copy(log, results / f"drills-cluster-{log.name}")
        sys.exit(1 if drill.failures else 0)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        sink.stop()
        hooks.stop()
        store.stop()
        for part in (apps, proxy):
            if part is not None:
                part.stop()
        redis.stop()
        galera.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
