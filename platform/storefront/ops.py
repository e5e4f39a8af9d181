"""Operator checks and reports: ``tenantctl check``, ``doctor`` and ``report``.

``report`` is the one place that reads across shops, inside ``all_tenants()``.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from .accounts.models import Role, User
from .extensions import db
from .orders.aggregates import SalesDay
from .outbox.services import health
from .storage import StorageError, current_storage, shop_prefix
from .tenancy.context import all_tenants
from .tenancy.hosts import InvalidHost, normalize_host
from .tenancy.models import Tenant
from .tenancy.services import get_shop, list_shops, tenants_dir
from .tenancy.settings import SettingsError, load_settings
from .themes.services import check_templates

# check ------------------------------------------------------------------------------


def check_shop(tenant: Tenant) -> list[str]:
    """Problems with one shop's folder, templates and domains (empty: all good)."""
    problems: list[str] = []
    folder = tenants_dir() / tenant.slug
    if not folder.is_dir():
        return [f"folder {folder} is missing"]
    try:
        settings = load_settings(tenants_dir(), tenant.slug)
    except SettingsError as exc:
        problems.append(str(exc))
        settings = None
    if settings is not None and settings.name != tenant.name:
        problems.append(
            f"name differs: tenant.toml says {settings.name!r}, the database {tenant.name!r} "
            f"(fix: tenantctl rename {tenant.slug} {settings.name!r})"
        )
    if settings is not None:
        # The same checks as `tenantctl theme check`: compiles, sandbox rules, budgets,
        # branding files.
        problems.extend(str(p) for p in check_templates(tenant.slug))
    primaries = [d for d in tenant.domains if d.is_primary]
    if len(primaries) != 1:
        problems.append(f"{len(primaries)} primary domains (exactly one is needed)")
    for domain in tenant.domains:
        try:
            if normalize_host(domain.hostname) != domain.hostname:
                problems.append(f"domain {domain.hostname!r} is not in normal form")
        except InvalidHost as exc:
            problems.append(f"domain {domain.hostname!r} is invalid: {exc}")
    return problems


def check(slug: str | None = None) -> dict[str, list[str]]:
    """Problems per shop; when checking every shop, folders without a shop too."""
    if slug is not None:
        return {slug: check_shop(get_shop(slug))}
    shops = list_shops()
    report = {t.slug: check_shop(t) for t in shops}
    known = {t.slug for t in shops}
    root = tenants_dir()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in known:
            report[folder.name] = [
                f"folder {folder} has no shop in the database "
                f"(fix: remove it, or tenantctl import an export of it)"
            ]
    return report


# doctor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def doctor() -> list[Finding]:
    return [
        _database(),
        _migrations(),
        _cache(),
        _mail(),
        _folder("instance folder", Path(current_app.instance_path)),
        _folder("tenants folder", tenants_dir()),
        _secret_key(),
        _outbox(),
        _storage(),
    ]


PROBE_KEY = "platform/doctor-probe.txt"


def orphan_files() -> list[str]:
    """Shop prefixes in the store whose shop is gone (a delete that could not reach it)."""
    with all_tenants():
        known = set(db.session.scalars(select(Tenant.uid)))
    return [uid for uid in current_storage().children("shops/") if uid not in known]


def purge_orphan_files() -> int:
    """Delete the files of shops that no longer exist; returns how many went."""
    return sum(current_storage().delete_prefix(shop_prefix(uid)) for uid in orphan_files())


def _storage() -> Finding:
    """The shops' files: the store answers a write, a read and a delete."""
    store = current_storage()
    try:
        store.put(PROBE_KEY, b"ok", "text/plain")
        found = store.get(PROBE_KEY)
        store.delete_prefix("platform")
        orphans = orphan_files()
    except StorageError as exc:
        return Finding(
            "file storage",
            False,
            f"{store.describe()}: {exc}",
            "start the object store or fix STOREFRONT_STORAGE_URL and its credentials",
        )
    if found is None or found.data != b"ok":
        return Finding(
            "file storage", False, f"{store.describe()}: a file written is not read back"
        )
    if orphans:
        return Finding(
            "file storage",
            False,
            f"{store.describe()}: files of {len(orphans)} deleted shop(s) remain",
            "tenantctl doctor --purge-orphan-files",
        )
    return Finding("file storage", True, store.describe())


def _outbox() -> Finding:
    """Mails waiting: a growing backlog or dead rows mean the mail server needs a look."""

    try:
        state = health()
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        db.session.rollback()
        return Finding("outbox", False, str(exc).splitlines()[0], "run tenantctl db upgrade")
    detail = (
        f"{state['pending']} pending (oldest {state['oldest_pending_seconds']} s), "
        f"{state['dead']} given up, {state['done']} delivered"
    )
    stuck = state["dead"] > 0 or state["oldest_pending_seconds"] > 3600
    fix = "check the mail server, then tenantctl outbox retry / run" if stuck else ""
    return Finding("outbox", not stuck, detail, fix)


