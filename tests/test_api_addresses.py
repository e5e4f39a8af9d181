"""The shopper's address book through the API: the same rules as its page (a country's
fields and postal codes), the same bound, one default, and nobody else's addresses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.addresses import services as addresses
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host

SHOPPER, OTHER = "ada@example.com", "bob@example.com"
URL = "/api/v1/account/addresses"
PHOENIX = {
    "name": "Ada Lovelace",
    "address": "1 Main St",
    "city": "Phoenix",
    "country_area": "az",
    "postal_code": "85001",
    "country": "US",
}
AMSTERDAM = {
    "name": "Ada Lovelace",
    "address": "Dam 1",
    "city": "Amsterdam",
    "postal_code": "1012 js",
    "country": "NL",
}


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, SHOPPER, roles=["customer"])
    make_user(acme, OTHER, roles=["customer"])
    return acme


def _token(app, shop, email=SHOPPER) -> dict[str, str]:
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        return {**host(shop), "Authentication-Token": user.get_auth_token()}


def test_save_list_change_and_delete(app, client, shop):
    me = _token(app, shop)
    assert client.get(URL, headers=me).get_json() == {"data": []}

    first = client.post(URL, json=PHOENIX, headers=me)
    assert first.status_code == 201, first.get_json()
    saved = first.get_json()["data"]
    assert first.headers["Location"] == f"{URL}/{saved['id']}"
    # Kept in the country's spelling; the first address is the default.
    assert saved["country_area"] == "AZ" and saved["is_default"] is True
    assert "Phoenix, AZ 85001" in saved["lines"]

    second = client.post(URL, json={**AMSTERDAM, "is_default": True}, headers=me)
    home = second.get_json()["data"]
    assert home["postal_code"] == "1012 JS" and home["is_default"] is True
    listed = client.get(URL, headers=me).get_json()["data"]
    assert [a["id"] for a in listed] == [home["id"], saved["id"]]
    assert [a["is_default"] for a in listed] == [True, False]

    changed = client.patch(
        f"{URL}/{saved['id']}", json={"address": "2 Main St", "is_default": True}, headers=me
    )
    assert changed.status_code == 200
    assert changed.get_json()["data"]["address"] == "2 Main St"
    assert client.get(f"{URL}/{home['id']}", headers=me).get_json()["data"]["is_default"] is False

    assert client.delete(f"{URL}/{saved['id']}", headers=me).status_code == 204
    left = client.get(URL, headers=me).get_json()["data"]
    assert [(a["id"], a["is_default"]) for a in left] == [(home["id"], True)]
    assert client.get(f"{URL}/{saved['id']}", headers=me).status_code == 404


def test_an_address_is_held_to_its_country(client, app, shop):
    me = _token(app, shop)
    answer = client.post(URL, json={**PHOENIX, "postal_code": "1012 JS"}, headers=me)
    assert answer.status_code == 422
    assert "postal_code" in answer.get_json()["error"]["fields"]
    unknown = client.post(URL, json={**PHOENIX, "country": "ZZ"}, headers=me)
    assert unknown.status_code == 422 and "country" in unknown.get_json()["error"]["fields"]
    saved = client.post(URL, json=AMSTERDAM, headers=me).get_json()["data"]
    # A change is checked as a whole: an Amsterdam address with a US state is no address.
    moved = client.patch(f"{URL}/{saved['id']}", json={"postal_code": "ABC"}, headers=me)
    assert moved.status_code == 422
    assert client.get(f"{URL}/{saved['id']}", headers=me).get_json()["data"] == saved
    nulls = client.patch(f"{URL}/{saved['id']}", json={"city": None}, headers=me)
    assert nulls.status_code == 422
    keep = client.patch(f"{URL}/{saved['id']}", json={"is_default": False}, headers=me)
    assert keep.status_code == 422 and "is_default" in keep.get_json()["error"]["fields"]


def test_a_full_book_is_a_409_with_its_code(client, app, shop, monkeypatch):
    monkeypatch.setattr(addresses, "MAX_ADDRESSES", 2)
    me = _token(app, shop)
    for street in ("Dam 1", "Dam 2"):
        assert (
            client.post(URL, json={**AMSTERDAM, "address": street}, headers=me).status_code == 201
        )
    full = client.post(URL, json={**AMSTERDAM, "address": "Dam 3"}, headers=me)
    assert full.status_code == 409
    assert full.get_json()["error"]["code"] == "address_book_full"


def test_nobody_reads_or_changes_another_shoppers_addresses(
    client, app, shop, make_shop, make_user
):
    mine = client.post(URL, json=AMSTERDAM, headers=_token(app, shop)).get_json()["data"]
    other = _token(app, shop, OTHER)
    assert client.get(URL, headers=other).get_json() == {"data": []}
    for method in ("get", "patch", "delete"):
        answer = getattr(client, method)(f"{URL}/{mine['id']}", json={"city": "X"}, headers=other)
        assert answer.status_code == 404, method
    # The same account name in another shop is another account with another book.
    globex = make_shop("globex")
    make_user(globex, SHOPPER, roles=["customer"])
    theirs = _token(app, globex)
    assert client.get(URL, headers=theirs).get_json() == {"data": []}
    assert client.get(f"{URL}/{mine['id']}", headers=theirs).status_code == 404
    assert client.get(URL, headers=host(shop)).status_code == 401


def test_keys_need_the_account_scopes(client, app, shop, make_user):
    """A key (staff only) acts as its owner: these scopes open the owner's own book."""
    make_user(shop, "owner@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        reader = tokens.create_key(user, "reader", scopes=["account:read"]).secret
        writer = tokens.create_key(user, "writer", scopes=["account:write"]).secret
        db.session.commit()
    read = {**host(shop), "Authorization": f"Bearer {reader}"}
    write = {**host(shop), "Authorization": f"Bearer {writer}"}
    assert client.get(URL, headers=read).status_code == 200
    refused = client.post(URL, json=AMSTERDAM, headers=read)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    assert client.post(URL, json=AMSTERDAM, headers=write).status_code == 201
