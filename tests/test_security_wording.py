"""Flask-Security's pages and messages read like the rest of the platform, in every
shipped language: our labels ("Email address", "Remember me", a "Log in" button under a
"Log in" heading), our messages, translated, never Flask-Security's own English."""

from __future__ import annotations

import html
import re

import pytest
from flask_babel import force_locale, gettext
from flask_security.core import _default_messages

from storefront.accounts.wording import LABELS, MESSAGES, NOT_SHOWN
from tests import test_i18n
from tests.fixtures.factories import PASSWORD, csrf_from, host, link_in, links_in, login
from tests.test_i18n import TextNodes, shop_toml

LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL")
# test_i18n's fixture: every message a page asked the catalog for and it lacked.
catalog_misses = test_i18n.untranslated
CSRF_REFUSAL = "This form was open too long, or came from another page: reload it and try again."

# Flask-Security's own English, in its voice and Title Case: none of it on any page.
OLD_DEFAULTS = (
    "Email Address",
    "Remember Me",
    "Retype Password",
    "New Password",
    "Change Password",
    "Recover Password",
    "Reset Password",
    "Resend Confirmation Instructions",
    "Verify Password",
    "Reauthenticate",
    "Confirm Sign Out",
    "Please authenticate",
    "Please log in to access this page",
    "You must sign in to view this resource",
    "Authentication failed",
    "Invalid password",
    "Passwords do not match",
    "Password not provided",
    "Email not provided",
    "Instructions to reset your password",
    "Confirmation instructions have been sent",
    "Invalid reset password token",
    "Invalid confirmation token",
    "You successfully",
    "Thank you. Your email has been confirmed",
)
OLD_BUTTONS = ("Login", "Register", "Submit")  # as a whole button or label

# A few of the words themselves, so the test does not only compare the code with itself.
SPOT_CHECKS = {
    "en_GB": ("Email address", "Remember me", "Repeat password", "Wrong email or password."),
    "de_DE": ("E-Mail-Adresse", "Angemeldet bleiben", "Passwort wiederholen"),
    "fr_FR": ("Adresse e-mail", "Se souvenir de moi", "Répétez le mot de passe"),
    "es_ES": ("Dirección de correo", "Recordarme", "Repita la contraseña"),
    "nl_NL": ("E-mailadres", "Ingelogd blijven", "Herhaal het wachtwoord"),
}


def test_every_message_flask_security_has_is_worded_or_never_shown():
    """A message a new Flask-Security adds must be placed: our wording, or never shown."""
    keys = set(_default_messages)
    assert set(MESSAGES) | NOT_SHOWN == keys
    assert set(MESSAGES) & NOT_SHOWN == set()


def test_the_features_behind_the_unworded_messages_stay_off(app):
    # Two-factor (an authenticator app), recovery codes and passkeys are on, worded above.
    assert app.config["SECURITY_TWO_FACTOR_ENABLED_METHODS"] == ["authenticator"]
    assert app.config["SECURITY_WEBAUTHN"]
    for feature in (
        "UNIFIED_SIGNIN",
        "PASSWORDLESS",
        "USERNAME_ENABLE",
        "CHANGE_EMAIL",
        "OAUTH_ENABLE",
        "USERNAME_RECOVERY",
    ):
        assert not app.config.get(f"SECURITY_{feature}"), feature


def _words(app, locale):
    """Our wording of every label and message, as the shop's readers see it."""
    with app.test_request_context(), force_locale(locale):
        labels = {str(ours) for ours in LABELS.values()}
        messages = {key: str(text) for key, (text, _category) in MESSAGES.items()}
    return labels, messages


def _texts(page):
    parser = TextNodes()
    parser.feed(page)
    return parser.texts + _controls(page)


def _controls(page):
    """What the form's labels and buttons say."""
    values = re.findall(r'<input[^>]*type="submit"[^>]*value="([^"]*)"', page)
    values += re.findall(r'<input[^>]*value="([^"]*)"[^>]*type="submit"', page)
    texts = re.findall(r"<(?:button|label)[^>]*>([^<]+)<", page)
    return [" ".join(text.split()) for text in values + texts]


def _check(page, locale, english):
    """No old default anywhere; in a translated language, no English wording of ours."""
    for old in OLD_DEFAULTS:
        assert old not in page, (locale, old)
    for control in _controls(page):
        assert control not in OLD_BUTTONS, (locale, control)
    for text in _texts(page):
        assert text not in english, (locale, text)


def _plain(page):
    return html.unescape(page)


def _message(app, locale, key, **values):
    _labels, messages = _words(app, locale)
    return messages[key] % values if values else messages[key]


