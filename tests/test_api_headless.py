"""What a headless storefront and an integration do with the API: a cart held by a token,
checkout once per Idempotency-Key, CORS for the shop's own origins only, entity tags,
scoped keys, cursors for sync, and listings whose statement count does not grow."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import PASSWORD, host

SETTINGS = """
name = "Headless"
currency = "EUR"
locale = "de_DE"
[payment]
methods = ["bank_transfer"]
[shipping]
flat_rate = 495
[api]
cors_origins = ["https://front.example"]
"""


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("headless", settings=SETTINGS)
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tents")
        for i in range(30):
            catalog.create_product(
                f"T-{i}", f"Tent {i}", 1000 + i, stock=5, categories=["tents"] if i % 2 else []
            )
        db.session.commit()
    return shop


def _key(app, shop, make_user, scopes):
    make_user(shop, "erp@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "erp@example.com"))
        secret = tokens.create_key(user, "erp", scopes=scopes).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada",
    "address": "Hauptstr. 1",
    "postal_code": "10115",
    "city": "Berlin",
    "country": "DE",
    "payment_method": "bank_transfer",
}


def test_a_cart_token_carries_the_cart_and_checkout_happens_once(app, shop):
    client = app.test_client(use_cookies=False)  # no cookie: the token is all there is
    product = client.get("/api/v1/products?per_page=1", headers=host(shop)).json["data"][0]
    assert product["image"].startswith("http://headless.test/")
    added = client.post(
        "/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2}, headers=host(shop)
    )
    token = added.json["data"]["token"]
    assert added.status_code == 201 and added.headers["X-Cart-Token"] == token
    cart_headers = {**host(shop), "X-Cart-Token": token}
    cart = client.get("/api/v1/cart?country=DE", headers=cart_headers).json["data"]
    assert cart["count"] == 2
    assert cart["totals"]["shipping"] == {"amount": 495, "currency": "EUR", "display": "4,95\xa0€"}
    assert cart["totals"]["shipping_rate"] == "default"
    options = client.get("/api/v1/checkout/options?country=DE", headers=host(shop)).json["data"]
    assert [m["code"] for m in options["payment_methods"]] == ["bank_transfer"]
    assert client.get("/api/v1/cart", headers=host(shop)).json["data"]["count"] == 0

    missing_key = client.post("/api/v1/checkout", json=ADDRESS, headers=cart_headers)
    assert (
        missing_key.status_code == 400 and "Idempotency-Key" in missing_key.json["error"]["message"]
    )
    headers = {**cart_headers, "Idempotency-Key": "k" * 24}
    first = client.post("/api/v1/checkout", json=ADDRESS, headers=headers)
    assert first.status_code == 201, first.json
    placed = first.json["data"]
    assert placed["order"]["totals"]["total"]["amount"] == 2 * product["price"]["amount"] + 495
    assert (
        placed["payment"]["redirect_url"] is None and placed["payment"]["method"] == "bank_transfer"
    )
    assert first.headers["Location"] == f"/api/v1/orders/{placed['order']['number']}"
    again = client.post("/api/v1/checkout", json=ADDRESS, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["data"]["order"]["number"] == placed["order"]["number"]
    guest = client.get(
        first.headers["Location"], headers={**host(shop), "X-Order-Key": placed["order_key"]}
    )
    assert guest.status_code == 200 and guest.json["data"]["number"] == placed["order"]["number"]
    assert client.get(first.headers["Location"], headers=host(shop)).status_code == 404
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(db.func.count()).select_from(Order)) == 1


def test_racing_checkouts_with_one_key_make_one_order(app, shop):
    client = app.test_client(use_cookies=False)
    product = client.get("/api/v1/products?per_page=1", headers=host(shop)).json["data"][0]
    token = client.post(
        "/api/v1/cart/items", json={"product_id": product["id"]}, headers=host(shop)
    ).json["data"]["token"]
    headers = {**host(shop), "X-Cart-Token": token, "Idempotency-Key": "race-" + "x" * 20}
    answers: list[int] = []

    def go() -> None:
        answers.append(
            app.test_client(use_cookies=False)
            .post("/api/v1/checkout", json=ADDRESS, headers=headers)
            .status_code
        )

    threads = [threading.Thread(target=go) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) <= {201, 409}, answers
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(db.func.count()).select_from(Order)) == 1


def test_a_guest_cart_joins_the_account_on_api_login(app, shop, make_user, outbox):
    make_user(shop, "ada@example.com")
    client = app.test_client(use_cookies=False)
    token = client.post(
        "/api/v1/cart/items", json={"product_id": 1, "quantity": 1}, headers=host(shop)
    ).json["data"]["token"]
    wrong = client.post(
        "/api/v1/account/login",
        json={"email": "ada@example.com", "password": "not the password"},
        headers=host(shop),
    )
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_credentials"
    login = client.post(
        "/api/v1/account/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={**host(shop), "X-Cart-Token": token},
    )
    assert login.status_code == 200, login.json
    auth = {**host(shop), "Authentication-Token": login.json["data"]["token"]}
    mine = client.get("/api/v1/cart", headers=auth).json["data"]
    assert mine["count"] == 1 and mine["token"] is None
    expired = client.get("/api/v1/orders", headers={**host(shop), "Authentication-Token": "x.y"})
    assert expired.status_code == 401 and expired.json["error"]["code"] == "token_expired"
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    registered = client.post(
        "/api/v1/account/register",
        json={"email": "ada@example.com", "password": "another long one"},
        headers=host(shop),
    )
    fresh = client.post(
        "/api/v1/account/register",
        json={"email": "bob@example.com", "password": "another long one"},
        headers=host(shop),
    )
    # The same answer whether the address had an account or not.
    assert registered.status_code == fresh.status_code == 202
    assert registered.json == fresh.json
    # The owner of the existing address is told; the new one gets its welcome.
    assert {tuple(mail.to) for mail in outbox} >= {("ada@example.com",), ("bob@example.com",)}


def test_cors_only_for_the_shops_origins_and_never_with_credentials(app, client, shop):
    allowed = {**host(shop), "Origin": "https://front.example"}
    preflight = client.options(
        "/api/v1/cart/items",
        headers={
            **allowed,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-cart-token",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://front.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-Cart-Token" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    read = client.get("/api/v1/products", headers=allowed)
    assert read.headers["Access-Control-Allow-Origin"] == "https://front.example"
    assert "X-Cart-Token" in read.headers["Access-Control-Expose-Headers"]
    assert "Origin" in read.headers["Vary"]
    for origin in ("https://evil.example", "https://front.example.evil.example", "null"):
        other = client.get("/api/v1/products", headers={**host(shop), "Origin": origin})
        assert "Access-Control-Allow-Origin" not in other.headers, origin


def test_catalog_reads_are_tagged_and_writes_check_if_match(app, client, shop, make_user):
    listing = client.get("/api/v1/products?per_page=100", headers=host(shop))
    assert listing.headers["Cache-Control"] == "public, max-age=60"
    tag = listing.headers["ETag"]
    same = client.get("/api/v1/products?per_page=100", headers={**host(shop), "If-None-Match": tag})
    assert same.status_code == 304 and same.data == b""
    auth = _key(app, shop, make_user, ["products:read", "products:write"])
    read = client.get("/api/v1/admin/products/1", headers=auth)
    etag = read.headers["ETag"]
    first = client.patch(
        "/api/v1/admin/products/1", json={"stock": 9}, headers={**auth, "If-Match": etag}
    )
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = client.patch(
        "/api/v1/admin/products/1", json={"stock": 1}, headers={**auth, "If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json["error"]["code"] == "precondition_failed"
    assert client.get("/api/v1/admin/products/1", headers=auth).json["data"]["stock"] == 9
    changed = client.get(
        "/api/v1/products?per_page=100", headers={**host(shop), "If-None-Match": tag}
    )
    assert changed.status_code == 200  # the stock moved: a new tag


def test_keys_are_scoped(app, client, shop, make_user):
    auth = _key(app, shop, make_user, ["orders:read"])
    assert client.get("/api/v1/admin/orders", headers=auth).status_code == 200
    refused = client.post(
        "/api/v1/admin/products", json={"sku": "X", "title": "X", "price": 1}, headers=auth
    )
    assert refused.status_code == 403 and refused.json["error"]["code"] == "insufficient_scope"
    assert "products:write" in refused.json["error"]["message"]
    assert client.get("/api/v1/admin/customers", headers=auth).status_code == 403
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "erp@example.com"))
        with pytest.raises(tokens.TokenError):
            tokens.create_key(user, "bad", scopes=["orders:everything"])


def test_an_integration_syncs_with_cursors_and_updated_since(app, client, shop, make_user):
    auth = _key(app, shop, make_user, ["products:read", "products:write"])
    seen, after, pages = [], "", 0
    while True:
        page = client.get(f"/api/v1/admin/products?limit=7{after}", headers=auth).json
        seen += [p["id"] for p in page["data"]]
        pages += 1
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
        after = f"&cursor={cursor}"
    assert sorted(seen) == list(range(1, 31)) and len(seen) == 30 and pages == 5
    last = max(
        p["updated_at"]
        for p in client.get("/api/v1/admin/products?limit=100", headers=auth).json["data"]
    )
    client.post("/api/v1/admin/products/3/inventory", json={"delta": -2}, headers=auth)
    changed = client.get(f"/api/v1/admin/products?updated_since={last}", headers=auth).json["data"]
    assert 3 in [p["id"] for p in changed]
    below = client.post("/api/v1/admin/products/3/inventory", json={"delta": -99}, headers=auth)
    assert below.status_code == 409
    created = client.post(
        "/api/v1/admin/products", json={"sku": "NEW", "title": "New", "price": 5}, headers=auth
    )
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/v1/admin/products/{created.json['data']['id']}"
    gone = client.delete(created.headers["Location"], headers=auth)
    assert gone.status_code == 204
    assert client.get(created.headers["Location"], headers=auth).status_code == 404
    bad = client.get("/api/v1/admin/products?cursor=not-a-cursor", headers=auth)
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/v1/products?per_page={n}", "/api/v1/admin/products?limit={n}"]
)
def test_listings_run_a_constant_number_of_statements(app, shop, make_user, path):
    auth = _key(app, shop, make_user, ["products:read"])
    client = app.test_client()
    counts = {}
    for size in (5, 30):
        client.get(path.format(n=size), headers=auth)  # warm: settings, the key's last use
        statements: list[str] = []

        def count(*args, seen=statements, **kwargs) -> None:
            seen.append(args[2])

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            answer = client.get(path.format(n=size), headers=auth)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200 and len(answer.json["data"]) == size
        counts[size] = len(statements)
    assert counts[5] == counts[30], counts


def test_tenantctl_makes_scoped_keys_and_says_what_is_wrong(app, runner, shop, make_user):
    make_user(shop, "erp@example.com", roles=["staff"])
    made = runner.invoke(["user", "token", "headless", "erp@example.com", "--scope", "orders:read"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    client = app.test_client()
    auth = {**host(shop), "Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/admin/orders", headers=auth).status_code == 200
    assert client.get("/api/v1/admin/products", headers=auth).status_code == 403
    listed = runner.invoke(["user", "keys", "headless", "--json"])
    assert "orders:read" in listed.output
    bad = runner.invoke(["user", "token", "headless", "erp@example.com", "--scope", "all"])
    assert bad.exit_code != 0 and "Unknown scope all" in bad.output
    assert "Traceback" not in bad.output


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute", API_RATE_LIMIT_SHOP="5 per minute"
)
def test_rate_limits_per_client_and_per_shop_say_when_to_come_back(app, shop):
    client = app.test_client()
    first = client.get("/api/v1/categories", headers=host(shop))
    assert first.headers["RateLimit-Limit"] == "3"
    assert first.headers["RateLimit-Remaining"] == "2"
    assert first.headers["RateLimit-Policy"] == "3;w=60"
    for _ in range(2):
        client.get("/api/v1/categories", headers=host(shop))
    over = client.get("/api/v1/categories", headers=host(shop))
    assert over.status_code == 429 and over.json["error"]["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # Another client has its own allowance, until the shop's runs out.
    other = {**host(shop), "X-Forwarded-For": "198.51.100.7"}
    other_client = app.test_client()
    answers = [
        other_client.get(
            "/api/v1/categories", headers=other, environ_base={"REMOTE_ADDR": "198.51.100.7"}
        ).status_code
        for _ in range(3)
    ]
    assert answers[0] == 200 and 429 in answers  # the shop's 5 are used up after two
