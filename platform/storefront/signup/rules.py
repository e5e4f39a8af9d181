"""The rules a sign-up passes before anything is written: a free, allowed name, and the
abuse limits (per address, per network, a cooling-off after refused attempts).

Each limit reads at most a handful of rows through an index (``LIMIT n``), never a count
of the table. Times come from ``now`` (the caller's clock: tests move it by hand).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from ..extensions import db
from ..tenancy.models import Domain, Tenant
from ..tenancy.services import SLUG
from .models import WAITING, Signup, SignupFailure

# Names a shop can never take: the platform's own hosts and words that look official.
RESERVED = frozenset(
    {
        "www", "admin", "administrator", "api", "app", "mail", "email", "smtp", "imap",
        "pop", "pop3", "mx", "ns", "ns1", "ns2", "dns", "ftp", "sftp", "ssh", "vpn",
        "static", "assets", "media", "cdn", "img", "files", "status", "health", "metrics",
        "signup", "sign-up", "login", "logout", "register", "account", "accounts", "auth",
        "dashboard", "billing", "pay", "payments", "checkout", "support", "help", "docs",
        "blog", "news", "shop", "shops", "store", "stores", "storefront", "platform",
        "root", "system", "operator", "security", "abuse", "postmaster", "hostmaster",
        "webmaster", "localhost", "test", "example", "invalid", "internal", "demo",
    }
)  # fmt: skip


class SignupRefused(ValueError):
    """A sign-up the rules refuse; ``code`` is stable (the JSON check and tests read it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Availability:
    slug: str
    available: bool
    code: str  # "available", "invalid", "reserved", "taken"
    host: str


def network_of(address: str | None) -> str:
    """The network an address belongs to for the limits: IPv4 /24, IPv6 /64."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def platform_domain() -> str:
    return str(current_app.config["PLATFORM_DOMAIN"])


def shop_host(slug: str) -> str:
    return f"{slug}.{platform_domain()}"


def reserved_slugs() -> frozenset[str]:
    extra = {s.strip().lower() for s in current_app.config.get("SIGNUP_RESERVED_SLUGS", ())}
    # The platform domain's own first label ("shops" of shops.example) is its name too.
    own = platform_domain().split(".")[0]
    return RESERVED | extra | {own}


def availability(raw: str, now: datetime) -> Availability:
    """Whether ``raw`` can be a new shop's slug now (three indexed lookups at most)."""
    slug = (raw or "").strip().lower()[:63]
    host = shop_host(slug) if slug else ""
    if not SLUG.match(slug) or "--" in slug:
        return Availability(slug, False, "invalid", host)
    if slug in reserved_slugs():
        return Availability(slug, False, "reserved", host)
    taken = (
        db.session.scalar(select(Tenant.id).where(Tenant.slug == slug).limit(1)) is not None
        or db.session.scalar(select(Domain.id).where(Domain.hostname == host).limit(1)) is not None
        or _held(slug, now)
    )
    return Availability(slug, not taken, "taken" if taken else "available", host)


def _held(slug: str, now: datetime) -> bool:
    """Another sign-up holds the name (its link still alive)."""
    row = db.session.execute(
        select(Signup.id, Signup.status, Signup.expires_at).where(Signup.slug_hold == slug)
    ).first()
    return row is not None and not (row.status == WAITING and row.expires_at <= now)


def release_lapsed_hold(slug: str, now: datetime) -> None:
    """A waiting sign-up past its link's life lets go of the name (before a new one takes
    it: the column is unique)."""
    lapsed = db.session.scalar(
        select(Signup).where(
            Signup.slug_hold == slug, Signup.status == WAITING, Signup.expires_at <= now
        )
    )
    if lapsed is not None:
        lapsed.slug_hold = None
        db.session.flush()


def check_limits(email: str, network: str, now: datetime) -> None:
    """Refuse a sign-up past the per-address or per-network limit of the last day."""
    config = current_app.config
    day = now - timedelta(days=1)
    for column, value, limit, code, message in (
        (
            Signup.email,
            email,
            int(config["SIGNUP_PER_EMAIL"]),
            "too_many_for_address",
            "This address has opened enough shops for today. Please try again tomorrow.",
        ),
        (
            Signup.network,
            network,
            int(config["SIGNUP_PER_NETWORK"]),
            "too_many_for_network",
            "Too many shops were opened from your network today. Please try again tomorrow.",
        ),
    ):
        recent = db.session.scalars(
            select(Signup.id).where(column == value, Signup.created_at > day).limit(limit)
        ).all()
        if len(recent) >= limit:
            raise SignupRefused(code, message)


def cooling_until(network: str, now: datetime) -> datetime | None:
    """When a network's cooling-off ends, if it is in one: ``SIGNUP_FAILURES`` refused
    attempts within the window, counted from the newest (reads that many rows at most)."""
    config = current_app.config
    needed = int(config["SIGNUP_FAILURES"])
    window = timedelta(minutes=int(config["SIGNUP_FAILURE_WINDOW_MINUTES"]))
    times = db.session.scalars(
        select(SignupFailure.at)
        .where(SignupFailure.network == network)
        .order_by(SignupFailure.at.desc())
        .limit(needed)
    ).all()
    if len(times) < needed or times[0] - times[-1] > window:
        return None
    until = times[0] + timedelta(minutes=int(config["SIGNUP_COOLDOWN_MINUTES"]))
    return until if until > now else None


def record_failure(network: str, now: datetime) -> None:
    """One refused attempt; older ones than a day go (the table stays small)."""
    db.session.add(SignupFailure(network=network, at=now))
    db.session.execute(
        delete(SignupFailure).where(
            SignupFailure.network == network, SignupFailure.at < now - timedelta(days=1)
        )
    )
