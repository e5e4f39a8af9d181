"""A credential that is sent and fails is a 401, never a guest: a garbage, expired or
another shop's login token, or a key that is unknown or revoked, on the cart, checkout
and every other API route, also those that serve guests. Before, a shopper whose token
had lapsed filled a guest cart and placed a guest order without being told."""

from __future__ import annotations

import time

import itsdangerous
import pytest
from sqlalchemy import func, select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.cart.models import Cart
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import API_CHECKOUT as ADDRESS
from tests.fixtures.factories import host, login


@pytest.fixture
def shops(app, make_shop, make_user):
    acme, globex = make_shop("acme"), make_shop("globex")
    for shop in (acme, globex):
        make_user(shop, "ada@example.com")
        make_user(shop, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(acme):
        catalog.create_product("A-1", "Anvil", 1000, stock=10, slug="anvil")
        db.session.commit()
    return acme, globex


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _bad_credentials(app, acme, globex, monkeypatch) -> dict[str, dict[str, str]]:
    with app.app_context(), tenant_context(acme):
        ada = _user("ada@example.com")
        with monkeypatch.context() as m:  # signed two days ago: past its day
            two_days_ago = int(time.time()) - 2 * 86400
            m.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: two_days_ago)
            expired = ada.get_auth_token()
        key = tokens.create_key(_user("staff@example.com"), "gone", scopes=["cart:write"])
        tokens.revoke_key(key.key.id)
        db.session.commit()
    with app.app_context(), tenant_context(globex):
        elsewhere = _user("ada@example.com").get_auth_token()
        other_key = tokens.create_key(_user("staff@example.com"), "globex's").secret
        db.session.commit()
    return {
        "garbage login token": {"Authentication-Token": "not-a-token"},
        "expired login token": {"Authentication-Token": expired},
        "another shop's login token": {"Authentication-Token": elsewhere},
        "garbage key": {"Authorization": "Bearer sf_nothing"},
        "revoked key": {"Authorization": f"Bearer {key.secret}"},
        "another shop's key": {"Authorization": f"Bearer {other_key}"},
    }


def _counts(app, shop):
    with app.app_context(), tenant_context(shop):
        return tuple(
            db.session.scalar(select(func.count()).select_from(model)) for model in (Cart, Order)
        )


def test_a_failed_credential_is_a_401_never_a_guest(app, shops, monkeypatch):
    acme, globex = shops
    client = app.test_client(use_cookies=False)
    product_id = client.get("/api/v1/products/anvil", headers=host(acme)).json["data"]["id"]
    # A guest's cart, as a shopper holds it before logging in: a bad login must not use it.
    token = client.post(
        "/api/v1/cart/items", json={"product_id": product_id}, headers=host(acme)
    ).json["data"]["token"]
    before = _counts(app, acme)
    requests = [
        ("get", "/api/v1/cart", None),
        ("post", "/api/v1/cart/items", {"product_id": product_id, "quantity": 1}),
        ("post", "/api/v1/checkout", ADDRESS),
        ("get", "/api/v1/orders/ACME-1001", None),
        ("get", "/api/v1/products", None),  # public: a bad credential is still refused
    ]
    for name, credential in _bad_credentials(app, acme, globex, monkeypatch).items():
        headers = {
            **host(acme),
            **credential,
            "X-Cart-Token": token,
            "Idempotency-Key": "bad-credential-" + "k" * 8,
        }
        for method, path, payload in requests:
            answer = getattr(client, method)(path, json=payload, headers=headers)
            where = f"{name}: {method.upper()} {path}"
            assert answer.status_code == 401, (where, answer.status_code, answer.json)
            error = answer.json["error"]
            assert error["code"] in ("invalid_token", "token_expired"), (where, error)
            assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="api", error='), (
                where
            )
    assert _counts(app, acme) == before  # no cart, no line, no order made


def test_a_bad_header_credential_is_refused_even_with_a_good_session(app, shops):
    acme, _ = shops
    client = app.test_client()
    login(client, acme, "ada@example.com")
    assert client.get("/api/v1/cart", headers=host(acme)).status_code == 200
    refused = client.get(
        "/api/v1/cart", headers={**host(acme), "Authentication-Token": "stale.token"}
    )
    assert refused.status_code == 401 and refused.json["error"]["code"] == "token_expired"


def test_the_document_lists_401_wherever_a_credential_may_be_sent(app, shops):
    acme, _ = shops
    document = app.test_client().get("/api/v1/openapi.json", headers=host(acme)).json
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                assert "401" in operation["responses"], (method, path)
