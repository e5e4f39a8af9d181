"""Custom domains prove they belong to the shop before they serve it.

Adding a domain (owner or operator) makes it *pending* with a random token. The owner
publishes two records: a TXT record ``_storefront-verify.<domain>`` holding the token,
and the domain pointing at the platform (a CNAME to ``DOMAIN_CNAME_TARGET``, or A/AAAA
records among ``DOMAIN_TARGET_ADDRESSES``; ``records_for`` picks which to show). ``check``
looks both up with dnspython against ``DNS_RESOLVER`` (``host:port``; the system's when
unset). A verified domain is checked again by a periodic job: when its records stop
pointing here it is *failing* (still served for ``DOMAIN_GRACE_HOURS``), then *lapsed* (no
longer served): a domain left dangling cannot be taken over through us.
Operators may trust a domain by hand.

A claim that proves nothing must not block the name's real owner: a claim that serves
nothing (pending, lapsed) holds the name against other shops for ``DOMAIN_CLAIM_HOURS``
after it was added (``claim_expired``), and a shop whose records prove the name takes it
from such a claim at once. Each shop's token for a name is its own
(``claim_token``), so the real owner knows what to publish before its claim exists, and
the records it publishes never prove the other shop's claim.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dns.exception
import dns.resolver
from flask import current_app
from publicsuffixlist import PublicSuffixList

from .models import Domain, utcnow

TXT_PREFIX = "_storefront-verify"


@dataclass(frozen=True)
class Record:
    kind: str  # TXT | CNAME | A
    name: str
    value: str


def claim_token(shop_uid: str, hostname: str) -> str:
    """The TXT value that proves ``hostname`` for the shop ``shop_uid``: a keyed hash, so
    the same for every attempt of one shop and different for every other shop."""
    key = str(current_app.secret_key or "").encode()
    digest = hmac.new(key, f"domain-claim:{shop_uid}:{hostname}".encode(), hashlib.sha256)
    return "sf-verify-" + base64.urlsafe_b64encode(digest.digest()[:24]).decode()


def claim_ends(domain: Domain) -> datetime:
    """When an unproven claim stops holding its name against other shops."""
    hours = float(current_app.config.get("DOMAIN_CLAIM_HOURS", 72))
    return (domain.created_at or utcnow()) + timedelta(hours=hours)


def yields_to_proof(domain: Domain) -> bool:
    """A claim that serves nothing (pending, lapsed) and that no operator vouched for."""
    return not domain.serves and not domain.trusted


def claim_expired(domain: Domain, now: datetime | None = None) -> bool:
    """A claim that serves nothing, added more than ``DOMAIN_CLAIM_HOURS`` ago: any shop
    may add its name (and must prove it in turn before it serves)."""
    return yields_to_proof(domain) and (now or utcnow()) >= claim_ends(domain)


def expected_records(domain: Domain) -> list[Record]:
    """What the owner creates at their DNS host."""
    return records_for(domain.hostname, domain.verify_token or "")


def records_for(hostname: str, token: str) -> list[Record]:
    """The records that prove ``hostname`` with ``token``: the TXT proof, then what points
    the name at the platform. A CNAME to ``DOMAIN_CNAME_TARGET`` for a subdomain; A/AAAA
    records for ``DOMAIN_TARGET_ADDRESSES`` at a zone's apex (``example.com``, where DNS
    allows no CNAME beside the zone's own records) or when no CNAME target is set."""
    config = current_app.config
    records = [Record("TXT", f"{TXT_PREFIX}.{hostname}", token)]
    target = str(config.get("DOMAIN_CNAME_TARGET") or "").rstrip(".")
    addresses = config.get("DOMAIN_TARGET_ADDRESSES") or ()
    if target and not (addresses and is_apex(hostname)):
        records.append(Record("CNAME", hostname, target))
    else:
        for address in addresses:
            records.append(Record("A" if ":" not in address else "AAAA", hostname, address))
    return records


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list it ships with: no download at run time


def is_apex(hostname: str) -> bool:
    """Whether ``hostname`` is a zone's apex, the name registered under a public suffix
    (``example.co.uk``, not ``shop.example.co.uk``)."""
    return _suffixes().privatesuffix(hostname.rstrip(".").lower()) == hostname.rstrip(".").lower()


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
    return check_name(domain.hostname, domain.verify_token or "")


def check_name(hostname: str, token: str) -> tuple[bool, str]:
    """Whether ``hostname``'s records hold ``token`` and point here: (ok, one line)."""
    config = current_app.config
    resolver = _resolver()
    try:
        tokens = _answers(resolver, f"{TXT_PREFIX}.{hostname}", "TXT")
        if not token or token not in tokens:
            found = "none" if not tokens else "another value"
            return False, f"TXT {TXT_PREFIX}.{hostname}: {found}"
        target = str(config.get("DOMAIN_CNAME_TARGET") or "").rstrip(".").lower()
        addresses = {a.lower() for a in config.get("DOMAIN_TARGET_ADDRESSES") or ()}
        if not target and not addresses:
            return True, "TXT found (no target configured to check)"
        cnames = _answers(resolver, hostname, "CNAME")
        if target and target in cnames:
            return True, f"TXT found; CNAME -> {target}"
        pointed = set(_answers(resolver, hostname, "A"))
        pointed |= set(_answers(resolver, hostname, "AAAA"))
        if addresses and pointed & addresses:
            return True, "TXT found; A/AAAA -> the platform"
        where = ", ".join(sorted(cnames or pointed)) or "nowhere"
        return False, f"{hostname} points to {where}, not to the platform"
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
