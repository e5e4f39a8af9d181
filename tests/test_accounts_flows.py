"""Account flows through each shop's own theme, mail links, abuse limits, staff pages."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from tests.fixtures.factories import PASSWORD, csrf_from, host, link_in, links_in, login, register


@pytest.fixture
def acme(make_shop):
    return make_shop("acme", name="Acme Supplies", domains=("acme.test", "www.acme.test"))


@pytest.mark.parametrize("path", ["/login", "/register", "/reset", "/confirm"])
def test_account_pages_use_the_shops_theme(client, acme, make_shop, path):
    globex = make_shop("globex", name="Globex Outfitters", theme="minimal")
    page = client.get(path, headers=host(acme))
    assert page.status_code == 200
    assert "Acme Supplies" in page.text
    assert "theme-classic" in page.text
    other = client.get(path, headers=host(globex))
    assert "Globex Outfitters" in other.text
    assert "theme-minimal" in other.text
    assert "fs-static" not in page.text  # not Flask-Security's unstyled defaults


def test_register_log_out_log_in_change_password(app, client, acme, outbox):
    response = register(client, acme, "new@example.com")
    assert response.status_code == 302
    welcome = outbox[-1]
    assert welcome.to == ["new@example.com"]
    assert "Welcome to Acme Supplies" in welcome.body
    assert all(link.startswith("http://acme.test/") for link in links_in(welcome))
    account = client.get("/account", headers=host(acme))
    assert account.status_code == 200
    assert "new@example.com" in account.text
    page = client.get("/change", headers=host(acme))
    changed = client.post(
        "/change",
        headers=host(acme),
        data={
            "password": PASSWORD,
            "new_password": "another-password-9",
            "new_password_confirm": "another-password-9",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert changed.status_code == 302
    logout = client.post(
        "/logout",
        headers=host(acme),
        data={"csrf_token": csrf_from(client.get("/", headers=host(acme)).text)},
    )
    assert logout.status_code == 302
    assert client.get("/account", headers=host(acme)).status_code == 302
    assert login(client, acme, "new@example.com", "another-password-9").status_code == 302


def test_forgot_and_reset_password(app, client, acme, make_user, outbox):
    make_user(acme, "x@example.com")
    page = client.get("/reset", headers=host(acme))
    client.post(
        "/reset",
        headers=host(acme),
        data={"email": "x@example.com", "csrf_token": csrf_from(page.text)},
    )
    mail = outbox[-1]
    assert "Acme Supplies" in mail.body
    path = link_in(mail).removeprefix("http://acme.test")
    form = client.get(path, headers=host(acme))
    assert form.status_code == 200
    done = client.post(
        path,
        headers=host(acme),
        data={
            "password": "brand-new-pass-7",
            "password_confirm": "brand-new-pass-7",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert done.status_code == 302
    assert login(app.test_client(), acme, "x@example.com", "brand-new-pass-7").status_code == 302


def test_registration_closed_answers_404_and_hides_the_link(client, make_shop):
    shop = make_shop("closed", settings='name = "Closed"\n[features]\nregistration = false\n')
    assert client.get("/register", headers=host(shop)).status_code == 404
    assert client.post("/register", headers=host(shop)).status_code == 404
    assert 'href="/register"' not in client.get("/login", headers=host(shop)).text


def test_confirmation_required_per_shop(app, make_shop, outbox):
    strict = make_shop("strict", settings='name = "Strict"\n[features]\nconfirm_email = true\n')
    relaxed = make_shop("relaxed")
    assert register(app.test_client(), strict, "s@example.com").status_code == 302
    assert register(app.test_client(), relaxed, "r@example.com").status_code == 302
    assert login(app.test_client(), strict, "s@example.com").status_code == 200  # refused
    assert login(app.test_client(), relaxed, "r@example.com").status_code == 302
    confirm = next(url for url in links_in(outbox[0]) if "/confirm/" in url)
    assert confirm.startswith("http://strict.test/confirm/")
    app.test_client().get(confirm.removeprefix("http://strict.test"), headers=host(strict))
    assert login(app.test_client(), strict, "s@example.com").status_code == 302


def test_only_a_shop_that_confirms_speaks_of_confirming(app, make_shop, outbox):
    strict = make_shop("strict", settings='name = "Strict"\n[features]\nconfirm_email = true\n')
    relaxed = make_shop("relaxed")
    shopper = app.test_client()
    done = register(shopper, relaxed, "r@example.com")
    assert done.headers["Location"].endswith("/account")
    page = shopper.get("/account", headers=host(relaxed)).text
    assert "confirm" not in page.lower()
    welcome = outbox[-1]
    assert "confirm" not in welcome.body.lower() and "/confirm/" not in welcome.body
    newcomer = app.test_client()
    done = register(newcomer, strict, "s@example.com")
    assert done.headers["Location"].endswith("/login")  # not an account page it may not open
    page = newcomer.get("/login", headers=host(strict)).text
    assert "To confirm s@example.com, open the link" in page
    assert "You must sign in" not in page
    assert "/confirm/" in outbox[-1].body


def test_login_failures_in_plain_words_and_unconfirmed_shoppers_told_so(app, make_shop, outbox):
    strict = make_shop("strict", settings='name = "Strict"\n[features]\nconfirm_email = true\n')
    register(app.test_client(), strict, "s@example.com")
    wrong = login(app.test_client(), strict, "s@example.com", password="not the password")
    assert "Wrong email or password." in wrong.text and "passcode" not in wrong.text
    assert "not confirmed" not in wrong.text  # the password did not prove who they are
    unknown = login(app.test_client(), strict, "nobody@example.com")
    assert "Wrong email or password." in unknown.text
    right = login(app.test_client(), strict, "s@example.com")
    assert right.status_code == 200
    assert "Your email address is not confirmed yet" in right.text
    assert "Wrong email or password." not in right.text
    assert "/confirm" in right.text  # the link to have the mail sent again


def _reset_mail(app, acme, outbox, **environ):
    client = app.test_client()
    token = csrf_from(client.get("/reset", headers=host(acme)).text)
    cookie = client.get_cookie("session", domain="acme.test")
    builder = EnvironBuilder(
        path="/reset",
        method="POST",
        data={"email": "x@example.com", "csrf_token": token},
        headers={"Cookie": f"session={cookie.value}", **environ.pop("headers", {})},
    )
    env = builder.get_environ()
    env.update(environ)
    run_wsgi_app(app, env, buffered=True)
    return outbox[-1] if outbox else None


def test_mail_links_use_the_primary_domain_even_with_a_forged_forwarded_host(
    app, acme, make_user, outbox
):
    make_user(acme, "x@example.com")
    mail = _reset_mail(
        app, acme, outbox, HTTP_HOST="acme.test", headers={"X-Forwarded-Host": "evil.example"}
    )
    assert link_in(mail).startswith("http://acme.test/reset/")


def test_mail_links_ignore_an_absolute_form_request_target(app, acme, make_user, outbox):
    make_user(acme, "x@example.com")
    mail = _reset_mail(
        app,
        acme,
        outbox,
        HTTP_HOST="acme.test",
        SERVER_NAME="evil.example",
        REQUEST_URI="http://evil.example/reset",
        RAW_URI="http://evil.example/reset",
    )
    assert link_in(mail).startswith("http://acme.test/reset/")


def test_a_reset_asked_through_an_alias_goes_to_the_primary_domain(app, acme, make_user, outbox):
    make_user(acme, "x@example.com")
    response = app.test_client().post(
        "/reset", headers={"Host": "www.acme.test"}, data={"email": "x@example.com"}
    )
    assert response.status_code == 301
    assert response.headers["Location"] == "http://acme.test/reset"
    assert outbox == []  # nothing is mailed from an alias; the shopper lands on the primary


@pytest.mark.settings(TRUSTED_PROXY_COUNT=1, PREFERRED_URL_SCHEME="https")
def test_mail_links_behind_a_proxy_still_use_the_primary_domain(app, acme, make_user, outbox):
    make_user(acme, "x@example.com")
    mail = _reset_mail(
        app,
        acme,
        outbox,
        HTTP_HOST="10.0.0.2",
        headers={
            "X-Forwarded-Host": "acme.test",
            "X-Forwarded-Proto": "https",
            "Referer": "https://acme.test/reset",
        },
    )
    assert link_in(mail).startswith("https://acme.test/reset/")


def test_mails_carry_the_shops_sender_name_and_footer(app, make_shop, make_user, outbox):
    shop = make_shop(
        "acme",
        settings='name = "Acme Supplies"\n[mail]\n'
        'sender = "Acme <shop@acme.example.com>"\n'
        'footer = "Acme, 1 Desert Road"\n',
    )
    make_user(shop, "x@example.com")
    client = app.test_client()
    page = client.get("/reset", headers=host(shop))
    client.post(
        "/reset",
        headers=host(shop),
        data={"email": "x@example.com", "csrf_token": csrf_from(page.text)},
    )
    mail = outbox[-1]
    assert mail.from_email == "Acme <shop@acme.example.com>"
    assert "Acme, 1 Desert Road" in mail.body
    assert "Acme Supplies" in mail.body


def test_logged_in_pages_are_private_and_vary_on_cookie(app, client, acme, make_user):
    make_user(acme, "x@example.com")
    assert "no-store" not in client.get("/", headers=host(acme)).headers.get("Cache-Control", "")
    login(client, acme, "x@example.com")
    for path in ("/", "/account"):
        response = client.get(path, headers=host(acme))
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Cookie" in response.headers["Vary"]


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
def test_login_attempts_are_rate_limited_per_shop_and_address(app, acme, make_shop, make_user):
    globex = make_shop("globex")
    client = app.test_client()
    token = csrf_from(client.get("/login", headers=host(acme)).text)
    codes = [
        client.post(
            "/login",
            headers=host(acme),
            data={"email": f"u{i}@example.com", "password": "nope-nope-1", "csrf_token": token},
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/login", headers=host(acme), data={"csrf_token": token})
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text
    other = app.test_client()
    token_g = csrf_from(other.get("/login", headers=host(globex)).text)
    assert (
        other.post(
            "/login",
            headers=host(globex),
            data={"email": "u@example.com", "password": "x", "csrf_token": token_g},
        ).status_code
        == 200
    )


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
def test_login_attempts_are_rate_limited_per_account_across_addresses(app, acme):
    codes = []
    for i in range(4):
        client = app.test_client()
        token = csrf_from(client.get("/login", headers=host(acme)).text)
        codes.append(
            client.post(
                "/login",
                headers=host(acme),
                environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
                data={"email": "victim@example.com", "password": "guess", "csrf_token": token},
            ).status_code
        )
    assert codes[-1] == 429


@pytest.mark.settings(RATELIMIT_ENABLED=True)
def test_the_login_limit_is_configurable_per_shop(app, make_shop):
    shop = make_shop(
        "tight", settings='name = "Tight"\n[config]\nRATELIMIT_LOGIN = "1 per minute"\n'
    )
    client = app.test_client()
    token = csrf_from(client.get("/login", headers=host(shop)).text)
    codes = [
        client.post(
            "/login",
            headers=host(shop),
            data={"email": "a@example.com", "password": "x", "csrf_token": token},
        ).status_code
        for _ in range(2)
    ]
    assert codes == [200, 429]


def test_dashboard_is_for_owners_and_staff_only(app, acme, make_user):
    make_user(acme, "owner@example.com", roles=["owner"])
    make_user(acme, "staff@example.com", roles=["staff"])
    make_user(acme, "customer@example.com")
    anonymous = app.test_client().get("/admin/", headers=host(acme))
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    for email, expected in [
        ("owner@example.com", 200),
        ("staff@example.com", 200),
        ("customer@example.com", 403),
    ]:
        client = app.test_client()
        login(client, acme, email)
        assert client.get("/admin/", headers=host(acme)).status_code == expected, email


def test_flask_securitys_shop_blind_commands_are_switched_off(app):
    assert "users" not in app.cli.commands
    assert "roles" not in app.cli.commands


def test_email_validation_works_offline(client, acme):
    response = register(client, acme, "someone@unreachable-domain-for-tests.example")
    assert response.status_code == 302
