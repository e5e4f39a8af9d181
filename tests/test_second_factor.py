"""A second factor at sign-in: an authenticator app's codes and recovery codes, through
Flask-Security's two-factor feature, per shop.

Codes are made here as an app would make them, from the key the setup page shows.
"""

from __future__ import annotations

import re

import pytest
from passlib.totp import TOTP
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import PASSWORD, csrf_from, host, login

SHOPPER, OWNER = "ada@example.com", "owner@example.com"


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, SHOPPER)
    make_user(acme, OWNER, roles=["owner"])
    return acme


def code_for(key: str, offset: int = 0) -> str:
    """What an authenticator app shows for ``key`` (the setup page's, spaces and all)."""
    totp = TOTP(key=key.replace(" ", "").upper(), format="base32")
    return totp.generate(time=None if not offset else TOTP.normalize_time(None) + offset).token


def enrol(client, shop) -> str:
    """Turn two-step sign-in on for the signed-in account; returns the app's key."""
    page = client.get("/tf-setup", headers=host(shop))
    assert page.status_code == 200, page.status_code
    started = client.post(
        "/tf-setup",
        data={"setup": "authenticator", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert started.status_code == 200 and 'id="qrcode"' in started.text
    key = re.search(r'<code class="secret-key">([^<]+)</code>', started.text).group(1)
    done = client.post(
        "/tf-validate",
        data={"code": code_for(key), "csrf_token": csrf_from(started.text)},
        headers=host(shop),
    )
    assert done.status_code == 302, done.text[:500]
    return key


def test_a_shopper_turns_it_on_and_then_signs_in_with_a_code(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    key = enrol(client, shop)
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        assert user.tf_primary_method == "authenticator" and user.tf_totp_secret
        assert key.replace(" ", "") not in user.tf_totp_secret  # stored encrypted
    client.post("/logout", headers=host(shop))

    again = app.test_client()
    first = login(again, shop, SHOPPER)
    assert first.status_code == 302 and "/tf-validate" in first.location
    assert again.get("/account", headers=host(shop)).status_code == 302  # not yet in
    page = again.get("/tf-validate", headers=host(shop))
    wrong = again.post(
        "/tf-validate",
        data={"code": "000000", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert wrong.status_code == 200 and again.get("/account", headers=host(shop)).status_code == 302
    right = again.post(
        "/tf-validate",
        data={"code": code_for(key), "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert right.status_code == 302
    assert again.get("/account", headers=host(shop)).status_code == 200


def signed_in(client, shop) -> bool:
    return client.get("/account", headers=host(shop)).status_code == 200


def test_recovery_codes_each_sign_in_once(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    enrol(client, shop)
    page = client.get("/mf-recovery-codes", headers=host(shop))
    made = client.post(
        "/mf-recovery-codes",
        data={"generate_new_codes": "1", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    codes = re.findall(r"<li><code>([^<]+)</code></li>", made.text)
    assert len(codes) == 8, made.text[:800]
    client.post("/logout", headers=host(shop))

    for attempt, expected in ((codes[0], True), (codes[0], False)):
        other = app.test_client()
        assert "/tf-validate" in login(other, shop, SHOPPER).location
        page = other.get("/mf-recovery", headers=host(shop))
        other.post(
            "/mf-recovery",
            data={"code": attempt, "csrf_token": csrf_from(page.text)},
            headers=host(shop),
        )
        assert signed_in(other, shop) is expected


def test_a_shop_that_requires_it_leads_staff_to_set_it_up_first(app, shop, make_shop):
    from tests.fixtures.factories import tenant_folder

    (tenant_folder(app, "acme") / "tenant.toml").write_text(
        'name = "Acme"\n[security]\nstaff_second_factor = true\n'
    )
    from storefront.tenancy.registry import bump_generation

    with app.app_context():
        bump_generation()
    owner = app.test_client()
    first = login(owner, shop, OWNER)
    assert first.status_code == 302 and "/tf-setup" in first.location
    assert owner.get("/admin/", headers=host(shop)).status_code == 302  # not in yet
    key = enrol(owner, shop)
    assert owner.get("/admin/", headers=host(shop)).status_code == 200
    # A shopper of the same shop is not asked.
    shopper = app.test_client()
    assert "/tf-" not in (login(shopper, shop, SHOPPER).location or "")
    assert signed_in(shopper, shop)
    assert key


def test_one_shops_second_factor_means_nothing_at_another(app, shop, make_shop, make_user):
    globex = make_shop("globex")
    make_user(globex, SHOPPER)
    acme_client = app.test_client()
    login(acme_client, shop, SHOPPER)
    key = enrol(acme_client, shop)
    there = app.test_client()
    answer = login(there, globex, SHOPPER)
    assert "/tf-" not in (answer.location or "") and signed_in(there, globex)
    stranger = app.test_client()  # no sign-in at globex: a code alone opens nothing
    page = stranger.get("/login", headers=host(globex))
    stranger.post(
        "/tf-validate",
        data={"code": code_for(key), "csrf_token": csrf_from(page.text)},
        headers=host(globex),
    )
    assert not signed_in(stranger, globex)


def test_the_api_will_not_trade_a_password_for_a_token_when_a_code_is_due(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    enrol(client, shop)
    answer = app.test_client().post(
        "/api/v1/account/login", json={"email": SHOPPER, "password": PASSWORD}, headers=host(shop)
    )
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "second_factor_required"


def test_the_operator_resets_a_lost_second_factor(app, shop, runner):
    client = app.test_client()
    login(client, shop, SHOPPER)
    enrol(client, shop)
    done = runner.invoke(["user", "reset-second-factor", "acme", SHOPPER])
    assert done.exit_code == 0, done.output
    assert not signed_in(client, shop)  # its sessions ended
    again = app.test_client()
    assert "/tf-" not in (login(again, shop, SHOPPER).location or "")
    assert signed_in(again, shop)
    unknown = runner.invoke(["user", "reset-second-factor", "acme", "nobody@example.com"])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output


def test_the_owner_turns_the_requirement_on_in_the_dashboard(app, shop):
    from tests.fixtures.factories import tenant_folder

    owner = app.test_client()
    login(owner, shop, OWNER)
    page = owner.get("/admin/settings", headers=host(shop))
    assert "staff_second_factor" in page.text
    saved = owner.post(
        "/admin/settings",
        data={"name": "Acme", "staff_second_factor": "y", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert saved.status_code == 302
    assert "staff_second_factor = true" in (tenant_folder(app, "acme") / "tenant.toml").read_text()
    later = app.test_client()
    assert "/tf-setup" in login(later, shop, OWNER).location


def test_the_operator_requires_it_of_every_shops_staff_with_tenantctl(
    app, shop, runner, make_shop, make_user
):
    """``tenantctl security staff-second-factor on``: every shop's owners and staff are led
    to set one up, whatever their shop says; shoppers are not asked; ``off`` gives the
    choice back to the shops. No restart: the workers read the file's change."""
    globex = make_shop("globex")
    make_user(globex, "boss@globex.example", roles=["manager"])
    shown = runner.invoke(["security", "staff-second-factor"])
    assert shown.exit_code == 0 and "each shop decides" in shown.output
    turned = runner.invoke(["security", "staff-second-factor", "on"])
    assert turned.exit_code == 0 and "required of every shop" in turned.output, turned.output
    for place, email in ((shop, OWNER), (globex, "boss@globex.example")):
        client = app.test_client()
        first = login(client, place, email)
        assert first.status_code == 302 and "/tf-setup" in first.location, (email, first.location)
        assert client.get("/admin/", headers=host(place)).status_code == 302  # not in yet
    owner = app.test_client()
    login(owner, shop, OWNER)
    assert enrol(owner, shop)
    assert owner.get("/admin/", headers=host(shop)).status_code == 200
    shopper = app.test_client()
    assert "/tf-" not in (login(shopper, shop, SHOPPER).location or "")
    bad = runner.invoke(["security", "staff-second-factor", "maybe"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    off = runner.invoke(["security", "staff-second-factor", "off"])
    assert off.exit_code == 0 and "each shop decides" in off.output
    boss = app.test_client()
    answer = login(boss, globex, "boss@globex.example")
    assert "/tf-" not in (answer.location or "")
    assert boss.get("/admin/", headers=host(globex)).status_code == 200


def test_a_sign_in_from_a_new_browser_mails_the_owner_once(app, shop, outbox):
    from storefront.outbox import deliver_committed

    def mails_to(email):
        with app.app_context():
            deliver_committed()
        return [m for m in outbox if email in m.to and "New sign-in" in m.subject]

    browser = app.test_client()
    assert login(browser, shop, OWNER).status_code == 302
    assert len(mails_to(OWNER)) == 1
    token = csrf_from(browser.get("/account", headers=host(shop)).text)
    out = browser.post("/logout", data={"csrf_token": token}, headers=host(shop))
    assert out.status_code == 302
    assert login(browser, shop, OWNER).status_code == 302  # the same browser: it has the cookie
    assert len(mails_to(OWNER)) == 1
    login(app.test_client(), shop, OWNER)  # another browser
    assert len(mails_to(OWNER)) == 2
    login(app.test_client(), shop, SHOPPER)  # shoppers without a second factor: no mail
    assert mails_to(SHOPPER) == []
