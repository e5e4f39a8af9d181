"""Sign-up (storefront.signup): the rules, the limits, the confirmation link, approval,
isolation from the shops that exist, the all-or-nothing creation, the checklist.

Time moves by replacing ``services.now`` (never the wall clock)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storefront.audit.models import AuditEntry
from storefront.extensions import db
from storefront.signup import services
from storefront.signup.models import LIVE, PENDING, REJECTED, WAITING, Signup, SignupFailure
from storefront.signup.rules import network_of
from storefront.tenancy.context import tenant_context
from storefront.tenancy.models import Domain, Tenant, utcnow
from storefront.tenancy.signals import shop_created
from tests.fixtures.factories import csrf_from, login

PLATFORM = "shops.example"
SITE = {"Host": PLATFORM}
ON = pytest.mark.settings(SIGNUP_ENABLED=True, PLATFORM_DOMAIN=PLATFORM)
pytestmark = ON
PASSWORD = "a long enough secret"


class Clock:
    """The sign-up's clock, moved by hand."""

    def __init__(self) -> None:
        self.moment = utcnow()

    def __call__(self) -> Any:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(services, "now", clock)
    return clock


def form(**overrides: str) -> dict[str, str]:
    data = {
        "shop_name": "Bolt & Nut",
        "slug": "bolt",
        "email": "owner@example.com",
        "password": PASSWORD,
        "locale": "de_DE",
        "currency": "EUR",
    }
    data.update(overrides)
    return data


def sign_up(client: Any, ip: str = "198.51.100.7", **overrides: str) -> Any:
    page = client.get("/signup", headers=SITE, environ_base={"REMOTE_ADDR": ip})
    data = {**form(**overrides), "csrf_token": csrf_from(page.text)}
    return client.post("/signup", data=data, headers=SITE, environ_base={"REMOTE_ADDR": ip})


def confirm_link(outbox: list[Any]) -> str:
    match = re.search(r"https?://[^/\s]+(/(?:[a-z]{2}/)?signup/confirm/\S+)", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def confirm(client: Any, path: str) -> Any:
    page = client.get(path, headers=SITE)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf_from(page.text)}, headers=SITE)


def shops(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Tenant.slug).order_by(Tenant.slug)))


def signups(app: Any) -> list[Signup]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signup).order_by(Signup.id)))
        db.session.expunge_all()
        return rows


# The platform's site ------------------------------------------------------------------


@pytest.mark.settings(SIGNUP_ENABLED=False)
def test_sign_up_is_off_by_default(client):
    assert client.get("/signup", headers=SITE).status_code == 404


