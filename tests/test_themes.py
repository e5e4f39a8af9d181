"""The template chain, its cache, shop overrides and layered static files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.factories import host, tenant_folder


def write(app, slug: str, relative: str, text: str) -> Path:
    path = tenant_folder(app, slug) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


OVERRIDE = (
    '{% extends "@theme/index.html" %}{% block featured %}<p id="own">ACME OWN</p>{% endblock %}'
)


@pytest.mark.parametrize("first", ["acme", "globex"])
def test_one_shops_override_never_reaches_another_in_either_order(app, make_shop, first):
    acme, globex = make_shop("acme"), make_shop("globex")
    write(app, "acme", "templates/index.html", OVERRIDE)
    client = app.test_client()
    order = [acme, globex] if first == "acme" else [globex, acme]
    pages = {shop.slug: client.get("/", headers=host(shop)).text for shop in order * 2}
    assert "ACME OWN" in pages["acme"]
    assert "ACME OWN" not in pages["globex"]


def test_override_extends_the_version_it_replaces_and_partials_follow_the_chain(app, make_shop):
    shop = make_shop("acme", name="Acme Supplies")
    write(app, "acme", "templates/index.html", OVERRIDE)
    write(app, "acme", "templates/layout_sections/footer.html", "<footer>ACME FOOTER</footer>")
    page = app.test_client().get("/", headers=host(shop)).text
    assert "ACME OWN" in page  # the override
    assert "Acme Supplies" in page  # the theme's index it extends, and the base layout
    assert "ACME FOOTER" in page  # a partial the base layout includes, taken from the shop
    assert "theme-classic" in page


def test_themes_differ_and_each_shop_gets_its_own(app, make_shop):
    classic, minimal = make_shop("acme"), make_shop("globex", theme="minimal")
    client = app.test_client()
    a, b = client.get("/", headers=host(classic)).text, client.get("/", headers=host(minimal)).text
    assert "classic-footer" in a
    assert "minimal-header" not in a
    assert "minimal-header" in b
    assert "classic-footer" not in b
    css_a = client.get("/static/css/theme.css", headers=host(classic)).text
    css_b = client.get("/static/css/theme.css", headers=host(minimal)).text
    assert "Classic" in css_a
    assert "Minimal" in css_b


def test_shops_without_overrides_share_one_compiled_template(app, make_shop):
    shops = [make_shop(f"shop{i}") for i in range(5)]
    client = app.test_client()
    for shop in shops:
        assert client.get("/", headers=host(shop)).status_code == 200
    keys = [key for key in app.jinja_env.cache if key[-1] == "index.html"]
    assert keys == [("theme", "classic", "index.html")] or keys == [("base", "index.html")]


def test_the_template_cache_is_a_bounded_lru(app):
    assert app.jinja_env.cache.maxsize == app.config["TEMPLATE_CACHE_SIZE"]
    assert app.jinja_env.sandbox.cache is app.jinja_env.cache


def test_production_reuses_compiled_templates(app, make_shop):
    shop = make_shop("acme")
    write(app, "acme", "templates/index.html", "<p>v1</p>")
    client = app.test_client()
    assert "v1" in client.get("/", headers=host(shop)).text
    path = write(app, "acme", "templates/index.html", "<p>v2</p>")
    os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    assert "v1" in client.get("/", headers=host(shop)).text


@pytest.mark.settings(TEMPLATES_AUTO_RELOAD=True)
def test_development_picks_up_template_edits_without_restart(app, make_shop):
    shop = make_shop("acme")
    client = app.test_client()
    assert "v1" not in client.get("/", headers=host(shop)).text
    path = write(app, "acme", "templates/index.html", "<p>v1</p>")
    assert "v1" in client.get("/", headers=host(shop)).text
    path.write_text("<p>v2</p>")
    os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    assert "v2" in client.get("/", headers=host(shop)).text


def test_branding_becomes_css_custom_properties(app, make_shop):
    shop = make_shop(
        "acme",
        settings='name = "Acme"\n[branding]\nprimary_color = "#123456"\n'
        'font_family = "Inter; } body { display:none"\n',
    )
    css = app.test_client().get("/branding.css", headers=host(shop))
    assert css.mimetype == "text/css"
    assert "--color-primary: #123456;" in css.text
    assert "}" not in css.text.split("--font-body:")[1].split(";")[0]


def test_static_files_resolve_shop_then_theme_then_base(app, make_shop):
    shop, other = make_shop("acme"), make_shop("globex")
    write(app, "acme", "static/css/shop.css", "/* acme own */")
    write(app, "acme", "static/css/theme.css", "/* acme replaces the theme css */")
    client = app.test_client()
    assert "acme own" in client.get("/static/css/shop.css", headers=host(shop)).text
    assert "acme own" not in client.get("/static/css/shop.css", headers=host(other)).text
    assert "acme replaces" in client.get("/static/css/theme.css", headers=host(shop)).text
    assert "Classic" in client.get("/static/css/theme.css", headers=host(other)).text
    assert client.get("/static/css/base.css", headers=host(shop)).status_code == 200
    assert client.get("/static/nope.css", headers=host(shop)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/../tenant.toml",
        "/static/%2e%2e/tenant.toml",
        "/static/..%2ftenant.toml",
        "/static/%2e%2e%2f%2e%2e%2fconfig.py",
        "/static//etc/passwd",
        "/static/css/..%5c..%5ctenant.toml",
        "/static/%00.css",
        "/static/link-out.txt",
    ],
)
def test_static_refuses_traversal_absolute_paths_and_links_out(app, make_shop, path, tmp_path):
    shop = make_shop("acme")
    secret = tmp_path / "outside.txt"
    secret.write_text("TOP SECRET")
    static = tenant_folder(app, "acme") / "static"
    (static / "link-out.txt").symlink_to(secret)
    # Werkzeug folds "//" with a 308 to the single-slash path; following it must end in 404.
    response = app.test_client().get(path, headers=host(shop), follow_redirects=True)
    assert response.status_code == 404
    assert "TOP SECRET" not in response.text
    assert "name =" not in response.text


def test_static_urls_are_fingerprinted_and_cached_long(app, make_shop):
    shop = make_shop("acme")
    client = app.test_client()
    page = client.get("/", headers=host(shop)).text
    assert "/static/css/base.css?v=" in page
    url = page.split('href="/static/css/base.css?v=')[1].split('"')[0]
    response = client.get(f"/static/css/base.css?v={url}", headers=host(shop))
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    again = client.get(
        f"/static/css/base.css?v={url}",
        headers={**host(shop), "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    plain = client.get("/static/css/base.css", headers=host(shop))
    assert "max-age=300" in plain.headers["Cache-Control"]


def test_theme_cli_list_check_override(app, runner, make_shop):
    make_shop("acme")
    listed = runner.invoke(["theme", "list"])
    assert listed.exit_code == 0
    assert "classic" in listed.output
    assert "minimal" in listed.output
    assert runner.invoke(["theme", "check", "acme"]).exit_code == 0
    done = runner.invoke(["theme", "override", "acme", "layout_sections/footer.html"])
    assert done.exit_code == 0, done.output
    copied = tenant_folder(app, "acme") / "templates/layout_sections/footer.html"
    assert "classic-footer" in copied.read_text()
    again = runner.invoke(["theme", "override", "acme", "layout_sections/footer.html"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert runner.invoke(["theme", "override", "acme", "nope.html"]).exit_code == 1
    write(app, "acme", "templates/broken.html", "{% if %}\n")
    bad = runner.invoke(["theme", "check", "acme"])
    assert bad.exit_code == 1
    assert "broken.html:1" in bad.output


def test_a_new_override_shows_after_cache_clear_and_never_in_another_shop(app, runner, make_shop):
    """Includes answer from a memo of compiled templates per shop chain: it follows the
    shop's cache generation and holds one shop's override only for that shop."""
    acme, globex = make_shop("acme"), make_shop("globex")
    client = app.test_client()
    for shop in (acme, globex):  # both chains remembered with the theme's footer
        assert "ACME FOOTER" not in client.get("/", headers=host(shop)).text
    write(app, "acme", "templates/layout_sections/footer.html", "<footer>ACME FOOTER</footer>")
    assert runner.invoke(["cache", "clear", "acme"]).exit_code == 0
    assert "ACME FOOTER" in client.get("/", headers=host(acme)).text
    assert "ACME FOOTER" not in client.get("/", headers=host(globex)).text


@pytest.mark.settings(SHOP_PAGE_CACHE=False)  # the page itself would be kept otherwise
def test_clearing_the_template_cache_forgets_every_remembered_template(app, make_shop):
    shop = make_shop("acme")
    path = write(app, "acme", "templates/index.html", "<p>v1</p>")
    client = app.test_client()
    assert "v1" in client.get("/", headers=host(shop)).text
    assert app.jinja_env.layers.loaded
    path.write_text("<p>v2</p>")
    app.jinja_env.cache.clear()
    assert not app.jinja_env.layers.loaded
    assert "v2" in client.get("/", headers=host(shop)).text
