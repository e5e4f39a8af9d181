"""Pages an owner writes in Markdown: served per shop and language, and whatever the text
holds, no markup attack reaches a page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from storefront.content import services as content
from storefront.extensions import db
from storefront.markdown import TAGS, render
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login

SETTINGS = 'name = "Acme"\nlocales = ["en_US", "fr_FR"]\n'


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "![x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="https://ok.example" onclick="alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        '[x](https://ok.example "title" onmouseover=alert(1))',
        "<svg onload=alert(1)>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ],
)
def test_no_markup_attack_survives_rendering(hostile):
    """Read as a browser would: every tag and attribute the HTML really has (text that
    merely reads like an attack, escaped, is harmless)."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(str(render(hostile)))
    for tag, attrs in found:
        assert tag in TAGS, (hostile, tag)
        for name, value in attrs:
            assert not name.startswith("on"), (hostile, name)
            if name in ("href", "src"):
                assert (value or "").split(":")[0].lower() in ("http", "https", "mailto") or (
                    ":" not in (value or "")
                ), (hostile, value)


def test_markdown_keeps_formatting_and_safe_links():
    html = str(
        render(
            "# Title\n\n**bold** [site](https://ok.example) [mail](mailto:a@b.co)\n\n- one\n- two"
        )
    )
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert 'href="https://ok.example"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert 'href="mailto:a@b.co"' in html and "<li>one</li>" in html


def test_an_owner_writes_a_page_shoppers_read_in_their_language(app, make_shop, make_user):
    shop = make_shop("acme", settings=SETTINGS)
    other = make_shop("globex")
    make_user(shop, "owner@example.com", roles=["owner"])
    owner = app.test_client()
    login(owner, shop, "owner@example.com")
    empty = owner.get("/admin/pages/", headers=host(shop))
    assert "No pages yet" in empty.text
    form = owner.get("/admin/pages/new", headers=host(shop))
    saved = owner.post(
        "/admin/pages/new",
        data={
            "csrf_token": csrf_from(form.text),
            "title": "Shipping",
            "slug": "",
            "body": "We ship **fast**.\n\n<script>alert(1)</script>",
            "published": "y",
            "title__fr_FR": "Livraison",
            "body__fr_FR": "Nous expédions **vite**.",
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    shopper = app.test_client()
    page = shopper.get("/pages/shipping", headers=host(shop))
    assert page.status_code == 200
    assert "<strong>fast</strong>" in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text  # shown as text, harmless
    french = shopper.get("/fr/pages/shipping", headers=host(shop))
    assert "Livraison" in french.text and "<strong>vite</strong>" in french.text
    assert shopper.get("/pages/shipping", headers=host(other)).status_code == 404
    clash = owner.post(
        "/admin/pages/new",
        data={"csrf_token": csrf_from(form.text), "title": "Again", "slug": "shipping"},
        headers=host(shop),
    )
    assert (
        clash.status_code == 200 and "Another page already lives at /pages/shipping" in clash.text
    )
    with app.app_context(), tenant_context(shop):
        page_id = content.all_pages()[0].id
    draft = owner.post(
        f"/admin/pages/{page_id}",
        data={
            "csrf_token": csrf_from(form.text),
            "title": "Shipping",
            "slug": "shipping",
            "body": "x",
        },
        headers=host(shop),
    )
    assert draft.status_code == 302  # "published" unticked: a draft
    assert shopper.get("/pages/shipping", headers=host(shop)).status_code == 404
    gone = owner.post(
        f"/admin/pages/{page_id}/delete",
        data={"confirm-csrf_token": csrf_from(form.text)},
        headers=host(shop),
    )
    assert gone.status_code == 302
    with app.app_context(), tenant_context(shop):
        assert content.all_pages() == []
        db.session.remove()


def test_the_demo_footer_link_leads_to_a_page(app, runner, demo_tenants):
    runner.invoke(["demo"])
    client = app.test_client()
    page = client.get("/pages/shipping", headers={"Host": "acme.localhost"})
    assert page.status_code == 200 and "Shipping and returns" in page.text
    home = client.get("/", headers={"Host": "acme.localhost"}).text
    assert 'href="/pages/shipping"' in home


def test_the_longest_texts_the_forms_allow_are_kept_whole(app, make_shop):
    """50,000 characters of four bytes each (a page) and 20,000 (a description) are
    200,000 and 80,000 bytes: beyond MariaDB's TEXT, within its MEDIUMTEXT."""
    from storefront.catalog import services as catalog
    from storefront.catalog.schemas import MAX_DESCRIPTION
    from storefront.content.models import MAX_BODY

    shop = make_shop("acme", settings=SETTINGS)
    body, description = "🦆" * MAX_BODY, "𝄞" * MAX_DESCRIPTION
    with app.app_context(), tenant_context(shop):
        content.save_page(None, slug="long", title="Long", body=body)
        catalog.create_product("L-1", "Long", 100, description=description)
        db.session.commit()
        db.session.expire_all()
        assert content.published("long") is not None
        assert content.all_pages()[0].body == body
        assert catalog.get_product("long").description == description
