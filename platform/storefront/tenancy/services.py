"""Shop lifecycle: create, domains, suspend/resume, rename. The CLI and tests call these.

Each change writes the database and the shop's folder as one step: the folder is built
beside its final place and moved in only after the rows are flushed, and removed again if
the commit fails, so a failure leaves neither a folder nor rows.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..db import transactional
from ..extensions import db
from .context import TenantContext, tenant_context
from .hosts import InvalidHost, validate_domain
from .models import Domain, Tenant, utcnow
from .registry import bump_generation, shop_by_slug
from .scaffold import render_settings
from .settings import SettingsError, load_settings, parse_settings
from .signals import domain_adding, shop_created
from .verification import (
    apply_check,
    check,
    check_name,
    claim_ends,
    claim_expired,
    claim_token,
    records_for,
    yields_to_proof,
)

SLUG = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")


class ShopError(ValueError):
    """An operator error, with a one-line message that says what to fix."""


class DomainContested(ShopError):
    """Another shop claims the name but has not proven it: this shop's proof takes it."""

    def __init__(self, hostname: str, owner: str, token: str, until: str, found: str) -> None:
        records = "; ".join(f"{r.kind} {r.name} {r.value}" for r in records_for(hostname, token))
        super().__init__(
            f"domain {hostname} is claimed by shop {owner!r}, unproven (it holds the name "
            f"until {until} UTC). To take it now, publish {records} and add it again ({found})"
        )
        self.hostname, self.token, self.until = hostname, token, until


@dataclass(frozen=True)
class NewShop:
    slug: str
    name: str
    domains: tuple[str, ...]
    theme: str = "classic"
    owner_email: str | None = None
    owner_password: str | None = None
    # A sign-up's owner chose a password before the shop existed: only its hash was kept.
    owner_password_hash: str | None = None
    locale: str = "en_US"
    currency: str = "USD"
    # "active", or "pending" (a sign-up waiting for the operator's approval: not served).
    status: str = "active"
    # Who opened it ("operator", "signup"): receivers of shop_created may act on it (a
    # trial for a shop that signed itself up); ``signup_id`` names the sign-up row.
    origin: str = "operator"
    signup_id: int | None = None


log = logging.getLogger(__name__)


def tenants_dir() -> Path:
    return Path(current_app.config["TENANTS_DIR"])


def bare_context(tenant: Tenant) -> TenantContext:
    """Enough of a context to scope queries to ``tenant`` (no folder read)."""
    primary = tenant.primary_domain
    return TenantContext(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        primary_host=primary.hostname if primary else "",
        hosts=tuple(d.hostname for d in tenant.domains),
        uid=tenant.uid,
        database=tenant.database,
    )


def get_shop(slug: str) -> Tenant:
    tenant = shop_by_slug(slug)
    if tenant is None:
        raise ShopError(f"no shop {slug!r} (see `tenantctl list`)")
    return tenant


def list_shops(status: str | None = None) -> list[Tenant]:
    stmt = select(Tenant).options(selectinload(Tenant.domains)).order_by(Tenant.slug)
    if status:
        stmt = stmt.where(Tenant.status == status)
    return list(db.session.scalars(stmt))


def validate_slug(slug: str) -> str:
    if not SLUG.match(slug or ""):
        raise ShopError(
            f"invalid slug {slug!r}: use 2-63 lower-case letters, digits and inner hyphens, "
            "starting with a letter"
        )
    return slug


def normalize_domains(hosts: Iterable[str]) -> list[str]:
    result = []
    for raw in hosts:
        try:
            host = validate_domain(raw)
        except InvalidHost as exc:
            raise ShopError(f"invalid domain {raw!r}: {exc}") from None
        if host not in result:
            result.append(host)
    return result


def check_domains_free(hosts: Iterable[str], for_tenant: int | None = None) -> None:
    """Refuse hosts another shop holds; a pending claim past its time holds nothing and
    is dropped here."""
    for host in hosts:
        held = _other_claim(host, for_tenant)
        if held is not None:
            raise ShopError(f"domain {host} is already claimed by shop {held.tenant.slug!r}")