def test_the_platform_domain_sends_its_root_to_sign_up(client):
    response = client.get("/", headers=SITE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/signup")
    assert client.get("/admin/", headers=SITE).status_code == 404  # nothing of a shop


def test_a_shop_has_no_sign_up_pages(client, make_shop):
    shop = make_shop("acme")
    assert client.get("/signup", headers={"Host": shop.primary_host}).status_code == 404
    assert (
        client.get("/signup/check?slug=x", headers={"Host": shop.primary_host}).status_code == 404
    )


def test_sign_up_without_a_platform_domain_does_not_start(app_config):
    from storefront import create_app
    from storefront.config import ConfigError

    with pytest.raises(ConfigError, match="PLATFORM_DOMAIN"):
        create_app({**app_config, "PLATFORM_DOMAIN": None})


@pytest.mark.parametrize(
    ("prefix", "heading"),
    [
        ("", "Open your shop"),
        ("/de", "Eröffnen Sie Ihren Shop"),
        ("/fr", "Ouvrez votre boutique"),
        ("/es", "Abra su tienda"),
        ("/nl", "Open uw winkel"),
    ],
)
def test_the_page_speaks_every_shipped_language(client, prefix, heading):
    page = client.get(f"{prefix}/signup", headers=SITE)
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    lang = prefix.strip("/") or "en"
    assert page.headers["Content-Language"].startswith(lang)
    assert f'<html lang="{page.headers["Content-Language"]}"' in page.text
    if prefix and heading not in page.text:
        pytest.fail(f"{lang}: the page is not in its language")


def test_accept_language_chooses_the_page_language(client):
    page = client.get("/signup", headers={**SITE, "Accept-Language": "nl-NL,nl;q=0.9"})
    assert page.headers["Content-Language"] == "nl-NL"


# Availability as you type --------------------------------------------------------------


def test_availability_answers_for_free_reserved_invalid_and_taken(client, make_shop):
    make_shop("acme", domains=("acme.test",))
    make_shop("globex", domains=(f"taken.{PLATFORM}",))

    def check(slug: str) -> dict[str, Any]:
        response = client.get(f"/signup/check?slug={slug}", headers=SITE)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()

    assert check("bolt") | {"message": ""} == {
        "slug": "bolt",
        "available": True,
        "code": "available",
        "host": f"bolt.{PLATFORM}",
        "message": "",
    }
    for slug, code in [
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("mail", "reserved"),
        ("shops", "reserved"),  # the platform domain's own name
        ("acme", "taken"),  # an existing shop's slug
        ("taken", "taken"),  # an existing shop's host under the platform domain
        ("Bad_Slug", "invalid"),
        ("a", "invalid"),
        ("x--y", "invalid"),
        ("-x", "invalid"),
        ("", "invalid"),
    ]:
        answer = check(slug)
        assert (answer["available"], answer["code"]) == (False, code), slug


@pytest.mark.settings(SIGNUP_RESERVED_SLUGS=("acmecorp",))
def test_the_operator_reserves_more_names(client):
    assert client.get("/signup/check?slug=acmecorp", headers=SITE).get_json()["code"] == "reserved"


def test_a_waiting_sign_up_holds_its_name_until_its_link_lapses(app, client, outbox, clock):
    assert sign_up(client).status_code == 303
    answer = client.get("/signup/check?slug=bolt", headers=SITE).get_json()
    assert answer["code"] == "taken"
    assert sign_up(client, email="other@example.com").status_code == 422
    clock.advance(hours=24, seconds=1)
    assert client.get("/signup/check?slug=bolt", headers=SITE).get_json()["available"]
    assert sign_up(client, email="other@example.com").status_code == 303
    rows = signups(app)
    assert [(r.email, r.slug_hold) for r in rows] == [
        ("owner@example.com", None),
        ("other@example.com", "bolt"),
    ]


# The flow: sign up, mail, confirm --------------------------------------------------------


def test_sign_up_mails_a_link_and_creates_nothing_until_it_is_followed(app, client, outbox):
    response = sign_up(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/signup/sent")
    assert shops(app) == []
    assert client.get("/", headers={"Host": f"bolt.{PLATFORM}"}).status_code == 404
    assert len(outbox) == 1 and outbox[0].to == ["owner@example.com"]
    assert "Bolt & Nut" in outbox[0].subject
    assert f"http://{PLATFORM}/de/signup/confirm/" in outbox[0].body  # the language chosen
    (row,) = signups(app)
    assert row.status == WAITING and row.password_hash  # hashed (plaintext "hash" in tests)


def test_confirming_opens_the_shop_and_the_owner_signs_in(app, client, outbox, make_shop):
    sign_up(client)
    done = confirm(client, confirm_link(outbox))
    assert done.status_code == 200
    assert f"http://bolt.{PLATFORM}/login" in done.text
    assert shops(app) == ["bolt"]
    (row,) = signups(app)
    assert row.status == LIVE and row.slug_hold is None and row.shop_id is not None
    assert row.password_hash is None
    shop_host = {"Host": f"bolt.{PLATFORM}"}
    assert client.get("/", headers=shop_host).status_code == 200
    from storefront.tenancy.registry import context_for

    with app.app_context():
        ctx = context_for("bolt")
    assert ctx.settings.locale == "de_DE" and ctx.settings.currency == "EUR"
    assert ctx.settings.name == "Bolt & Nut"
    signed_in = login(client, ctx, "owner@example.com", PASSWORD)
    assert signed_in.status_code == 302
    overview = client.get("/admin/", headers=shop_host)
    assert overview.status_code == 200 and 'class="onboarding"' in overview.text
    with app.app_context(), tenant_context(ctx):
        kinds = {_event_type(e) for e in db.session.scalars(select(AuditEntry))}
        plan = db.session.scalar(select(Tenant.plan).where(Tenant.slug == "bolt"))
    # On the plans file's default plan (billing may start a trial: signup.shop_signed_up).
    assert "signup-confirmed" in kinds and plan is None


def test_a_link_works_once(app, client, outbox):
    sign_up(client)
    path = confirm_link(outbox)
    assert confirm(client, path).status_code == 200
    again = confirm(client, path)
    assert again.status_code in (404, 410)
    page = client.get(path, headers=SITE)
    token = path.rsplit("/", 1)[1]
    response = client.post(path, data={"csrf_token": csrf_from(page.text)}, headers=SITE)
    assert response.status_code == 410 and token
    assert shops(app) == ["bolt"]


def test_an_expired_link_opens_nothing(app, client, outbox, clock):
    sign_up(client)
    path = confirm_link(outbox)
    clock.advance(hours=24, seconds=1)
    page = client.get(path, headers=SITE)
    response = client.post(path, data={"csrf_token": csrf_from(page.text)}, headers=SITE)
    assert response.status_code == 410
    assert shops(app) == []
    assert signups(app)[0].status == WAITING


def test_a_forged_or_altered_link_opens_nothing(app, client, outbox):
    sign_up(client)
    path = confirm_link(outbox)
    assert client.get(path[:-3] + "xyz", headers=SITE).status_code == 404
    assert client.get("/signup/confirm/not-a-token", headers=SITE).status_code == 404
    with app.app_context():
        row_id = db.session.scalar(select(Signup.id))
        forged = services._serializer().dumps([row_id, "guessed-secret"])
    assert client.get(f"/signup/confirm/{forged}", headers=SITE).status_code == 404
    assert shops(app) == []


# Isolation: sign-up never takes what exists ----------------------------------------------


def test_sign_up_cannot_take_an_existing_shop_slug_or_host(app, client, outbox, make_shop):
    make_shop("acme", domains=("acme.test",))
    make_shop("globex", domains=(f"bolt.{PLATFORM}",))
    assert sign_up(client, slug="acme").status_code == 422
    assert sign_up(client, slug="bolt", ip="203.0.113.9").status_code == 422
    assert outbox == [] and shops(app) == ["acme", "globex"]


def test_a_shop_made_after_the_sign_up_wins_and_the_link_creates_nothing(
    app, client, outbox, make_shop
):
    sign_up(client)
    path = confirm_link(outbox)
    make_shop("bolt", domains=("bolt.elsewhere.test",))  # the operator took the name
    response = confirm(client, path)
    assert response.status_code == 409
    assert shops(app) == ["bolt"]
    with app.app_context():
        hosts = list(db.session.scalars(select(Domain.hostname)))
    assert hosts == ["bolt.elsewhere.test"]
    assert signups(app)[0].status == WAITING


# All or nothing -------------------------------------------------------------------------


def test_a_failure_while_creating_leaves_nothing_and_the_link_still_works(app, client, outbox):
    sign_up(client)
    path = confirm_link(outbox)

    def broken(_tenant: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full while setting the shop up")

    shop_created.connect(broken)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            confirm(client, path)
    finally:
        shop_created.disconnect(broken)
    assert shops(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Domain)) == 0
    assert not (Path(app.config["TENANTS_DIR"]) / "bolt").exists()
    assert [p.name for p in Path(app.config["TENANTS_DIR"]).iterdir()] == []
    (row,) = signups(app)
    assert (row.status, row.slug_hold, row.shop_id) == (WAITING, "bolt", None)
    assert confirm(client, path).status_code == 200  # nothing was used up
    assert shops(app) == ["bolt"]


# Abuse limits ---------------------------------------------------------------------------


@pytest.mark.settings(SIGNUP_PER_EMAIL=2)
def test_an_address_opens_a_few_shops_a_day(app, client, outbox, clock):
    for index, slug in enumerate(("one", "two")):
        assert sign_up(client, slug=slug, ip=f"203.0.{index}.1").status_code == 303
    refused = sign_up(client, slug="three", ip="203.0.9.1")
    assert refused.status_code == 429
    assert "enough shops for today" in refused.text
    clock.advance(days=1, seconds=1)
    assert sign_up(client, slug="three", ip="203.0.9.1").status_code == 303


@pytest.mark.settings(SIGNUP_PER_NETWORK=2)
def test_a_network_opens_a_few_shops_a_day(app, client, outbox, clock):
    first = sign_up(client, slug="one", ip="198.51.100.7", email="a@example.com")
    second = sign_up(client, slug="two", ip="198.51.100.200", email="b@example.com")
    assert (first.status_code, second.status_code) == (303, 303)
    same_24 = sign_up(client, slug="six", ip="198.51.100.99", email="c@example.com")
    assert same_24.status_code == 429
    other = sign_up(client, slug="seven", ip="198.51.101.1", email="d@example.com")
    assert other.status_code == 303


def test_networks_are_slash_24_and_slash_64():
    assert network_of("198.51.100.7") == "198.51.100.0/24"
    assert network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_of("::ffff:198.51.100.7") == "198.51.100.0/24"
    assert network_of("nonsense") == "unknown"


@pytest.mark.settings(SIGNUP_FAILURES=3, SIGNUP_COOLDOWN_MINUTES=30)
def test_refused_attempts_start_a_cooling_off(app, client, outbox, clock):
    for _ in range(3):
        assert sign_up(client, slug="www").status_code == 422
        clock.advance(seconds=10)
    cooling = sign_up(client, slug="fine")
    assert cooling.status_code == 429 and "wait a while" in cooling.text
    assert sign_up(client, slug="fine", ip="192.0.2.1").status_code == 303  # other network
    clock.advance(minutes=31)
    assert sign_up(client, slug="fine2", email="x@example.com").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SignupFailure)) == 3


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "not-an-address", "invalid_email"),
        ("password", "short", "weak_password"),
        ("shop_name", "   ", "invalid_name"),
        ("locale", "xx_XX", "invalid_locale"),
        ("currency", "XYZ", "invalid_currency"),
    ],
)
def test_bad_input_is_a_clear_422(app, client, outbox, field, value, code):
    response = sign_up(client, **{field: value})
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert outbox == [] and signups(app) == []


