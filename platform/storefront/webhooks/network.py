"""Where a webhook may go, and how a delivery gets there.

A shop chooses the URL, so the platform must not let it point back inside: the name is
resolved once per delivery, every address it resolves to is checked, and the connection
goes to one of exactly those addresses, never to whatever the name resolves to a moment
later (DNS rebinding). The ``Host`` header, TLS SNI and the certificate check still use
the URL's name. An address passes only if it is globally routable in every spelling:
IPv4 written in decimal, octal or hex, and IPv6 forms that carry an IPv4 address
(mapped, compatible, NAT64, 6to4) are judged by the IPv4 address they reach.

The whole delivery (lookup, connect, TLS, send, read) ends at one deadline, enforced on
every socket operation, so a receiver that dribbles a byte at a time cannot hold it;
and at most ``max_bytes`` of the answer are read (only the status counts).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import dns.exception
import dns.resolver
import httpcore
import httpx
from flask_babel import gettext as _

from ..tenancy.hosts import InvalidHost, normalize_host

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookError(ValueError):
    """An endpoint cannot be added or reached; the message says why."""


# Not globally routable, whatever this Python's ``is_global`` says about them (its tables
# changed between releases: 3.11 calls multicast and 192.88.99/24 global).
_IPV4_NEVER = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relays (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
# Every routable IPv6 unicast address lives in 2000::/3; what is outside (loopback,
# unspecified, link-local, unique-local, multicast, discard, SRv6, the rest of ::/8) is
# refused as a whole, after the IPv4-carrying forms below were unwrapped.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV6_NEVER = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/32",  # Teredo: a relay to an obfuscated client address; no receiver lives there
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: IPv4 in the last 32 bits
# 64:ff9b:1::/48 (local-use NAT64, RFC 8215) lies outside 2000::/3 and is refused whole: it
# translates to whatever the operator's own NAT64 reaches, which is the inside.


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address delivers to, if it is one of the IPv4-carrying forms:
    mapped (``::ffff:a.b.c.d``), compatible (``::a.b.c.d``), NAT64 (``64:ff9b::/96``), 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if int(address) >> 32 == 0 or address in _NAT64:  # ::a.b.c.d (and ::, ::1)
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_public(address: Address) -> bool:
    """Whether ``address`` is globally routable, judged by the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        return (
            address in _IPV6_GLOBAL_UNICAST
            and address.is_global
            and not any(address in net for net in _IPV6_NEVER)
        )
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not any(address in net for net in _IPV4_NEVER)
    )


@dataclass(frozen=True)
class Target:
    """A URL taken apart: the name it speaks to and the addresses checked for it."""

    scheme: str
    host: str  # an ASCII name (IDNA), or an IP address without brackets
    port: int
    path: str  # path and query, as sent
    auth: tuple[str, str] | None
    literal: Address | None  # the host, when it is an address (in whatever spelling)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # reserved characters and escapes stay as written


def parse(url: str) -> Target:
    """Take ``url`` apart; raises ``WebhookError`` when it is not a usable http(s) URL."""
    parts = urlsplit(url)
    bad = WebhookError(_("The URL must start with https:// (or http://) and name a host."))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise bad from None
    host = parts.hostname.rstrip(".")
    literal: Address | None = None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        # What a C library would connect to for ``2130706433``, ``0x7f.1`` or
        # ``017700000001``: all 127.0.0.1. Judge it as that address.
        if _NUMERIC_HOST.match(host):
            with contextlib.suppress(OSError):  # else a name that looks numeric ("cafe.be")
                literal = ipaddress.IPv4Address(socket.inet_aton(host))
    if literal is not None:
        host = str(literal)  # one spelling for the checks, the Host header and the socket
    else:
        try:
            host = normalize_host(host, allow_ip=False)
        except InvalidHost:
            raise bad from None
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    path = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_URL_SAFE)
    return Target(parts.scheme, host, port, path, auth, literal)


def remaining(deadline: float) -> float:
    """Seconds left before ``deadline`` (a ``time.monotonic()`` value); never negative."""
    return max(0.0, deadline - time.monotonic())


