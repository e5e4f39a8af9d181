"""Passkeys (WebAuthn) through Flask-Security's WebAuthn feature, per shop, driven with a
software authenticator (tests/fixtures/authenticator.py) answering as a browser would:
registration, signing in with the passkey alone, the passkey as the second step and as
the second factor a shop requires, deletion, the operator's reset, and no passkey of one
shop opening anything at another."""

from __future__ import annotations

import html
import json
import re
import tarfile

import pytest
from sqlalchemy import select

from storefront.accounts.models import User, WebAuthn
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.authenticator import SoftAuthenticator
from tests.fixtures.factories import PASSWORD, csrf_from, host, login
from tests.test_headers import INLINE

SHOPPER, OWNER = "ada@example.com", "owner@example.com"


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme", name="Acme Anvils")
    make_user(acme, SHOPPER)
    make_user(acme, OWNER, roles=["owner"])
    return acme


def origin(shop) -> str:
    return f"http://{shop.primary_host}"


def ceremony(page: str) -> tuple[str, dict]:
    """The form the page's script completes: where it posts, and the options it hands
    the browser (from data-options: no inline script under the CSP)."""
    found = re.search(r'<form action="([^"]+)"[^>]*data-passkey="\w+" data-options="([^"]+)"', page)
    assert found, page[:2000]
    return html.unescape(found.group(1)), json.loads(html.unescape(found.group(2)))