# Operator approval -----------------------------------------------------------------------


@pytest.mark.settings(SIGNUP_APPROVAL=True)
def test_approval_keeps_the_shop_pending_until_the_operator_approves(app, client, outbox, runner):
    sign_up(client)
    done = confirm(client, confirm_link(outbox))
    assert "Ihr Shop wartet auf Freigabe" in done.text  # in the language the owner chose
    shop_host = {"Host": f"bolt.{PLATFORM}"}
    assert client.get("/", headers=shop_host).status_code == 404
    assert client.get("/login", headers=shop_host).status_code == 404
    assert signups(app)[0].status == PENDING
    listed = runner.invoke(["signup", "list", "--status", "pending", "--json"])
    assert listed.exit_code == 0 and '"slug": "bolt"' in listed.output
    result = runner.invoke(["signup", "approve", "bolt"])
    assert result.exit_code == 0, result.output
    assert client.get("/", headers=shop_host).status_code == 200
    assert signups(app)[0].status == LIVE and signups(app)[0].decided_by
    assert any("bolt" in m.body and "approved" in m.body for m in outbox)
    from storefront.tenancy.registry import context_for

    with app.app_context():
        ctx = context_for("bolt")
        with tenant_context(ctx):
            entries = list(db.session.scalars(select(AuditEntry)))
    assert {"signup-confirmed", "signup-approved"} <= {_event_type(e) for e in entries}
    again = runner.invoke(["signup", "approve", "bolt"])
    assert again.exit_code == 1 and "not waiting for approval" in again.output