def _database() -> Finding:
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        db.session.rollback()
        return Finding(
            "database",
            False,
            f"{url}: {str(exc).splitlines()[0]}",
            "start the database or fix STOREFRONT_DATABASE_URL",
        )
    return Finding("database", True, url)


def database_revisions() -> tuple[list[str], list[str]]:
    """(the database's revisions, the code's heads), each sorted."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    heads = sorted(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as conn:
        current = sorted(MigrationContext.configure(conn).get_current_heads())
    return current, heads


def _migrations() -> Finding:
    try:
        current, heads = database_revisions()
    except Exception as exc:  # noqa: BLE001
        return Finding("migrations", False, str(exc).splitlines()[0], "tenantctl db upgrade")
    if current != heads:
        return Finding(
            "migrations",
            False,
            f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)}",
            "tenantctl db upgrade",
        )
    return Finding("migrations", True, f"at head {', '.join(sorted(heads))}")


def _cache() -> Finding:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return Finding(
            "cache",
            True,
            "in-process SimpleCache (one process only; set STOREFRONT_REDIS_URL for production)",
        )
    import redis  # only when a Redis URL is configured

    from . import redisconn

    try:
        redisconn.client(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return Finding(
            "cache",
            False,
            f"Redis at {_redact(url)}: {exc}",
            "start Redis or fix STOREFRONT_REDIS_URL",
        )
    return Finding("cache", True, f"Redis at {_redact(url)}")


def _redact(url: str) -> str:
    return url.split("@", 1)[-1] if "@" in url else url


def _mail() -> Finding:
    backend = current_app.config.get("MAIL_BACKEND", "console")
    if backend != "smtp" and "smtp" not in str(backend):
        # Fine for development and tests; in production shoppers would get no mail.
        return Finding(
            "mail",
            current_app.config["ENVIRONMENT"] != "production",
            f"backend {backend!r} (mails are not delivered)",
            "set STOREFRONT_MAIL_BACKEND=smtp and STOREFRONT_MAIL_SERVER",
        )
    host = current_app.config.get("MAIL_SERVER", "localhost")
    port = int(current_app.config.get("MAIL_PORT", 25))
    try:
        with smtplib.SMTP(host, port, timeout=3) as smtp:
            smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding(
            "mail",
            False,
            f"SMTP {host}:{port}: {exc}",
            "check STOREFRONT_MAIL_SERVER / STOREFRONT_MAIL_PORT",
        )
    return Finding("mail", True, f"SMTP {host}:{port} answers")


def _folder(name: str, path: Path) -> Finding:
    if not path.is_dir():
        return Finding(name, False, f"{path} does not exist", f"mkdir -p {path}")
    if not os.access(path, os.W_OK):
        return Finding(name, False, f"{path} is not writable", f"fix the permissions of {path}")
    return Finding(name, True, str(path))


def _secret_key() -> Finding:
    key = current_app.config.get("SECRET_KEY") or ""
    generated = Path(current_app.instance_path) / "secret_key"
    if (
        current_app.config["ENVIRONMENT"] == "production"
        and generated.exists()
        and (generated.read_text().strip() == key)
    ):
        return Finding(
            "secret key",
            False,
            "production uses the generated development key",
            "set STOREFRONT_SECRET_KEY from your secret store",
        )
    if len(key) < 32:
        return Finding(
            "secret key",
            False,
            "shorter than 32 characters",
            "set STOREFRONT_SECRET_KEY to 32+ random characters",
        )
    return Finding("secret key", True, f"set ({len(key)} characters)")


# report -----------------------------------------------------------------------------


def report(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Net orders and revenue, and new customers, per shop from ``since`` up to
    ``until`` (exclusive). Sales are the shops' daily figures (``orders.aggregates``),
    by each shop's own calendar days, so the report costs days, not orders."""

    rows: dict[int, dict[str, Any]] = {}
    with all_tenants():
        for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
            rows[tenant.id] = {
                "slug": tenant.slug,
                "name": tenant.name,
                "orders": 0,
                "revenue": {},
                "new_customers": 0,
            }
        net_orders = func.sum(SalesDay.orders - SalesDay.cancelled)
        net_revenue = func.sum(SalesDay.revenue - SalesDay.refunded - SalesDay.cancelled_revenue)
        for tenant_id, currency, count, total in db.session.execute(
            select(SalesDay.tenant_id, SalesDay.currency, net_orders, net_revenue)
            .where(SalesDay.day >= since.date(), SalesDay.day < until.date())
            .group_by(SalesDay.tenant_id, SalesDay.currency)
        ):
            rows[tenant_id]["orders"] += int(count or 0)
            rows[tenant_id]["revenue"][currency] = int(total or 0)
        for tenant_id, count in db.session.execute(
            select(User.tenant_id, func.count())
            .where(
                User.created_at >= since,
                User.created_at < until,
                User.roles.any(Role.name == "customer"),
            )
            .group_by(User.tenant_id)
        ):
            rows[tenant_id]["new_customers"] = count
    return list(rows.values())
