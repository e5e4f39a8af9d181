"""The home page an owner shapes (issue 35): sections the theme declares, added, ordered,
edited and hidden per language; their data validated, isolated, cached and carried by
the shop archive; whatever they hold reaches the page only as safe markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.home import services as home
from storefront.home.models import HomeSection, NewsletterSignup
from storefront.home.schemas import MAX_SECTIONS, parse_settings, parse_texts
from storefront.tenancy import tenant_context
from storefront.tenancy.registry import context_for
from tests.fixtures.factories import csrf_from, host, login, picture

SETTINGS = 'name = "Acme"\nlocales = ["en_US", "fr_FR"]\n'
OWNER = "owner@example.com"


@pytest.fixture
def acme(app, make_shop, make_user):
    shop = make_shop("acme", settings=SETTINGS)
    make_user(shop, OWNER, roles=["owner"])
    return shop


@pytest.fixture
def owner(app, acme):
    client = app.test_client()
    login(client, acme, OWNER)
    return client


def _add(app, shop, kind, settings=None, texts=None):
    with app.app_context(), tenant_context(shop):
        section = home.add_section(kind)
        for locale, words in (texts or {"en_US": {}}).items():
            home.save_section(section, locale, settings or {}, words)
        db.session.commit()
        return section.id


def _token(client, shop, path="/admin/home/"):
    return csrf_from(client.get(path, headers=host(shop)).text)


# Validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "vbscript:x",
        "/ok\njavascript:alert(1)",
        "/\\evil.example",
        "http://",
    ],
)
def test_a_link_is_a_shop_path_or_http(link):
    with pytest.raises(ValidationError):
        parse_settings("image_banner", {"link": link})


def test_good_links_and_pictures_pass():
    ok = parse_settings("image_banner", {"link": "/c/tools", "image": "img/abc123/master.jpg"})
    assert ok.link == "/c/tools"
    assert parse_settings("image_banner", {"link": "https://example.com/x"}).link


@pytest.mark.parametrize(
    ("kind", "settings"),
    [
        ("image_banner", {"image": "../../secrets.toml"}),
        ("image_banner", {"image": "https://evil.example/x.jpg"}),
        ("image_banner", {"image": "shops/other-uid/img/x/master.jpg"}),
        ("image_banner", {"onclick": "alert(1)"}),  # unknown fields are refused
        ("featured_products", {"product_ids": list(range(1, 10_000))}),
        ("featured_products", {"product_ids": ["1; drop table products"]}),
        ("featured_products", {"product_ids": [-1]}),
        ("featured_category", {"category_id": 1, "limit": 10_000}),
        ("featured_category", {"category_id": "x"}),
        ("image_with_text", {"image_side": "<script>"}),
    ],
)
def test_hostile_settings_are_refused(kind, settings):
    with pytest.raises(ValidationError):
        parse_settings(kind, settings)


def test_unknown_kinds_and_huge_values_are_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        parse_settings("script", {})
    with pytest.raises(ValueError, match="unknown kind"):
        parse_texts("__class__", {})
    with pytest.raises(ValidationError):
        parse_texts("rich_text", {"body": "x" * 10_001})
    with pytest.raises(ValidationError):
        parse_texts("image_banner", {"heading": "x" * 201})
    with pytest.raises(ValueError, match="too large"):
        parse_settings("rich_text", {"x": "y" * 70_000})
    with pytest.raises(ValueError, match="not an object"):
        parse_settings("rich_text", ["not", "an", "object"])


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_script_in_rich_text_reaches_the_page_as_text(app, acme, client):
    hostile = (
        "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**"
    )
    _add(app, acme, "rich_text", texts={"en_US": {"heading": "<b>Hi</b>", "body": hostile}})
    page = client.get("/", headers=host(acme))
    assert page.status_code == 200
    tags = _Tags()
    tags.feed(page.text)
    assert "<script>alert" not in page.text and "alert(1)</script>" not in page.text
    assert not any(name.startswith("on") for _, attrs in tags.found for name in attrs)
    assert not any("javascript:" in (attrs.get("href") or "") for _, attrs in tags.found)
    assert "&lt;b&gt;Hi&lt;/b&gt;" in page.text and "<strong>bold</strong>" in page.text


def test_a_row_that_fails_its_rules_is_left_out_of_the_page(app, acme, client):
    """A row written below the forms (an archive, an old kind) is read through the rules."""
    good = _add(app, acme, "rich_text", texts={"en_US": {"heading": "Kept"}})
    with app.app_context(), tenant_context(acme):
        db.session.add(
            HomeSection(
                kind="image_banner",
                position=5,
                hidden=False,
                settings={"link": "javascript:alert(1)"},
                texts={},
            )
        )
        db.session.add(
            HomeSection(
                kind="no_such_kind",
                position=6,
                hidden=False,
                settings={},
                texts={"en_US": {"heading": "Ghost"}},
            )
        )
        db.session.commit()
    page = client.get("/", headers=host(acme))
    assert page.status_code == 200 and "Kept" in page.text and f"home-section-{good}" in page.text
    assert "javascript:" not in page.text and "Ghost" not in page.text


# Isolation -----------------------------------------------------------------------------


def test_another_shops_products_and_category_never_render(app, make_shop, acme, client):
    other = make_shop("globex")
    with app.app_context(), tenant_context(other):
        catalog.create_category("Secret", "secret")
        theirs = catalog.create_product("G-1", "Globex Secret Jacket", 100, categories=["secret"])
        db.session.commit()
        their_product, their_category = theirs.id, catalog.get_category("secret").id
    _add(
        app,
        acme,
        "featured_products",
        {"product_ids": [their_product]},
        {"en_US": {"heading": "Picks"}},
    )
    _add(
        app,
        acme,
        "featured_category",
        {"category_id": their_category},
        {"en_US": {"heading": "Cat"}},
    )
    page = client.get("/", headers=host(acme))
    assert page.status_code == 200
    assert "Globex Secret Jacket" not in page.text and "/c/secret" not in page.text
    # The dashboard of one shop cannot reach another's sections by id.
    theirs_section = _add(app, other, "rich_text", texts={"en_US": {"heading": "Theirs"}})
    owner = app.test_client()
    login(owner, acme, OWNER)
    assert owner.get(f"/admin/home/{theirs_section}", headers=host(acme)).status_code == 404
    token = _token(owner, acme)
    gone = owner.post(
        f"/admin/home/{theirs_section}/delete",
        headers=host(acme),
        data={"confirm-csrf_token": token},
    )
    assert gone.status_code == 404
    with app.app_context(), tenant_context(other):
        assert db.session.get(HomeSection, theirs_section) is not None


def test_sections_need_a_bound_shop(app):
    from storefront.tenancy.context import TenantNotBound

    with app.app_context(), pytest.raises(TenantNotBound):
        db.session.scalars(select(HomeSection)).all()


def test_a_shopper_and_a_support_role_cannot_change_sections(app, acme, make_user):
    make_user(acme, "support@example.com", roles=["support"])
    section = _add(app, acme, "rich_text", texts={"en_US": {"heading": "Stay"}})
    support = app.test_client()
    login(support, acme, "support@example.com")
    assert support.get("/admin/home/", headers=host(acme)).status_code == 200
    token = _token(support, acme)
    refused = support.post(
        f"/admin/home/{section}/delete", headers=host(acme), data={"confirm-csrf_token": token}
    )
    assert refused.status_code == 403
    visitor = app.test_client()
    assert visitor.get("/admin/home/", headers=host(acme)).status_code in (302, 401, 403)


# The owner's dashboard ---------------------------------------------------------------


def test_an_owner_adds_edits_orders_hides_and_deletes_sections_per_language(
    app, acme, owner, client
):
    token = _token(owner, acme)
    added = owner.post(
        "/admin/home/add",
        headers=host(acme),
        data={"confirm-csrf_token": token, "kind": "rich_text"},
    )
    assert added.status_code == 302
    first = int(re.search(r"/admin/home/(\d+)", added.location).group(1))
    form = owner.get(f"/admin/home/{first}", headers=host(acme))
    assert ">French (France)</a>" in form.text  # the language switch
    saved = owner.post(
        f"/admin/home/{first}?lang=en_US",
        headers=host(acme),
        data={
            "csrf_token": csrf_from(form.text),
            "heading": "Welcome",
            "body": "We **ship**.",
        },
    )
    assert saved.status_code == 302, saved.text
    form = owner.get(f"/admin/home/{first}?lang=fr_FR", headers=host(acme))
    owner.post(
        f"/admin/home/{first}?lang=fr_FR",
        headers=host(acme),
        data={
            "csrf_token": csrf_from(form.text),
            "heading": "Bienvenue",
            "body": "",
        },
    )
    owner.post(
        "/admin/home/add",
        headers=host(acme),
        data={"confirm-csrf_token": token, "kind": "newsletter"},
    )
    with app.app_context(), tenant_context(acme):
        second = home.all_sections()[1].id
    assert client.get("/", headers=host(acme)).text.index("Welcome") < client.get(
        "/", headers=host(acme)
    ).text.index("newsletter-email")
    french = client.get("/?locale=fr", headers=host(acme)).text
    assert "Bienvenue" in french and "<strong>ship</strong>" in french  # the body falls back
    owner.post(
        f"/admin/home/{second}/move",
        headers=host(acme),
        data={"confirm-csrf_token": token, "direction": "up"},
    )
    page = client.get("/", headers=host(acme)).text
    assert page.index("newsletter-email") < page.index("Welcome")  # the edit is not cached away
    owner.post(
        f"/admin/home/{first}/hide",
        headers=host(acme),
        data={"confirm-csrf_token": token, "hidden": "1"},
    )
    assert "Welcome" not in client.get("/", headers=host(acme)).text
    listing = owner.get("/admin/home/", headers=host(acme)).text
    assert "hidden" in listing and "Welcome" in listing
    owner.post(
        f"/admin/home/{first}/delete", headers=host(acme), data={"confirm-csrf_token": token}
    )
    with app.app_context(), tenant_context(acme):
        assert [s.kind for s in home.all_sections()] == ["newsletter"]


def test_the_form_refuses_a_javascript_link_and_an_unknown_sku(app, acme, owner):
    section = _add(app, acme, "image_banner")
    form = owner.get(f"/admin/home/{section}", headers=host(acme))
    refused = owner.post(
        f"/admin/home/{section}",
        headers=host(acme),
        data={
            "csrf_token": csrf_from(form.text),
            "heading": "x",
            "link": "javascript:alert(1)",
        },
    )
    assert refused.status_code == 200 and "starting with https://" in refused.text
    products = _add(app, acme, "featured_products")
    form = owner.get(f"/admin/home/{products}", headers=host(acme))
    refused = owner.post(
        f"/admin/home/{products}",
        headers=host(acme),
        data={
            "csrf_token": csrf_from(form.text),
            "products": "NOPE-1",
        },
    )
    assert refused.status_code == 200 and "NOPE-1" in refused.text
    unknown = owner.post(
        "/admin/home/add",
        headers=host(acme),
        data={"confirm-csrf_token": _token(owner, acme), "kind": "script"},
    )
    assert unknown.status_code == 302
    with app.app_context(), tenant_context(acme):
        assert len(home.all_sections()) == 2


def test_a_picture_is_uploaded_to_the_shops_media_and_shown(app, acme, owner, client):
    section = _add(app, acme, "image_with_text", texts={"en_US": {"heading": "Pic"}})
    form = owner.get(f"/admin/home/{section}", headers=host(acme))
    from io import BytesIO

    saved = owner.post(
        f"/admin/home/{section}",
        headers=host(acme),
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(form.text),
            "heading": "Pic",
            "alt": "A dot",
            "image": (BytesIO(picture()), "dot.png"),
            "image_side": "right",
        },
    )
    assert saved.status_code == 302, saved.text
    page = client.get("/", headers=host(acme)).text
    src = re.search(r'class="home-image-text-image" src="([^"]+)"', page).group(1)
    assert src.startswith("/media/img/") and client.get(src, headers=host(acme)).status_code == 200
    refused = owner.post(
        f"/admin/home/{section}",
        headers=host(acme),
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(form.text),
            "heading": "Pic",
            "image": (BytesIO(b"<svg onload=alert(1)>"), "x.png"),
        },
    )
    assert refused.status_code == 200 and "field-error" in refused.text


def test_the_preview_shows_a_draft_without_saving_it(app, acme, owner):
    section = _add(app, acme, "rich_text", texts={"en_US": {"heading": "Saved"}})
    form = owner.get(f"/admin/home/{section}", headers=host(acme))
    shown = owner.post(
        "/admin/home/preview?lang=fr_FR",
        headers=host(acme),
        data={
            "csrf_token": csrf_from(form.text),
            "section_id": section,
            "heading": "Brouillon",
            "body": "<script>x</script>",
        },
    )
    assert shown.status_code == 200 and "Brouillon" in shown.text and "<script>x" not in shown.text
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    assert shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert 'lang="fr' in shown.text
    with app.app_context(), tenant_context(acme):
        assert home.texts_in(home.get_section(section), "en_US") == {"heading": "Saved"}
    saved = owner.get("/admin/home/preview", headers=host(acme))
    assert "Saved" in saved.text
    anonymous = app.test_client().get("/admin/home/preview", headers=host(acme))
    assert anonymous.status_code != 200


def test_a_shop_holds_a_bounded_number_of_sections(app, acme):
    with app.app_context(), tenant_context(acme):
        for _ in range(MAX_SECTIONS):
            home.add_section("rich_text")
        with pytest.raises(home.SectionError):
            home.add_section("rich_text")


def test_the_featured_category_reads_one_bounded_page(app, acme, client):
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools", "tools")
        for n in range(9):
            catalog.create_product(f"T-{n}", f"Tool {n}", 100, categories=["tools"])
        db.session.commit()
        category = catalog.get_category("tools").id
    _add(
        app,
        acme,
        "featured_category",
        {"category_id": category, "limit": 3},
        {"en_US": {"heading": "Tools"}},
    )
    page = client.get("/", headers=host(acme)).text
    assert page.count('class="card product-card"') == 3 and "/c/tools" in page


def test_newsletter_sign_up_keeps_an_address_once(app, acme, client):
    _add(app, acme, "newsletter", texts={"en_US": {"heading": "News"}})
    headers = {**host(acme), "Origin": f"http://{acme.primary_host}"}
    for _ in range(2):
        done = client.post("/newsletter", headers=headers, data={"email": "Ada@Example.com"})
        assert done.status_code == 302
    assert client.post("/newsletter", headers=headers, data={"email": "nope"}).status_code == 302
    assert (
        client.post(
            "/newsletter",
            headers={**host(acme), "Origin": "https://evil.example"},
            data={"email": "x@example.com"},
        ).status_code
        == 403
    )
    with app.app_context(), tenant_context(acme):
        kept = [s.email for s in db.session.scalars(select(NewsletterSignup))]
        assert kept == ["Ada@example.com"]  # once, its domain in the normal spelling
        # A person's data download shows it, their erasure forgets it.
        from storefront.privacy import services as privacy

        assert '"newsletter": {' in "".join(privacy.person_data("Ada@example.com"))
        privacy.erase("Ada@example.com")
        db.session.commit()
        assert db.session.scalars(select(NewsletterSignup)).all() == []


# The shop archive ----------------------------------------------------------------------


def test_sections_travel_with_the_shop_archive(app, runner, acme, tmp_path):
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools", "tools")
        product = catalog.create_product("A-1", "Anvil", 100, categories=["tools"])
        db.session.commit()
        product_id, category_id = product.id, catalog.get_category("tools").id
    _add(
        app,
        acme,
        "featured_products",
        {"product_ids": [product_id]},
        {"en_US": {"heading": "Picks"}, "fr_FR": {"heading": "Choix"}},
    )
    _add(
        app,
        acme,
        "featured_category",
        {"category_id": category_id, "limit": 2},
        {"en_US": {"heading": "Cat"}},
    )
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        copy = context_for("copy")
    with app.app_context(), tenant_context(copy):
        sections = home.all_sections()
        assert [s.kind for s in sections] == ["featured_products", "featured_category"]
        new_product = catalog.product_by_sku("A-1").id
        assert sections[0].settings["product_ids"] == [new_product]
        assert sections[1].settings["category_id"] == catalog.get_category("tools").id
        assert home.texts_in(sections[0], "fr_FR") == {"heading": "Choix"}
    page = app.test_client().get("/", headers={"Host": "copy.test"}).text
    assert "Anvil" in page and "Picks" in page


def test_the_preview_renders_the_shops_own_home_page_in_its_sandbox(app, acme, owner):
    """What shoppers get: a shop whose own index.html frames the sections shows it in the
    preview too, still sandboxed (no app globals); the editor page itself never uses it."""
    from tests.fixtures.factories import tenant_folder

    page = tenant_folder(app, "acme") / "templates" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        '{% extends "@theme/index.html" %}{% block featured %}'
        '<p id="own">ACME OWN {{ config is defined }}</p>{{ super() }}{% endblock %}'
    )
    app.jinja_env.layers.invalidate()
    section = _add(app, acme, "rich_text", texts={"en_US": {"heading": "Saved"}})
    form = owner.get(f"/admin/home/{section}", headers=host(acme))
    assert "ACME OWN" not in form.text
    shown = owner.post(
        "/admin/home/preview",
        headers=host(acme),
        data={"csrf_token": csrf_from(form.text), "section_id": section, "heading": "Draft"},
    )
    assert shown.status_code == 200, shown.text
    assert "ACME OWN False" in shown.text and "Draft" in shown.text
    assert "ACME OWN" not in owner.get("/admin/home/", headers=host(acme)).text


@pytest.mark.settings(RATELIMIT_ENABLED=True)
def test_newsletter_sign_ups_are_limited_per_client(app, acme, client):
    """The form has no CSRF token and an Origin is easy to forge outside a browser: a
    script from one address stops at the client's limit instead of filling the list."""
    _add(app, acme, "newsletter", texts={"en_US": {"heading": "News"}})
    headers = {**host(acme), "Origin": f"http://{acme.primary_host}"}
    answers = [
        client.post("/newsletter", headers=headers, data={"email": f"bot{n}@example.com"})
        for n in range(12)
    ]
    assert [a.status_code for a in answers] == [302] * 10 + [429] * 2
    with app.app_context(), tenant_context(acme):
        assert len(db.session.scalars(select(NewsletterSignup)).all()) == 10


def test_the_same_address_twice_at_once_is_kept_once_without_an_error(app, acme, client):
    """A double click whose second request finds no row yet meets the unique key."""
    from unittest import mock

    _add(app, acme, "newsletter", texts={"en_US": {"heading": "News"}})
    headers = {**host(acme), "Origin": f"http://{acme.primary_host}"}
    assert (
        client.post("/newsletter", headers=headers, data={"email": "a@example.com"}).status_code
        == 302
    )
    # The second request's look-up misses the first one's row, as in a race.
    from storefront.home import services as home_services
    from storefront.home.models import NewsletterSignup as Row

    def racing(email, locale):
        db.session.add(Row(email=email, locale=locale))
        db.session.flush()
        return True

    with mock.patch.object(home_services, "sign_up", racing):
        again = client.post("/newsletter", headers=headers, data={"email": "a@example.com"})
    assert again.status_code == 302
    with app.app_context(), tenant_context(acme):
        assert len(db.session.scalars(select(NewsletterSignup)).all()) == 1