def _event_type(entry: Any) -> str:
    import json

    text = json.dumps(json.loads(entry.body))
    for kind in ("signup-confirmed", "signup-approved"):
        if kind in text:
            return kind
    return ""


@pytest.mark.settings(SIGNUP_APPROVAL=True)
def test_rejecting_deletes_the_pending_shop_and_frees_nothing_else(
    app, client, outbox, runner, make_shop
):
    make_shop("acme")
    sign_up(client)
    confirm(client, confirm_link(outbox))
    result = runner.invoke(["signup", "reject", "bolt", "--reason", "spam"])
    assert result.exit_code == 0, result.output
    assert shops(app) == ["acme"]
    row = signups(app)[0]
    assert (row.status, row.note, row.shop_id) == (REJECTED, "spam", None)
    assert not (Path(app.config["TENANTS_DIR"]) / "bolt").exists()
    refused = runner.invoke(["signup", "reject", "acme"])
    assert refused.exit_code == 1 and shops(app) == ["acme"]  # a shop made by the operator


# The onboarding checklist ------------------------------------------------------------------


def test_the_checklist_ticks_itself_off_and_can_be_dismissed(app, client, outbox):
    from storefront.catalog import services as catalog
    from storefront.db import unit_of_work
    from storefront.tenancy import config_edit
    from storefront.tenancy.registry import context_for

    sign_up(client)
    confirm(client, confirm_link(outbox))
    with app.app_context():
        ctx = context_for("bolt")
    login(client, ctx, "owner@example.com", PASSWORD)
    shop_host = {"Host": f"bolt.{PLATFORM}"}

    def steps() -> dict[str, str]:
        page = client.get("/admin/", headers=shop_host).text
        return dict(re.findall(r'data-step="(\w+)" data-done="(\w+)"', page))

    assert steps() == {k: "no" for k in ("product", "payment", "shipping", "domain", "branding")}
    with app.app_context():
        with tenant_context(ctx):
            unit_of_work(lambda: catalog.create_product("BOLT-1", "Bolt", 100, stock=1))
        config_edit.update_values("bolt", {"payment.methods": ["bank_transfer"]})
        config_edit.update_values("bolt", {"shipping.flat_rate": 450})
        config_edit.update_values("bolt", {"branding.primary_color": "#004400"})
    from storefront.tenancy.services import add_domain

    with app.app_context():
        add_domain("bolt", "www.bolt-shop.test", trust=True)
    assert steps() == {k: "yes" for k in ("product", "payment", "shipping", "domain", "branding")}
    page = client.get("/admin/", headers=shop_host)
    dismissed = client.post(
        "/admin/onboarding/dismiss", data={"csrf_token": csrf_from(page.text)}, headers=shop_host
    )
    assert dismissed.status_code == 302
    assert 'class="onboarding"' not in client.get("/admin/", headers=shop_host).text


