"""tenantctl: shop lifecycle and domains, through Typer's CliRunner on the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.tenancy.models import Domain, Tenant


def test_create_scaffolds_folder_rows_roles_and_owner(app, runner):
    result = runner.invoke(
        [
            "create",
            "acme",
            "--name",
            "Acme Supplies",
            "--domain",
            "ACME.test",
            "--domain",
            "www.acme.test",
            "--owner",
            "boss@example.com",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created shop acme" in result.output
    folder = Path(app.config["TENANTS_DIR"]) / "acme"
    settings = (folder / "tenant.toml").read_text()
    assert 'name = "Acme Supplies"' in settings
    assert settings.startswith("#")
    assert (folder / "templates").is_dir()
    assert (folder / "static").is_dir()
    shown = json.loads(runner.invoke(["show", "acme", "--json"]).output)[0]
    assert shown["primary_domain"] == "acme.test"
    assert shown["domains"] == ["acme.test", "www.acme.test"]
    assert shown["users"] == 1
    users = runner.invoke(["user", "list", "acme", "--json"])
    assert json.loads(users.output)[0]["roles"] == ["owner"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "Bad Slug", "--name", "X", "--domain", "x.test"], "invalid slug"),
        (["create", "shop", "--name", "X", "--domain", "not a host"], "invalid domain"),
        (["create", "shop", "--name", "X", "--domain", "127.0.0.1"], "IP address"),
        (["create", "shop", "--name", "", "--domain", "s.test"], "display name"),
        (
            ["create", "shop", "--name", "X", "--domain", "s.test", "--theme", "neon"],
            "unknown theme",
        ),
        (
            ["create", "shop", "--name", "X", "--domain", "s.test", "--owner", "nope"],
            "invalid email",
        ),
    ],
)
def test_create_user_errors_are_one_line_and_leave_nothing(app, runner, args, message):
    result = runner.invoke(args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(Path(app.config["TENANTS_DIR"]).iterdir())
    with app.app_context():
        assert db.session.scalars(select(Tenant)).all() == []


def test_a_host_claimed_by_another_shop_is_refused_with_its_slug(app, runner):
    assert runner.invoke(["create", "acme", "--name", "A", "--domain", "acme.test"]).exit_code == 0
    result = runner.invoke(["create", "evil", "--name", "E", "--domain", "Acme.Test."])
    assert result.exit_code == 1
    assert "already claimed by shop 'acme'" in result.output
    assert not (Path(app.config["TENANTS_DIR"]) / "evil").exists()
    assert runner.invoke(["create", "globex", "--name", "G", "--domain", "g.test"]).exit_code == 0
    refused = runner.invoke(["domain", "add", "globex", "acme.test"])
    assert refused.exit_code == 1
    assert "'acme'" in refused.output


def test_create_is_all_or_nothing_when_a_late_step_fails(app, runner):
    from storefront.tenancy.signals import shop_created

    def explode(sender, **extra) -> None:
        raise RuntimeError("disk full")

    shop_created.connect(explode)  # a subscriber failing after the others set up
    try:
        with pytest.raises(RuntimeError):
            runner.invoke(["create", "acme", "--name", "Acme", "--domain", "acme.test"])
    finally:
        shop_created.disconnect(explode)
    assert not list(Path(app.config["TENANTS_DIR"]).iterdir())
    with app.app_context():
        assert db.session.scalars(select(Tenant)).all() == []
        assert db.session.scalars(select(Domain)).all() == []


def test_list_filters_and_json(runner):
    runner.invoke(["create", "acme", "--name", "Acme", "--domain", "acme.test"])
    runner.invoke(["create", "globex", "--name", "Globex", "--domain", "globex.test"])
    runner.invoke(["suspend", "globex", "--reason", "unpaid"])
    table = runner.invoke(["list"])
    assert table.exit_code == 0
    assert "acme" in table.output
    assert "globex" in table.output
    suspended = json.loads(runner.invoke(["list", "--status", "suspended", "--json"]).output)
    assert [row["slug"] for row in suspended] == ["globex"]
    assert suspended[0]["suspended_reason"] == "unpaid"


def test_domain_add_primary_remove_list(runner, client):
    runner.invoke(["create", "acme", "--name", "Acme", "--domain", "acme.test"])
    # Pending until proven (tests/test_domain_verification.py); the operator vouches here.
    assert runner.invoke(["domain", "add", "acme", "Shop.Acme.Test", "--trust"]).exit_code == 0
    assert client.get("/", headers={"Host": "shop.acme.test"}).status_code == 301
    assert runner.invoke(["domain", "primary", "acme", "shop.acme.test"]).exit_code == 0
    assert client.get("/", headers={"Host": "shop.acme.test"}).status_code == 200
    refused = runner.invoke(["domain", "remove", "acme", "shop.acme.test"])
    assert refused.exit_code == 1
    assert "primary" in refused.output
    assert runner.invoke(["domain", "remove", "acme", "acme.test"]).exit_code == 0
    assert client.get("/", headers={"Host": "acme.test"}).status_code == 404
    listed = json.loads(runner.invoke(["domain", "list", "acme", "--json"]).output)
    assert [(d["hostname"], d["primary"], d["status"]) for d in listed] == [
        ("shop.acme.test", True, "verified")
    ]


def test_suspend_and_resume_reach_the_running_app(runner, client):
    runner.invoke(["create", "acme", "--name", "Acme", "--domain", "acme.test"])
    assert runner.invoke(["suspend", "acme", "--reason", "Back on Monday"]).exit_code == 0
    page = client.get("/", headers={"Host": "acme.test"})
    assert page.status_code == 503
    assert "Back on Monday" in page.text
    assert runner.invoke(["resume", "acme"]).exit_code == 0
    assert client.get("/", headers={"Host": "acme.test"}).status_code == 200


def test_unknown_shop_is_a_one_line_error(runner):
    for args in (
        ["show", "ghost"],
        ["suspend", "ghost"],
        ["domain", "list", "ghost"],
        ["user", "list", "ghost"],
    ):
        result = runner.invoke(args)
        assert result.exit_code == 1
        assert "no shop 'ghost'" in result.output


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(["db", "upgrade"])
    assert result.exit_code == 0
    assert "database at head" in result.output


def test_help_reads_well(runner):
    result = runner.invoke(["--help"])
    assert result.exit_code == 0
    for command in ("create", "list", "suspend", "domain", "user", "db", "demo"):
        assert command in result.output


def test_demo_is_idempotent(app, runner, demo_tenants, client):
    first = runner.invoke(["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(["demo"])
    assert second.exit_code == 0
    assert "created" not in second.output
    assert "Acme Supplies" in client.get("/", headers={"Host": "acme.localhost"}).text
    assert "Globex Outfitters" in client.get("/", headers={"Host": "globex.localhost"}).text


def test_rename_changes_the_display_name_everywhere(app, runner, make_shop, client):
    shop = make_shop("acme")
    result = runner.invoke(["rename", "acme", "Acme & Sons"])
    assert result.exit_code == 0, result.output
    assert "Acme &amp; Sons" in client.get("/", headers={"Host": shop.primary_host}).text
    rows = json.loads(runner.invoke(["show", "acme", "--json"]).output)
    assert rows[0]["name"] == "Acme & Sons"
    assert runner.invoke(["rename", "nope", "X"]).exit_code == 1
    assert runner.invoke(["rename", "acme", ""]).exit_code == 1  # validated: name required


def test_db_current_and_check_report_the_revision(runner):
    current = runner.invoke(["db", "current"])
    assert current.exit_code == 0 and "head" in current.output.lower()
    assert runner.invoke(["db", "check"]).exit_code == 0


def test_shell_binds_the_named_shop(app, runner, make_shop, monkeypatch):
    from storefront.catalog import services as catalog
    from storefront.catalog.models import Product
    from storefront.cli import shops as shop_cmds
    from storefront.extensions import db
    from storefront.tenancy import tenant_context

    for slug in ("acme", "globex"):
        ctx = make_shop(slug)
        with app.app_context(), tenant_context(ctx):
            catalog.create_product(f"{slug}-1", f"{slug} thing", 100)
            db.session.commit()
    seen = {}

    def interact(namespace, banner):
        seen["banner"] = banner
        seen["titles"] = [
            p.title for p in namespace["db"].session.scalars(namespace["select"](Product))
        ]
        seen["shop"] = namespace["shop"].slug

    monkeypatch.setattr(shop_cmds, "_interact", interact)
    assert runner.invoke(["shell", "acme"]).exit_code == 0
    assert seen == {"banner": seen["banner"], "titles": ["acme thing"], "shop": "acme"}
    assert "acme is bound" in seen["banner"]
    assert runner.invoke(["shell", "nope"]).exit_code == 1


def test_operator_messages_say_what_is_wrong_in_words(app, runner):
    long_domain = "www.a-shop-with-a-rather-long-domain-name-for-its-list.example"
    made = runner.invoke(
        ["create", "acme", "--name", "Acme", "--domain", "acme.test", "--domain", long_domain]
    )
    assert made.exit_code == 0, made.output
    colour = runner.invoke(["config", "set", "acme", "branding.primary_color", "red"])
    assert colour.exit_code != 0
    assert "'red' is not a colour: write it as #1f4e79" in colour.output
    assert "pattern" not in colour.output
    theme = runner.invoke(
        ["create", "beta", "--name", "B", "--domain", "beta.test", "--theme", "nope"]
    )
    assert "unknown theme 'nope' (expected one of: classic, minimal)" in theme.output
    assert "tenant.toml" not in theme.output  # no file was written: none is named
    listed = runner.invoke(["list"])
    assert long_domain in listed.output  # never cut at 80 columns
    assert runner.invoke(["suspend", "acme", "--reason", "unpaid"]).exit_code == 0
    again = runner.invoke(["suspend", "acme", "--reason", "audit"])
    assert "was suspended already (reason: unpaid); the reason is now: audit" in again.output
