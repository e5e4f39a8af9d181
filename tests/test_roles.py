"""Staff roles: every dashboard route and action, walked with every role.

The walk enumerates the app's URL map (every rule under ``/admin``), so a page added
later is walked too; a route that declares no permission fails
``test_every_dashboard_route_declares_its_permission`` (and is refused to everyone).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storefront.accounts import staff as staff_service
from storefront.accounts.dashboard import declared
from storefront.accounts.models import StaffInvitation, User
from storefront.api.access import declared as declared_access
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.content import services as content
from storefront.extensions import db
from storefront.orders.models import Order
from storefront.permissions import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    STAFF_ROLES,
    check_vocabulary,
    role_permissions,
)
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login
from tests.test_commerce import add_to_cart, checkout

ROLES = (*reversed(STAFF_ROLES), "customer")  # the owner last: its actions change things


def test_the_vocabulary_is_one_and_every_api_scope_is_a_permission(app):
    check_vocabulary()
    from storefront.accounts import tokens

    assert set(tokens.SCOPES) <= set(PERMISSIONS)
    for rule in app.url_map.iter_rules():
        access = declared_access(app.view_functions[rule.endpoint])
        if access is not None and access.scope is not None:
            assert access.scope in PERMISSIONS, rule.rule
    assert ROLE_PERMISSIONS["owner"] >= {"staff:write", "domains:write", "keys:write"}
    assert ROLE_PERMISSIONS["owner"] >= {"payments:write", "settings:write"}
    # Nobody but the owner manages the staff, domains, keys, payments or settings.
    for role in STAFF_ROLES[1:]:
        assert not role_permissions(role) & {
            "staff:write",
            "staff:read",
            "domains:write",
            "keys:write",
            "payments:write",
            "settings:write",
        }, role
    assert role_permissions("customer") == frozenset()
    assert all(p.endswith(":read") for p in role_permissions("read_only"))


def _dashboard_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule == "/admin" or rule.rule.startswith("/admin/")
    ]


def test_every_dashboard_route_declares_its_permission(app):
    rules = _dashboard_rules(app)
    assert len(rules) > 50  # the walk below sees the whole dashboard
    undeclared = [r.rule for r in rules if declared(app.view_functions[r.endpoint]) is None]
    assert undeclared == [], f"declare a permission (@permission) on {undeclared}"


def test_a_route_that_declares_nothing_is_refused_even_to_the_owner(app, make_shop, make_user):
    from flask import Blueprint

    from storefront.accounts.dashboard import protect

    shop = make_shop("acme")
    make_user(shop, "owner@example.com", roles=["owner"])
    probe = Blueprint("admin_probe", __name__, url_prefix="/admin/probe")
    protect(probe)
    probe.add_url_rule("/", "index", lambda: "secret")
    app.register_blueprint(probe)
    client = app.test_client()
    login(client, shop, "owner@example.com")
    answer = client.get("/admin/probe/", headers=host(shop))
    assert answer.status_code == 403 and "secret" not in answer.text


SAMPLES = {
    "product_id": None,  # filled in from the shop
    "user_id": None,
    "page_id": None,
    "number": None,
    "slug": "tools",
    "host": "acme.test",
    "code_id": 1,
    "key_id": 1,
    "endpoint_id": 1,
    "delivery_id": 1,
    "transfer_id": 1,
    "row_id": 1,
    "image_id": 1,
    "variant_id": 1,
    "index": 0,
    "code": "DE",
    "redirect_id": 1,
    "review_id": 1,
    "card_id": 1,
    "section_id": 1,  # a home page section (absent: its pages answer 404 to every role)
    "invitation_id": None,
    "fmt": "csv",
}


@pytest.fixture
def staffed(app, make_shop, make_user, product):
    """Acme with one account per role, a product, a category, a page, an order, a
    customer, an invitation and a member to remove; the samples for the URL map."""
    shop = make_shop("acme")
    for role in ROLES:
        make_user(shop, f"{role}@example.com", roles=[role])
    make_user(shop, "extra-owner@example.com", roles=["owner"])
    make_user(shop, "victim@example.com", roles=["read_only"])
    product(shop, "anvil", stock=20)
    shopper = app.test_client()
    add_to_cart(shopper, shop, "anvil")
    assert checkout(shopper, shop).status_code == 302
    with app.app_context(), tenant_context(shop):
        catalog.create_category("Tools", "tools")
        page = content.save_page(None, title="About", slug="about", body="Hello")
        invitation = staff_service.invite("new@example.com", "support", None)
        db.session.commit()
        samples = dict(SAMPLES)
        samples["product_id"] = db.session.scalar(select(Product.id))
        samples["user_id"] = db.session.scalar(
            select(User.id).where(User.email == "victim@example.com")
        )
        samples["page_id"] = page.id
        samples["number"] = db.session.scalar(select(Order.number))
        samples["invitation_id"] = invitation.id
    return shop, samples


def _client(app, shop, role):
    client = app.test_client()
    assert login(client, shop, f"{role}@example.com").status_code == 302
    # Any page with a form gives the session's CSRF token (one per session, every form).
    token = csrf_from(client.get("/account/addresses/new", headers=host(shop)).text)
    return client, token


def test_every_dashboard_route_and_action_by_every_role(app, staffed):
    shop, samples = staffed
    rules = _dashboard_rules(app)
    seen: dict[str, set[str]] = {}
    for role in ROLES:
        client, token = _client(app, shop, role)
        allowed_set = role_permissions(role)
        for rule in rules:
            needs = declared(app.view_functions[rule.endpoint])
            url = _url(rule, samples)
            for method in sorted({"GET", "POST"} & set(rule.methods or ())):
                may = any(name in allowed_set for name in needs.for_method(method))
                if method == "GET":
                    answer = client.get(url, headers=host(shop))
                else:
                    answer = client.post(url, data={"csrf_token": token}, headers=host(shop))
                where = f"{role} {method} {url} -> {answer.status_code}"
                if may:
                    assert answer.status_code != 403, where
                    assert answer.status_code < 500, where
                    if method == "GET" and not rule.arguments and not url.endswith(".csv"):
                        assert answer.status_code in (200, 302), where
                else:
                    assert answer.status_code == 403, where
                    assert "Not allowed" in answer.text or "not allowed" in answer.text, where
                seen.setdefault(role, set()).add(f"{method} {rule.rule}")
    assert all(len(walked) == len(seen["owner"]) for walked in seen.values())


def _url(rule, samples):
    values = {name: samples[name] for name in rule.arguments}
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_the_navigation_shows_what_the_role_opens_and_nothing_more(app, staffed):
    shop, _samples = staffed
    expectations = {
        "owner": {"/admin/staff/": True, "/admin/settings": True, "/admin/orders": True},
        "catalog_editor": {"/admin/products": True, "/admin/orders": False},
        "fulfilment": {"/admin/orders": True, "/admin/products": True, "/admin/customers": False},
        "support": {"/admin/customers": True, "/admin/api-keys/": False},
        "read_only": {"/admin/orders": True, "/admin/staff/": False, "/admin/settings": False},
        "manager": {"/admin/orders": True, "/admin/staff/": False, "/admin/domains/": False},
    }
    for role, links in expectations.items():
        client, _token = _client(app, shop, role)
        page = client.get("/admin/", headers=host(shop))
        assert page.status_code == 200, role
        nav = page.text.split('class="admin-nav"', 1)[1].split("</nav>", 1)[0]
        for link, shown in links.items():
            assert (f'href="{link}"' in nav) is shown, (role, link)


def test_the_refusal_is_the_shops_page_in_the_readers_language(app, make_shop, make_user):
    shop = make_shop("acme", settings='name = "Acme Supplies"\nlocales = ["en_US", "de_DE"]\n')
    make_user(shop, "editor@example.com", roles=["catalog_editor"])
    client = app.test_client()
    login(client, shop, "editor@example.com")
    refused = client.get("/admin/orders", headers=host(shop))
    assert refused.status_code == 403
    assert "<html" in refused.text and "Acme Supplies" in refused.text
    assert "not allowed" in refused.text
    german = client.get("/de/admin/orders", headers=host(shop))
    assert german.status_code == 403 and 'lang="de' in german.text
    assert "not allowed" not in german.text


def test_staff_becomes_manager_and_tenantctl_takes_the_new_roles(app, runner, make_shop):
    make_shop("acme")
    assert runner.invoke(["user", "add", "acme", "a@example.com", "--role", "staff"]).exit_code == 0
    assert (
        runner.invoke(["user", "add", "acme", "b@example.com", "--role", "fulfilment"]).exit_code
        == 0
    )
    listed = runner.invoke(["user", "list", "acme", "--json"]).output
    assert '"manager"' in listed and '"fulfilment"' in listed and '"staff"' not in listed
    bad = runner.invoke(["user", "grant", "acme", "a@example.com", "janitor"])
    assert bad.exit_code == 1 and "unknown role" in bad.output


def test_the_invitation_and_the_roles_never_cross_shops(app, make_shop, make_user):
    acme, globex = make_shop("acme"), make_shop("globex")
    make_user(globex, "boss@example.com", roles=["owner"])
    with app.app_context(), tenant_context(acme):
        staff_service.invite("x@example.com", "manager", None)
        db.session.commit()
    with app.app_context(), tenant_context(globex):
        assert db.session.scalars(select(StaffInvitation)).all() == []
        assert [m.email for m in staff_service.members()] == ["boss@example.com"]


def test_the_permissions_table_in_the_docs_is_the_code():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| `([a-z]+:[a-z]+)` \|(.*)\|$", text, re.MULTILINE)
    assert rows, "docs/security.md lost its permissions table"
    for name, cells in rows:
        marks = [cell.strip() == "✓" for cell in cells.split("|")]
        holders = {role for role, mark in zip(STAFF_ROLES, marks, strict=True) if mark}
        assert holders == {r for r in STAFF_ROLES if name in role_permissions(r)}, name
    assert {name for name, _cells in rows} == set(ROLE_PERMISSIONS["owner"])


def test_an_archive_from_before_the_roles_comes_in_with_them(app, make_shop, make_user):
    """A shop archive holds its roles as rows: an old one names ``staff`` and lacks the
    newer roles; after the import its staff are managers and the shop has every role."""
    from sqlalchemy import delete, update

    from storefront.accounts import _roles_of_an_archive
    from storefront.accounts.models import SHOP_ROLES, Role

    shop = make_shop("acme")
    make_user(shop, "old@example.com", roles=["manager"])
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Role).where(Role.name == "manager").values(name="staff"))
        db.session.execute(delete(Role).where(Role.name.in_(["support", "read_only"])))
        db.session.commit()
        _roles_of_an_archive(shop, connection=db.session.connection())
        db.session.commit()
        assert set(db.session.scalars(select(Role.name))) == set(SHOP_ROLES)
        user = db.session.scalar(select(User).where(User.email == "old@example.com"))
        assert user.role_names == ["manager"] and user.has_permission("orders:write")