def resolve(target: Target, deadline: float, resolver_address: str | None) -> list[Address]:
    """Every address ``target``'s host resolves to now: one lookup per type (A, AAAA),
    within the deadline. ``localhost`` names are loopback without asking (RFC 6761)."""
    if target.literal is not None:
        return [target.literal]
    if target.host == "localhost" or target.host.endswith(".localhost"):
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    unresolved = WebhookError(_("%(host)s does not resolve.", host=target.host))
    found: list[Address] = []
    try:
        resolver = _resolver(resolver_address)
        for kind in ("A", "AAAA"):
            left = remaining(deadline)
            if left <= 0:
                raise unresolved
            try:
                answer = resolver.resolve(target.host + ".", kind, lifetime=left, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            found.extend(ipaddress.ip_address(record.address) for record in answer)
    except dns.exception.DNSException:
        raise unresolved from None
    if not found:
        raise unresolved
    return found


def _resolver(given: str | None) -> dns.resolver.Resolver:
    if not given:
        return dns.resolver.Resolver()  # the system's (/etc/resolv.conf)
    host, _sep, port = given.rpartition(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host or given]
    resolver.port = int(port) if host else 53
    return resolver


@lru_cache(maxsize=4)
def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """httpx's TLS settings (certifi's roots), or ``ca_file``'s roots; built once."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return httpx.create_ssl_context()


def post(
    target: Target,
    addresses: Sequence[Address],
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
    max_bytes: int,
    ca_file: str | None = None,
) -> int:
    """POST ``body`` to ``target`` at one of ``addresses`` (and nowhere else); the status.

    Raises an ``httpcore`` error (``ConnectTimeout``, ``ReadTimeout``, ``ConnectError``…)
    when the receiver cannot be reached or the deadline passes.
    """
    # httpx cannot take a network backend (encode/httpx#3749), so this speaks httpcore,
    # the HTTP layer under httpx, whose network backend is the one public place where a
    # connection is opened: the address is pinned there, and every socket operation
    # (TLS handshake and header read included, which no per-read timeout bounds) is held
    # to the deadline. Rewriting the URL to the IP would keep the pinning but not the
    # deadline; no redirects are followed and no proxy is consulted.
    url = httpcore.URL(
        scheme=target.scheme.encode(),
        host=target.host.encode("ascii"),
        port=target.port,
        target=target.path.encode("ascii"),
    )
    sent = {"Host": target.host_header, "Connection": "close", "Accept-Encoding": "identity"}
    if target.auth is not None:
        token = base64.b64encode(":".join(target.auth).encode()).decode()
        sent["Authorization"] = f"Basic {token}"
    sent.update(headers)
    left = remaining(deadline)
    backend = PinnedBackend(target.host, target.port, addresses, deadline)
    with (
        httpcore.ConnectionPool(
            ssl_context=ssl_context(ca_file) if target.scheme == "https" else None,
            max_connections=1,
            network_backend=backend,
        ) as pool,
        pool.stream(
            "POST",
            url,
            headers=list(sent.items()),
            content=body,
            extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), left)},
        ) as response,
    ):
        # The status decides; the answer's body is read only to end the exchange cleanly,
        # up to max_bytes, and as far as it got when the deadline passes or it breaks off.
        received = 0
        with contextlib.suppress(httpcore.TimeoutException, httpcore.NetworkError):
            for chunk in response.iter_stream():  # raw bytes: nothing is decompressed
                received += len(chunk)
                if received >= max_bytes:
                    break  # the rest is never read: the connection is closed instead
        return response.status


class PinnedBackend(httpcore.NetworkBackend):
    """Connects ``host:port`` to the checked addresses only, each stream under the deadline."""

    def __init__(self, host: str, port: int, addresses: Iterable[Address], deadline: float):
        self.host, self.port, self.deadline = host, port, deadline
        # An IPv4-mapped address is dialled as the IPv4 address it names.
        self.addresses = [getattr(a, "ipv4_mapped", None) or a for a in addresses]
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self.host, self.port):  # nothing but the checked origin
            raise httpcore.ConnectError(f"{host}:{port} is not the checked {self.host}")
        failure: Exception = httpcore.ConnectError(f"{host} has no checked address")
        for address in self.addresses:
            try:
                with _deadline(self.deadline, httpcore.ConnectTimeout):
                    stream = self._sockets.connect_tcp(
                        str(address),
                        port,
                        timeout=_clip(self.deadline, timeout, httpcore.ConnectTimeout),
                        local_address=local_address,
                        socket_options=socket_options,
                    )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return DeadlineStream(stream, self.deadline)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks never use Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, remaining(self.deadline)))


WRITE_PIECE = 16 * 1024  # each piece of a send gets only the time left


class DeadlineStream(httpcore.NetworkStream):
    """A stream whose every read, write and handshake ends by ``deadline``."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _deadline(self._deadline, httpcore.ReadTimeout):
            return self._stream.read(
                max_bytes, _clip(self._deadline, timeout, httpcore.ReadTimeout)
            )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), WRITE_PIECE):
            piece = buffer[start : start + WRITE_PIECE]
            with _deadline(self._deadline, httpcore.WriteTimeout):
                self._stream.write(piece, _clip(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's name: SNI and the certificate check use it.
        clipped = _clip(self._deadline, timeout, httpcore.ConnectTimeout)
        with _deadline(self._deadline, httpcore.ConnectTimeout):
            stream = self._stream.start_tls(ssl_context, server_hostname, clipped)
        return DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


PASSED = "the delivery's deadline passed"


def _clip(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    left = remaining(deadline)
    if left <= 0:
        raise error(PASSED)
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _deadline(deadline: float, error: type[Exception]) -> Iterator[None]:
    """A socket timeout that was the deadline says so (the delivery log shows why)."""
    try:
        yield
    except httpcore.TimeoutException:
        if remaining(deadline) <= 0:
            raise error(PASSED) from None
        raise
