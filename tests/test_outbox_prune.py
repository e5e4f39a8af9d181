"""Delivered outbox rows are history: a shop's old ones are deleted, in bounded batches,
and nothing else is (pending, given-up and recent rows stay; another shop's stay)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storefront.extensions import db
from storefront.jobs.periodic import TASKS
from storefront.outbox.models import DEAD, DONE, PENDING, OutboxMessage
from storefront.outbox.services import prune_done
from storefront.tenancy import tenant_context
from storefront.tenancy.context import all_tenants
from storefront.tenancy.models import utcnow


def rows(app, shop, **kinds):
    """``label=(status, age in days)`` rows of the mail kind for ``shop``."""
    with app.app_context(), tenant_context(shop):
        for label, (status, days) in kinds.items():
            when = utcnow() - timedelta(days=days)
            db.session.add(
                OutboxMessage(
                    kind="mail",
                    dedupe_key=label,
                    payload="{}",
                    status=status,
                    created_at=when,
                    next_attempt_at=when,
                )
            )
        db.session.commit()


def left(app):
    with app.app_context(), all_tenants():
        return {
            (tenant_id, key)
            for tenant_id, key in db.session.execute(
                select(OutboxMessage.tenant_id, OutboxMessage.dedupe_key)
            ).all()
        }


def test_a_shops_old_delivered_rows_go_and_nothing_else(app, make_shop):
    acme, globex = make_shop("acme"), make_shop("globex")
    rows(app, acme, old=(DONE, 100), recent=(DONE, 10), dead=(DEAD, 100), due=(PENDING, 100))
    rows(app, globex, old=(DONE, 100))
    with app.app_context(), tenant_context(acme):
        assert prune_done(90) == 1
    assert left(app) == {
        (acme.id, "recent"),
        (acme.id, "dead"),
        (acme.id, "due"),
        (globex.id, "old"),  # another shop's rows wait for its own run
    }


def test_a_run_deletes_at_most_its_batches(app, make_shop):
    acme = make_shop("acme")
    rows(app, acme, **{f"m{n}": (DONE, 200) for n in range(7)})
    with app.app_context(), tenant_context(acme):
        assert prune_done(90, batch=2, max_batches=2) == 4  # bounded: the rest next time
        assert prune_done(90, batch=2, max_batches=5) == 3
        assert prune_done(90) == 0


def test_the_prune_runs_daily_per_shop():
    assert [t.every for t in TASKS if t.name == "prune-outbox"] == [86_400]
