"""Per-shop accounts: nothing minted at one shop works at another. Each test tries."""

from __future__ import annotations

import re
import statistics
import time
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import (
    PASSWORD,
    csrf_from,
    host,
    link_in,
    login,
    register,
)


@pytest.fixture
def shops(two_shops):
    return two_shops


def cookies_of(response) -> dict[str, str]:
    jar: dict[str, str] = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        jar.update({k: v.value for k, v in cookie.items()})
    return jar


def raw_cookie(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def test_same_email_two_shops_two_accounts(app, client, shops):
    acme, globex = shops
    assert register(client, acme, "x@example.com", "acme-password-1").status_code == 302
    client.post("/logout", headers=host(acme))
    other = app.test_client()
    assert register(other, globex, "x@example.com", "globex-password-2").status_code == 302
    with app.app_context():
        with tenant_context(acme):
            a = db.session.scalar(select(User).where(User.email == "x@example.com"))
        with tenant_context(globex):
            g = db.session.scalar(select(User).where(User.email == "x@example.com"))
        assert a.id != g.id
        assert a.fs_uniquifier != g.fs_uniquifier
        assert [r.name for r in a.roles] == ["customer"]
    fresh = app.test_client()
    assert login(fresh, acme, "x@example.com", "globex-password-2").status_code == 200  # form again
    assert fresh.get("/api/me", headers=host(acme)).status_code == 401
    assert login(fresh, acme, "x@example.com", "acme-password-1").status_code == 302
    assert fresh.get("/api/me", headers=host(acme)).json == {
        "email": "x@example.com",
        "shop": "acme",
    }


def test_session_cookie_replayed_at_another_shop_is_anonymous(app, client, shops, make_user):
    acme, globex = shops
    make_user(acme, "x@example.com")
    make_user(globex, "x@example.com")
    response = login(client, acme, "x@example.com")
    assert response.status_code == 302
    jar = cookies_of(response)
    assert "session" in jar
    stranger = app.test_client(use_cookies=False)
    at_acme = stranger.get("/api/me", headers={**host(acme), "Cookie": raw_cookie(jar)})
    assert at_acme.status_code == 200
    at_globex = stranger.get("/api/me", headers={**host(globex), "Cookie": raw_cookie(jar)})
    assert at_globex.status_code == 401
    page = stranger.get("/account", headers={**host(globex), "Cookie": raw_cookie(jar)})
    assert page.status_code == 302
    assert "/login" in page.headers["Location"]


def test_an_address_book_replayed_at_another_shop_is_a_stranger_s(app, client, shops, make_user):
    """Ada's address at Acme: her session cookie at Globex reads no address book, and
    Globex's Ada (the same email, another account) has an empty one; the address's id
    names nothing at Globex."""
    from storefront.addresses import services as address_book

    acme, globex = shops
    make_user(acme, "x@example.com")
    make_user(globex, "x@example.com")
    response = login(client, acme, "x@example.com")
    with app.app_context(), tenant_context(acme):
        ada = db.session.scalar(select(User).where(User.email == "x@example.com"))
        row = address_book.add_address(
            ada.id,
            {
                "name": "Ada",
                "address": "Damrak 1",
                "city": "Amsterdam",
                "postal_code": "1012 LG",
                "country": "NL",
            },  # fmt: skip
        )
        db.session.commit()
        address_id = row.id
    assert "Damrak 1" in client.get("/account/addresses", headers=host(acme)).text
    stranger = app.test_client(use_cookies=False)
    replayed = {**host(globex), "Cookie": raw_cookie(cookies_of(response))}
    page = stranger.get("/account/addresses", headers=replayed)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    other = app.test_client()
    login(other, globex, "x@example.com")
    assert "Damrak" not in other.get("/account/addresses", headers=host(globex)).text
    edit = other.get(f"/account/addresses/{address_id}/edit", headers=host(globex))
    assert edit.status_code == 404
    checkout = other.get(f"/checkout?address={address_id}", headers=host(globex))
    assert "Damrak" not in checkout.text


def test_remember_cookie_replayed_at_another_shop_is_anonymous(app, client, shops, make_user):
    acme, globex = shops
    make_user(acme, "x@example.com")
    make_user(globex, "x@example.com")
    response = login(client, acme, "x@example.com", remember=True)
    jar = cookies_of(response)
    remember = {k: v for k, v in jar.items() if k == "remember_token"}
    assert remember, jar
    stranger = app.test_client(use_cookies=False)
    assert (
        stranger.get("/api/me", headers={**host(acme), "Cookie": raw_cookie(remember)}).status_code
        == 200
    )
    assert (
        stranger.get(
            "/api/me", headers={**host(globex), "Cookie": raw_cookie(remember)}
        ).status_code
        == 401
    )


def test_reset_token_from_one_shop_is_rejected_at_another(app, client, shops, make_user, outbox):
    acme, globex = shops
    make_user(acme, "x@example.com")
    make_user(globex, "x@example.com")
    page = client.get("/reset", headers=host(acme))
    client.post(
        "/reset",
        data={"email": "x@example.com", "csrf_token": csrf_from(page.text)},
        headers=host(acme),
    )
    assert len(outbox) == 1
    link = link_in(outbox[0])
    assert link.startswith("http://acme.test/reset/")
    token = link.rsplit("/", 1)[1]
    other = app.test_client()
    form = other.get(f"/reset/{token}", headers=host(globex))
    assert form.status_code in (200, 302)
    if form.status_code == 200:
        result = other.post(
            f"/reset/{token}",
            headers=host(globex),
            data={
                "password": "hijacked-password",
                "password_confirm": "hijacked-password",
                "csrf_token": csrf_from(form.text),
            },
        )
        assert result.status_code in (200, 302)
    # Neither account took the attacker's password; A's old one still works.
    assert login(app.test_client(), globex, "x@example.com", "hijacked-password").status_code == 200
    assert login(app.test_client(), acme, "x@example.com", "hijacked-password").status_code == 200
    assert login(app.test_client(), acme, "x@example.com").status_code == 302


@pytest.mark.parametrize("confirm", [True])
def test_confirm_token_from_one_shop_is_rejected_at_another(app, make_shop, outbox, confirm):
    settings = 'name = "{}"\n[features]\nconfirm_email = true\n'
    acme = make_shop("acme", settings=settings.format("Acme"))
    globex = make_shop("globex", settings=settings.format("Globex"))
    client = app.test_client()
    assert register(client, acme, "x@example.com").status_code == 302
    register(app.test_client(), globex, "x@example.com")
    confirm_link = next(
        url
        for m in outbox
        for url in re.findall(r"https?://\S+", m.body)
        if "/confirm/" in url and "acme.test" in url
    )
    token = confirm_link.rsplit("/", 1)[1]
    app.test_client().get(f"/confirm/{token}", headers=host(globex))
    with app.app_context():
        with tenant_context(globex):
            assert db.session.scalar(select(User.confirmed_at)) is None
        with tenant_context(acme):
            assert db.session.scalar(select(User.confirmed_at)) is None
    # At its own shop the token works, and only then can the shopper log in.
    assert login(app.test_client(), acme, "x@example.com").status_code == 200
    app.test_client().get(f"/confirm/{token}", headers=host(acme))
    assert login(app.test_client(), acme, "x@example.com").status_code == 302


def test_auth_token_from_one_shop_gets_401_at_another(app, shops, make_user):
    acme, globex = shops
    make_user(acme, "x@example.com")
    with app.app_context(), tenant_context(acme):
        user = db.session.scalar(select(User))
        token = user.get_auth_token()
    client = app.test_client(use_cookies=False)
    assert (
        client.get("/api/me", headers={**host(acme), "Authentication-Token": token}).status_code
        == 200
    )
    assert (
        client.get("/api/me", headers={**host(globex), "Authentication-Token": token}).status_code
        == 401
    )


def test_csrf_token_from_one_shops_form_is_rejected_at_another(app, client, shops, make_user):
    acme, globex = shops
    make_user(globex, "x@example.com")
    page = client.get("/login", headers=host(acme))
    jar = cookies_of(page)
    response = app.test_client(use_cookies=False).post(
        "/login",
        headers={**host(globex), "Cookie": raw_cookie(jar)},
        data={"email": "x@example.com", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 400
    assert "came from another page" in response.text  # the platform's words for a CSRF refusal


def test_every_form_needs_its_csrf_token(client, shops):
    acme, _ = shops
    for path in ("/login", "/register", "/reset"):
        response = client.post(
            path, data={"email": "x@example.com", "password": PASSWORD}, headers=host(acme)
        )
        assert response.status_code == 400, path


def _login_answer(client, shop, email) -> tuple[int, str]:
    response = login(client, shop, email, "wrong-password-123")
    text = re.sub(r'value="[^"]*"', "", response.text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    return response.status_code, re.sub(r"\s+", " ", text)


def test_login_at_one_shop_never_reveals_an_account_at_another(app, client, shops, make_user):
    acme, globex = shops
    make_user(globex, "only-at-globex@example.com")
    assert _login_answer(client, acme, "only-at-globex@example.com") == _login_answer(
        client, acme, "nobody@example.com"
    )


def test_login_register_and_reset_do_not_reveal_whether_an_account_exists(
    app, client, shops, make_user, outbox
):
    acme, _ = shops
    make_user(acme, "known@example.com")
    assert _login_answer(client, acme, "known@example.com") == _login_answer(
        client, acme, "unknown@example.com"
    )
    answers = []
    for email in ("known@example.com", "unknown@example.com"):
        page = client.get("/reset", headers=host(acme))
        r = client.post(
            "/reset", data={"email": email, "csrf_token": csrf_from(page.text)}, headers=host(acme)
        )
        answers.append((r.status_code, r.headers.get("Location")))
    assert answers[0] == answers[1]
    answers = []
    for email in ("known@example.com", "new@example.com"):
        r = register(app.test_client(), acme, email)
        answers.append(r.status_code)
    assert answers[0] == answers[1]


# The real hasher: with the suite's plaintext "hash" this would pass even without
# Flask-Security's timing equaliser for unknown accounts.
@pytest.mark.settings(SECURITY_PASSWORD_HASH="argon2")
def test_login_timing_is_similar_for_existing_and_unknown_emails(app, shops, make_user):
    acme, _ = shops
    make_user(acme, "known@example.com")
    client = app.test_client()
    page = client.get("/login", headers=host(acme))
    token = csrf_from(page.text)
    samples: dict[str, list[float]] = {"known@example.com": [], "unknown@example.com": []}
    for _ in range(25):
        for email, times in samples.items():
            start = time.perf_counter()
            client.post(
                "/login",
                headers=host(acme),
                data={"email": email, "password": "wrong-password-123", "csrf_token": token},
            )
            times.append(time.perf_counter() - start)
    known = statistics.median(samples["known@example.com"])
    unknown = statistics.median(samples["unknown@example.com"])
    assert abs(known - unknown) < max(0.005, 0.5 * min(known, unknown)), (known, unknown)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "\\\\evil.example",
        "/\\evil.example",
        "http://globex.test/account",
        "https://evil.example/",
        "javascript:alert(1)",
        "///evil.example",
    ],
)
def test_next_only_redirects_within_the_same_shop(app, shops, make_user, target):
    acme, _ = shops
    make_user(acme, "x@example.com")
    client = app.test_client()
    page = client.get("/login", headers=host(acme), query_string={"next": target})
    response = client.post(
        "/login",
        headers=host(acme),
        query_string={"next": target},
        data={"email": "x@example.com", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    # Either the login is refused with a form error, or it lands on a page of this shop.
    assert response.status_code in (200, 302)
    location = response.headers.get("Location", "")
    if response.status_code == 302:
        assert location.startswith(("/", "http://acme.test/")), location
        assert not location.startswith(("//", "/\\")), location
    assert "evil" not in location
    assert "globex" not in location


def test_next_within_the_shop_is_followed(app, shops, make_user):
    acme, _ = shops
    make_user(acme, "x@example.com")
    client = app.test_client()
    page = client.get("/login?next=/account", headers=host(acme))
    assert 'action="/login?next=%2Faccount"' in page.text
    response = client.post(
        "/login?next=/account",
        headers=host(acme),
        data={"email": "x@example.com", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.headers["Location"].endswith("/account")