def _other_claim(host: str, for_tenant: int | None) -> Domain | None:
    """Another shop's row for ``host``, after dropping it if it is an expired claim."""
    held = db.session.scalar(
        select(Domain).where(Domain.hostname == host).where(Domain.tenant_id != (for_tenant or -1))
    )
    if held is not None and claim_expired(held):
        log.warning("unproven claim of %s on %s expired: dropped", held.tenant.slug, host)
        _drop_claim(held)
        return None
    return held


def _drop_claim(domain: Domain) -> None:
    domain.tenant.domains.remove(domain)
    db.session.delete(domain)
    db.session.flush()  # the name is free before a new row takes it (unique index)


def create_shop(new: NewShop, *, adopt_folder: bool = False) -> Tenant:
    """Register a shop, its domains and roles, optionally its owner, and scaffold its folder.

    With ``adopt_folder`` an existing ``tenants/<slug>/`` (the demo shops, an import) is
    validated and kept instead of scaffolded.
    """
    slug = validate_slug(new.slug)
    domains = normalize_domains(new.domains)
    if not domains:
        raise ShopError("a shop needs at least one domain (--domain HOST)")
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise ShopError(f"shop {slug!r} already exists")
    check_domains_free(domains)
    folder = tenants_dir() / slug
    if adopt_folder:
        try:
            settings = load_settings(tenants_dir(), slug)
        except SettingsError as exc:
            raise ShopError(str(exc)) from None
        name = settings.name
        staging = None
    else:
        if folder.exists():
            raise ShopError(f"{folder} already exists; move it away or pick another slug")
        name = (new.name or "").strip()
        if not name:
            raise ShopError("a shop needs a display name (--name)")
        text = render_settings(slug, name, new.theme, new.locale, new.currency)
        try:
            # Named as what it is: the settings about to be written (no file exists yet).
            parse_settings(text, "the new shop's settings")
        except SettingsError as exc:
            raise ShopError(str(exc)) from None
        staging = _stage_folder(folder, text)
    try:
        tenant = Tenant(slug=slug, name=name, status=new.status)
        tenant.domains = [Domain(hostname=h, is_primary=(i == 0)) for i, h in enumerate(domains)]
        db.session.add(tenant)
        db.session.flush()
        with tenant_context(bare_context(tenant)):
            # Accounts (roles, the owner) and orders (the counter) set themselves up.
            shop_created.send(
                tenant,
                owner_email=new.owner_email,
                owner_password=new.owner_password,
                owner_password_hash=new.owner_password_hash,
                origin=new.origin,
                signup_id=new.signup_id,
            )
            bump_generation()
            db.session.flush()
        if staging is not None:
            staging.rename(folder)
            staging = None
        try:
            db.session.commit()
        except Exception:
            if not adopt_folder:
                shutil.rmtree(folder, ignore_errors=True)
            raise
    except IntegrityError as exc:
        db.session.rollback()
        raise ShopError(f"could not create shop {slug!r}: {exc.orig}") from None
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return tenant


def _stage_folder(folder: Path, settings_text: str) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    (staging / "tenant.toml").write_text(settings_text, encoding="utf-8")
    (staging / "templates").mkdir()
    (staging / "static").mkdir()
    return staging


@transactional
def add_domain(slug: str, host: str, primary: bool = False, trust: bool = False) -> Domain:
    """Add a domain: pending until its DNS proves it (``verify_domain``), or at once when
    the operator vouches for it (``trust``, logged)."""
    tenant = get_shop(slug)
    (hostname,) = normalize_domains([host])
    if any(d.hostname == hostname for d in tenant.domains):
        raise ShopError(f"{hostname} already belongs to {slug}")
    domain_adding.send(tenant, hostname=hostname)  # the shop's plan may refuse
    token = None if trust else claim_token(tenant.uid, hostname)
    proof = ""
    held = _other_claim(hostname, tenant.id)
    if held is not None:
        if trust or not yields_to_proof(held):
            raise ShopError(f"domain {hostname} is already claimed by shop {held.tenant.slug!r}")
        # An unproven claim must not block the name's owner: a proof takes it.
        proven, proof = check_name(hostname, token or "")
        if not proven:
            until = f"{claim_ends(held):%Y-%m-%d %H:%M}"
            raise DomainContested(hostname, held.tenant.slug, token or "", until, proof)
        log.warning(
            "%s proved %s: taken from %s's unproven claim", slug, hostname, held.tenant.slug
        )
        _drop_claim(held)
    if primary and not (trust or proof):
        raise ShopError(f"{hostname} would be pending: verify it before making it primary")
    domain = Domain(
        hostname=hostname,
        is_primary=False,
        status="verified" if trust or proof else "pending",
        trusted=trust,
        verify_token=token,
        last_check=proof[:300],
        last_checked_at=utcnow() if proof else None,
    )
    tenant.domains.append(domain)
    if trust:
        log.warning("domain %s of %s trusted by the operator without a DNS check", hostname, slug)
    if domain.serves and (primary or not any(d.is_primary for d in tenant.domains)):
        _make_primary(tenant, hostname)
    _registry_changed()
    return domain


