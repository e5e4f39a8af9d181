"""The figures kept with the orders (orders.aggregates) and the listings that read them.

A sale is counted once, when paid (cash on delivery: when delivered), by the shop's own
calendar day; refunds and cancellations of paid orders subtract on their day; rebuilding
from the book gives what the events kept; two shops never see each other's figures. The
dashboard's order and customer listings page without counting the book.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.db import retrying
from storefront.extensions import db
from storefront.orders import aggregates, lists, reports
from storefront.orders import services as orders
from storefront.orders.aggregates import CustomerTotal, ProductSalesDay, SalesDay
from storefront.orders.checkout import next_order_number
from storefront.orders.models import Order, OrderLine
from storefront.tenancy import tenant_context
from storefront.tenancy.registry import context_for
from tests.fixtures.factories import host, login
from tests.test_commerce import add_to_cart, checkout

OWNER = "owner@example.com"


def account_id(app, shop, email: str) -> int:
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(User.id).where(User.email == email))


def make_order(
    total: int = 1000,
    *,
    sku: str = "SKU-A",
    quantity: int = 1,
    email: str = "ada@example.com",
    user_id: int | None = None,
    payment_method: str = "bank_transfer",
) -> Order:
    """An order as ``checkout.place_order`` leaves it (pending, counted as placed)."""
    order = Order(
        number=next_order_number(),
        user_id=user_id,
        email=email,
        name="Ada",
        address="1 Main St",
        postal_code="12345",
        city="Springfield",
        country="US",
        shipping_label="Standard",
        shipping=0,
        subtotal=total,
        total=total,
        currency="USD",
        payment_method=payment_method,
        lines=[
            OrderLine(
                sku=sku,
                title=f"Product {sku}",
                unit_price=total // quantity,
                quantity=quantity,
                line_total=total,
            )
        ],
    )
    db.session.add(order)
    db.session.flush()
    aggregates.count_placed(order)
    return order


def figures() -> dict[date, tuple[int, int, int, int, int]]:
    return {
        row.day: (row.orders, row.revenue, row.refunded, row.cancelled, row.cancelled_revenue)
        for row in db.session.scalars(select(SalesDay).order_by(SalesDay.day))
    }


def snapshot() -> tuple[object, ...]:
    """Every kept figure of the bound shop, to compare incremental and rebuilt."""
    db.session.expire_all()
    sales = sorted(
        (r.day, r.currency, r.orders, r.revenue, r.refunded, r.cancelled, r.cancelled_revenue)
        for r in db.session.scalars(select(SalesDay))
    )
    products = sorted(
        (r.day, r.sku, r.units, r.revenue) for r in db.session.scalars(select(ProductSalesDay))
    )
    customers = sorted(
        (r.user_id, r.email, r.orders, r.spent, r.last_order_at)
        for r in db.session.scalars(select(CustomerTotal))
    )
    return sales, products, customers


@pytest.fixture
def shop(make_shop):
    return make_shop("acme")


def test_an_order_counts_once_when_paid_and_not_before(app, shop):
    with app.app_context(), tenant_context(shop):
        order = make_order(2500, sku="SKU-A", quantity=2)
        assert figures() == {}  # placed, awaiting payment: no sale
        orders.set_status(order, "paid", notify=False)
        orders.set_status(order, "paid", notify=False)  # the same move again: nothing
        assert aggregates.count_sale(order) is False  # and counting again: nothing
        orders.set_status(order, "shipped", notify=False)
        orders.set_status(order, "delivered", notify=False)  # paid already: no second sale
        db.session.commit()
        (today,) = figures()
        assert figures()[today] == (1, 2500, 0, 0, 0)
        assert [(b.sku, b.units, b.revenue) for b in reports.best_sellers()] == [("SKU-A", 2, 2500)]
        assert reports.daily_sales(7)[-1].orders == 1


def test_cash_on_delivery_is_no_sale_until_delivered(app, shop):
    with app.app_context(), tenant_context(shop):
        order = make_order(4000, payment_method="cash_on_delivery")
        orders.set_status(order, "shipped", notify=False)  # ships unpaid
        db.session.commit()
        assert figures() == {} and reports.best_sellers() == []
        assert sum(d.revenue for d in reports.daily_sales(30)) == 0
        orders.set_status(order, "delivered", notify=False)  # the courier collected it
        db.session.commit()
        assert [v[:2] for v in figures().values()] == [(1, 4000)]
        assert db.session.scalar(select(Order.paid_at).where(Order.id == order.id)) is not None


def test_refunds_subtract_on_their_day_and_spending_follows(app, shop):
    with app.app_context(), tenant_context(shop):
        order = make_order(5000)
        orders.set_status(order, "paid", notify=False)
        orders.refund(order, 1500, "scratched", key="r-1")
        orders.refund(order, 1500, "scratched", key="r-1")  # the same form again: once
        db.session.commit()
        (day,) = figures()
        assert figures()[day] == (1, 5000, 1500, 0, 0)
        assert reports.daily_sales(1)[-1].revenue == 3500
        (guest,) = db.session.scalars(select(CustomerTotal)).all()
        assert (guest.email, guest.orders, guest.spent) == ("ada@example.com", 1, 3500)
        orders.refund(order, 3500, "all of it", key="r-2")  # the rest: order refunded
        db.session.commit()
        assert figures()[day] == (1, 5000, 5000, 0, 0)
        assert reports.daily_sales(1)[-1].revenue == 0


def test_cancelling_a_paid_order_subtracts_what_it_still_counted(app, shop):
    with app.app_context(), tenant_context(shop):
        paid = make_order(3000, sku="SKU-P", quantity=3)
        orders.set_status(paid, "paid", notify=False)
        orders.refund(paid, 1000, "one broke", key="r-1")
        orders.set_status(paid, "cancelled", notify=False)
        unpaid = make_order(700, sku="SKU-U")
        orders.set_status(unpaid, "cancelled", notify=False)  # never a sale: nothing to take
        db.session.commit()
        (day,) = figures()
        assert figures()[day] == (1, 3000, 1000, 1, 2000)
        assert reports.daily_sales(1)[-1] == reports.Day(day, 0, 0)
        assert reports.best_sellers() == []  # 3 sold, 3 back
        spent = {r.email: r.spent for r in db.session.scalars(select(CustomerTotal))}
        assert spent == {"ada@example.com": 0}


def test_rebuilding_gives_what_the_events_kept(app, shop, make_user):
    make_user(shop, "member@example.com")
    ada = account_id(app, shop, "member@example.com")
    with app.app_context(), tenant_context(shop):
        a = make_order(1000, sku="A")
        b = make_order(2000, sku="B", quantity=2, user_id=ada, email="member@example.com")
        c = make_order(3000, sku="A", email="bob@example.com")
        d = make_order(4000, sku="C", payment_method="cash_on_delivery")
        make_order(500, sku="D")  # stays pending
        for order in (a, b, c):
            orders.set_status(order, "paid", notify=False)
        orders.set_status(d, "shipped", notify=False)
        orders.set_status(d, "delivered", notify=False)
        orders.refund(b, 700, "late", key="r-b")
        orders.set_status(c, "cancelled", notify=False)
        orders.claim_guest_orders(ada, "ADA@example.com")  # a's orders join the account
        db.session.commit()
        kept = snapshot()
        assert aggregates.rebuild(batch=2) == 5  # batches smaller than the book
        db.session.commit()
        assert snapshot() == kept
        totals = {(user_id, email): (n, spent) for user_id, email, n, spent, _last in kept[2]}
        assert totals[(ada, "")] == (4, 1000 + 2000 - 700 + 4000)  # a, b, d and the pending one
        assert totals[(0, "bob@example.com")] == (1, 0)  # paid, then cancelled


def test_a_sale_falls_on_the_shops_own_day(app, make_shop, monkeypatch):
    tokyo = make_shop(
        "tokio", settings='name = "Tokio"\nlocales = ["en_US"]\ntimezone = "Asia/Tokyo"\n'
    )
    late = datetime(2026, 3, 1, 16, 30)  # 01:30 on 2 March in Tokyo
    monkeypatch.setattr(aggregates, "utcnow", lambda: late)
    with app.app_context(), tenant_context(tokyo):
        order = make_order(1200)
        orders.set_status(order, "paid", notify=False)
        db.session.commit()
        assert list(figures()) == [date(2026, 3, 2)]
        kept = snapshot()
        aggregates.rebuild()
        db.session.commit()
        assert snapshot() == kept
        assert reports.daily_sales(2, now=late)[-1].orders == 1


def test_a_rebuild_across_a_daylight_saving_change_keeps_each_shops_day(
    app, make_shop, monkeypatch
):
    berlin = make_shop(
        "zeit", settings='name = "Zeit"\nlocales = ["en_US"]\ntimezone = "Europe/Berlin"\n'
    )
    moments = [
        datetime(2026, 3, 28, 23, 30),  # 00:30 on 29 March, before the clocks go forward
        datetime(2026, 3, 29, 22, 30),  # 00:30 on 30 March, after (UTC+2)
        datetime(2026, 3, 29, 21, 59),  # 23:59 on 29 March
    ]
    with app.app_context(), tenant_context(berlin):
        for moment in moments:
            monkeypatch.setattr(aggregates, "utcnow", lambda moment=moment: moment)
            orders.set_status(make_order(100), "paid", notify=False)
        db.session.commit()
        assert {d: v[0] for d, v in figures().items()} == {
            date(2026, 3, 29): 2,
            date(2026, 3, 30): 1,
        }
        kept = snapshot()
        aggregates.rebuild()
        db.session.commit()
        assert snapshot() == kept


def test_two_shops_never_see_each_others_figures(app, make_shop):
    acme, globex = make_shop("acme"), make_shop("globex")
    with app.app_context(), tenant_context(acme):
        orders.set_status(make_order(9900, sku="SECRET"), "paid", notify=False)
        db.session.commit()
    with app.app_context(), tenant_context(globex):
        assert figures() == {} and reports.best_sellers() == []
        assert lists.guest_window().items == ()
        assert aggregates.rebuild() == 0  # globex's rebuild leaves acme's figures alone
        db.session.commit()
    with app.app_context(), tenant_context(acme):
        assert [v[:2] for v in figures().values()] == [(1, 9900)]
        assert aggregates.rebuild() == 1
        db.session.commit()
        assert [v[:2] for v in figures().values()] == [(1, 9900)]


def test_orders_paid_at_once_on_one_day_all_count(app, shop):
    with app.app_context(), tenant_context(shop):
        numbers = [make_order(100 * (i + 1)).number for i in range(4)]
        db.session.commit()
    barrier = threading.Barrier(len(numbers))
    errors: list[BaseException] = []

    def pay(number: str) -> None:
        try:
            with app.app_context(), tenant_context(shop):
                order = orders.get_order(number)
                barrier.wait()
                retrying(lambda: orders.set_status(order, "paid", notify=False))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context(), tenant_context(shop):
        assert [v[:2] for v in figures().values()] == [(4, 1000)]
        (guest,) = db.session.scalars(select(CustomerTotal)).all()
        assert (guest.orders, guest.spent) == (4, 1000)


# Listings ---------------------------------------------------------------------------


def test_the_orders_window_searches_filters_and_pages_both_ways(app, shop):
    with app.app_context(), tenant_context(shop):
        made = [
            make_order(100 + i, email=("bob@example.com" if i % 3 == 0 else "ada@example.com"))
            for i in range(12)
        ]
        orders.set_status(made[4], "paid", notify=False)
        db.session.commit()
        numbers = [o.number for o in reversed(made)]  # newest first

        first = lists.order_window(per_page=5)
        assert [o.number for o in first.items] == numbers[:5]
        assert first.newer is None and first.older is not None
        second = lists.order_window(older=first.older, per_page=5)
        assert [o.number for o in second.items] == numbers[5:10]
        last = lists.order_window(older=second.older, per_page=5)
        assert [o.number for o in last.items] == numbers[10:] and last.older is None
        back = lists.order_window(newer=last.newer, per_page=5)
        assert [o.number for o in back.items] == numbers[5:10]
        assert back.newer is not None and back.older is not None

        assert [o.number for o in lists.order_window(query="ACME-1005").items] == ["ACME-1005"]
        assert [o.number for o in lists.order_window(query="1005").items] == ["ACME-1005"]
        assert {o.number for o in lists.order_window(query="acme-101").items} == {
            "ACME-1010",
            "ACME-1011",
            "ACME-1012",
        }
        bobs = lists.order_window(query="bob@example.com").items
        assert len(bobs) == 4 and {o.email for o in bobs} == {"bob@example.com"}
        assert len(lists.order_window(query="bob@").items) == 4
        assert [o.number for o in lists.order_window(status="paid").items] == [made[4].number]
        assert lists.order_window(status="paid", query="bob@").items == ()
        # Hostile marks and searches answer a page, never an error.
        top = lists.order_window().items
        assert lists.order_window(older=lists.mark("99999999999")).items == top
        assert lists.order_window(older=lists.mark("12abc")).items == top
        assert lists.order_window(query="%' OR 1=1 --").items == ()
        with pytest.raises(ValueError, match="unknown status"):
            lists.order_window(status="bogus")


def test_one_customer_with_many_orders_pages_through_them(app, shop, make_user):
    make_user(shop, "member@example.com")
    ada = account_id(app, shop, "member@example.com")
    with app.app_context(), tenant_context(shop):
        for i in range(30):
            make_order(100 + i, user_id=ada, email="member@example.com")
        db.session.commit()
        first = lists.orders_of_window(ada)
        assert len(first.items) == 25 and first.older is not None
        rest = lists.orders_of_window(ada, older=first.older)
        assert len(rest.items) == 5 and rest.older is None
        (total,) = lists.totals_of([ada]).values()
        assert total.orders == 30 and total.spent == 0  # none paid


def test_the_dashboard_lists_page_by_older_and_newer_links(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, "member@example.com")
    member = account_id(app, acme, "member@example.com")
    with app.app_context(), tenant_context(acme):
        catalog.create_product("SKU-X", "Anvil", 1000, stock=5, slug="anvil")
        for i in range(30):
            make_order(100, email=f"guest{i:02d}@example.com")
            make_order(100, user_id=member, email="member@example.com")
        db.session.commit()
    shopper = app.test_client()
    add_to_cart(shopper, acme, "anvil")
    checkout(shopper, acme, email="walkin@example.com")  # the checkout counts its shopper
    owner = app.test_client()
    assert login(owner, acme, OWNER).status_code == 302
    page = owner.get("/admin/orders", headers=host(acme)).text
    assert "ACME-1061" in page and "Older" in page and "Newer" not in page
    older = page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = owner.get(older, headers=host(acme)).text
    assert "ACME-1036" in second and "ACME-1061" not in second and "Newer" in second
    found = owner.get("/admin/orders?q=guest07@example.com", headers=host(acme)).text
    assert "guest07@example.com" in found and "guest08@example.com" not in found
    customers = owner.get("/admin/customers", headers=host(acme)).text
    guests = customers.split("Guests")[1]
    assert "walkin@example.com" in guests and "guest29@example.com" in guests
    assert "guests_older=" in guests
    detail = owner.get(f"/admin/customers/{member}", headers=host(acme)).text
    assert "Older" in detail and "<dd>30</dd>" in detail
    assert owner.get("/admin/orders?older=abc&newer=-1", headers=host(acme)).status_code == 200
    overview = owner.get("/admin/", headers=host(acme)).text
    assert "61 orders" in overview


def test_an_imported_shop_gets_its_figures_from_its_orders(app, runner, shop, tmp_path):
    with app.app_context(), tenant_context(shop):
        orders.set_status(make_order(4200, sku="KEPT"), "paid", notify=False)
        make_order(100)  # awaiting payment: counted as placed only
        db.session.commit()
        kept = snapshot()
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_context(context_for("copy")):
        assert snapshot() == kept  # the same days, products and (guest) customers
    assert runner.invoke(["report", "rebuild", "copy"]).exit_code == 0
    rows = {r["slug"]: r for r in json.loads(runner.invoke(["report", "--json"]).output)}
    assert rows["copy"]["revenue"] == {"USD": 4200} == rows["acme"]["revenue"]
