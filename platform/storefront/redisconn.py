"""One way to reach Redis for the cache, the rate limits and the job queue: a plain
``redis://`` URL, or Redis Sentinel.

A Sentinel URL names the sentinels and the monitored service, in the form the
rate-limit library (limits) reads as well, so all three take the same setting::

    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[?db=N]

The client asks the sentinels where the primary is and asks again when a connection
fails or the server it reached has become a replica (redis-py's ``SentinelConnectionPool``),
so a failover costs the requests in flight at that moment, not a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


class RedisURLError(ValueError):
    """A Redis URL that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    auth: dict[str, str] = field(default_factory=dict)

    def limits_uri(self) -> str:
        """The URL for limits' own Sentinel storage (no query: it reads db from options)."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"{SENTINEL_SCHEME}://{hosts}/{self.service}"


def is_sentinel(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


def parse_sentinel(url: str) -> SentinelTarget:
    """Read a ``redis+sentinel://`` URL, or say in one line what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise RedisURLError(f"a Sentinel URL starts with {SENTINEL_SCHEME}://")
    credentials, _, hosts = parts.netloc.rpartition("@")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RedisURLError(f"sentinel {item!r} is not host:port")
        sentinels.append((host.strip("[]"), int(port)))
    service = parts.path.strip("/")
    if not service or "/" in service:
        raise RedisURLError("a Sentinel URL names its service: redis+sentinel://host:port/service")
    query = parse_qs(parts.query)
    db_text = (query.get("db") or ["0"])[0]
    if not db_text.isdigit() or int(db_text) > 15:
        raise RedisURLError(f"db must be a number from 0 to 15, not {db_text!r}")
    auth: dict[str, str] = {}
    if credentials:
        user, colon, password = credentials.partition(":")
        if not colon:  # redis://secret@host: a password alone
            user, password = "", user
        if user:
            auth["username"] = unquote(user)
        if password:
            auth["password"] = unquote(password)
    return SentinelTarget(sentinels, service, int(db_text), auth)


def client(url: str, **options: Any) -> redis.Redis:
    """A client for the primary behind ``url`` (plain or Sentinel)."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    target = parse_sentinel(url)
    auth: dict[str, Any] = dict(target.auth)
    timeouts: dict[str, Any] = {
        key: options[key] for key in ("socket_timeout", "socket_connect_timeout") if key in options
    }
    sentinel = Sentinel(target.sentinels, sentinel_kwargs={**auth, **timeouts}, **auth)
    return sentinel.master_for(target.service, db=target.db, **options)


def check(url: str) -> None:
    """Refuse an unusable URL early (configuration), with what is wrong."""
    if is_sentinel(url):
        parse_sentinel(url)
    elif not url.startswith(("redis://", "rediss://", "unix://")):
        raise RedisURLError(
            "a Redis URL starts with redis://, rediss://, unix:// or redis+sentinel://"
        )
