"""Periodic work, fanned out per shop with jitter.

Each task runs once per period per shop, at a moment inside the period that depends on
the shop (a hash of its uid and the task's name): ten thousand shops' daily digests are
spread over the day instead of firing at midnight. A row in ``periodic_runs`` (unique per
shop, task and period) makes each run happen once however many workers look.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError

from .. import metrics
from ..audit import services as audit
from ..billing import services as billing
from ..catalog import search
from ..catalog.models import Product
from ..db import unit_of_work
from ..extensions import db
from ..i18n import shop_locale
from ..logs import log_context
from ..orders import services as orders
from ..outbox import deliver_committed
from ..outbox.services import prune_done, queue_shop_mail
from ..privacy import retention
from ..reminders import sending as cart_reminders
from ..reviews import invitations as review_invitations
from ..tenancy.context import all_tenants, current_tenant, tenant_context
from ..tenancy.models import Tenant
from ..tenancy.registry import bump_generation
from ..tenancy.verification import apply_check, check
from ..transfers import services as transfers
from .models import PeriodicRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    every: int  # seconds
    run: Callable[[], None]  # runs with the shop bound; the caller commits


def low_stock_digest() -> None:
    """Mail the shop's contact the active products at or below the low-stock threshold."""
    settings = current_tenant().settings
    if settings is None or not settings.contact_email:
        return
    threshold = int(current_app.config.get("LOW_STOCK_THRESHOLD", 3))
    low = db.session.scalars(
        select(Product)
        .where(Product.active == true(), Product.stock <= threshold)
        .order_by(Product.stock, Product.title)
        .limit(200)
    ).all()
    if not low:
        return
    with shop_locale(None):  # the owner's mail: the shop's default language
        items = [
            ngettext(
                "%(title)s (%(sku)s): %(num)s left",
                "%(title)s (%(sku)s): %(num)s left",
                p.stock,
                title=p.title,
                sku=p.sku,
            )
            for p in low
        ]
        subject = ngettext(
            "%(num)s product running low at %(shop)s",
            "%(num)s products running low at %(shop)s",
            len(low),
            shop=settings.name,
        )
        queue_shop_mail(
            settings.contact_email,
            "mail/notice",
            subject,
            heading=subject,
            paragraphs=[
                ngettext(
                    "These products have %(num)s unit or fewer left:",
                    "These products have %(num)s or fewer units left:",
                    threshold,
                )
            ],
            items=items,
            link="",
            link_label="",
        )


def release_unpaid_orders() -> None:
    """Cancel orders left unpaid past the shop's limit; their stock goes back on sale."""
    orders.release_unpaid()


def billing_dunning() -> None:
    """Close a shop to shoppers once its grace period after a failed payment is over
    (storefront.billing). Reads the bound context first: a shop in good standing costs
    no query."""
    if current_tenant().billing_state != "past_due":
        return
    tenant = db.session.get(Tenant, current_tenant().id)
    if tenant is not None:
        billing.dunning_step(tenant)


def recheck_domains() -> None:
    """Check the shop's custom domains again: pending ones that now prove themselves
    serve; verified ones whose records are gone fail, then lapse after the grace period
    (a dangling domain cannot be taken over through us). The owner hears of a failure."""
    tenant = db.session.get(Tenant, current_tenant().id)
    if tenant is None:
        return
    changed = []
    for domain in tenant.domains:
        if domain.trusted or domain.status == "lapsed":
            continue
        before = domain.status
        ok, result = check(domain)
        after = apply_check(domain, ok, result)
        if after != before:
            changed.append((domain.hostname, before, after, result))
    if not changed:
        return
    bump_generation()  # every worker's registry sees the new statuses
    settings = current_tenant().settings
    failing = [c for c in changed if c[2] in ("failing", "lapsed")]
    if failing and settings is not None and settings.contact_email:
        with shop_locale(None):
            subject = _("A domain of %(shop)s no longer points at the shop", shop=settings.name)
            queue_shop_mail(
                settings.contact_email,
                "mail/notice",
                subject,
                heading=subject,
                paragraphs=[
                    _(
                        "Fix the records at your DNS host (your platform operator has the "
                        "exact ones); a domain that stays broken stops serving the shop."
                    )
                ],
                items=[f"{host}: {result}" for host, _b, _a, result in failing],
                link="",
                link_label="",
            )


