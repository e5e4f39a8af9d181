"""A headless shopper's login through the API (issue 31: what Shopify's customer access
tokens and Saleor's token mutations give): logout ends the token (401 after), a token is
renewed for a fresh one, and a forgotten password is reset with the mailed token, all
with Flask-Security's own machinery and the pages' limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import PASSWORD, host, link_in, login

SHOPPER = "ada@example.com"


@pytest.fixture
def shop(app, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, SHOPPER, roles=["customer"])
    return shop


def _login(client, shop, password=PASSWORD) -> dict[str, str]:
    answer = client.post(
        "/api/v1/account/login", json={"email": SHOPPER, "password": password}, headers=host(shop)
    )
    assert answer.status_code == 200, answer.json
    return {**host(shop), "Authentication-Token": answer.json["data"]["token"]}


def _me(client, headers) -> int:
    return client.get("/api/v1/orders", headers=headers).status_code


def test_logout_ends_the_token_and_every_other_login_of_the_account(app, shop):
    client = app.test_client(use_cookies=False)
    phone, tablet = _login(client, shop), _login(client, shop)
    assert _me(client, phone) == _me(client, tablet) == 200
    assert client.post("/api/v1/account/logout", headers=phone).status_code == 204
    for token in (phone, tablet):
        gone = client.get("/api/v1/orders", headers=token)
        assert gone.status_code == 401 and gone.json["error"]["code"] == "token_expired"
        assert "invalid_token" in gone.headers["WWW-Authenticate"]
    assert client.post("/api/v1/account/logout", headers=phone).status_code == 401
    assert _me(client, _login(client, shop)) == 200  # logging in again works


def test_logout_leaves_the_shoppers_session_on_the_pages(app, shop):
    browser = app.test_client()
    assert login(browser, shop, SHOPPER).status_code == 302
    api = app.test_client(use_cookies=False)
    assert api.post("/api/v1/account/logout", headers=_login(api, shop)).status_code == 204
    assert browser.get("/account", headers=host(shop)).status_code == 200


def test_a_token_is_renewed_for_a_fresh_one_and_the_old_one_lives_out_its_day(app, shop):
    client = app.test_client(use_cookies=False)
    old = _login(client, shop)
    renewed = client.post("/api/v1/account/token", headers=old)
    assert renewed.status_code == 200
    assert renewed.json["data"]["expires_in"] == 86400
    assert renewed.json["data"]["customer"]["email"] == SHOPPER
    new = {**host(shop), "Authentication-Token": renewed.json["data"]["token"]}
    assert new != old and _me(client, new) == 200 and _me(client, old) == 200
    client.post("/api/v1/account/logout", headers=new)
    assert _me(client, new) == _me(client, old) == 401  # logout ends the whole line


@pytest.mark.parametrize("path", ["/api/v1/account/token", "/api/v1/account/logout"])
def test_a_login_action_takes_no_guest_no_bad_token_and_no_api_key(app, shop, make_user, path):
    from storefront.accounts import tokens

    client = app.test_client(use_cookies=False)
    assert client.post(path, headers=host(shop)).status_code == 401
    bad = client.post(path, headers={**host(shop), "Authentication-Token": "forged"})
    assert bad.status_code == 401
    make_user(shop, "boss@example.com", roles=["owner"])
    with app.app_context(), tenant_context(shop):
        owner = db.session.scalar(select(User).where(User.email == "boss@example.com"))
        secret = tokens.create_key(owner, "all", scopes=list(tokens.SCOPES)).secret
        db.session.commit()
    keyed = client.post(path, headers={**host(shop), "Authorization": f"Bearer {secret}"})
    assert keyed.status_code == 403 and keyed.json["error"]["code"] == "forbidden"


def _request_reset(client, shop, email):
    return client.post("/api/v1/account/password-reset", json={"email": email}, headers=host(shop))


def test_a_password_is_reset_with_the_mailed_token(app, shop, outbox):
    client = app.test_client(use_cookies=False)
    before = _login(client, shop)
    asked = _request_reset(client, shop, SHOPPER)
    assert asked.status_code == 202 and asked.data == b""
    token = link_in(outbox[-1]).rstrip(".").rsplit("/", 1)[1]
    weak = client.post(
        "/api/v1/account/password", json={"token": token, "password": "short"},
        headers=host(shop),
    )  # fmt: skip
    assert weak.status_code == 422 and "password" in weak.json["error"]["fields"]
    done = client.post(
        "/api/v1/account/password",
        json={"token": token, "password": "brand-new-pass-7"},
        headers=host(shop),
    )
    assert done.status_code == 204
    assert _me(client, before) == 401  # a new password ends the API logins too
    assert _me(client, _login(client, shop, "brand-new-pass-7")) == 200
    again = client.post(
        "/api/v1/account/password",
        json={"token": token, "password": "another-pass-8"},
        headers=host(shop),
    )
    assert again.status_code == 422 and set(again.json["error"]["fields"]) == {"token"}


def test_a_password_changed_on_the_pages_ends_the_api_logins(app, shop):
    client = app.test_client(use_cookies=False)
    token = _login(client, shop)
    with app.app_context(), tenant_context(shop):
        from flask_security.changeable import change_user_password

        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        with app.test_request_context("/", headers=host(shop)):
            change_user_password(user, "changed-pass-9", notify=False, autologin=False)
        db.session.commit()
    assert _me(client, token) == 401


def test_a_reset_request_answers_the_same_for_any_address(app, shop, outbox):
    client = app.test_client(use_cookies=False)
    known = _request_reset(client, shop, SHOPPER)
    unknown = _request_reset(client, shop, "nobody@example.com")
    assert (known.status_code, known.data) == (unknown.status_code, unknown.data) == (202, b"")
    assert [m.to for m in outbox] == [[SHOPPER]]
    assert _request_reset(client, shop, "not an address").status_code == 422


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
def test_reset_requests_are_limited_like_the_page(app, shop):
    client = app.test_client(use_cookies=False)
    answers = [_request_reset(client, shop, SHOPPER).status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]


def test_a_forged_token_is_refused_and_changes_nothing(app, shop):
    client = app.test_client(use_cookies=False)
    for token in ("x", "InR3byJd.forged", "a" * 1000):
        answer = client.post(
            "/api/v1/account/password",
            json={"token": token, "password": "brand-new-pass-7"},
            headers=host(shop),
        )
        assert answer.status_code == 422 and set(answer.json["error"]["fields"]) == {"token"}
    assert _me(client, _login(client, shop)) == 200
