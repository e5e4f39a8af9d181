"""Writing to the outbox and running what it holds.

``enqueue`` adds a row to the caller's transaction: the work exists exactly when the
change commits. After the commit the new rows are delivered out of band (after the
response is sent, or at the end of a CLI command); a row whose delivery fails stays
pending and is retried with backoff by the next delivery round or ``tenantctl outbox
run``. A row is claimed with a conditional UPDATE before it is sent, so two runners
never send it twice.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from flask import current_app, g, has_app_context
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import delete, func, select, update

from .. import metrics, plans, tracing
from ..db import retrying, unit_of_work
from ..extensions import db
from ..logs import log_context
from ..metrics import usage
from ..tenancy.context import all_tenants, current_tenant, tenant_context
from ..tenancy.models import Tenant, utcnow
from ..themes.mail import render_mail
from .models import DEAD, DONE, PENDING, SENDING, OutboxMessage

log = logging.getLogger(__name__)

# Why a mail past the plan's mails per day was not sent (the health panel shows it).
OVER_PLAN = "PlanLimitReached: mails per day of the shop's plan used up; not sent"
MAX_ATTEMPTS = 12  # about a day of backoff (30 s doubling, capped at 4 h)
NEW_ROWS = "storefront.outbox.new"  # session.info: rows added in this transaction

Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}
GIVE_UP: dict[str, Handler] = {}  # called (shop bound) when a row of that kind goes dead
# Kinds whose rows wait on someone else's server (webhooks): the receiver, not the
# platform, decides how long they take, so a web worker never runs them (the in-process
# jobs backend hands them to its own threads).
BACKGROUND_KINDS: set[str] = set()
# Kinds whose handler commits as it goes, a unit of work per batch (a reindex, a transfer):
# the runner does not hold them in one transaction.
BATCHED_KINDS: set[str] = set()


def handler(
    kind: str, *, background: bool = False, batches: bool = False
) -> Callable[[Handler], Handler]:
    """Register the function that carries out outbox rows of ``kind``; ``background``:
    rows of this kind never run in a web worker.

    The runner runs the handler as one unit of work (``db.unit_of_work``): committed
    once when it returns, rolled back when it raises; handlers never commit. With
    ``batches`` the handler runs outside one and makes its own, one per batch."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if background:
            BACKGROUND_KINDS.add(kind)
        if batches:
            BATCHED_KINDS.add(kind)
        return fn

    return register


def on_give_up(kind: str) -> Callable[[Handler], Handler]:
    """Register what to do when a row of ``kind`` runs out of attempts."""

    def register(fn: Handler) -> Handler:
        GIVE_UP[kind] = fn
        return fn

    return register


def enqueue(kind: str, payload: dict[str, Any], dedupe_key: str | None = None) -> OutboxMessage:
    """Add work for the bound shop to the current transaction (the caller commits)."""
    current_tenant()  # fail closed: outbox rows always belong to a shop
    row = OutboxMessage(
        kind=kind,
        dedupe_key=(dedupe_key or f"{kind}:{secrets.token_hex(12)}")[:160],
        payload=json.dumps(payload, separators=(",", ":")),
        request_id=_request_id(),
        traceparent=tracing.traceparent(),  # "" when tracing is off
    )
    db.session.add(row)
    db.session.info.setdefault(NEW_ROWS, []).append(row)
    return row


def _request_id() -> str:
    """The id of the request queuing work, if there is one (a job's own enqueue passes on
    the id of the request that queued the job: see ``_run_one``)."""
    return str(g.get("request_id", "")) if has_app_context() else ""


