"""Addresses (issue 36): each country's form and format, the address book per shopper and
per shop, and checkout filled from it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from storefront.addresses import services as address_book
from storefront.addresses.countries import AddressInvalid, address_lines, normalize
from storefront.addresses.forms import address_layout
from storefront.addresses.models import SavedAddress
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT, csrf_from, host, login, product_id
from tests.test_commerce import add_to_cart

PHOENIX = {
    "name": "Cara Card",
    "address": "2 Main Street",
    "city": "Phoenix",
    "country_area": "AZ",
    "postal_code": "85001",
    "country": "US",
}
AMSTERDAM = {
    "name": "Anna de Vries",
    "address": "Damrak 1",
    "city": "Amsterdam",
    "postal_code": "1012 LG",
    "country": "NL",
}


@pytest.fixture
def en(app):
    with app.test_request_context("/"):
        yield


# -- each country's rules ---------------------------------------------------------------


def errors_of(values: dict[str, str]) -> dict[str, str]:
    with pytest.raises(AddressInvalid) as caught:
        normalize(values)
    return caught.value.errors


def test_the_us_needs_a_state_and_a_zip_code_of_its_pattern(en):
    missing = errors_of({**PHOENIX, "country_area": ""})
    assert set(missing) == {"country_area"}
    assert "Required" in missing["country_area"]
    assert set(errors_of({**PHOENIX, "postal_code": "8500"})) == {"postal_code"}
    # A ZIP code of another state is not this one's.
    assert set(errors_of({**PHOENIX, "postal_code": "10001"})) == {"postal_code"}
    kept = normalize({**PHOENIX, "country_area": "Arizona"})
    assert kept["country_area"] == "AZ" and kept["city"] == "Phoenix"  # as typed, not PHOENIX


def test_a_dutch_postal_code_has_four_digits_and_two_letters(en):
    error = errors_of({**AMSTERDAM, "postal_code": "12345"})["postal_code"]
    assert "1234 AB" in error  # an example of the right pattern
    assert normalize({**AMSTERDAM, "postal_code": "1012lg"})["postal_code"] == "1012LG"


def test_a_country_without_states_drops_one_and_asks_for_none(en):
    kept = normalize({**AMSTERDAM, "country": "DE", "postal_code": "10115", "country_area": "NY"})
    assert kept["country_area"] == ""
    assert not any(spec.name == "country_area" for row in address_layout("DE").rows for spec in row)
    us = {spec.name: spec for row in address_layout("US").rows for spec in row}
    assert us["country_area"].required and us["country_area"].label == "State"
    assert ("AZ", "Arizona") in us["country_area"].choices
    assert us["postal_code"].label == "ZIP code"


def test_unknown_countries_and_junk_never_raise_anything_but_field_errors(en):
    assert address_layout("XX").rows and address_layout("").rows
    assert set(errors_of({**PHOENIX, "country": "XX", "address": ""}))
    assert "phone" in errors_of({**PHOENIX, "phone": "call me <maybe>"})
    assert "city" in errors_of({**PHOENIX, "city": "x" * 101})


def test_each_country_prints_its_own_way(en):
    assert address_lines(PHOENIX) == [
        "Cara Card",
        "2 Main Street",
        "Phoenix, AZ 85001",
        "United States",
    ]
    assert address_lines({**AMSTERDAM, "country": "DE", "postal_code": "10115",
                          "city": "Berlin"})[-2:] == ["10115 Berlin", "Germany"]  # fmt: skip
    assert address_lines(AMSTERDAM)[-2:] == ["1012 LG Amsterdam", "Netherlands"]
    # A missing state leaves no stray comma; postal labels take the post's capitals.
    assert "Phoenix, 85001" in address_lines({**PHOENIX, "country_area": ""})
    assert "PHOENIX, AZ 85001" in address_lines(PHOENIX, postal=True)


# -- the address book -------------------------------------------------------------------


@pytest.fixture
def shopper(app, make_shop, make_user, product):
    """Acme (which ships everywhere) with a product and two shoppers, Ada signed in."""
    shop = make_shop("acme")
    product(shop, "anvil")
    make_user(shop, "ada@example.com")
    make_user(shop, "bob@example.com")
    client = app.test_client()
    login(client, shop, "ada@example.com")
    return shop, client


def post_form(client, shop, path, data, page=None):
    page = page or path
    token = csrf_from(client.get(page, headers=host(shop)).text)
    return client.post(path, data={**data, "csrf_token": token}, headers=host(shop))


def saved(app, shop, email="ada@example.com") -> list[SavedAddress]:
    from storefront.accounts.models import User

    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        rows = address_book.list_addresses(user.id)
        db.session.expunge_all()
        return rows


def test_the_address_book_adds_edits_defaults_and_deletes(app, shopper):
    shop, client = shopper
    empty = client.get("/account/addresses", headers=host(shop))
    assert empty.status_code == 200 and "No saved addresses yet" in empty.text

    added = post_form(client, shop, "/account/addresses/new", PHOENIX)
    assert added.status_code == 302, added.text
    post_form(client, shop, "/account/addresses/new", AMSTERDAM)
    first, second = sorted(saved(app, shop), key=lambda row: row.id)
    assert first.is_default and not second.is_default  # the first one is the default
    listing = unescape(client.get("/account/addresses", headers=host(shop)).text)
    assert "Phoenix, AZ 85001" in listing and "1012 LG Amsterdam" in listing

    # Edit with a mistake: the form comes back with the message and what was typed.
    path = f"/account/addresses/{second.id}/edit"
    refused = post_form(client, shop, path, {**AMSTERDAM, "postal_code": "99999"})
    assert refused.status_code == 200 and "1234 AB" in unescape(refused.text)
    assert 'value="Damrak 1"' in refused.text
    post_form(client, shop, path, {**AMSTERDAM, "address": "Damrak 2"})
    token = csrf_from(client.get("/account/addresses", headers=host(shop)).text)
    made = client.post(f"/account/addresses/{second.id}/default", data={"csrf_token": token},
                       headers=host(shop))  # fmt: skip
    assert made.status_code == 302
    rows = {row.id: row for row in saved(app, shop)}
    assert rows[second.id].is_default and not rows[first.id].is_default
    assert rows[second.id].address == "Damrak 2"

    # Deleting asks first (a page of its own), then deletes; the other becomes default.
    confirm = client.get(f"/account/addresses/{second.id}/delete", headers=host(shop))
    assert confirm.status_code == 200 and "Delete this address?" in confirm.text
    assert len(saved(app, shop)) == 2
    gone = post_form(client, shop, f"/account/addresses/{second.id}/delete", {})
    assert gone.status_code == 302
    (left,) = saved(app, shop)
    assert left.id == first.id and left.is_default


def test_the_address_book_needs_a_csrf_token_and_a_login(app, shopper):
    shop, client = shopper
    post_form(client, shop, "/account/addresses/new", PHOENIX)
    (row,) = saved(app, shop)
    for path in ("/account/addresses/new", f"/account/addresses/{row.id}/delete",
                 f"/account/addresses/{row.id}/default"):  # fmt: skip
        assert client.post(path, data=PHOENIX, headers=host(shop)).status_code == 400
    assert len(saved(app, shop)) == 1
    anonymous = app.test_client().get("/account/addresses", headers=host(shop))
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_country_changes_the_lines_without_a_script(app, shopper):
    shop, client = shopper
    page = client.get("/account/addresses/new?country=DE", headers=host(shop)).text
    assert 'name="country_area"' not in page
    shown = post_form(
        client, shop, "/account/addresses/new", {**AMSTERDAM, "country": "US", "update": "1"}
    )
    assert shown.status_code == 200 and saved(app, shop) == []
    assert '<select id="country_area" name="country_area"' in shown.text
    assert "ZIP code" in shown.text and 'value="Damrak 1"' in shown.text


def test_another_shoppers_address_is_not_found(app, shopper):
    shop, client = shopper
    bob = app.test_client()
    login(bob, shop, "bob@example.com")
    post_form(bob, shop, "/account/addresses/new", AMSTERDAM)
    (theirs,) = saved(app, shop, "bob@example.com")
    base = f"/account/addresses/{theirs.id}"
    token = csrf_from(client.get("/account/addresses", headers=host(shop)).text)
    assert client.get(f"{base}/edit", headers=host(shop)).status_code == 404
    assert client.get(f"{base}/delete", headers=host(shop)).status_code == 404
    for action in ("edit", "delete", "default"):
        answer = client.post(f"{base}/{action}", data={**PHOENIX, "csrf_token": token},
                             headers=host(shop))  # fmt: skip
        assert answer.status_code == 404, action
    assert "Damrak" not in client.get("/account/addresses", headers=host(shop)).text
    (still,) = saved(app, shop, "bob@example.com")
    assert still.address == "Damrak 1" and still.is_default


def test_another_shop_never_sees_an_address(app, shopper, make_shop, make_user):
    shop, client = shopper
    post_form(client, shop, "/account/addresses/new", PHOENIX)
    (row,) = saved(app, shop)
    globex = make_shop("globex")
    make_user(globex, "ada@example.com")  # the same email: another account
    there = app.test_client()
    login(there, globex, "ada@example.com")
    assert "Phoenix" not in there.get("/account/addresses", headers=host(globex)).text
    assert there.get(f"/account/addresses/{row.id}/edit", headers=host(globex)).status_code == 404
    with app.app_context(), tenant_context(globex):
        assert db.session.scalars(select(SavedAddress)).all() == []
        assert address_book.get_address(row.user_id, row.id) is None


# -- checkout ---------------------------------------------------------------------------


def field_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html
    )
    return unescape(match.group(1)) if match else ""


def selected(html: str, name: str) -> str:
    block = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    match = block and (
        re.search(r'<option value="([^"]*)" selected', block.group(0))
        or re.search(r'<option selected value="([^"]*)"', block.group(0))
    )
    return match.group(1) if match else ""


def test_checkout_fills_the_default_address_and_takes_another_of_the_shoppers(app, shopper):
    shop, client = shopper
    post_form(client, shop, "/account/addresses/new", PHOENIX)
    post_form(client, shop, "/account/addresses/new", AMSTERDAM)
    phoenix, amsterdam = sorted(saved(app, shop), key=lambda row: row.id)
    add_to_cart(client, shop, "anvil")

    page = client.get("/checkout", headers=host(shop)).text
    assert field_value(page, "city") == "Phoenix" and selected(page, "country") == "US"
    assert selected(page, "country_area") == "AZ"
    assert selected(page, "address") == str(phoenix.id)  # the picker shows which one

    chosen = client.get(f"/checkout?address={amsterdam.id}", headers=host(shop)).text
    assert field_value(chosen, "postal_code") == "1012 LG" and selected(chosen, "country") == "NL"
    assert 'name="country_area"' not in chosen

    # Bob's address, by its id: not filled in, said so, Ada's default instead.
    bob = app.test_client()
    login(bob, shop, "bob@example.com")
    post_form(bob, shop, "/account/addresses/new", {**AMSTERDAM, "address": "Bobstraat 9"})
    (theirs,) = saved(app, shop, "bob@example.com")
    for junk in (str(theirs.id), "99999999999999999999", "abc", "-1", "²"):
        refused = client.get(f"/checkout?address={junk}", headers=host(shop))
        assert refused.status_code == 200, junk
        assert "Bobstraat" not in refused.text and field_value(refused.text, "city") == "Phoenix"
    assert "not in your address book" in unescape(refused.text)


def test_checkout_saves_the_address_when_asked_and_orders_print_it(app, shopper):
    shop, client = shopper
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    assert "Save this address to my address book" in page
    data = {**PHOENIX, "email": "ada@example.com", "payment_method": "manual",
            "phone": "+1 602 555 0100", "save_address": "y"}  # fmt: skip
    placed = post_form(client, shop, "/checkout", data)
    assert placed.status_code == 302, placed.text
    (row,) = saved(app, shop)
    assert (row.city, row.country_area, row.phone) == ("Phoenix", "AZ", "+1 602 555 0100")
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order)).one()
        assert (order.country_area, order.phone) == ("AZ", "+1 602 555 0100")
    detail = unescape(client.get(placed.headers["Location"], headers=host(shop)).text)
    assert "Phoenix, AZ 85001" in detail and "+1 602 555 0100" in detail


def test_checkout_refuses_an_address_its_country_does_not_take(app, shopper):
    shop, client = shopper
    add_to_cart(client, shop, "anvil")
    data = {**PHOENIX, "country_area": "", "email": "ada@example.com", "payment_method": "manual"}
    refused = post_form(client, shop, "/checkout", data)
    assert refused.status_code == 200 and "This field is required." in unescape(refused.text)
    assert field_value(refused.text, "city") == "Phoenix"  # the form is kept
    with app.app_context(), tenant_context(shop):
        assert db.session.scalars(select(Order)).all() == []
    assert saved(app, shop) == []


def test_a_guest_gets_no_address_book_and_the_fields_follow_the_country(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil")
    client = app.test_client()
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop)).text
    assert "save_address" not in page and 'name="address"' in page
    token = csrf_from(page)
    fields = client.post("/checkout/address-fields", data={"country": "CA", "city": "Québec",
                         "csrf_token": token}, headers=host(shop))  # fmt: skip
    assert fields.status_code == 200 and "Province" in fields.text
    assert 'value="Québec"' in unescape(fields.text) and "<form" not in fields.text
    junk = client.post("/checkout/address-fields", data={"country": "§§", "csrf_token": token},
                       headers=host(shop))  # fmt: skip
    assert junk.status_code == 200
    no_token = client.post("/checkout/address-fields", data={"country": "CA"}, headers=host(shop))
    assert no_token.status_code == 400


def test_an_order_from_before_the_new_lines_still_prints(app, shopper):
    shop, client = shopper
    add_to_cart(client, shop, "anvil")
    data = {**AMSTERDAM, "email": "ada@example.com", "payment_method": "manual"}
    placed = post_form(client, shop, "/checkout", data)
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order)).one()
        # As an older order holds it: a free-form postal code in a country that has none.
        order.country, order.postal_code, order.country_area = "HK", "12-34", ""
        db.session.commit()
    detail = unescape(client.get(placed.headers["Location"], headers=host(shop)).text)
    assert "Damrak 1" in detail and "12-34" in detail and "Hong Kong" in detail


def test_the_api_takes_the_new_lines_and_does_without_them(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil")
    client = app.test_client(use_cookies=False)
    for key, extra in (("a" * 24, {}), ("b" * 24, {"country_area": "NY", "phone": "555 0100"})):
        added = client.post(
            "/api/v1/cart/items",
            json={"product_id": product_id(app, shop, "anvil"), "quantity": 1},
            headers=host(shop),
        )
        headers = {**host(shop), "X-Cart-Token": added.json["data"]["token"],
                   "Idempotency-Key": key}  # fmt: skip
        answer = client.post("/api/v1/checkout", json={**API_CHECKOUT, **extra}, headers=headers)
        assert answer.status_code == 201, answer.json
    with app.app_context(), tenant_context(shop):
        rows = db.session.scalars(select(Order).order_by(Order.id)).all()
        assert [(o.country_area, o.phone) for o in rows] == [("", ""), ("NY", "555 0100")]


def test_the_address_lines_render_in_a_shops_sandboxed_layout(app, make_shop, make_user, product):
    """A shop's own layout puts checkout and the address book in the sandbox: the lines,
    the state list and ``format_address`` work there too."""
    from tests.fixtures.factories import tenant_folder

    shop = make_shop("acme")
    layout = tenant_folder(app, "acme") / "templates" / "layout.html"
    layout.parent.mkdir(parents=True, exist_ok=True)
    layout.write_text(
        '{% import "macros.html" as macros %}<main>{% block page_content %}{% endblock %}</main>'
        "{% if order is defined %}{{ format_address(order)|join(' / ') }}{% endif %}"
    )
    product(shop, "anvil")
    make_user(shop, "ada@example.com")
    client = app.test_client()
    login(client, shop, "ada@example.com")
    post_form(client, shop, "/account/addresses/new", PHOENIX)
    add_to_cart(client, shop, "anvil")
    page = client.get("/checkout", headers=host(shop))
    assert page.status_code == 200 and "<footer" not in page.text  # the shop's layout
    assert '<option value="AZ" selected>Arizona</option>' in page.text
    book = unescape(client.get("/account/addresses", headers=host(shop)).text)
    assert "Phoenix, AZ 85001" in book
    data = {**PHOENIX, "email": "ada@example.com", "payment_method": "manual"}
    placed = post_form(client, shop, "/checkout", data)
    detail = unescape(client.get(placed.headers["Location"], headers=host(shop)).text)
    assert "Cara Card / 2 Main Street / Phoenix, AZ 85001 / United States" in detail
