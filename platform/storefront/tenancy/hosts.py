"""Host normalisation, shared by the resolver and ``tenantctl domain``."""

from __future__ import annotations

import ipaddress
import re

import idna

MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PORT = re.compile(r"^[0-9]{1,5}$")


class InvalidHost(ValueError):
    """The host is not a hostname we could ever serve; the message says why."""


def normalize_host(raw: str | None, *, allow_ip: bool = True) -> str:
    """Lower-case, strip port and trailing dot, encode IDNA; raise ``InvalidHost``.

    ``ACME.Example.:8080`` and ``acme.example`` give the same answer; ``bücher.example``
    becomes ``xn--bcher-kva.example``. IP literals come back as they are (they match no
    shop), unless ``allow_ip`` is false.
    """
    if not raw:
        raise InvalidHost("empty host")
    if len(raw) > MAX_HOST_LENGTH + 7:
        raise InvalidHost("host too long")
    if any(ord(c) < 33 or ord(c) == 127 for c in raw):
        raise InvalidHost("host contains whitespace or control characters")
    host = raw
    if host.startswith("["):  # [v6]:port
        end = host.find("]")
        if end < 0:
            raise InvalidHost("unterminated IPv6 literal")
        literal, rest = host[1:end], host[end + 1 :]
        if rest and not (rest.startswith(":") and _PORT.match(rest[1:])):
            raise InvalidHost("bad port")
        return _ip(literal, allow_ip)
    if host.count(":") == 1:
        host, port = host.split(":")
        if not _PORT.match(port):
            raise InvalidHost("bad port")
    elif ":" in host:
        raise InvalidHost("bad host")
    host = host.rstrip(".").lower() if host != "." else ""
    if not host:
        raise InvalidHost("empty host")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return _ip(host, allow_ip)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidHost(f"invalid internationalised name ({exc})") from None
    if len(host) > MAX_HOST_LENGTH:
        raise InvalidHost("host too long")
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidHost("host labels must be letters, digits and inner hyphens")
    if host.startswith("xn--") or ".xn--" in host:
        try:  # an ASCII punycode host must decode to valid IDNA too
            idna.decode(host)
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidHost(f"invalid punycode ({exc})") from None
    return host


def _ip(literal: str, allow_ip: bool) -> str:
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        raise InvalidHost("invalid IP literal") from None
    if not allow_ip:
        raise InvalidHost("an IP address cannot be a shop's domain")
    return str(address)


def validate_domain(raw: str) -> str:
    """Normalise a hostname an operator wants to attach to a shop (IPs refused)."""
    return normalize_host(raw.strip(), allow_ip=False)
