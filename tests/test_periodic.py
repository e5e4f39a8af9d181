"""Periodic work per shop: once per period, spread over the period, never twice."""

from __future__ import annotations

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.jobs.periodic import TASKS, offset, run_periodic
from storefront.tenancy import tenant_context

DAY = 86_400


def stock(app, shop, **stocks):
    with app.app_context(), tenant_context(shop):
        for slug, units in stocks.items():
            catalog.create_product(f"SKU-{slug}", slug.title(), 100, stock=units, slug=slug)
        db.session.commit()


def settings(name):
    return f'name = "{name}"\ncontact_email = "boss@{name.lower()}.example"\n'


def test_the_low_stock_digest_runs_once_a_day_per_shop_at_its_own_time(
    app, make_shop, outbox, monkeypatch
):
    acme = make_shop("acme", settings=settings("Acme"))
    globex = make_shop("globex", settings=settings("Globex"))
    calm = make_shop("initech", settings=settings("Initech"))
    stock(app, acme, anvil=2, rocket=40)
    stock(app, globex, tent=0)
    stock(app, calm, stapler=99)
    (task,) = [t for t in TASKS if t.name == "low-stock-digest"]
    monkeypatch.setattr("storefront.jobs.periodic.TASKS", (task,))  # the hourly ones aside
    day = 20_000 * DAY
    offsets = {s.slug: offset(s.uid, task.name, DAY) for s in (acme, globex, calm)}
    assert len(set(offsets.values())) == 3  # spread, not all at once
    with app.app_context():
        assert run_periodic(day + min(offsets.values()) - 1) == 0  # nobody is due yet
        assert run_periodic(day + DAY - 1) == 3  # everyone once, the day is over
        assert run_periodic(day + DAY - 1) == 0  # and never twice
    digests = {m.to[0]: m for m in outbox}
    assert set(digests) == {"boss@acme.example", "boss@globex.example"}  # initech is fine
    assert "Anvil (SKU-anvil): 2 left" in digests["boss@acme.example"].body
    assert "Rocket" not in digests["boss@acme.example"].body
    with app.app_context():
        assert run_periodic(day + 2 * DAY - 1) == 3  # the next day, again


def test_the_cli_runs_what_is_due(runner, make_shop):
    make_shop("acme")
    result = runner.invoke(["outbox", "periodic"])
    assert result.exit_code == 0 and "periodic run" in result.output
