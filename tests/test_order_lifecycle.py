"""Orders after checkout: only allowed moves (dashboard, API, CLI), shipping with tracking,
guests' signed links, unpaid orders released once."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders import services as orders
from storefront.orders.models import STATUSES, TRANSITIONS
from storefront.orders.tracking import tracking_url
from storefront.outbox import deliver_committed
from storefront.tenancy.context import tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import csrf_from, host, login
from tests.test_api import api_key
from tests.test_commerce import add_to_cart, checkout

OWNER = "owner@example.com"


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop(
        "acme",
        settings='name = "Acme"\n[payment]\nrelease_unpaid_hours = 48\n',
    )
    make_user(acme, OWNER, roles=["owner"])
    return acme


def place(app, shop, email="ada@example.com"):
    with app.app_context(), tenant_context(shop):
        if catalog.product_by_sku("SKU-X") is None:
            catalog.create_product("SKU-X", "Anvil", 1000, stock=10, slug="anvil")
            db.session.commit()
    shopper = app.test_client()
    add_to_cart(shopper, shop, "anvil")
    assert checkout(shopper, shop, email=email).status_code == 302
    return shopper


def status_of(app, shop, number="ACME-1001"):
    with app.app_context(), tenant_context(shop):
        return orders.get_order(number).status


def stock_of(app, shop):
    with app.app_context(), tenant_context(shop):
        return db.session.scalar(select(Product.stock).where(Product.sku == "SKU-X"))


def move(client, shop, number, status, **extra):
    page = client.get(f"/admin/orders/{number}", headers=host(shop))
    data = {"csrf_token": csrf_from(page.text), "status": status, **extra}
    return client.post(f"/admin/orders/{number}", data=data, headers=host(shop))


@pytest.mark.parametrize(
    "start", [s for s in STATUSES if s != "pending"]
)  # every state, every wanted move
def test_the_state_machine_allows_exactly_its_moves(app, shop, start):
    place(app, shop)
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        path = {"paid": ["paid"], "shipped": ["shipped"], "delivered": ["shipped", "delivered"]}
        path |= {"cancelled": ["cancelled"], "refunded": ["paid", "refunded"]}
        for step in path[start]:
            orders.set_status(order, step)
        assert order.status == start
        for wanted in STATUSES:
            if wanted == start:
                continue
            if wanted in TRANSITIONS[start]:
                orders.check_move(order, wanted)  # allowed: no error
            else:
                with pytest.raises(orders.OrderStateError):
                    orders.set_status(order, wanted)
                assert order.status == start


def test_the_dashboard_offers_only_allowed_moves_and_refuses_others(app, shop, outbox):
    place(app, shop)
    owner = app.test_client()
    assert login(owner, shop, OWNER).status_code == 302
    page = owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    offered = re.findall(r'<option[^>]*value="(\w+)"', page)
    assert offered == ["pending", "paid", "shipped", "cancelled"]
    refused = move(owner, shop, "ACME-1001", "delivered")
    assert refused.status_code == 302
    text = owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    assert "cannot become Delivered" in text, text
    assert status_of(app, shop) == "pending"
    # Shipping records the carrier and tracking number; the mail and the page say them.
    outbox.clear()
    shipped = move(owner, shop, "ACME-1001", "shipped", carrier="DHL", tracking_number="JD0142")
    assert shipped.status_code == 302
    (mail,) = outbox
    assert "Carrier: DHL" in mail.body and "Tracking number: JD0142" in mail.body
    assert "DHL · <a" in owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    # Back to pending is not a move an order makes.
    move(owner, shop, "ACME-1001", "pending")
    assert status_of(app, shop) == "shipped"
    assert move(owner, shop, "ACME-1001", "delivered").status_code == 302
    move(owner, shop, "ACME-1001", "refunded")
    page = owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    assert "This order&#39;s status is final." in page or "This order's status is final." in page


def test_a_tracking_number_of_a_known_carrier_is_a_link_on_both_pages_and_in_the_mail(
    app, shop, outbox
):
    shopper = place(app, shop)
    other = place(app, shop, email="bo@example.com")
    owner = app.test_client()
    login(owner, shop, OWNER)
    outbox.clear()
    # Typed as owners type it; the number is quoted whole: it cannot reach another page.
    move(owner, shop, "ACME-1001", "shipped", carrier=" royal mail ", tracking_number="AB 12/3?x#y")
    link = "https://www.royalmail.com/track-your-item#/tracking-results/AB12%2F3%3Fx%23y"
    anchor = f'<a href="{link}" rel="noopener noreferrer">tracking number AB 12/3?x#y</a>'
    assert anchor in owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    assert anchor in shopper.get("/orders/ACME-1001", headers=host(shop)).text
    (mail,) = outbox
    assert f"Follow your parcel: {link}" in mail.body
    # An unknown carrier: the number as plain text, and no link in the mail.
    outbox.clear()
    move(owner, shop, "ACME-1002", "shipped", carrier="Bob's Vans", tracking_number="B-7")
    page = other.get("/orders/ACME-1002", headers=host(shop)).text
    assert "tracking number B-7</dd>" in page and "Follow your parcel" not in outbox[0].body
    assert (
        "tracking number B-7</dd>" in owner.get("/admin/orders/ACME-1002", headers=host(shop)).text
    )


@pytest.mark.parametrize(
    ("carrier", "host_name"),
    [
        ("UPS", "www.ups.com"),
        ("USPS", "tools.usps.com"),
        ("FedEx", "www.fedex.com"),
        ("DHL Express", "www.dhl.com"),
        ("PostNL", "postnl.nl"),
        ("Colissimo", "www.laposte.fr"),
        ("La Poste", "www.laposte.fr"),
        ("DPD", "tracking.dpd.de"),
        ("Royal-Mail", "www.royalmail.com"),
        ("Canada Post", "www.canadapost-postescanada.ca"),
    ],
)
def test_each_known_carrier_links_to_its_own_tracking_page(carrier, host_name):
    url = tracking_url(carrier, "1Z 999&x=1", country="NL", postal_code="1234 AB")
    assert urlsplit(url).scheme == "https" and urlsplit(url).hostname == host_name
    assert "1Z999%26x%3D1" in url and "&x=1" not in url
    assert tracking_url(carrier, "  ") == ""


def test_an_unknown_carrier_or_a_look_alike_has_no_link():
    assert tracking_url("Bob's Vans", "123") == ""
    assert tracking_url("", "123") == ""
    assert tracking_url("UPS Store down the road", "123") == ""  # not a substring match
    assert "B=3SABC&P=1234AB&D=NL" in tracking_url(
        "postnl", "3SABC", country="NL", postal_code="1234 AB"
    )


def test_the_api_moves_orders_for_staff_and_says_why_it_refuses(app, shop, make_user):
    place(app, shop)
    auth = {**host(shop), "Authorization": f"Bearer {api_key(app, shop, make_user)}"}
    client = app.test_client()
    refused = client.patch(
        "/api/v1/admin/orders/ACME-1001", json={"status": "delivered"}, headers=auth
    )
    assert refused.status_code == 409
    assert "cannot become Delivered" in refused.get_json()["error"]["message"]
    shipped = client.patch(
        "/api/v1/admin/orders/ACME-1001",
        json={"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999"},
        headers=auth,
    )
    assert shipped.status_code == 200
    data = shipped.get_json()["data"]
    assert data["status"] == "shipped" and data["tracking_number"] == "1Z999"
    assert data["allowed_statuses"] == ["delivered", "refunded"]
    assert (
        client.patch(
            "/api/v1/admin/orders/ACME-1001", json={"status": "bogus"}, headers=auth
        ).status_code
        == 409
    )
    assert (
        client.patch(
            "/api/v1/admin/orders/ACME-9999", json={"status": "paid"}, headers=auth
        ).status_code
        == 404
    )
    anonymous = client.patch(
        "/api/v1/admin/orders/ACME-1001", json={"status": "paid"}, headers=host(shop)
    )
    assert anonymous.status_code == 401


def test_the_cli_moves_orders_and_says_why_it_refuses(app, runner, shop):
    place(app, shop)
    refused = runner.invoke(["orders", "set-status", "acme", "ACME-1001", "delivered"])
    assert refused.exit_code == 1 and "cannot become Delivered" in refused.output
    done = runner.invoke(
        ["orders", "set-status", "acme", "ACME-1001", "shipped", "--tracking", "T-1"]
    )
    assert done.exit_code == 0 and "ACME-1001: shipped" in done.output
    assert runner.invoke(["orders", "set-status", "acme", "ACME-4242", "paid"]).exit_code == 1


def test_a_guest_opens_the_order_from_the_mail_in_any_browser(app, shop, make_shop, outbox):
    place(app, shop)
    (mail,) = [m for m in outbox if m.to == ["ada@example.com"]]  # the owner has theirs
    link = re.search(r"http://\S+", mail.body).group(0)
    assert "/orders/ACME-1001?key=" in link
    path = link.removeprefix(f"http://{shop.primary_host}")
    stranger = app.test_client()
    assert stranger.get("/orders/ACME-1001", headers=host(shop)).status_code == 404
    opened = stranger.get(path, headers=host(shop))
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/orders/ACME-1001")
    assert "ACME-1001" in stranger.get("/orders/ACME-1001", headers=host(shop)).text
    # A wrong key, or the right key at another shop, opens nothing.
    key = path.split("key=")[1]
    other = app.test_client()
    assert other.get(path[:-2] + "xx", headers=host(shop)).status_code == 404
    globex = make_shop("globex")
    assert other.get(f"/orders/ACME-1001?key={key}", headers=host(globex)).status_code == 404
    assert other.get(f"/orders/ACME-1001?key={'a' * 5000}", headers=host(shop)).status_code == 404


def test_unpaid_orders_release_their_stock_once_after_the_shops_limit(app, shop, outbox):
    place(app, shop)
    place(app, shop, "bob@example.com")
    assert stock_of(app, shop) == 8
    with app.app_context(), tenant_context(shop):  # as the hourly job runs it
        orders.set_status(orders.get_order("ACME-1002"), "paid")
        db.session.commit()
        assert orders.release_unpaid(utcnow() + timedelta(hours=47)) == 0  # not yet
        outbox.clear()
        assert orders.release_unpaid(utcnow() + timedelta(hours=49)) == 1
        db.session.commit()
        assert orders.release_unpaid(utcnow() + timedelta(hours=49)) == 0  # and only once
        deliver_committed()
    assert status_of(app, shop) == "cancelled" and status_of(app, shop, "ACME-1002") == "paid"
    assert stock_of(app, shop) == 9
    (mail,) = [m for m in outbox if m.to == ["ada@example.com"]]
    assert "was cancelled" in mail.subject and "back on sale" in mail.body


def test_a_shop_without_a_limit_keeps_unpaid_orders(app, make_shop):
    shop = make_shop("cod", settings='name = "Cash on delivery"\n')
    with app.app_context(), tenant_context(shop):
        assert orders.release_unpaid(utcnow() + timedelta(days=365)) == 0


def refund_form(owner, shop, number="ACME-1001"):
    page = owner.get(f"/admin/orders/{number}", headers=host(shop)).text
    key = re.search(r'name="refund-refund_key" type="hidden" value="([^"]+)"', page).group(1)
    return page, {"csrf_token": csrf_from(page), "refund-refund_key": key}


def test_refunds_partial_then_full_with_a_reason_restocking_once(app, shop):
    place(app, shop)
    with app.app_context(), tenant_context(shop):
        orders.set_status(orders.get_order("ACME-1001"), "paid")
        db.session.commit()
    owner = app.test_client()
    assert login(owner, shop, OWNER).status_code == 302
    page, base = refund_form(owner, shop)
    assert 'value="10.00"' in page  # what is left to refund
    partial = {**base, "refund-amount": "4.00", "refund-reason": "Scratched", "refund-restock": "y"}
    assert (
        owner.post("/admin/orders/ACME-1001/refund", data=partial, headers=host(shop)).status_code
        == 302
    )
    # The same form again (a double click): one refund, one restock.
    owner.post("/admin/orders/ACME-1001/refund", data=partial, headers=host(shop))
    assert stock_of(app, shop) == 10
    with app.app_context(), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        assert orders.refunded_total(order) == 400 and order.status == "paid"
    # Too much is refused and says how much is left.
    _page, base = refund_form(owner, shop)
    too_much = {**base, "refund-amount": "7.00", "refund-reason": "Oops"}
    owner.post("/admin/orders/ACME-1001/refund", data=too_much, headers=host(shop))
    assert "$6.00" in owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    # The rest: the order becomes refunded; asking to restock again restocks nothing.
    _page, base = refund_form(owner, shop)
    rest = {**base, "refund-amount": "6.00", "refund-reason": "Returned", "refund-restock": "y"}
    owner.post("/admin/orders/ACME-1001/refund", data=rest, headers=host(shop))
    assert status_of(app, shop) == "refunded" and stock_of(app, shop) == 10
    text = owner.get("/admin/orders/ACME-1001", headers=host(shop)).text
    assert "Scratched" in text and "Returned" in text


def test_an_unpaid_order_cannot_be_refunded_and_a_cancel_after_a_restock_restocks_nothing(
    app, shop
):
    place(app, shop)
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        with pytest.raises(orders.RefundError):
            orders.refund(order, 100, "x", key="k1")
        orders.set_status(order, "paid")
        orders.refund(order, 100, "damaged", key="k2", restock=True)
        orders.set_status(order, "cancelled")
        db.session.commit()
    assert stock_of(app, shop) == 10  # one unit taken, one given back: not two


def test_guests_are_customers_and_their_orders_join_the_confirmed_account(
    app, make_shop, make_user, outbox
):
    shop = make_shop("gast", settings='name = "Gast"\n[features]\nconfirm_email = true\n')
    make_user(shop, OWNER, roles=["owner"])
    place(app, shop, "guest@example.com")
    place(app, shop, "Guest@Example.com")
    owner = app.test_client()
    assert login(owner, shop, OWNER).status_code == 302
    customers = owner.get("/admin/customers", headers=host(shop)).text
    assert "guest@example.com" in customers and "Guests" in customers
    # Registering is not enough: the address must be confirmed first.
    from tests.fixtures.factories import PASSWORD, register

    shopper = app.test_client()
    register(shopper, shop, "guest@example.com")
    with app.app_context(), tenant_context(shop):
        assert all(o.user_id is None for o in db.session.scalars(select(orders.Order)))
    confirm = [m for m in outbox if m.to == ["guest@example.com"] and "/confirm/" in m.body][-1]
    link = re.search(r"http://\S+/confirm/\S+", confirm.body).group(0)
    shopper.get(link.removeprefix(f"http://{shop.primary_host}"), headers=host(shop))
    with app.app_context(), tenant_context(shop):
        owners = {o.user_id for o in db.session.scalars(select(orders.Order))}
    assert len(owners) == 1 and None not in owners
    signed_in = app.test_client()
    assert login(signed_in, shop, "guest@example.com", PASSWORD).status_code == 302
    history = signed_in.get("/account", headers=host(shop)).text
    assert "GAST-1001" in history and "GAST-1002" in history


def test_an_export_carries_codes_redemptions_and_refunds_into_a_second_shop(
    app, runner, shop, tmp_path
):
    from storefront.orders import discounts
    from storefront.orders.discounts import DiscountRedemption
    from storefront.orders.refunds import Refund
    from storefront.tenancy.context import all_tenants

    with app.app_context(), tenant_context(shop):
        discounts.create_code("SAVE", "amount", 100)
        db.session.commit()
    place(app, shop)
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop, email="bo@example.com", discount_code="SAVE").status_code == 302
    with app.test_request_context("/", headers=host(shop)), tenant_context(shop):
        order = orders.get_order("ACME-1002")
        orders.set_status(order, "paid")
        orders.refund(order, 200, "Late", key="x1")
        db.session.commit()
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output
    with app.app_context(), all_tenants():
        for row in db.session.scalars(select(Refund)):
            target = db.session.get(orders.Order, row.order_id)
            assert target.tenant_id == row.tenant_id and target.number == "ACME-1002"
        redemptions = db.session.scalars(select(DiscountRedemption)).all()
        assert len(redemptions) == 2
        for row in redemptions:
            assert db.session.get(orders.Order, row.order_id).tenant_id == row.tenant_id


def test_refunds_racing_never_add_up_to_more_than_the_order(app, shop):
    """Eight owners' tabs each refund 6.00 of a 10.00 order at the same moment: one wins."""
    import threading

    place(app, shop)
    with app.app_context(), tenant_context(shop):
        orders.set_status(orders.get_order("ACME-1001"), "paid")
        db.session.commit()
    clients = []
    for _ in range(8):
        owner = app.test_client()
        assert login(owner, shop, OWNER).status_code == 302
        _page, base = refund_form(owner, shop)
        clients.append((owner, {**base, "refund-amount": "6.00", "refund-reason": "Race"}))
    start = threading.Barrier(len(clients))
    errors = []

    def go(owner, data):
        try:
            start.wait()
            owner.post("/admin/orders/ACME-1001/refund", data=data, headers=host(shop))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context(), tenant_context(shop):
        order = orders.get_order("ACME-1001")
        rows = orders.refunds_of(order)
        assert len(rows) == 1 and orders.refunded_total(order) == 600
