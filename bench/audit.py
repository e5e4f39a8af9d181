"""The audit trail's cost: the owner's product edit (a dashboard POST) and a guest's
checkout, each timed with the trail off and on in the same run, alternating rounds so
the machine's drift falls on both. The goal (issue 32): on within 1.1x of off. SQL
statements per request are counted too (the trail adds three per transaction: lock the
chain head, insert the entry, move the head).

Run on a quiet machine: ``python -m bench audit`` (``--quick`` is a smoke run only);
``BENCH_DATABASE_URL=mysql+pymysql://...`` measures MariaDB."""

from __future__ import annotations

import re
import shutil
import statistics
import time
from typing import Any

from sqlalchemy import event

from .platform_setup import build_app, migrate, temp_root
from .stats import goal, percentile, table

GOAL = 1.1
PASSWORD = "bench-password-123"
ADDRESS = {
    "name": "Ada Shopper",
    "address": "1 Main Street",
    "postal_code": "12345",
    "city": "Springfield",
    "country_area": "NY",
    "country": "US",
    "payment_method": "manual",
    "email": "ada@example.com",
}


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token"
    return match.group(1)


def _shop(app: Any) -> tuple[str, int, str]:
    """A shop with its owner and two products; returns (host, product id, slug)."""
    from storefront.accounts import services as accounts
    from storefront.catalog import services as catalog
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.tenancy.services import NewShop, create_shop

    with app.app_context():
        tenant = create_shop(NewShop(slug="bench", name="Bench", domains=("bench.test",)))
        db.session.commit()
        with tenant_context(tenant):
            accounts.create_user("owner@example.com", PASSWORD, roles=["owner"])
            edited = catalog.create_product("EDIT-1", "Edited", 1000, stock=5)
            catalog.create_product("BUY-1", "Bought", 500, stock=10_000_000, slug="bought")
            db.session.commit()
            return "bench.test", edited.id, "bought"


def _statements(app: Any, work: Any) -> int:
    from storefront.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[int] = []

    def count(*_args: Any, **_kwargs: Any) -> None:
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def run(quick: bool = False) -> dict[str, Any]:
    rounds, per_round = (2, 10) if quick else (10, 60)
    root = temp_root("audit")
    try:
        app = build_app(root)
        migrate(app)
        host, product_id, slug = _shop(app)
        headers = {"Host": host}
        owner = app.test_client()
        page = owner.get("/login", headers=headers)
        owner.post("/login", data={"email": "owner@example.com", "password": PASSWORD,
                                   "csrf_token": _token(page.text)}, headers=headers)  # fmt: skip
        edit_path = f"/admin/products/{product_id}"
        edit_token = _token(owner.get(edit_path, headers=headers).text)
        price = iter(range(1000, 10**9))

        def edit() -> None:
            answer = owner.post(edit_path, headers=headers, data={
                "csrf_token": edit_token, "sku": "EDIT-1", "title": "Edited",
                "price": f"{next(price) / 100:.2f}", "slug": "edited", "stock": "5",
                "active": "y"})  # fmt: skip
            assert answer.status_code == 302, answer.status_code

        shopper = app.test_client()
        product_page = shopper.get(f"/p/{slug}", headers=headers).text
        buy_id = re.search(r'name="product_id" value="(\d+)"', product_page).group(1)  # type: ignore[union-attr]

        def checkout() -> None:
            added = shopper.post("/cart/add", data={"product_id": buy_id, "quantity": 1},
                                 headers={**headers, "Sec-Fetch-Site": "same-origin"})  # fmt: skip
            assert added.status_code == 302, added.status_code
            token = _token(shopper.get("/checkout", headers=headers).text)
            answer = shopper.post("/checkout", data={**ADDRESS, "csrf_token": token},
                                  headers=headers)  # fmt: skip
            assert answer.status_code == 302, answer.status_code

        paths = {"product edit": edit, "checkout": checkout}
        times: dict[tuple[str, bool], list[float]] = {
            (n, on): [] for n in paths for on in (False, True)
        }
        for work in paths.values():  # warm both ways
            for on in (False, True):
                app.config["AUDIT_ENABLED"] = on
                for _ in range(5):
                    work()
        for _round in range(rounds):
            for name, work in paths.items():
                for on in (False, True) if _round % 2 == 0 else (True, False):
                    app.config["AUDIT_ENABLED"] = on
                    for _ in range(per_round):
                        started = time.perf_counter()
                        work()
                        times[(name, on)].append(time.perf_counter() - started)
        rows = []
        for name, work in paths.items():
            off, on = times[(name, False)], times[(name, True)]
            app.config["AUDIT_ENABLED"] = False
            sql_off = _statements(app, work)
            app.config["AUDIT_ENABLED"] = True
            sql_on = _statements(app, work)
            ratio = statistics.median(on) / statistics.median(off)
            rows.append({
                "request": name, "off_p50_ms": percentile(off, 50) * 1000,
                "on_p50_ms": percentile(on, 50) * 1000, "on_p99_ms": percentile(on, 99) * 1000,
                "sql_off": sql_off, "sql_on": sql_on, "on_vs_off": ratio,
                "met": goal("audit", f"{name}: trail on / off (p50)", ratio, GOAL, at_most=True),
            })  # fmt: skip
        print(table(rows, ["request", "off_p50_ms", "on_p50_ms", "on_p99_ms", "sql_off",
                           "sql_on", "on_vs_off", "met"]))  # fmt: skip
        from storefront.extensions import db

        with app.app_context():
            db.engine.dispose()
        return {"audit": rows}
    finally:
        shutil.rmtree(root, ignore_errors=True)
