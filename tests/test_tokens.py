"""Credentials only in headers; API keys an owner or operator can list and revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from storefront.accounts import tokens
from storefront.accounts.models import ApiKey
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import csrf_from, host, login
from tests.test_api import token_for

NEW_PRODUCT = {"sku": "A", "title": "A", "price": 1}


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, "owner@example.com", roles=["owner"])
    make_user(acme, "staff@example.com", roles=["staff"])
    return acme


def new_key(runner, *args: str) -> str:
    result = runner.invoke(["user", "token", "acme", "staff@example.com", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def bearer(shop, key: str) -> dict[str, str]:
    return {**host(shop), "Authorization": f"Bearer {key}"}


def test_tokens_in_the_query_string_or_body_are_ignored(app, client, shop, make_user, runner):
    login_token = token_for(app, shop, make_user, "other@example.com")
    key = new_key(runner)
    for token in (login_token, key):
        in_query = client.post(
            f"/api/v1/admin/products?auth_token={token}", json=NEW_PRODUCT, headers=host(shop)
        )
        assert in_query.status_code == 401
        in_body = client.post(
            "/api/v1/admin/products", json={**NEW_PRODUCT, "auth_token": token}, headers=host(shop)
        )
        assert in_body.status_code in (401, 422)
        assert client.get(f"/admin/?auth_token={token}", headers=host(shop)).status_code == 302
    assert (
        client.post(
            "/api/v1/admin/products",
            json=NEW_PRODUCT,
            headers={**host(shop), "Authentication-Token": login_token},
        ).status_code
        == 201
    )


def test_keys_are_listed_and_revoked_one_by_one(app, client, shop, runner):
    first, second = new_key(runner, "--name", "erp"), new_key(runner, "--name", "fulfil")
    listed = runner.invoke(["user", "keys", "acme", "--json"])
    assert listed.exit_code == 0
    assert first not in listed.output and second not in listed.output  # never shown again
    assert '"erp"' in listed.output and '"fulfil"' in listed.output
    with app.app_context(), tenant_context(shop):
        erp_id = db.session.query(ApiKey.id).filter(ApiKey.name == "erp").scalar()
    assert runner.invoke(["user", "revoke-key", "acme", str(erp_id)]).exit_code == 0
    assert client.get("/api/v1/me", headers=bearer(shop, first)).status_code in (401, 404)
    refused = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, first))
    assert refused.status_code == 401
    allowed = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, second))
    assert allowed.status_code == 201


def test_an_expired_key_or_a_key_of_a_former_staff_member_stops(app, client, shop, runner):
    key = new_key(runner, "--days", "30")
    ok = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, key))
    assert ok.status_code == 201
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    late = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, key))
    assert late.status_code == 401
    other = new_key(runner)
    assert runner.invoke(["user", "revoke", "acme", "staff@example.com", "staff"]).exit_code == 0
    gone = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, other))
    assert gone.status_code in (401, 403)


def test_a_key_of_one_shop_is_nothing_at_another(app, client, shop, make_shop, runner):
    key = new_key(runner)
    globex = make_shop("globex")
    answer = client.post("/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(globex, key))
    assert answer.status_code == 401


def test_the_owner_creates_and_revokes_keys_in_the_dashboard(app, shop):
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    page = owner.get("/admin/api-keys/", headers=host(shop))
    assert page.status_code == 200 and "No API keys yet" in page.text
    made = owner.post(
        "/admin/api-keys/",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "ERP sync",
            "days": "",
            "scopes": ["products:write", "orders:read"],
        },
        headers=host(shop),
    )
    assert made.status_code == 200
    secret = made.text.split('<code class="secret">')[1].split("<")[0]
    assert secret.startswith("sf_")
    api = app.test_client()
    assert (
        api.post(
            "/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, secret)
        ).status_code
        == 201
    )
    listing = owner.get("/admin/api-keys/", headers=host(shop))
    assert secret not in listing.text and "ERP sync" in listing.text
    with app.app_context(), tenant_context(shop):
        key_id = db.session.query(ApiKey.id).scalar()
    revoked = owner.post(
        f"/admin/api-keys/{key_id}/revoke",
        data={"csrf_token": csrf_from(listing.text)},
        headers=host(shop),
    )
    assert revoked.status_code == 302
    again = {**NEW_PRODUCT, "sku": "B"}
    assert (
        api.post("/api/v1/admin/products", json=again, headers=bearer(shop, secret)).status_code
        == 401
    )


def test_a_new_key_starts_with_only_reading_the_shops_data_ticked(app, shop):
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    reading = ["customers:read", "orders:read", "products:read"]
    page = owner.get("/admin/api-keys/", headers=host(shop))
    assert _ticked(page.text) == reading
    assert len(re.findall(r'<input[^>]*type="checkbox"', page.text)) == len(tokens.SCOPES)
    made = owner.post(
        "/admin/api-keys/",
        data={"csrf_token": csrf_from(page.text), "name": "ERP", "scopes": ["orders:write"]},
        headers=host(shop),
    )
    assert '<code class="secret">' in made.text
    assert _ticked(made.text) == reading  # the next key starts afresh too
    refused = owner.post(
        "/admin/api-keys/origins",
        data={"csrf_token": csrf_from(page.text), "cors-origins": "not a site"},
        headers=host(shop),
    )
    assert refused.status_code == 422 and _ticked(refused.text) == reading


def _ticked(html: str) -> list[str]:
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)
    ticked = [box for box in boxes if re.search(r"\schecked(\s|=|>)", box)]
    return sorted(re.search(r'value="([^"]+)"', box).group(1) for box in ticked)


def test_staff_cannot_manage_keys(app, shop):
    staff = app.test_client()
    login(staff, shop, "staff@example.com")
    assert staff.get("/admin/api-keys/", headers=host(shop)).status_code == 403


def test_the_owner_scopes_keys_and_lists_browser_sites(app, shop):
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    page = owner.get("/admin/api-keys/", headers=host(shop))
    assert page.text.count('type="checkbox"') >= 5 and "Browser access" in page.text
    token = csrf_from(page.text)
    nothing = owner.post(
        "/admin/api-keys/", data={"csrf_token": token, "name": "none"}, headers=host(shop)
    )
    assert "Choose at least one thing the key may do." in nothing.text
    made = owner.post(
        "/admin/api-keys/",
        data={"csrf_token": token, "name": "reader", "scopes": ["orders:read"]},
        headers=host(shop),
    )
    secret = made.text.split('<code class="secret">')[1].split("<")[0]
    assert "Read orders" in made.text
    api = app.test_client()
    assert api.get("/api/v1/admin/orders", headers=bearer(shop, secret)).status_code == 200
    assert (
        api.post(
            "/api/v1/admin/products", json=NEW_PRODUCT, headers=bearer(shop, secret)
        ).status_code
        == 403
    )
    bad = owner.post(
        "/admin/api-keys/origins",
        data={"csrf_token": token, "cors-origins": "https://shop.example/path"},
        headers=host(shop),
    )
    assert bad.status_code == 422 and "is not a site address" in bad.text
    assert "https://shop.example/path" in bad.text  # what was typed stays
    saved = owner.post(
        "/admin/api-keys/origins",
        data={"csrf_token": token, "cors-origins": "https://Shop.example/\nhttp://localhost:8000"},
        headers=host(shop),
        follow_redirects=True,
    )
    assert "Sites saved." in saved.text and "https://shop.example" in saved.text
    cross = api.get("/api/v1/products", headers={**host(shop), "Origin": "http://localhost:8000"})
    assert cross.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