def _flashed(client, shop, response):
    """The page a redirect leads to (where the flash shows)."""
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    path = re.sub(r"^https?://[^/]+", "", location)
    return client.get(path, headers=host(shop)).text


@pytest.mark.parametrize("locale", LOCALES)
def test_account_pages_and_messages_speak_the_platforms_words(
    app, make_shop, make_user, outbox, catalog_misses, locale
):
    shop = make_shop("wording", settings=shop_toml([locale]))
    make_user(shop, "kunde@example.com")
    labels, _messages = _words(app, locale)
    english = set() if locale.startswith("en") else _english_words(app)

    def say(key, **values):
        text = _message(app, locale, key, **values)
        if not locale.startswith("en"):  # translated, not the English text
            assert text != _message(app, "en_GB", key, **values), (locale, key)
        return text

    visitor = app.test_client()
    pages = {
        path: visitor.get(path, headers=host(shop)).text
        for path in ("/login", "/register", "/reset", "/confirm")
    }
    for page in pages.values():
        _check(page, locale, english)
    for word in SPOT_CHECKS[locale]:
        assert word in pages["/login"] + pages["/register"] + say("GENERIC_AUTHN_FAILED"), word
    # The login page: our labels, and a button that says what the heading says.
    login_texts = _texts(pages["/login"])
    assert {"Login", "Log In", "Sign In"}.isdisjoint(_controls(pages["/login"]))
    with app.test_request_context(), force_locale(locale):
        log_in = gettext("Log in")
    assert login_texts.count(log_in) >= 2, login_texts  # heading and button

    # Logging in to see a page: asked to log in, in our words.
    asked = visitor.get("/account", headers=host(shop))
    page = _flashed(visitor, shop, asked)
    assert say("UNAUTHENTICATED") in _plain(page)
    _check(page, locale, english)

    # A wrong password.
    wrong = login(visitor, shop, "kunde@example.com", "not-the-password")
    assert say("GENERIC_AUTHN_FAILED") in _plain(wrong.text)
    _check(wrong.text, locale, english)

    # Registering with a bad address, a short password, two passwords that differ.
    token = csrf_from(pages["/register"])
    refused = visitor.post(
        "/register",
        data={
            "email": "nope",
            "password": "short",
            "password_confirm": "other",
            "csrf_token": token,
        },
        headers=host(shop),
    )
    assert refused.status_code == 200
    assert say("INVALID_EMAIL_ADDRESS") in _plain(refused.text)
    assert say("PASSWORD_INVALID_LENGTH", length=8) in _plain(refused.text)
    assert say("RETYPE_PASSWORD_MISMATCH") in _plain(refused.text)
    _check(refused.text, locale, english)

    # Forgot password: the same answer for every address; a bad link; a new password.
    page = visitor.get("/reset", headers=host(shop)).text
    asked = visitor.post(
        "/reset",
        data={"email": "kunde@example.com", "csrf_token": csrf_from(page)},
        headers=host(shop),
    )
    sent = asked.text if asked.status_code == 200 else _flashed(visitor, shop, asked)
    assert say("PASSWORD_RESET_REQUEST", email="kunde@example.com") in _plain(sent)
    _check(sent, locale, english)
    bad = _flashed(visitor, shop, visitor.get("/reset/not-a-token", headers=host(shop)))
    assert say("INVALID_RESET_PASSWORD_TOKEN") in _plain(bad)
    path = link_in(outbox[-1]).removeprefix("http://wording.test")
    form = visitor.get(path, headers=host(shop))
    assert form.status_code == 200
    _check(form.text, locale, english)
    done = visitor.post(
        path,
        data={
            "password": "brand-new-pass-7",
            "password_confirm": "brand-new-pass-7",
            "csrf_token": csrf_from(form.text),
        },
        headers=host(shop),
    )
    page = _flashed(visitor, shop, done)
    assert say("PASSWORD_RESET_NO_LOGIN") in _plain(page)
    _check(page, locale, english)

    # Confirmation: asking for the mail again, and a link that is no good.
    page = visitor.get("/confirm", headers=host(shop)).text
    again = visitor.post(
        "/confirm",
        data={"email": "kunde@example.com", "csrf_token": csrf_from(page)},
        headers=host(shop),
    )
    answer = again.text if again.status_code == 200 else _flashed(visitor, shop, again)
    assert say("CONFIRMATION_REQUEST", email="kunde@example.com") in _plain(answer)
    bad = _flashed(visitor, shop, visitor.get("/confirm/not-a-token", headers=host(shop)))
    assert say("INVALID_CONFIRMATION_TOKEN") in _plain(bad)
    _check(bad, locale, english)

    # Signed in: changing the password (wrong, the same, right), entering it again.
    shopper = app.test_client()
    assert login(shopper, shop, "kunde@example.com", "brand-new-pass-7").status_code == 302
    page = shopper.get("/change", headers=host(shop)).text
    _check(page, locale, english)

    def change(current, new):
        form = shopper.get("/change", headers=host(shop)).text
        return shopper.post(
            "/change",
            data={
                "password": current,
                "new_password": new,
                "new_password_confirm": new,
                "csrf_token": csrf_from(form),
            },
            headers=host(shop),
        )

    assert say("INVALID_PASSWORD") in _plain(change("not-it-at-all", "another-pass-9").text)
    assert say("PASSWORD_IS_THE_SAME") in _plain(
        change("brand-new-pass-7", "brand-new-pass-7").text
    )
    changed = _flashed(shopper, shop, change("brand-new-pass-7", PASSWORD))
    assert say("PASSWORD_CHANGE") in _plain(changed)
    _check(changed, locale, english)
    verify = shopper.get("/verify", headers=host(shop))
    assert verify.status_code == 200
    assert "fs-" not in verify.text  # the platform's page, not Flask-Security's own
    _check(verify.text, locale, english)
    token = csrf_from(verify.text)
    refused = shopper.post(
        "/verify", data={"password": "wrong-one", "csrf_token": token}, headers=host(shop)
    )
    assert say("INVALID_PASSWORD") in _plain(refused.text)
    # A form that stood open past its session (here: logging out) is refused in our words.
    stale = shopper.post("/logout", data={"csrf_token": "stale"}, headers=host(shop))
    assert stale.status_code == 400
    with app.test_request_context(), force_locale(locale):
        expired = gettext(CSRF_REFUSAL)
    assert expired in _plain(stale.text)
    assert "CSRF" not in stale.text.replace("csrf", "")
    _check(stale.text, locale, english)
    assert labels  # every label was rendered in this language
    assert _ours(app, catalog_misses) == set()


