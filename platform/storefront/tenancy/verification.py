"""Custom domains prove they belong to the shop before they serve it.

Adding a domain (owner or operator) makes it *pending* with a random token. The owner
publishes two records: a TXT record ``_storefront-verify.<domain>`` holding the token,
and the domain pointing at the platform (a CNAME to ``DOMAIN_CNAME_TARGET``, or A/AAAA
records among ``DOMAIN_TARGET_ADDRESSES``). ``check`` looks both up with dnspython
against ``DNS_RESOLVER`` (``host:port``; the system's when unset). A verified domain is
checked again by a periodic job: when its records stop pointing here it is *failing*
(still served for ``DOMAIN_GRACE_HOURS``), then *lapsed* (no longer served): a domain left
dangling cannot be taken over through us. Operators may trust a domain by hand.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dns.exception
import dns.resolver
from flask import current_app

from .models import Domain, utcnow

TXT_PREFIX = "_storefront-verify"


@dataclass(frozen=True)
class Record:
    kind: str  # TXT | CNAME | A
    name: str
    value: str


def new_token() -> str:
    return "sf-verify-" + secrets.token_urlsafe(24)


def expected_records(domain: Domain) -> list[Record]:
    """What the owner creates at their DNS host."""
    config = current_app.config
    records = [Record("TXT", f"{TXT_PREFIX}.{domain.hostname}", domain.verify_token or "")]
    target = config.get("DOMAIN_CNAME_TARGET")
    if target:
        records.append(Record("CNAME", domain.hostname, target))
    for address in config.get("DOMAIN_TARGET_ADDRESSES") or ():
        records.append(Record("A" if ":" not in address else "AAAA", domain.hostname, address))
    return records


def _resolver() -> dns.resolver.Resolver:
    given = current_app.config.get("DNS_RESOLVER")
    if not given:
        return dns.resolver.Resolver()
    host, _, port = str(given).rpartition(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host or str(given)]
    resolver.port = int(port) if host else 53
    resolver.lifetime = float(current_app.config.get("DNS_TIMEOUT", 3.0))
    return resolver


def _answers(resolver: dns.resolver.Resolver, name: str, kind: str) -> list[str]:
    try:
        answer = resolver.resolve(name, kind)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return []
    values = []
    for item in answer:
        if kind == "TXT":
            values.append(b"".join(item.strings).decode("utf-8", "replace"))
        else:
            values.append(item.to_text().rstrip(".").lower())
    return values


def check(domain: Domain) -> tuple[bool, str]:
    """Whether the domain proves itself now: (ok, what was found, in one line)."""
    config = current_app.config
    resolver = _resolver()
    try:
        tokens = _answers(resolver, f"{TXT_PREFIX}.{domain.hostname}", "TXT")
        if domain.verify_token not in tokens:
            found = "none" if not tokens else "another value"
            return False, f"TXT {TXT_PREFIX}.{domain.hostname}: {found}"
        target = str(config.get("DOMAIN_CNAME_TARGET") or "").rstrip(".").lower()
        addresses = {a.lower() for a in config.get("DOMAIN_TARGET_ADDRESSES") or ()}
        if not target and not addresses:
            return True, "TXT found (no target configured to check)"
        cnames = _answers(resolver, domain.hostname, "CNAME")
        if target and target in cnames:
            return True, f"TXT found; CNAME -> {target}"
        pointed = set(_answers(resolver, domain.hostname, "A"))
        pointed |= set(_answers(resolver, domain.hostname, "AAAA"))
        if addresses and pointed & addresses:
            return True, "TXT found; A/AAAA -> the platform"
        where = ", ".join(sorted(cnames or pointed)) or "nowhere"
        return False, f"{domain.hostname} points to {where}, not to the platform"
    except dns.exception.DNSException as exc:
        return False, f"DNS lookup failed: {type(exc).__name__}"


def apply_check(domain: Domain, ok: bool, result: str) -> str:
    """Move the domain's status after a check; returns the new status."""
    now = utcnow()
    domain.last_checked_at, domain.last_check = now, result[:300]
    grace = timedelta(hours=float(current_app.config.get("DOMAIN_GRACE_HOURS", 72)))
    if ok:
        domain.status, domain.failing_since = "verified", None
    elif domain.status == "verified":
        domain.status, domain.failing_since = "failing", now
    elif domain.status == "failing" and now - (domain.failing_since or now) >= grace:
        domain.status = "lapsed"
    return domain.status


def describe(domain: Domain) -> dict[str, Any]:
    return {
        "hostname": domain.hostname,
        "status": domain.status,
        "primary": domain.is_primary,
        "trusted": domain.trusted,
        "last_checked_at": domain.last_checked_at,
        "last_check": domain.last_check,
        "records": [r.__dict__ for r in expected_records(domain)] if not domain.trusted else [],
    }