@transactional
def verify_domain(slug: str, host: str, trust: bool = False) -> Domain:
    """Check a domain's records now (or trust it by hand); the outcome is committed."""
    tenant = get_shop(slug)
    (hostname,) = normalize_domains([host])
    domain = next((d for d in tenant.domains if d.hostname == hostname), None)
    if domain is None:
        raise ShopError(f"{hostname} is not a domain of {slug}")
    if trust:
        domain.status, domain.trusted, domain.failing_since = "verified", True, None
        domain.last_check = "trusted by the operator"
        log.warning("domain %s of %s trusted by the operator without a DNS check", hostname, slug)
    else:
        ok, result = check(domain)
        apply_check(domain, ok, result)
    _registry_changed()
    return domain


@transactional
def remove_domain(slug: str, host: str) -> None:
    tenant = get_shop(slug)
    (hostname,) = normalize_domains([host])
    domain = next((d for d in tenant.domains if d.hostname == hostname), None)
    if domain is None:
        raise ShopError(f"{hostname} is not a domain of {slug}")
    if domain.is_primary:
        raise ShopError(f"{hostname} is {slug}'s primary domain: make another one primary first")
    tenant.domains.remove(domain)
    db.session.delete(domain)
    _registry_changed()


@transactional
def set_primary(slug: str, host: str) -> None:
    tenant = get_shop(slug)
    (hostname,) = normalize_domains([host])
    domain = next((d for d in tenant.domains if d.hostname == hostname), None)
    if domain is None:
        raise ShopError(f"{hostname} is not a domain of {slug} (add it first)")
    if not domain.serves:
        raise ShopError(f"{hostname} is {domain.status}: verify it first")
    _make_primary(tenant, hostname)
    _registry_changed()


def _make_primary(tenant: Tenant, hostname: str) -> None:
    for domain in tenant.domains:
        domain.is_primary = domain.hostname == hostname


@transactional
def suspend_shop(slug: str, reason: str | None = None) -> Tenant:
    """Suspend a shop (again: the new reason replaces the old one; the CLI says so)."""
    tenant = get_shop(slug)
    tenant.status = "suspended"
    tenant.suspended_reason = reason
    _registry_changed()
    return tenant


DATABASE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


@transactional
def place_shop(slug: str, database: str) -> Tenant:
    """Name the database (cluster) that holds the shop's rows. Installations serve only
    the shops placed on their own ``DATABASE_NAME``: naming another (or a name no
    installation has, while the rows move) takes the shop off this one at once."""
    if not DATABASE_NAME.fullmatch(database):
        raise ShopError(
            f"{database!r} is not a database name: lowercase letters, digits, - and _ "
            "(up to 63), e.g. main or eu-2"
        )
    tenant = get_shop(slug)
    tenant.database = database
    _registry_changed()
    return tenant


@transactional
def resume_shop(slug: str) -> Tenant:
    tenant = get_shop(slug)
    tenant.status = "active"
    tenant.suspended_reason = None
    _registry_changed()
    return tenant


def _registry_changed() -> None:
    """Every worker reloads the registry once the change commits (``@transactional``)."""
    bump_generation()


@transactional
def clear_cache(slug: str | None = None) -> int:
    """Move one shop (or every shop) to a new cache generation: O(1), no key scan.

    Old keys are never read again and expire on their own; returns how many shops moved.
    """
    stmt = update(Tenant).values(cache_generation=Tenant.cache_generation + 1)
    if slug is not None:
        stmt = stmt.where(Tenant.id == get_shop(slug).id)
    moved = db.session.execute(stmt).rowcount  # type: ignore[attr-defined]
    _registry_changed()
    return int(moved)