def test_shops_made_by_the_operator_show_no_checklist(app, client, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, "boss@example.com", PASSWORD, roles=["owner"])
    login(client, shop, "boss@example.com", PASSWORD)
    page = client.get("/admin/", headers={"Host": shop.primary_host})
    assert page.status_code == 200 and 'class="onboarding"' not in page.text


def test_the_tls_proxy_gets_a_certificate_for_the_platform_domain_only_while_on(app, client):
    ask = client.get(f"/_tls/ask?domain={PLATFORM}", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert ask.status_code == 200
    app.config["SIGNUP_ENABLED"] = False
    off = client.get(f"/_tls/ask?domain={PLATFORM}", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert off.status_code == 404


@pytest.mark.settings(RATELIMIT_ENABLED=True, SIGNUP_CHECK_RATE="3 per minute")
def test_the_name_check_is_rate_limited_per_network(client):
    def ask(ip: str) -> int:
        return client.get(
            "/signup/check?slug=bolt", headers=SITE, environ_base={"REMOTE_ADDR": ip}
        ).status_code

    assert [ask("198.51.100.1") for _ in range(3)] == [200, 200, 200]
    assert ask("198.51.100.2") == 429  # the same /24
    assert ask("203.0.113.1") == 200


def test_the_checklist_reads_three_rows_at_most_never_a_count(app, client, outbox):
    from sqlalchemy import event

    from storefront.signup.onboarding import checklist
    from storefront.tenancy.registry import context_for

    sign_up(client)
    confirm(client, confirm_link(outbox))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.upper())

    with app.app_context():
        ctx = context_for("bolt")
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            with tenant_context(ctx):
                steps = checklist()
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert steps is not None and len(steps) == 5
    assert len(statements) == 3  # the sign-up's flag, one product, one own domain
    assert all("LIMIT" in s and "COUNT(" not in s for s in statements), statements