@pytest.mark.parametrize("locale", LOCALES)
def test_confirming_an_address_speaks_the_platforms_words(
    app, make_shop, outbox, catalog_misses, locale
):
    settings = shop_toml([locale]) + "[features]\nconfirm_email = true\n"
    shop = make_shop("bestaetigt", settings=settings)
    english = set() if locale.startswith("en") else _english_words(app)
    client = app.test_client()
    page = client.get("/register", headers=host(shop)).text
    registered = client.post(
        "/register",
        data={
            "email": "neu@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": csrf_from(page),
        },
        headers=host(shop),
    )
    page = _flashed(client, shop, registered)
    assert _message(app, locale, "CONFIRM_REGISTRATION", email="neu@example.com") in _plain(page)
    _check(page, locale, english)
    link = next(url for url in links_in(outbox[-1]) if "/confirm/" in url)
    path = link.removeprefix("http://bestaetigt.test")
    confirmed = _flashed(client, shop, client.get(path, headers=host(shop)))
    assert _message(app, locale, "EMAIL_CONFIRMED") in _plain(confirmed)
    again = _flashed(client, shop, client.get(path, headers=host(shop)))
    assert _message(app, locale, "ALREADY_CONFIRMED") in _plain(again)
    _check(again, locale, english)
    assert _ours(app, catalog_misses) == set()


def test_a_shop_may_word_flask_securitys_messages_its_own_way(app, make_shop, make_user):
    """Our messages are the platform's, so a shop's [texts] reach them too."""
    texts = '[texts.en_GB]\n"Wrong email or password." = "Hmm, that did not work."\n'
    shop = make_shop("eigen", settings=shop_toml(["en_GB"], texts))
    make_user(shop, "kunde@example.com")
    wrong = login(app.test_client(), shop, "kunde@example.com", "not-the-password")
    assert "Hmm, that did not work." in wrong.text
    other = make_shop("plain", settings=shop_toml(["en_GB"]))
    make_user(other, "kunde@example.com")
    plain = login(app.test_client(), other, "kunde@example.com", "not-the-password")
    assert "Wrong email or password." in plain.text


def _english_words(app):
    """Our English wording of every label and message: seen on a page in another language,
    it is a leak."""
    labels, messages = _words(app, "en_GB")
    return labels | {text for text in messages.values() if "%(" not in text}


PAGE_WORDS = {  # the account pages' own text beside Flask-Security's forms
    "Enter your password again",
    "To go on, confirm it is you.",
    CSRF_REFUSAL,
}


def _ours(app, misses):
    """Which of our labels, messages and page texts a catalog lacked (mails are another
    test's: their subjects ask the catalog too)."""
    labels, messages = _words(app, "en_GB")  # in English, each is its own msgid
    return set(misses) & (labels | set(messages.values()) | PAGE_WORDS)