def enqueue_mail(
    to: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue a mail from the bound shop. No sender is stored: see ``shop_sender``.
    ``headers``: extra ones among ``EXTRA_HEADERS`` (a reminder's List-Unsubscribe)."""
    payload: dict[str, Any] = {
        "to": to,
        "subject": subject,
        "body": body,
        "html": html,
        "message_id": f"<{secrets.token_hex(16)}@{current_tenant().slug}.storefront>",
    }
    if headers:
        payload["headers"] = {k: v for k, v in headers.items() if k in EXTRA_HEADERS}
    row = enqueue("mail", payload, dedupe_key)
    if not plans.take_mail():
        # Past the plan's mails per day: kept, never sent, and shown with the failed
        # mails (the dashboard's health panel); the change that wrote it still commits.
        row.status, row.last_error = DEAD, OVER_PLAN
        usage.record(current_tenant().id, mail_failed=1)
    return row


# What a queued mail may add to its headers (RFC 2369 and RFC 8058's one-click unsubscribe).
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post"})


def queue_shop_mail(
    to: str,
    name: str,
    subject: str,
    dedupe_key: str | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> OutboxMessage:
    """Draw the mail ``name`` (``name.txt`` and ``name.html``, see ``themes.mail``) for the
    bound shop now, in the current language, and queue it; for work that already runs
    in a job (a periodic task, a give-up handler), not in a shopper's request."""
    rendered = render_mail(name, **context)
    return enqueue_mail(to, subject, rendered.text, dedupe_key, html=rendered.html, headers=headers)


def send_mail_now(
    to: str, subject: str, body: str, html: str | None = None, message_id: str | None = None
) -> None:
    """Send a mail from the bound shop at once: for an outbox job that writes one (the
    job's own retries cover the send; a job that sends one mail passes the Message-ID it
    queued, so a retry carries the same)."""
    message_id = message_id or f"<{secrets.token_hex(16)}@{current_tenant().slug}.storefront>"
    _send_mail({"to": to, "subject": subject, "body": body, "html": html, "message_id": message_id})


def shop_sender() -> str:
    """The bound shop's ``[mail] sender`` (through the config overlay), else the platform's
    ``MAIL_DEFAULT_SENDER``. Read when a mail goes out, never from the queued row: a row
    may come from an imported archive, and the From of a shop's mail is the shop's."""
    current_tenant()  # fail closed: without a shop there is no shop's sender
    return str(current_app.config.get("MAIL_DEFAULT_SENDER"))


@handler("mail")
def _send_mail(payload: dict[str, Any]) -> None:
    message = EmailMultiAlternatives(
        payload["subject"],
        payload["body"],
        from_email=shop_sender(),
        to=[payload["to"]],
        # One Message-ID per outbox row: a retry after a crash mid-send carries the same
        # id, so mail servers and clients can tell a repeat from a new mail.
        headers=_headers(payload),
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    try:
        message.send()
    except Exception:
        metrics.mail_sent(ok=False)
        usage.record(current_tenant().id, mail_failed=1)
        raise
    metrics.mail_sent(ok=True)


def _headers(payload: dict[str, Any]) -> dict[str, str] | None:
    headers = {
        str(k): str(v) for k, v in (payload.get("headers") or {}).items() if k in EXTRA_HEADERS
    }
    if payload.get("message_id"):
        headers["Message-ID"] = payload["message_id"]
    return headers or None


def deliver(ids: Iterable[int]) -> int:
    """Run the given rows now (if still pending); returns how many were carried out."""
    done = 0
    for row_id in ids:
        done += _run_one(row_id)
    return done


def run_due(limit: int = 100) -> int:
    """Run up to ``limit`` rows whose time has come, any shop; returns how many ran."""
    return deliver(row_id for row_id, _shop, _kind in due_rows(limit))


def due_rows(limit: int = 100) -> list[tuple[int, int, str]]:
    """Up to ``limit`` rows whose time has come, any shop: (row id, shop id, kind)."""
    now = utcnow()
    with all_tenants():
        unit_of_work(
            lambda: db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == SENDING, OutboxMessage.next_attempt_at < now)
                .values(status=PENDING)
                .execution_options(synchronize_session=False)
            )
        )
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.tenant_id, OutboxMessage.kind)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        ).all()
    return [(row.id, row.tenant_id, row.kind) for row in rows]


def _run_one(row_id: int) -> int:
    with all_tenants():

        def claim() -> int:
            result = db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == PENDING)
                .values(status=SENDING, next_attempt_at=utcnow() + _claim_lease())
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        claimed = retrying(claim)
        if claimed != 1:
            return 0  # another runner has it, or it is done
        row = db.session.get(OutboxMessage, row_id)
        tenant = db.session.get(Tenant, row.tenant_id) if row is not None else None
    if row is None or tenant is None:
        return 0
    # Plain values now: a handler may commit, which expires the row (and reloading a
    # shop's row needs the shop bound).
    kind, payload, attempts, key = row.kind, json.loads(row.payload), row.attempts, row.dedupe_key
    origin, parent = row.request_id, row.traceparent  # the request that queued it
    # Every line of the run says its shop and the request that queued it (storefront.logs).
    with log_context(shop=tenant.slug, request_id=origin or None, job=kind, job_id=row_id):
        return _run_claimed(row_id, tenant, kind, payload, attempts, key, origin, parent)


