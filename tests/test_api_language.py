"""One language rule for the whole API (issue 31): ``error.code`` is the stable machine
code, the same in every language; ``error.message`` (and every other text for people,
``error.fields`` too) is in the answer's language, the one the request negotiates among
the shop's languages (``?locale=``, the language cookie, ``Accept-Language``, else the
shop's default), named by ``Content-Language``.

The source test reads every ``ApiError(…)`` and ``api_error(…)`` of the API: a literal
message (a string, an f-string, a ``%`` or ``.format`` of one) is one nobody translates.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "storefront"
# The API's package, and the hooks that answer its 401 and 403 (Flask-Security's).
SOURCES = (*sorted((PACKAGE / "api").glob("*.py")), PACKAGE / "accounts" / "auth.py")
GETTEXT = {"_", "gettext", "ngettext", "_l", "lazy_gettext", "lazy_ngettext"}

SETTINGS = """
name = "Sprachen"
currency = "EUR"
locales = ["en_GB", "de_DE"]
[payment]
methods = ["bank_transfer"]
[shipping]
flat_rate = 495
"""
OWNER = "owner@example.com"


# The source ---------------------------------------------------------------------------


def _literal(node: ast.AST) -> bool:
    """Text written here that no gettext call wraps."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):  # f"…"
        return True
    if isinstance(node, ast.BinOp):  # "…" % x, "…" + x
        return _literal(node.left) or _literal(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _literal(node.func.value)  # "…".format(x)
    if isinstance(node, ast.IfExp):
        return _literal(node.body) or _literal(node.orelse)
    return False


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _untranslated(call: ast.Call) -> list[ast.AST]:
    """The texts of one ``ApiError``/``api_error`` call that skip gettext: its message
    and the values of its ``fields``."""
    texts: list[ast.AST] = []
    if len(call.args) >= 2:
        texts.append(call.args[1])
    for keyword in call.keywords:
        if keyword.arg == "message":
            texts.append(keyword.value)
        elif keyword.arg == "fields":
            value = keyword.value
            if isinstance(value, ast.Dict):
                texts += value.values
            elif isinstance(value, ast.Call):  # dict.fromkeys(names, "…")
                texts += value.args[1:]
    return [text for text in texts if _literal(text)]


def test_every_message_the_api_writes_goes_through_gettext():
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _callee(node) in ("ApiError", "api_error"):
                found += [
                    f"{path.relative_to(PACKAGE)}:{text.lineno}" for text in _untranslated(node)
                ]
    assert not found, "wrap the API's messages in _() (docs/api.md, Language): " + ", ".join(found)


def test_the_scan_finds_what_it_is_for():
    """The scan itself: each kind of literal is caught, a translated one and a service's
    (already translated) refusal are not."""
    calls = {
        'ApiError(404, "No such product.")': 1,
        'ApiError(400, f"{name} is wrong")': 1,
        'api_error(403, "No." % x, "forbidden")': 1,
        'ApiError(400, "{}".format(x))': 1,
        'ApiError(422, _("Some fields are invalid."), fields={"a": "unknown"})': 1,
        'ApiError(422, _("x"), fields=dict.fromkeys(names, "may not be null"))': 1,
        'ApiError(404, _("No such product."))': 0,
        "ApiError(409, str(exc), code=exc.code)": 0,
        'ApiError(422, _("x"), fields={"a": _("unknown")})': 0,
        'api_error(401, reasons.get(problem, reasons["token"]), code)': 0,
    }
    for source, expected in calls.items():
        call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
        assert len(_untranslated(call)) == expected, source


# The answers --------------------------------------------------------------------------


@pytest.fixture
def shop(app, make_shop, make_user):
    shop = make_shop("sprachen", settings=SETTINGS)
    make_user(shop, OWNER, roles=["owner"])
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools")
        catalog.create_product("A-1", "Anvil", 1999, stock=1, categories=["tools"])
        db.session.commit()
    return shop


@pytest.fixture
def reader_key(app, shop):
    """A key of the owner that may only read the catalog."""
    with app.app_context(), tenant_context(shop):
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(owner, "reader", scopes=["products:read"]).secret
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _in(language: str | None) -> dict[str, str]:
    return {"Accept-Language": language} if language else {}


def _pair(app, shop, method: str, path: str, **kwargs):
    """The same request without a language (the shop's default, English) and in German."""
    headers = kwargs.pop("headers", {})
    answers = []
    for language in (None, "de-DE,de;q=0.9"):
        client = app.test_client(use_cookies=False)
        answers.append(
            client.open(
                path, method=method, headers={**host(shop), **headers, **_in(language)}, **kwargs
            )
        )
    english, german = answers
    assert english.status_code == german.status_code, (english.json, german.json)
    assert english.headers["Content-Language"] == "en-GB"
    assert german.headers["Content-Language"] == "de-DE"
    assert "Accept-Language" in german.headers["Vary"]
    en, de = english.json["error"], german.json["error"]
    assert en["code"] == de["code"], (en, de)  # the code is the contract, in every language
    assert en["message"] != de["message"], f"not translated: {en['message']!r}"
    return english, german


def _german(app, shop, message: str, **values) -> str:
    with (
        app.test_request_context(headers=host(shop)),
        tenant_context(shop),
        force_locale("de_DE"),
    ):
        return _(message, **values)


def test_a_404_answers_in_the_language_asked_with_the_same_code(app, shop):
    english, german = _pair(app, shop, "GET", "/api/v1/products/no-such-thing")
    assert english.status_code == 404 and english.json["error"]["code"] == "not_found"
    assert english.json["error"]["message"] == "No such product."
    assert german.json["error"]["message"] == _german(app, shop, "No such product.")
    # ?locale= (the API's own way) says the same as Accept-Language; a language the shop
    # does not speak answers in its default.
    client = app.test_client(use_cookies=False)
    by_param = client.get("/api/v1/products/no-such-thing?locale=de", headers=host(shop))
    assert by_param.json["error"] == german.json["error"]
    french = client.get(
        "/api/v1/products/no-such-thing", headers={**host(shop), "Accept-Language": "fr"}
    )
    assert french.json["error"] == english.json["error"]
    assert french.headers["Content-Language"] == "en-GB"


def test_a_409_sold_out_answers_in_the_language_asked(app, shop):
    client = app.test_client(use_cookies=False)
    pid = client.get("/api/v1/products", headers=host(shop)).json["data"][0]["id"]
    english, _german_answer = _pair(
        app, shop, "POST", "/api/v1/cart/items", json={"product_id": pid, "quantity": 3}
    )
    assert english.status_code == 409 and english.json["error"]["code"] == "sold_out"


def test_a_422_names_its_fields_in_the_language_asked(app, shop):
    english, german = _pair(app, shop, "POST", "/api/v1/cart/items", json={"quantity": 0})
    assert english.status_code == 422 and english.json["error"]["code"] == "invalid"
    en, de = english.json["error"]["fields"], german.json["error"]["fields"]
    assert set(en) == set(de) == {"product_id", "quantity"}
    assert en["product_id"] == "This field is required."
    assert en["quantity"] == "Must be 1 or more."
    assert de["product_id"] == _german(app, shop, "This field is required.")
    assert de["product_id"] != en["product_id"] and de["quantity"] != en["quantity"]


def test_a_401_answers_in_the_language_asked(app, shop):
    english, _german_answer = _pair(app, shop, "GET", "/api/me")
    assert english.status_code == 401 and english.json["error"]["code"] == "unauthorized"
    # A credential sent and no good: its own code, said in the reader's language too.
    bad = {"Authorization": "Bearer sf_" + "x" * 40}
    english, _german_answer = _pair(app, shop, "GET", "/api/v1/products", headers=bad)
    assert english.status_code == 401 and english.json["error"]["code"] == "invalid_token"


def test_a_403_insufficient_scope_answers_in_the_language_asked(app, shop, reader_key):
    client = app.test_client(use_cookies=False)
    pid = client.get("/api/v1/products", headers=host(shop)).json["data"][0]["id"]
    english, german = _pair(
        app, shop, "POST", "/api/v1/cart/items", json={"product_id": pid}, headers=reader_key
    )
    assert english.status_code == 403 and english.json["error"]["code"] == "insufficient_scope"
    # The scope is a name, never translated.
    assert "cart:write" in english.json["error"]["message"]
    assert "cart:write" in german.json["error"]["message"]


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute", API_RATE_LIMIT_SHOP="100 per minute"
)
def test_a_429_answers_in_the_language_asked(app, shop):
    answers = {}
    for address, language in (("198.51.100.1", None), ("198.51.100.2", "de")):
        client = app.test_client(use_cookies=False)
        headers = {**host(shop), **_in(language)}
        for _attempt in range(3):
            answer = client.get(
                "/api/v1/categories", headers=headers, environ_base={"REMOTE_ADDR": address}
            )
        answers[language] = answer
    english, german = answers[None], answers["de"]
    assert english.status_code == german.status_code == 429
    assert english.json["error"]["code"] == german.json["error"]["code"] == "rate_limited"
    assert english.json["error"]["message"] != german.json["error"]["message"]
    assert german.headers["Content-Language"] == "de-DE" and "Retry-After" in german.headers


def test_the_document_says_the_rule(app, shop):
    document = app.test_client().get("/api/v1/openapi.json", headers=host(shop)).json
    error = document["components"]["schemas"]["Error"]
    assert "answer's language" in error["description"]
    assert "Content-Language" in error["description"] and "error.code" in error["description"]
    assert (
        "language"
        in document["components"]["schemas"]["ErrorBody"]["properties"]["message"]["description"]
    )
    refused = document["paths"]["/api/v1/products/{slug}"]["get"]["responses"]["404"]
    assert "Content-Language" in refused["headers"]


def test_the_platforms_own_answers_say_they_are_english(app, shop):
    """A host with no shop has no languages: the platform answers, in English, and says so."""
    client = app.test_client(use_cookies=False)
    nowhere = client.get(
        "/api/v1/products", headers={"Host": "nowhere.test", "Accept-Language": "de"}
    )
    assert nowhere.status_code == 404 and nowhere.json["error"]["code"] == "not_found"
    assert nowhere.headers["Content-Language"] == "en"