def add_passkey(client, shop, device, name="Phone", usage="first"):
    """Register a passkey for the signed-in account; returns the options the server sent."""
    page = client.get("/wan-register", headers=host(shop))
    assert page.status_code == 200, page.status_code
    started = client.post(
        "/wan-register",
        data={"name": name, "usage": usage, "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert started.status_code == 200, started.text[:1000]
    assert INLINE.search(started.text) is None  # the script is a file: the CSP allows no other
    action, options = ceremony(started.text)
    done = client.post(
        action,
        data={
            "credential": json.dumps(device.create(options, origin(shop))),
            "csrf_token": csrf_from(started.text),
        },
        headers=host(shop),
    )
    assert done.status_code == 302, done.text[:500]
    listed = client.get("/wan-register", headers=host(shop))
    assert f'<td class="passkey-name">{name}</td>' in listed.text, listed.text[:3000]
    return options


def start_passkey_sign_in(client, shop, identity: str = "") -> tuple[str, dict, str]:
    page = client.get("/wan-signin", headers=host(shop))
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_from(page.text)}
    if identity:
        data["identity"] = identity
    started = client.post("/wan-signin", data=data, headers=host(shop))
    assert started.status_code == 200, started.text[:1000]
    action, options = ceremony(started.text)
    return action, options, csrf_from(started.text)


def finish(client, shop, action, answer, token):
    return client.post(
        action, data={"credential": json.dumps(answer), "csrf_token": token}, headers=host(shop)
    )


def sign_in_with_passkey(client, shop, device, **forged):
    action, options, token = start_passkey_sign_in(client, shop)
    return finish(client, shop, action, device.get(options, origin(shop), **forged), token)


def signed_in(client, shop, path="/account") -> bool:
    return client.get(path, headers=host(shop)).status_code == 200


def passkeys_in(app, shop) -> list[WebAuthn]:
    with app.app_context(), tenant_context(shop):
        rows = db.session.scalars(select(WebAuthn)).all()
        db.session.expunge_all()
        return list(rows)


def require_second_factor(app, slug):
    from storefront.tenancy.registry import bump_generation
    from tests.fixtures.factories import tenant_folder

    path = tenant_folder(app, slug) / "tenant.toml"
    path.write_text(path.read_text() + "\n[security]\nstaff_second_factor = true\n")
    with app.app_context():
        bump_generation()


def test_a_shopper_adds_a_passkey_and_signs_in_with_it_alone(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    options = add_passkey(client, shop, device, name="Phone")
    # The relying party is the shop's own host, named after the shop.
    assert options["rp"] == {"id": "acme.test", "name": "Acme Anvils"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert "authenticatorAttachment" not in options["authenticatorSelection"]  # any device
    (row,) = passkeys_in(app, shop)
    assert row.name == "Phone" and row.usage == "first" and row.tenant_id == shop.id
    assert row.credential_id == device.credentials[0].credential_id
    assert len(row.public_key) > 64  # the public key only: the private one stays on the device

    browser = app.test_client()
    assert not signed_in(browser, shop)
    answer = sign_in_with_passkey(browser, shop, device)
    assert answer.status_code == 302 and answer.location.endswith("/account"), answer.location
    assert signed_in(browser, shop)
    assert passkeys_in(app, shop)[0].sign_count == 1
    # The account page links to the passkeys; the login page to signing in with one.
    assert "/wan-register" in browser.get("/account", headers=host(shop)).text
    assert "/wan-signin" in app.test_client().get("/login", headers=host(shop)).text


def test_the_page_asks_for_the_email_only_for_keys_the_browser_cannot_list(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    add_passkey(client, shop, device)
    visitor = app.test_client()
    _action, options, _token = start_passkey_sign_in(visitor, shop, identity=SHOPPER)
    allowed = [c["id"] for c in options["allowCredentials"]]
    assert len(allowed) == 1
    # An unknown address gets the same page, with no list (no telling who has an account).
    _action, options, _token = start_passkey_sign_in(
        app.test_client(), shop, identity="nobody@example.com"
    )
    assert options["allowCredentials"] == []


def test_a_passkey_as_the_second_step_after_the_password(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator(verifies=False)  # a plain security key
    add_passkey(client, shop, device, name="Key", usage="secondary")

    browser = app.test_client()
    first = login(browser, shop, SHOPPER)
    assert first.status_code == 302 and "/wan-signin" in first.location, first.location
    assert not signed_in(browser, shop)  # the password alone is not enough now
    page = browser.get("/wan-signin", headers=host(shop))
    assert "Confirm with your passkey" in page.text
    # Someone else's device: refused, still not in.
    action, options, token = start_passkey_sign_in(browser, shop)
    assert len(options["allowCredentials"]) == 1  # the account's second-step passkey
    stranger = SoftAuthenticator()
    stranger.create({**options, "rp": {"id": "acme.test"}, "user": {"id": "eA"}}, origin(shop))
    forged = stranger.get(options, origin(shop), credential=stranger.credentials[0])
    refused = finish(browser, shop, action, forged, token)
    assert refused.status_code == 302 and not signed_in(browser, shop)
    # Its own key.
    assert "/tf-" not in (login(browser, shop, SHOPPER).location or "")
    answer = sign_in_with_passkey(browser, shop, device)
    assert answer.status_code == 302, answer.text[:500]
    assert signed_in(browser, shop)
    # The password alone no longer buys an API token either.
    api = app.test_client().post(
        "/api/v1/account/login", json={"email": SHOPPER, "password": PASSWORD}, headers=host(shop)
    )
    assert api.status_code == 403 and api.json["error"]["code"] == "second_factor_required"


def test_with_an_app_and_a_passkey_the_shopper_chooses_the_second_step(app, shop):
    from tests.test_second_factor import enrol

    client = app.test_client()
    login(client, shop, SHOPPER)
    enrol(client, shop)
    device = SoftAuthenticator()
    add_passkey(client, shop, device, name="Key", usage="secondary")
    browser = app.test_client()
    first = login(browser, shop, SHOPPER)
    assert "/tf-select" in first.location, first.location
    page = browser.get("/tf-select", headers=host(shop))
    assert page.status_code == 200 and "Passkey" in page.text and "Authenticator app" in page.text
    chosen = browser.post(
        "/tf-select",
        data={"which": "webauthn", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert chosen.status_code == 302 and "/wan-signin" in chosen.location
    assert sign_in_with_passkey(browser, shop, device).status_code == 302
    assert signed_in(browser, shop)


def test_a_passkey_is_the_second_factor_a_shop_requires(app, shop):
    owner = app.test_client()
    login(owner, shop, OWNER)
    step = SoftAuthenticator(verifies=False)
    add_passkey(owner, shop, step, name="Key", usage="secondary")
    signer = SoftAuthenticator(verifies=True)
    add_passkey(owner, shop, signer, name="Laptop", usage="first")
    require_second_factor(app, "acme")

    # The password, then the passkey: the dashboard opens, no app was asked for.
    browser = app.test_client()
    first = login(browser, shop, OWNER)
    assert "/wan-signin" in first.location and "/tf-setup" not in first.location
    assert not signed_in(browser, shop, "/admin/")
    assert sign_in_with_passkey(browser, shop, step).status_code == 302
    assert signed_in(browser, shop, "/admin/")

    # A passkey that verified its holder (PIN, fingerprint) is both factors at once.
    direct = app.test_client()
    assert sign_in_with_passkey(direct, shop, signer).status_code == 302
    assert signed_in(direct, shop, "/admin/")


def test_a_passkey_that_does_not_verify_its_holder_is_not_both_factors(app, shop, make_user):
    owner = app.test_client()
    login(owner, shop, OWNER)
    device = SoftAuthenticator(verifies=False)
    add_passkey(owner, shop, device, name="Old key", usage="first")
    require_second_factor(app, "acme")
    browser = app.test_client()
    answer = sign_in_with_passkey(browser, shop, device)
    assert answer.status_code == 302 and "/tf-setup" in answer.location, answer.location
    assert not signed_in(browser, shop, "/admin/")


def test_deleting_a_passkey_ends_it(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    add_passkey(client, shop, device, name="Phone")
    add_passkey(client, shop, SoftAuthenticator(), name="Tablet")
    page = client.get("/wan-register", headers=host(shop))
    gone = client.post(
        "/wan-delete",
        data={"name": "Phone", "csrf_token": csrf_from(page.text)},
        headers=host(shop),
    )
    assert gone.status_code == 302
    listed = client.get("/wan-register", headers=host(shop)).text
    assert "The passkey Phone is deleted." in listed
    assert 'passkey-name">Phone<' not in listed and 'passkey-name">Tablet<' in listed
    assert [row.name for row in passkeys_in(app, shop)] == ["Tablet"]
    browser = app.test_client()
    action, options, token = start_passkey_sign_in(browser, shop)
    refused = finish(
        browser, shop, action, device.get(options, origin(shop), credential=device.credentials[0]),
        token,
    )  # fmt: skip
    assert refused.status_code == 302 and "/wan-signin" in refused.location
    page = browser.get("/wan-signin", headers=host(shop)).text
    assert "This shop knows no such passkey." in page
    assert not signed_in(browser, shop)
    # A name it does not have: said so, nothing deleted.
    page = client.get("/wan-register", headers=host(shop)).text
    other = client.post(
        "/wan-delete",
        data={"name": "Nope", "csrf_token": csrf_from(page)},
        headers=host(shop),
    )
    assert other.status_code == 302 and len(passkeys_in(app, shop)) == 1
    assert "You have no passkey named Nope." in client.get("/wan-register", headers=host(shop)).text


def test_a_passkey_made_at_one_shop_opens_nothing_at_another(app, shop, make_shop, make_user):
    globex = make_shop("globex")
    make_user(globex, SHOPPER)  # the same address, another shop's account
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    add_passkey(client, shop, device)
    acme_key = device.credentials[0]

    there = app.test_client()
    action, options, token = start_passkey_sign_in(there, globex, identity=SHOPPER)
    assert options["rpId"] == "globex.test" and options["allowCredentials"] == []
    # An honest browser has nothing to offer there: the passkey is acme.test's.
    with pytest.raises(LookupError):
        device.get(options, origin(globex))
    # Forced through anyway, signed for acme or for globex: globex knows no such passkey.
    for sign_as in ("acme.test", "globex.test"):
        action, options, token = start_passkey_sign_in(there, globex)
        answer = device.get(options, origin(globex), credential=acme_key, sign_as=sign_as)
        refused = finish(there, globex, action, answer, token)
        assert refused.status_code == 302 and "/wan-signin" in refused.location
        assert not signed_in(there, globex)
    assert passkeys_in(app, globex) == []
    # At acme, a signature made for another host does not verify: it names globex.test.
    here = app.test_client()
    action, options, token = start_passkey_sign_in(here, shop)
    forged = device.get(options, origin(shop), credential=acme_key, sign_as="globex.test")
    assert finish(here, shop, action, forged, token).status_code == 302
    assert not signed_in(here, shop)
    # Nor does one whose browser said it came from another origin.
    action, options, token = start_passkey_sign_in(here, shop)
    wrong_origin = device.get(options, "http://globex.test", credential=acme_key)
    assert finish(here, shop, action, wrong_origin, token).status_code == 302
    assert not signed_in(here, shop)
    # The real thing still works at acme.
    assert sign_in_with_passkey(here, shop, device).status_code == 302
    assert signed_in(here, shop)


def test_a_tampered_signature_another_challenge_and_a_replay_are_refused(app, shop):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    add_passkey(client, shop, device)
    browser = app.test_client()
    action, options, token = start_passkey_sign_in(browser, shop)
    answer = device.get(options, origin(shop))
    signature = answer["response"]["signature"]
    tampered = {**answer, "response": {**answer["response"], "signature": signature[::-1]}}
    assert finish(browser, shop, action, tampered, token).status_code == 302
    assert not signed_in(browser, shop)
    # Another ceremony's token with this answer: the challenge does not match.
    other_action, _options, _token = start_passkey_sign_in(browser, shop)
    assert finish(browser, shop, other_action, answer, token).status_code == 302
    assert not signed_in(browser, shop)
    # The answer itself signs in once; sent again from elsewhere, its signature counter
    # has not moved past the stored one.
    assert finish(browser, shop, action, answer, token).status_code == 302
    assert signed_in(browser, shop)
    thief = app.test_client()
    thief.get("/wan-signin", headers=host(shop))
    assert (
        finish(
            thief,
            shop,
            action,
            answer,
            csrf_from(thief.get("/wan-signin", headers=host(shop)).text),
        ).status_code
        == 302
    )
    assert not signed_in(thief, shop)


def test_bad_input_gets_an_answer_not_a_500(app, shop):
    client = app.test_client()
    assert client.get("/wan-register", headers=host(shop)).status_code == 302  # log in first
    login(client, shop, SHOPPER)
    page = client.get("/wan-register", headers=host(shop))
    token = csrf_from(page.text)
    for name, expected in (
        ("", "Give the passkey a name."),
        ("Phone!", "A passkey&#39;s name may hold letters"),
        ("<script>x</script>", "This value is not valid here."),
        ("x" * 65, "Enter fewer than 64 characters."),
    ):
        refused = client.post(
            "/wan-register",
            data={"name": name, "usage": "first", "csrf_token": token},
            headers=host(shop),
        )
        assert refused.status_code == 200 and expected in refused.text, (name, refused.text[:3000])
    odd_usage = client.post(
        "/wan-register",
        data={"name": "A", "usage": "third", "csrf_token": token},
        headers=host(shop),
    )
    assert odd_usage.status_code == 200 and "data-passkey" not in odd_usage.text
    add_passkey(client, shop, SoftAuthenticator(), name="Phone")
    twice = client.post(
        "/wan-register", data={"name": "Phone", "usage": "first", "csrf_token": token},
        headers=host(shop),
    )  # fmt: skip
    assert "You have a passkey named Phone already" in twice.text
    for path, credential in (
        ("/wan-register/not-a-token", "{}"),
        ("/wan-signin/not-a-token", "{}"),
    ):
        answer = client.post(
            path, data={"credential": credential, "csrf_token": token}, headers=host(shop)
        )
        assert answer.status_code in (302, 400), (path, answer.status_code)
    visitor = app.test_client()
    action, _options, vtoken = start_passkey_sign_in(visitor, shop)
    for credential in ("not json", "{}", json.dumps({"id": "x", "rawId": "!!", "response": {}})):
        answer = visitor.post(
            action, data={"credential": credential, "csrf_token": vtoken}, headers=host(shop)
        )
        assert answer.status_code == 302, (credential, answer.status_code)
        assert not signed_in(visitor, shop)


def test_the_operator_reset_takes_the_passkeys_too(app, shop, runner):
    client = app.test_client()
    login(client, shop, SHOPPER)
    device = SoftAuthenticator()
    add_passkey(client, shop, device, name="Phone")
    add_passkey(client, shop, SoftAuthenticator(), name="Key", usage="secondary")
    done = runner.invoke(["user", "reset-second-factor", "acme", SHOPPER])
    assert done.exit_code == 0, done.output
    assert "2 passkey(s) removed" in done.output
    assert passkeys_in(app, shop) == []
    assert not signed_in(client, shop)  # its sessions ended
    browser = app.test_client()
    action, options, token = start_passkey_sign_in(browser, shop)
    answer = device.get(options, origin(shop), credential=device.credentials[0])
    assert finish(browser, shop, action, answer, token).status_code == 302
    assert not signed_in(browser, shop)
    assert "/wan-signin" not in (login(browser, shop, SHOPPER).location or "")
    assert signed_in(browser, shop)


def test_passkeys_leave_with_the_account_and_stay_out_of_archives(app, shop, runner, tmp_path):
    client = app.test_client()
    login(client, shop, SHOPPER)
    add_passkey(client, shop, SoftAuthenticator(), name="Phone")
    data = client.get("/account/privacy/data.json", headers=host(shop))
    assert data.status_code == 200
    assert [p["name"] for p in json.loads(data.text)["account"]["passkeys"]] == ["Phone"]
    archive = tmp_path / "acme.tar.gz"
    exported = runner.invoke(["export", "acme", "-o", str(archive)])
    assert exported.exit_code == 0, exported.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "data/webauthn.jsonl" in names  # exported (ids and public keys in base64) ...
    from storefront.tenancy.transfer import SKIPPED_TABLES

    assert "webauthn" in SKIPPED_TABLES  # ... never imported: a passkey signs someone in
    erased = runner.invoke(["privacy", "erase", "acme", SHOPPER, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert passkeys_in(app, shop) == []
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(User).where(User.email == SHOPPER)) is None