def follow_search_languages() -> None:
    """Rebuild the shop's search index when its languages changed since it was built."""
    search.follow_languages()


def privacy_retention() -> None:
    """Erase the guests and inactive accounts past the periods the shop's owner set."""
    retention.apply()


def expire_transfer_files() -> None:
    """Delete the files of exports and imports that finished a week ago (they hold
    customers' addresses and the whole catalog); the dashboard says they are gone."""
    transfers.expire_files()


def prune_outbox() -> None:
    """Forget the shop's mails and webhook deliveries delivered long ago."""
    prune_done(int(current_app.config.get("OUTBOX_KEEP_DAYS", 90)))


def send_cart_reminders() -> None:
    """Mail the shop's due cart reminders, a bounded batch per run (the rest wait for the
    next run, a quarter of an hour later: another shop's run is never held up)."""
    cart_reminders.send_due()


def send_review_invitations() -> None:
    """Invite the buyers of orders delivered the owner's days ago to review them, a
    bounded batch per run (the rest wait for the next run, an hour later)."""
    review_invitations.send_due()


def audit_prune() -> None:
    """Delete the shop's audit entries older than its retention (a checkpoint entry keeps
    the rest verifiable)."""
    audit.prune()


TASKS = (
    Task("low-stock-digest", 86_400, low_stock_digest),
    Task("release-unpaid-orders", 3_600, release_unpaid_orders),
    Task("recheck-domains", 6 * 3_600, recheck_domains),
    Task("billing-dunning", 3_600, billing_dunning),
    Task("expire-transfer-files", 86_400, expire_transfer_files),
    Task("search-languages", 3_600, follow_search_languages),
    Task("privacy-retention", 86_400, privacy_retention),
    Task("prune-outbox", 86_400, prune_outbox),
    Task("cart-reminders", 900, send_cart_reminders),
    Task("review-invitations", 3_600, send_review_invitations),
    Task("audit-prune", 86_400, audit_prune),
)


def offset(uid: str, task: str, every: int) -> int:
    """When in each period this shop's run is due (seconds after the period starts)."""
    digest = hashlib.sha256(f"{uid}:{task}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % every


def run_periodic(now: float | None = None) -> int:
    """Run every task that is due for any active shop; returns how many runs happened."""
    now = time.time() if now is None else now
    with all_tenants():
        shops = db.session.execute(
            select(Tenant.id, Tenant.uid).where(Tenant.status == "active")
        ).all()
    ran = 0
    for task in TASKS:
        period = int(now // task.every)
        started = period * task.every
        for shop_id, uid in shops:
            if now < started + offset(uid, task.name, task.every):
                continue
            ran += _run_once(shop_id, task, period)
    deliver_committed()  # the runs' mails: sent now, or handed to the queue
    return ran


def _run_once(shop_id: int, task: Task, period: int) -> int:
    with all_tenants():
        done = db.session.scalar(
            select(PeriodicRun.id).where(
                PeriodicRun.tenant_id == shop_id,
                PeriodicRun.task == task.name,
                PeriodicRun.period == period,
            )
        )
        tenant = None if done else db.session.get(Tenant, shop_id)
    if tenant is None:
        return 0
    kind, started = f"periodic:{task.name}", time.perf_counter()
    with log_context(shop=tenant.slug, job=kind):  # its lines, the failure's too
        return _run_bound(tenant, task, period, kind, started)


def _run_bound(tenant: Tenant, task: Task, period: int, kind: str, started: float) -> int:
    shop_id = tenant.id
    try:
        with tenant_context(tenant):

            def run() -> None:  # the marker and the task's outbox rows, together
                db.session.add(PeriodicRun(task=task.name, period=period))
                task.run()

            unit_of_work(run)
    except IntegrityError:  # rolled back: another worker ran it for this period
        return 0
    except Exception:  # rolled back
        log.exception("periodic %s failed for shop %s", task.name, shop_id)
        metrics.job_ran(kind, "failed", time.perf_counter() - started)
        return 0
    metrics.job_ran(kind, "ok", time.perf_counter() - started)
    return 1
