"""tenantctl user: accounts inside one shop."""

from __future__ import annotations

import json

from tests.fixtures.factories import host, login


def test_add_with_password_from_stdin_then_log_in(app, runner, make_shop):
    shop = make_shop("acme")
    result = runner.invoke(
        ["user", "add", "acme", "Boss@Example.com", "--role", "owner", "--password-stdin"],
        input="a-strong-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created boss@example.com" in result.output.lower()
    client = app.test_client()
    assert login(client, shop, "boss@example.com", "a-strong-password").status_code == 302
    assert client.get("/admin/", headers=host(shop)).status_code == 200


def test_add_without_password_prints_a_one_time_link_on_the_primary_domain(runner, make_shop):
    make_shop("acme", domains=("acme.test", "www.acme.test"))
    result = runner.invoke(["user", "add", "acme", "staff@example.com", "--role", "staff"])
    assert result.exit_code == 0
    assert "http://acme.test/reset/" in result.output


def test_list_grant_revoke_deactivate(app, runner, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, "x@example.com")
    assert runner.invoke(["user", "grant", "acme", "x@example.com", "staff"]).exit_code == 0
    rows = json.loads(runner.invoke(["user", "list", "acme", "--json"]).output)
    assert rows[0]["roles"] == ["customer", "manager"]  # "staff" is read as manager
    assert (
        json.loads(runner.invoke(["user", "list", "acme", "--role", "owner", "--json"]).output)
        == []
    )
    assert runner.invoke(["user", "revoke", "acme", "x@example.com", "staff"]).exit_code == 0
    client = app.test_client()
    assert login(client, shop, "x@example.com").status_code == 302
    assert runner.invoke(["user", "deactivate", "acme", "x@example.com"]).exit_code == 0
    assert client.get("/api/me", headers=host(shop)).status_code == 401  # session voided
    assert login(app.test_client(), shop, "x@example.com").status_code == 200  # refused


def test_set_password(app, runner, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, "x@example.com")
    result = runner.invoke(
        ["user", "set-password", "acme", "x@example.com", "--password-stdin"],
        input="changed-password\n",
    )
    assert result.exit_code == 0
    assert login(app.test_client(), shop, "x@example.com", "changed-password").status_code == 302


def test_user_errors_are_one_line(runner, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, "x@example.com")
    cases = [
        (["user", "add", "acme", "x@example.com"], "already has an account"),
        (["user", "add", "acme", "not-an-email"], "invalid email"),
        (["user", "add", "acme", "y@example.com", "--role", "god"], "unknown role"),
        (["user", "grant", "acme", "nobody@example.com", "staff"], "no account"),
        (["user", "revoke", "acme", "x@example.com", "owner"], "does not have the role"),
        (["user", "set-password", "acme", "x@example.com", "--password-stdin"], "at least 8"),
    ]
    for args, message in cases:
        result = runner.invoke(args, input="short\n")
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_same_email_in_two_shops_via_cli(runner, make_shop):
    make_shop("acme")
    make_shop("globex")
    for slug in ("acme", "globex"):
        assert runner.invoke(["user", "add", slug, "x@example.com"]).exit_code == 0
    assert len(json.loads(runner.invoke(["user", "list", "acme", "--json"]).output)) == 1


def test_token_prints_a_staff_api_token_and_refuses_customers(
    app, client, runner, make_shop, make_user
):
    shop = make_shop("acme")
    make_user(shop, "staff@example.com", roles=["staff"])
    make_user(shop, "x@example.com")
    result = runner.invoke(["user", "token", "acme", "staff@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.post(
        "/api/v1/admin/products",
        json={"sku": "A", "title": "A", "price": 1},
        headers={**host(shop), "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    refused = runner.invoke(["user", "token", "acme", "x@example.com"])
    assert refused.exit_code == 1 and "not staff" in refused.output