def _run_claimed(
    row_id: int,
    tenant: Tenant,
    kind: str,
    payload: dict[str, Any],
    attempts: int,
    key: str,
    origin: str,
    parent: str,
) -> int:
    if tenant.status != "active":
        log.info("outbox: shop %s is %s; %s deferred", tenant.slug, tenant.status, kind)
        _finish(row_id, PENDING, attempts, "shop not active", delay=timedelta(hours=1))
        return 0
    fn = HANDLERS.get(kind)
    started = time.perf_counter()
    try:
        if fn is None:
            raise LookupError(f"no handler for outbox rows of kind {kind!r}")
        span = tracing.job_span(
            kind, row_id, request_id=origin, traceparent=parent, attempt=attempts + 1
        )
        with tenant_context(tenant), span:
            _as_unit(kind, lambda: fn(payload))
    except Exception as exc:  # noqa: BLE001 - any failure is retried later, never lost
        db.session.rollback()
        attempts += 1
        status = DEAD if attempts >= MAX_ATTEMPTS else PENDING
        log.warning(
            "outbox: %s %s for shop %s failed (attempt %d): %s",
            kind,
            key,
            tenant.slug,
            attempts,
            exc,
        )
        _finish(row_id, status, attempts, f"{type(exc).__name__}: {exc}", delay=_backoff(attempts))
        metrics.job_ran(kind, "dead" if status == DEAD else "failed", time.perf_counter() - started)
        if status == DEAD and kind in GIVE_UP:
            with tenant_context(tenant):
                _as_unit(kind, lambda: GIVE_UP[kind](payload))
        return 0
    _finish(row_id, DONE, attempts + 1, "")
    metrics.job_ran(kind, "ok", time.perf_counter() - started)
    return 1


def _as_unit(kind: str, work: Callable[[], None]) -> None:
    """A handler's run as its unit of work, not retried at once: a write conflict fails
    the run and the row's own retry (later, with backoff) runs it again, so a mail or a
    delivery is not repeated in a hurry. A batched kind makes its own units."""
    if kind in BATCHED_KINDS:
        work()
    else:
        unit_of_work(work, attempts=1)


def _backoff(attempts: int) -> timedelta:
    base = float(current_app.config.get("OUTBOX_RETRY_SECONDS", 30))
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 4 * 3600))


def _claim_lease() -> timedelta:
    """How long a claimed row may take before another runner may try it again."""
    return timedelta(seconds=float(current_app.config.get("OUTBOX_CLAIM_SECONDS", 600)))


def _finish(
    row_id: int, status: str, attempts: int, error: str, delay: timedelta = timedelta(0)
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "attempts": attempts,
        "last_error": error[:2000],
        "next_attempt_at": utcnow() + delay,
    }
    if status == DONE:
        values["done_at"] = utcnow()
    with all_tenants():  # lost to a write conflict, the row would be sent again: retried
        retrying(
            lambda: db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        )


def health() -> dict[str, Any]:
    """Backlog, failed rows and the oldest pending row's age, for ``tenantctl doctor``."""
    with all_tenants():
        counts = dict(
            db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        oldest = db.session.scalar(
            select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == PENDING)
        )
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return {
        "pending": int(counts.get(PENDING, 0)) + int(counts.get(SENDING, 0)),
        "dead": int(counts.get(DEAD, 0)),
        "done": int(counts.get(DONE, 0)),
        "oldest_pending_seconds": round(age),
    }


def prune_done(keep_days: int, batch: int = 1000, max_batches: int = 20) -> int:
    """Delete the bound shop's delivered rows older than ``keep_days``; returns how many.

    Delivered rows are history (the health panel reads only failures); kept, they would
    grow with every mail and webhook for ever, and a person's erasure would have to read
    them all. Read a kind at a time down the shop's (kind, status, created_at) index, in
    batches, at most ``max_batches`` a run: a shop with years of rows is cleared over a few
    days' runs without holding the worker. A row's ``dedupe_key`` stops guarding against
    a second delivery once it is gone, which is why the default keeps 90 days."""
    cutoff = utcnow() - timedelta(days=keep_days)
    removed = 0
    for kind in sorted(HANDLERS):
        for _round in range(max_batches):
            ids = db.session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.kind == kind,
                    OutboxMessage.status == DONE,
                    OutboxMessage.created_at < cutoff,
                )
                .order_by(OutboxMessage.created_at, OutboxMessage.id)
                .limit(batch)
            ).all()
            if not ids:
                break
            unit_of_work(partial(_delete_rows, list(ids)))
            removed += len(ids)
            max_batches -= 1
            if len(ids) < batch:
                break
        if max_batches <= 0:
            break
    return removed


def _delete_rows(ids: list[int]) -> None:
    db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .execution_options(synchronize_session=False)
    )


def retry_dead() -> int:
    """Put every dead row back in the queue (after the cause was fixed)."""

    def move() -> int:
        return int(
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == DEAD)
                .values(status=PENDING, attempts=0, next_attempt_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        )

    with all_tenants():
        return unit_of_work(move)


def requeue(row: OutboxMessage) -> None:
    """Give one dead row of the bound shop a fresh round of attempts: it is delivered
    after the caller's commit like a new row (the owner's "Send again")."""
    current_tenant()  # fail closed: a shop's own row only
    if row.kind == "mail":  # sent again: a mail of today's allowance (PlanLimitReached)
        plans.check("mails_per_day")
        plans.take_mail()
    row.status, row.attempts, row.next_attempt_at = PENDING, 0, utcnow()
    db.session.info.setdefault(NEW_ROWS, []).append(row)
