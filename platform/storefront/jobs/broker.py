"""The Dramatiq broker and the outbox actor: each message carries its shop's id."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.rate_limits import ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend
from flask import Flask, current_app
from sqlalchemy import select, update

from .. import redisconn
from ..db import unit_of_work
from ..extensions import db
from ..outbox.models import PENDING, SENDING, OutboxMessage
from ..outbox.services import deliver
from ..tenancy.context import all_tenants
from ..tenancy.models import Tenant, utcnow

log = logging.getLogger(__name__)

QUEUE = "outbox"
RETRY_DELAY_MS = 500  # a message over its shop's cap comes back after this long
LEASE = timedelta(seconds=60)  # the sweeper does not enqueue a row twice within this


def make_broker(app: Flask) -> RedisBroker:
    url = app.config.get("JOBS_REDIS_URL") or app.config.get("REDIS_URL")
    if not url:
        raise ValueError("JOBS_BACKEND = 'redis' needs REDIS_URL (or JOBS_REDIS_URL)")
    client = redisconn.client(url)  # plain or Sentinel; follows a failover
    broker = RedisBroker(client=client, namespace=app.config.get("JOBS_NAMESPACE", "storefront"))
    backend = RedisBackend(client=client)
    per_shop = int(app.config.get("JOBS_PER_SHOP", 2))
    # A slot of a worker killed mid-row frees itself after this long (a row's work is
    # bounded by the mail and webhook timeouts, well below it).
    slot_ms = int(float(app.config.get("JOBS_SLOT_SECONDS", 60)) * 1000)

    def outbox_row(row_id: int, shop_id: int) -> None:
        with app.app_context():
            run_for_shop(app, row_id, shop_id, backend, per_shop, slot_ms)

    # Retries are the outbox's (the row stays pending); Dramatiq's would only repeat.
    actor = dramatiq.actor(broker=broker, actor_name="outbox_row", queue_name=QUEUE, max_retries=0)(
        outbox_row
    )
    app.extensions["storefront.jobs.actor"] = actor
    return broker


def run_for_shop(
    app: Flask, row_id: int, shop_id: int, backend: RedisBackend, per_shop: int, slot_ms: int
) -> None:
    """Run one outbox row in its shop, looked up now; within the shop's concurrency cap."""
    with all_tenants():
        tenant = db.session.get(Tenant, shop_id)
    if tenant is None:
        log.info("jobs: shop %s is gone; outbox row %s dropped", shop_id, row_id)
        return
    limiter = ConcurrentRateLimiter(backend, f"shop-jobs:{tenant.uid}", limit=per_shop, ttl=slot_ms)
    with limiter.acquire(raise_on_failure=False) as acquired:
        if not acquired:  # the shop has enough running: others' messages go first
            actor = app.extensions["storefront.jobs.actor"]
            actor.send_with_options(args=(row_id, shop_id), delay=RETRY_DELAY_MS)
            return
        deliver([row_id])  # claims the row, binds its shop, runs, records the outcome


def send_rows(rows: list[tuple[int, int]]) -> None:
    """The outbox's dispatcher: one message per committed (row id, shop id)."""
    actor = current_app.extensions["storefront.jobs.actor"]
    for row_id, shop_id in rows:
        actor.send(row_id, shop_id)


def enqueue_due(limit: int = 500) -> int:
    """Send a message for each pending row that is due and not sent in the last minute
    (retries, rows committed while Redis was down, messages lost with a worker)."""
    now = utcnow()

    def lease() -> list[Any]:
        # A claim whose lease ran out belongs to a runner that died mid-row: due again.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == SENDING, OutboxMessage.next_attempt_at < now)
            .values(status=PENDING)
            .execution_options(synchronize_session=False)
        )
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.tenant_id)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        ).all()
        if rows:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]), OutboxMessage.status == PENDING)
                .values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
        return list(rows)

    with all_tenants():
        rows = unit_of_work(lease)
    if not rows:
        return 0
    send_rows([(r.id, r.tenant_id) for r in rows])
    return len(rows)
