"""Redis behind Sentinel: the cache, the rate limits and the job queue reach the primary
through the sentinels and follow a failover without a restart.

A primary, a replica and one sentinel are started by the test (redis-server runs in
Sentinel mode with ``--sentinel``); ``SENTINEL FAILOVER`` promotes the replica.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import redis
from dramatiq import Worker

from storefront import create_app
from storefront.config import ConfigError
from storefront.extensions import cache, limiter
from storefront.redisconn import RedisURLError, parse_sentinel
from tests.fixtures.app import BufferedClient
from tests.test_caching import _free_port
from tests.test_commerce import add_to_cart, checkout
from tests.test_jobs import statuses, wait_for

SERVICE = "shopcache"


class Cluster:
    """A primary, a replica and a sentinel watching them, all on free loopback ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {"a": _free_port(), "b": _free_port()}
        self.sentinel_port = _free_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    def _start(self, *arguments: str) -> None:
        command = [shutil.which("redis-server") or "redis-server", *arguments]
        self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))

    def start(self) -> None:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._start("--port", str(self.ports["a"]), "--dir", str(self.folder), *common)
        self._start(
            "--port", str(self.ports["b"]), "--dir", str(self.folder), *common,
            "--replicaof", "127.0.0.1", str(self.ports["a"]),
        )  # fmt: skip
        conf = self.folder / "sentinel.conf"  # a sentinel rewrites its file: one of its own
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.ports['a']} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        )
        self._start(str(conf), "--sentinel")
        wait_for(self._replicating, 15)
        wait_for(lambda: self._sentinel_sees_replica(), 15)

    def _replicating(self) -> bool:
        try:
            info = self.node("b").info("replication")
        except redis.RedisError:
            return False
        return info.get("master_link_status") == "up"

    def _sentinel_sees_replica(self) -> bool:
        try:
            return bool(self.sentinel().sentinel_slaves(SERVICE))
        except redis.RedisError:
            return False

    def node(self, name: str) -> redis.Redis:
        return redis.Redis(port=self.ports[name], socket_timeout=2)

    def sentinel(self) -> redis.Redis:
        return redis.Redis(port=self.sentinel_port, socket_timeout=2, decode_responses=True)

    def primary_port(self) -> int:
        return int(self.sentinel().sentinel_get_master_addr_by_name(SERVICE)[1])

    def role(self, port: int) -> str:
        name = next(n for n, p in self.ports.items() if p == port)
        return str(self.node(name).info("replication")["role"])

    def fail_over(self) -> int:
        """Promote the replica; answer the new primary's port once it takes writes and the
        old one follows it (until then the old one still takes writes, which Redis's
        asynchronous replication then drops: Sentinel's documented window)."""
        before = self.primary_port()
        self.sentinel().execute_command("SENTINEL", "FAILOVER", SERVICE)
        wait_for(lambda: self.primary_port() != before, 20)
        after = self.primary_port()
        wait_for(lambda: self.role(after) == "master", 10)
        wait_for(lambda: self.role(before) == "slave", 30)
        return after

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(10)


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the Sentinel tests (apt-get install redis-server)")
    running = Cluster(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def app(app_config, cluster):
    app = create_app(
        {
            **app_config,
            "REDIS_URL": cluster.url,
            "JOBS_BACKEND": "redis",
            "CACHE_RETRY_SECONDS": 0.0,  # a failed call is not followed by a quiet spell
            "RATELIMIT_ENABLED": True,
        }
    )
    app.test_client_class = BufferedClient
    return app


def _on(port: int, key: str) -> bool:
    return any(redis.Redis(port=port).scan_iter(match=f"*{key}*", count=1000))


def _deliver_one_order(app, client, shop, count: int) -> None:
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop).status_code == 302
    running = Worker(app.extensions["storefront.jobs"], worker_threads=1, worker_timeout=100)
    running.start()
    try:
        wait_for(lambda: statuses(app) == ["done"] * count, 20)
    finally:
        running.stop()


def test_cache_limits_and_jobs_follow_a_failover(app, cluster, make_shop, product, outbox):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    client = app.test_client()
    first = cluster.primary_port()

    with app.app_context():
        assert cache.set("probe", "before") and cache.get("probe") == "before"
    assert _on(first, "probe")  # written on the primary the sentinel names
    _deliver_one_order(app, client, shop, 1)
    assert [m.subject for m in outbox] == ["Acme: thank you for your order ACME-1001"]
    with app.test_request_context("/", headers={"Host": "acme.test"}):
        assert limiter._storage.check()  # limits speak to the primary through the sentinel
        limiter._storage.incr("probe-limit", 60)

    second = cluster.fail_over()
    assert second != first

    with app.app_context():  # the first call may meet the demoted primary and fail over
        wait_for(lambda: cache.set("probe", "after") is True, 10)
        assert cache.get("probe") == "after"
    assert redis.Redis(port=second).exists(*redis.Redis(port=second).keys("*probe")) >= 1
    _deliver_one_order(app, client, shop, 2)
    assert [m.subject for m in outbox] == [
        "Acme: thank you for your order ACME-1001",
        "Acme: thank you for your order ACME-1002",
    ]
    with app.test_request_context("/", headers={"Host": "acme.test"}):
        wait_for(lambda: _incr(limiter._storage, "after-limit"), 10)
    assert _on(second, "after-limit")


def _incr(storage, key: str) -> bool:
    try:
        storage.incr(key, 60)
    except redis.RedisError:  # met the demoted primary: the next call asks the sentinel
        return False
    return True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://127.0.0.1/svc", "is not host:port"),
        ("redis+sentinel://127.0.0.1:26379", "names its service"),
        ("redis+sentinel://127.0.0.1:26379/a/b", "names its service"),
        ("redis+sentinel://127.0.0.1:99999/svc", "is not host:port"),
        ("redis+sentinel://127.0.0.1:26379/svc?db=99", "db must be"),
        ("http://127.0.0.1:6379", "starts with redis://"),
    ],
)
def test_a_bad_redis_url_is_one_line_at_start(app_config, url, message):
    with pytest.raises(ConfigError, match=message) as caught:
        create_app({**app_config, "REDIS_URL": url})
    assert "\n" not in str(caught.value) and str(caught.value).startswith("REDIS_URL: ")


def test_a_sentinel_url_reads_hosts_credentials_and_db():
    target = parse_sentinel("redis+sentinel://u:p%40ss@10.0.0.1:26379,[::1]:26380/main?db=2")
    assert target.sentinels == [("10.0.0.1", 26379), ("::1", 26380)]
    assert (target.service, target.db) == ("main", 2)
    assert target.auth == {"username": "u", "password": "p@ss"}
    assert parse_sentinel("redis+sentinel://secret@h:1/s").auth == {"password": "secret"}
    with pytest.raises(RedisURLError):
        parse_sentinel("redis://h:1/0")
