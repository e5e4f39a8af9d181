"""A shop's templates are hostile wherever they sit in the template graph.

Every shipped template name is used as a shop override carrying probes for the context a
trusted page has (config, request, session, the app's internals); each page that reaches
it is rendered as a visitor, a shopper and the owner. Nothing may leak, nothing may run,
nothing may hang, and no answer may be a 500.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader

from storefront.catalog import services as catalog
from storefront.content import services as content
from storefront.extensions import cache, db
from storefront.home import services as home
from storefront.tenancy import tenant_context
from storefront.themes.loader import SHIPPED_THEMES_DIR
from storefront.themes.services import BASE_TEMPLATES
from tests.fixtures.factories import host, login, tenant_folder
from tests.test_commerce import add_to_cart, checkout

OWNER = "owner@example.com"
SHOPPER = "shopper@example.com"


def shipped_template_names() -> list[str]:
    names = set(FileSystemLoader(str(BASE_TEMPLATES)).list_templates())
    for theme in SHIPPED_THEMES_DIR.iterdir():
        if (theme / "templates").is_dir():
            names.update(FileSystemLoader(str(theme / "templates")).list_templates())
    return sorted(n for n in names if n.endswith(".html"))


# Probes that never raise: each prints a LEAK marker, or internals, only if reachable.
PROBES = "\n".join(
    [
        *(
            f"{{% if {name} is defined %}}LEAK-{name}{{% endif %}}"
            for name in (
                "config",
                "request",
                "session",
                "g",
                "security",
                "current_user",
                "current_app",
                "app",
                "_fsdomain",
                "lipsum",
            )
        ),
        *(
            f"{{% if {obj} is defined %}}[{{{{ {obj}|attr('{attr}')|default('') }}}}]{{% endif %}}"
            for obj, attr in (
                ("self", "_TemplateReference__context"),
                ("cycler", "__init__"),
                ("joiner", "__init__"),
                ("namespace", "__init__"),
                ("url_for", "__globals__"),
                ("csrf_token", "__globals__"),
                ("static_url", "__globals__"),
                ("''", "__class__"),
                ("shop", "__class__"),
                ("user", "__dict__"),
                ("form", "meta"),
                ("form", "_fields"),
                ("loop", "__class__"),
                ("product", "query"),
                ("order", "lines"),
            )
        ),
        "{% macro m() %}{% endmacro %}[{{ m|attr('_func')|default('') }}]",
        "[{{ m|attr('__globals__')|default('') }}]",
        "PROBED",
    ]
)
LEAKS = re.compile(r"LEAK-|bound method|<function|<class|__globals__|builtins|<module")


@pytest.fixture
def world(app, make_shop, make_user):
    """Acme with a product, a category, an owner and a shopper with an order."""
    shop = make_shop("acme")
    make_user(shop, OWNER, roles=["owner"])
    make_user(shop, SHOPPER)
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools", "tools")
        catalog.create_product("SKU-1", "TNT <i>Crate</i>", 1999, stock=50, categories=["tools"])
        content.save_page(None, slug="shipping", title="Ship", body="We **ship**.", published=True)
        # The home page's sections (home/sections.html): one of each kind the theme offers.
        for kind in home.offered():
            home.save_section(home.add_section(kind), "en_US", {}, {"heading": kind})
        db.session.commit()
    shopper = app.test_client()
    login(shopper, shop, SHOPPER)
    add_to_cart(shopper, shop, "tnt-i-crate-i")
    assert checkout(shopper, shop, email=SHOPPER).status_code == 302
    add_to_cart(shopper, shop, "tnt-i-crate-i")  # a cart to show on /cart and /checkout
    owner = app.test_client()
    login(owner, shop, OWNER)
    return shop, {"visitor": app.test_client(), "shopper": shopper, "owner": owner}


PAGES = [
    "/",
    "/products",
    "/c/tools",
    "/search?q=crate",
    "/p/tnt-i-crate-i",
    "/pages/shipping",
    "/cart/",
    "/checkout",
    "/login",
    "/register",
    "/reset",
    "/confirm",
    "/account",
    "/account/addresses",
    "/account/addresses/new",
    "/change",
    "/verify",
    "/orders/ACME-1001",
    "/no-such-page",
    "/admin/",
    "/admin/products",
    "/admin/orders/ACME-1001",
    "/admin/settings",
    "/privacy",
    "/account/privacy",
    "/tf-setup",
    "/mf-recovery-codes",
    "/wan-register",
    "/wan-signin",
    "/wan-verify",
    "/account/reviews",
    "/p/tnt-i-crate-i/reviews",
]


def override(app, slug: str, name: str, text: str) -> Path:
    path = tenant_folder(app, slug) / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    app.jinja_env.layers.invalidate()  # production notices within REGISTRY_POLL_SECONDS
    with app.app_context():  # and renders kept under the shop's key (a new generation)
        cache.clear()
    return path


def assert_safe(app, response, where) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code != 500, where
    assert not LEAKS.search(body), (where, LEAKS.search(body).group(0))
    assert app.config["SECRET_KEY"] not in body, where
    assert "sqlite:" not in body and "mysql" not in body and "redis://" not in body, where


# Templates no page above shows as output: imported macros (their output is discarded),
# the dashboard's (it never uses a shop's templates), the platform's own page.
# Reset needs a mailed token; _messages.html is Flask-Security's, unused by these pages.
# Mails are no page: their overrides are tried in tests/test_mail_themes.py. Deleting an
# address asks on a page of its own, which needs a saved address (tests/test_addresses.py
# renders it in a shop's sandboxed layout). The code and recovery-code pages of a sign-in
# show only between the password and the code of an account with a second factor
# (tests/test_second_factor.py goes through them), and so does the choice between an app
# and a passkey for that step (tests/test_passkeys.py). A review's form needs a paid
# order line (tests/test_reviews.py), a cart reminder's page, a review invitation's
# unsubscribe page and a staff invitation's their mailed links
# (tests/test_cart_reminders.py, tests/test_review_invitations.py,
# tests/test_staff_invitations.py). The closed page shows only for a shop closed for
# non-payment (tests/test_billing.py renders it in the shop's look), like the suspended
# one for a suspended shop.
NOT_SHOWN = re.compile(
    r"^(admin/|platform/)|_macros\.html$|^macros\.html$|^errors/(suspended|closed)"
    r"|^security/(_messages|reset_password)\.html$|(^|/)mail/|^security/email/"
    r"|^reviews/(form|unsubscribe)\.html$|^reminders/|^account/staff_invitation\.html$"
    r"|^account/address_delete\.html$|^security/(two_factor_verify_code|two_factor_select|mf_recovery)\.html$"
)


@pytest.mark.parametrize("name", shipped_template_names())
def test_every_template_name_as_an_override_reaches_only_the_curated_context(app, world, name):
    shop, clients = world
    override(app, "acme", name, PROBES)
    shown = False
    for who, client in clients.items():
        for path in PAGES:
            response = client.get(path, headers=host(shop))
            assert_safe(app, response, (name, who, path))
            shown = shown or "PROBED" in response.text
    assert shown or NOT_SHOWN.search(name), f"no page rendered the override of {name}"


# Payloads that must stop the page (403/503 on the shop's error page), never run.
RAISING = {
    "config": "{{ config.SECRET_KEY }}",
    "config_items": "{{ config.items()|list }}",
    "from_pyfile": "{{ config.from_pyfile('/etc/passwd') }}",
    "request_environ": "{{ request.environ }}",
    "session": "{{ session._user_id }}",
    "mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os }}",
    "joiner_globals": "{{ joiner.__init__.__globals__ }}",
    "namespace_globals": "{{ namespace.__init__.__globals__ }}",
    "self_context": "{{ self._TemplateReference__context.config }}",
    "macro_globals": "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "loop": "{% for x in [1] %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "url_for_globals": "{{ url_for.__globals__['current_app'].config }}",
    "dict_update": "{{ shop.__dict__.keys()|list }}",
    "range_bomb": "{% for i in range(10**12) %}{% endfor %}",
    "nested_loops": (
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    ),
    "string_bomb": "{{ 'x' * 200000000 }}",
    "power_bomb": "{{ 10 ** 100000 }}",
    "doubling": (
        "{% set ns = namespace(s='xxxxxxxxxx') %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "center": "{{ 'x'|center(1000000000) }}",
    "str_center": "{{ 'x'.center(1000000000) }}",
    "format_width": "{{ '%1000000000s'|format('x') }}",
    "brace_format": "{{ '{:>1000000000}'.format('x') }}",
    "replace_bomb": "{{ ('x' * 100000).replace('x', 'y' * 100000) }}",
    "url_for_nope": "{{ url_for('nope') }}",
    "tojson_unsafe": "{{ url_for|tojson }}",
    "recursive_include": '{% include "__SELF__" %}',
    "recursive_macro": "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}",
    "output_bomb": "{% for i in range(10000) %}{{ 'x' * 999999 }}{% endfor %}",
}
# Where shop text sits in the graph: a page itself, the parent of trusted pages, an
# include of the layout, an import of the layout, the security pages' parent.
POSITIONS = {
    "index.html": ("/", ("visitor", "owner")),
    "layout.html": ("/login", ("visitor",)),
    "security/_form_page.html": ("/register", ("visitor",)),
    "layout_sections/top_navbar.html": ("/products", ("visitor", "owner")),
    "macros.html": ("/cart/", ("visitor", "shopper")),
    "catalog/product.html": ("/p/tnt-i-crate-i", ("shopper",)),
}


@pytest.mark.settings(TEMPLATE_RENDER_SECONDS=1.0)
@pytest.mark.parametrize("payload", sorted(RAISING))
def test_hostile_payloads_stop_on_an_error_page_anywhere_in_the_graph(app, world, payload):
    shop, clients = world
    for name, (path, who_sees) in POSITIONS.items():
        override(app, "acme", name, RAISING[payload].replace("__SELF__", name))
        for who in who_sees:
            started = time.monotonic()
            response = clients[who].get(path, headers=host(shop))
            elapsed = time.monotonic() - started
            assert response.status_code in (403, 503), (payload, name, who, response.status_code)
            assert_safe(app, response, (payload, name, who))
            assert "Acme" in response.text  # the shop's error page, not a bare one
            assert elapsed < 5, (payload, name, elapsed)
        (tenant_folder(app, "acme") / "templates" / name).unlink()


def test_the_dashboard_never_renders_a_shops_templates(app, world):
    shop, clients = world
    override(app, "acme", "admin/layout.html", "OWNED {{ config.SECRET_KEY }}")
    override(app, "acme", "admin/index.html", "OWNED")
    response = clients["owner"].get("/admin/", headers=host(shop))
    assert response.status_code == 200
    assert "OWNED" not in response.text


def test_the_reviews_exploit_no_longer_reads_the_secret_key(app, world):
    """A layout override read config.SECRET_KEY from every page that extends it."""
    shop, clients = world
    override(app, "acme", "layout.html", "<p id=k>{{ config['SECRET_KEY'] }}</p>")
    for who, client in clients.items():
        for path in ("/", "/products", "/cart/"):
            response = client.get(path, headers=host(shop))
            assert response.status_code == 503, (who, path)
            assert_safe(app, response, (who, path))


def test_overrides_escape_exactly_like_trusted_templates(app, world):
    shop, clients = world
    override(app, "acme", "layout_sections/footer.html", "<footer>{{ shop.name }}</footer>")
    override(
        app,
        "acme",
        "catalog/product.html",
        '{% extends "@theme/catalog/product.html" %}'
        "{% block title %}{{ product.title }}{% endblock %}",
    )
    page = clients["visitor"].get("/p/tnt-i-crate-i", headers=host(shop)).text
    assert "<i>Crate</i>" not in page
    assert "TNT &lt;i&gt;Crate&lt;/i&gt;" in page


def test_a_slow_template_of_one_shop_leaves_another_shop_served(app, world, make_shop):
    shop, clients = world
    other = make_shop("globex")
    override(
        app,
        "acme",
        "index.html",
        "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
    )
    started = time.monotonic()
    assert clients["visitor"].get("/", headers=host(shop)).status_code == 503
    assert time.monotonic() - started < 5
    assert app.test_client().get("/", headers=host(other)).status_code == 200


def test_an_edited_override_shows_after_cache_clear_in_production(app, runner, world):
    shop, clients = world
    assert not app.jinja_env.auto_reload
    path = override(app, "acme", "index.html", "<p>FIRST</p>")
    assert "FIRST" in clients["visitor"].get("/", headers=host(shop)).text
    path.write_text("<p>SECOND</p>")
    result = runner.invoke(["cache", "clear", "acme"])
    assert result.exit_code == 0, result.output
    page = app.test_client().get("/", headers=host(shop)).text
    assert "SECOND" in page and "FIRST" not in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ config.SECRET_KEY }}", "'config'"),
        ("{{ shop._sa_instance_state }}", "_sa_instance_state"),
        ("{% for i in range(10**12) %}{% endfor %}", "budget"),
        ("{{ 'x' * 200000000 }}", "budget"),
    ],
)
def test_theme_check_fails_a_shop_whose_templates_break_the_rules(
    app, runner, world, text, expected
):
    override(app, "acme", "index.html", text)
    for command in (["theme", "check", "acme"], ["check", "acme"]):
        result = runner.invoke(command)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.output, (command, result.output)


def test_theme_check_fails_a_shop_whose_branding_names_a_missing_file(app, runner, world):
    assert (
        runner.invoke(["config", "set", "acme", "branding.logo", "img/missing.svg"]).exit_code == 0
    )
    for command in (["theme", "check", "acme"], ["check", "acme"]):
        result = runner.invoke(command)
        assert result.exit_code == 1, (command, result.output)
        assert "missing.svg" in result.output


def test_a_shop_with_its_own_templates_still_registers_mails_and_sells(
    app, make_shop, product, outbox
):
    """Everything of such a shop renders sandboxed: account mails get views, not rows."""
    from tests.fixtures.factories import register

    shop = make_shop("acme")
    override(app, "acme", "layout_sections/footer.html", "<footer>OWN FOOTER</footer>")
    product(shop, "anvil")
    client = app.test_client()
    answer = register(client, shop, "new@example.com")
    assert answer.status_code in (200, 302), answer.status_code
    add_to_cart(client, shop, "anvil")
    assert checkout(client, shop, email="new@example.com").status_code == 302
    page = client.get("/orders/ACME-1001", headers=host(shop))
    assert page.status_code == 200 and "OWN FOOTER" in page.text
    subjects = [m.subject for m in outbox]
    assert any("ACME-1001" in s for s in subjects), subjects
    assert any("new@example.com" in m.body for m in outbox if "ACME" not in m.subject)
