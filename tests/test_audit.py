"""The audit trail (issue 32): every surface's changes recorded per shop with who, what,
when and from where; secrets masked; a hash chain per shop that ``tenantctl audit
verify`` checks and that names the first broken entry; concurrent writers that cannot
fork it; the owner's Activity page and exports; erasure and retention that keep it
verifiable; and shop archives that carry it."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from storefront.accounts.models import User
from storefront.audit import chain
from storefront.audit import services as audit
from storefront.audit.models import AuditEntry, AuditHead
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.db import unit_of_work
from storefront.extensions import db
from storefront.tenancy.context import all_tenants, tenant_context
from tests.fixtures.factories import csrf_from, host, login, tenant_folder

OWNER = "owner@example.com"


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    return client


def trail(app, shop) -> list[audit.EntryView]:
    """The shop's entries, oldest first, as the dashboard reads them."""
    with app.app_context(), tenant_context(shop):
        return [audit.view(e) for e in reversed(audit.entries(limit=1000))]


def verdict(app, shop) -> audit.Verdict:
    with app.app_context(), tenant_context(shop):
        return audit.verify()


def changes_of(entries, kind, op=None):
    return [
        c for e in entries for c in e.changes if c["type"] == kind and (op is None or c["op"] == op)
    ]


def new_product(app, shop, sku="A-1", title="Anvil", price=1999):
    with app.app_context(), tenant_context(shop):
        product = catalog.create_product(sku, title, price, stock=3)
        db.session.commit()
        return product.id


def post_form(client, shop, path, data):
    page = client.get(path, headers=host(shop))
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={"csrf_token": csrf_from(page.text), **data}, headers=host(shop))


# Who, what, when, from where: one source after another ---------------------------------


def test_a_dashboard_edit_is_recorded_with_account_fields_request_and_address(app, owner, shop):
    product_id = new_product(app, shop)
    edit = post_form(
        owner,
        shop,
        f"/admin/products/{product_id}",
        {
            "sku": "A-1",
            "title": "Big anvil",
            "price": "25",
            "slug": "anvil",
            "stock": "3",
            "active": "y",
        },  # fmt: skip
    )
    assert edit.status_code == 302
    last = trail(app, shop)[-1]
    with app.app_context(), tenant_context(shop):
        owner_id = db.session.scalar(select(User.id).where(User.email == OWNER))
    assert (last.actor_kind, last.actor_id, last.actor) == ("user", str(owner_id), OWNER)
    assert last.source == "dashboard" and last.address == "127.0.0.1"
    assert last.request_id == edit.headers["X-Request-ID"]
    (change,) = changes_of([last], "products", "update")
    assert change["id"] == product_id
    assert change["fields"]["price"] == {"old": 1999, "new": 2500}
    assert change["fields"]["title"] == {"old": "Anvil", "new": "Big anvil"}
    assert "updated_at" not in change["fields"]  # bookkeeping, not a decision
    assert verdict(app, shop).ok


def test_an_api_key_change_is_recorded_as_the_key(app, client, shop, make_user):
    from storefront.accounts import tokens

    product_id = new_product(app, shop)
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == OWNER))
        key = tokens.create_key(user, "integration")
        db.session.commit()
        key_id = key.key.id
    answer = client.patch(
        f"/api/v1/admin/products/{product_id}",
        json={"price": 4200},
        headers={**host(shop), "Authorization": f"Bearer {key.secret}"},
    )
    assert answer.status_code == 200, answer.text
    last = trail(app, shop)[-1]
    assert (last.actor_kind, last.actor_id, last.source) == ("api_key", str(key_id), "api")
    assert changes_of([last], "products")[0]["fields"]["price"] == {"old": 1999, "new": 4200}


def test_tenantctl_and_a_second_factor_reset_are_recorded_as_the_operator(
    app, runner, shop, make_user
):
    make_user(shop, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        user.tf_totp_secret, user.tf_primary_method = "JBSWY3DPEHPK3PXP-secret", "authenticator"
        db.session.commit()
    result = runner.invoke(["user", "reset-second-factor", "acme", "staff@example.com"])
    assert result.exit_code == 0, result.output
    last = trail(app, shop)[-1]
    assert (last.actor_kind, last.actor_id, last.source) == (
        "operator",
        "user reset-second-factor",
        "cli",
    )
    assert last.request_id.startswith("cli-") and last.actor  # the OS account
    assert changes_of([last], "second-factor-reset")
    (user_change,) = changes_of([last], "users", "update")
    assert user_change["fields"]["tf_totp_secret"] == {"old": "[masked]", "new": None}
    assert user_change["fields"]["tf_primary_method"]["old"] == "authenticator"
    with app.app_context(), all_tenants():
        bodies = " ".join(db.session.scalars(select(AuditEntry.body)))
        uniquifier = db.session.scalar(
            select(User.fs_uniquifier).where(User.email == "staff@example.com")
        )
    assert "JBSWY3DPEHPK3PXP" not in bodies and uniquifier not in bodies


def test_secrets_are_recorded_as_changed_never_with_their_values(app, runner, shop):
    from storefront.accounts import tokens

    result = runner.invoke(
        ["user", "set-password", "acme", OWNER, "--password-stdin"], input="a-new-password\n"
    )
    assert result.exit_code == 0
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(user, "ci").secret
        db.session.commit()
    entries = trail(app, shop)
    assert changes_of(entries, "users", "update")[-1]["fields"]["password"] == {
        "old": "[masked]",
        "new": "[masked]",
    }
    (key,) = changes_of(entries, "api_keys", "insert")
    assert key["fields"]["key_hash"] == {"new": "[masked]"}
    assert key["fields"]["name"] == {"new": "ci"}
    with app.app_context(), all_tenants():
        bodies = " ".join(db.session.scalars(select(AuditEntry.body)))
    assert "a-new-password" not in bodies and secret not in bodies and secret[8:] not in bodies


def test_a_payment_event_is_recorded_as_the_provider(app, make_shop):
    from storefront.tenancy.secrets import set_secret
    from tests.test_stripe import SHOP, WEBHOOK_SECRET, signed_post

    shop = make_shop("acme", settings=SHOP)
    set_secret(tenant_folder(app, "acme").parent, "acme", "stripe.webhook_secret", WEBHOOK_SECRET)
    event = {
        "id": "evt_audit1",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_x",
                            "metadata": {"order_number": "ACME-9999"},
                            "payment_status": "paid", "amount_total": 100, "currency": "usd"}},
    }  # fmt: skip
    answer = signed_post(app, shop, event)
    assert answer.status_code == 200, answer.text
    last = trail(app, shop)[-1]
    assert (last.actor_kind, last.actor_id, last.source) == (
        "payment",
        "stripe:evt_audit1",
        "payment",
    )
    (row,) = changes_of([last], "payment_events", "insert")
    assert row["fields"]["event_id"] == {"new": "evt_audit1"}


def test_a_job_is_recorded_as_the_system(app, shop, monkeypatch):
    from storefront.jobs import periodic

    new_product(app, shop)

    def reprice() -> None:
        db.session.scalar(select(Product).where(Product.sku == "A-1")).price = 1

    monkeypatch.setattr(periodic, "TASKS", (periodic.Task("reprice", 60, reprice),))
    with app.app_context():
        assert periodic.run_periodic(now=10**9 + 19) == 1  # the last second of a minute
    last = trail(app, shop)[-1]
    assert (last.actor_kind, last.actor_id, last.source) == ("system", "periodic:reprice", "job")
    assert changes_of([last], "products")[0]["fields"]["price"] == {"old": 1999, "new": 1}


def test_bulk_statements_and_deletes_are_recorded_and_rollbacks_are_not(app, shop):
    product_id = new_product(app, shop)
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Product).where(Product.sku == "A-1").values(stock=9))
        db.session.commit()
        db.session.get(Product, product_id).title = "Never saved"
        db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(Product, product_id))
        db.session.commit()
    entries = trail(app, shop)
    (bulk,) = changes_of(entries, "products", "update-where")
    assert bulk["fields"] == {"stock": {"new": 9}} and bulk["where"] == {"sku": "A-1"}
    (gone,) = changes_of(entries, "products", "delete")
    assert gone["id"] == product_id and gone["fields"]["title"] == {"old": "Anvil"}
    assert "Never saved" not in json.dumps([e.changes for e in entries])
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert verdict(app, shop).ok


def test_one_entry_per_transaction_however_many_flushes(app, shop):
    with app.app_context(), tenant_context(shop):
        before = len(audit.entries(limit=1000))
        for n in range(5):
            catalog.create_product(f"B-{n}", f"Bolt {n}", 100, stock=1)
            db.session.flush()
        db.session.commit()
        after = audit.entries(limit=1000)
    assert len(after) == before + 1
    assert len(changes_of([audit.view(after[0])], "products", "insert")) == 5


# The chain ------------------------------------------------------------------------------


def tamper(app, shop, seq, **values):
    with app.app_context(), all_tenants():
        db.session.execute(
            update(AuditEntry)
            .where(AuditEntry.tenant_id == shop.id, AuditEntry.seq == seq)
            .values(**values)
        )
        db.session.commit()


def test_verify_detects_tampering_and_names_the_first_broken_entry(app, runner, shop):
    for n in range(4):
        new_product(app, shop, sku=f"T-{n}", price=100 + n)
    entries = trail(app, shop)
    assert len(entries) >= 5  # the owner's account, then four products
    good = runner.invoke(["audit", "verify", "acme"])
    assert good.exit_code == 0 and "acme: ok" in good.output, good.output
    (tampered,) = [e for e in entries if "T-1" in json.dumps(e.changes)]
    target = tampered.seq
    with app.app_context(), all_tenants():
        body = db.session.scalar(
            select(AuditEntry.body).where(AuditEntry.tenant_id == shop.id, AuditEntry.seq == target)
        )
    forged = body.replace('"v":101', '"v":1')
    assert forged != body
    tamper(app, shop, target, body=forged)
    broken = runner.invoke(["audit", "verify", "acme"])
    assert broken.exit_code == 1
    assert f"acme: BROKEN at entry {target}: its content does not match its hash" in broken.output
    assert "Traceback" not in broken.output
    tamper(app, shop, target, body=body)  # put back: whole again
    assert runner.invoke(["audit", "verify", "acme"]).exit_code == 0

    tamper(app, shop, target, actor_kind="operator")  # a plain column
    assert verdict(app, shop).broken_seq == target
    tamper(app, shop, target, actor_kind=tampered.actor_kind)

    with app.app_context(), all_tenants():  # an entry taken out
        db.session.execute(
            AuditEntry.__table__.delete().where(
                AuditEntry.tenant_id == shop.id, AuditEntry.seq == target
            )
        )
        db.session.commit()
    result = verdict(app, shop)
    assert (result.ok, result.broken_seq, result.reason) == (False, target, "it is missing")


def test_verify_notices_a_cut_tail_and_a_rewritten_link(app, shop):
    for n in range(3):
        new_product(app, shop, sku=f"T-{n}")
    last = trail(app, shop)[-1].seq
    with app.app_context(), all_tenants():
        db.session.execute(
            AuditEntry.__table__.delete().where(
                AuditEntry.tenant_id == shop.id, AuditEntry.seq == last
            )
        )
        db.session.commit()
    result = verdict(app, shop)
    assert not result.ok and result.broken_seq == last
    tamper(app, shop, 2, prev_hash="f" * 64)
    assert verdict(app, shop).broken_seq == 2


def test_concurrent_writers_of_one_shop_keep_one_chain(app, shop):
    """Real threads, each its own connection and transactions: on MariaDB the chain head's
    row lock orders them, on SQLite the database's one writer does."""
    threads_n, writes = 6, 5
    for n in range(threads_n):
        new_product(app, shop, sku=f"C-{n}", price=100)
    done: list[int] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with app.app_context(), tenant_context(shop):
                for i in range(writes):

                    def change(i: int = i) -> None:
                        product = db.session.scalar(select(Product).where(Product.sku == f"C-{n}"))
                        product.price = 1000 * n + i + 1

                    for _attempt in range(50):  # SQLite's one writer: try again until in
                        try:
                            unit_of_work(change)
                            break
                        except Exception:  # noqa: BLE001 - lost the race; retried
                            db.session.rollback()
                    else:
                        raise AssertionError("never got in")
                    done.append(n)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    before = len(trail(app, shop))
    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    entries = trail(app, shop)
    assert len(entries) == before + threads_n * writes == before + len(done)
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    result = verdict(app, shop)
    assert result.ok and result.checked == len(entries), result
    with app.app_context(), tenant_context(shop):
        head = db.session.execute(select(AuditHead.seq, AuditHead.hash)).one()
        assert head.seq == len(entries)


def test_each_shop_has_its_own_chain_and_sees_only_its_own(app, owner, shop, make_shop, make_user):
    globex = make_shop("globex")
    make_user(globex, "boss@example.com", roles=["owner"])
    new_product(app, shop, sku="SECRET-ACME", title="Acme only")
    new_product(app, globex, sku="G-1", title="Globex thing")
    acme_entries, globex_entries = trail(app, shop), trail(app, globex)
    assert acme_entries[0].seq == globex_entries[0].seq == 1  # two chains
    assert "SECRET-ACME" not in json.dumps([e.changes for e in globex_entries])
    assert verdict(app, shop).ok and verdict(app, globex).ok
    boss = app.test_client()
    assert login(boss, globex, "boss@example.com").status_code == 302
    page = boss.get("/admin/activity/", headers=host(globex))
    assert page.status_code == 200 and "Globex thing" in page.text
    assert "SECRET-ACME" not in page.text
    exported = boss.get("/admin/activity/export.json", headers=host(globex)).get_data(as_text=True)
    assert "SECRET-ACME" not in exported and "G-1" in exported
    # Acme's owner's session is nobody at Globex.
    assert owner.get("/admin/activity/", headers=host(globex)).status_code in (302, 401, 403)
    assert owner.get("/admin/activity/", headers=host(shop)).status_code == 200


# The owner's page and exports -----------------------------------------------------------


def test_the_activity_page_filters_and_pages_by_keyset(app, owner, shop, make_user):
    make_user(shop, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        for n in range(audit.PAGE + 5):
            catalog.create_product(f"K-{n}", f"Kettle {n}", 100, stock=1)
            db.session.commit()
    first = owner.get("/admin/activity/", headers=host(shop))
    assert first.status_code == 200
    assert "Kettle 54" in first.text and "Kettle 0<" not in first.text
    older = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = owner.get(older, headers=host(shop))
    assert (
        second.status_code == 200 and "Kettle 0" in second.text and "Kettle 54" not in second.text
    )
    only_users = owner.get("/admin/activity/?resource=users", headers=host(shop)).text
    assert "staff@example.com" in only_users and "Kettle" not in only_users
    assert "Kettle" in owner.get("/admin/activity/?actor=system", headers=host(shop)).text
    assert "Kettle" not in owner.get("/admin/activity/?actor=guest", headers=host(shop)).text
    tomorrow = (datetime.utcnow() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert "Kettle" not in owner.get(f"/admin/activity/?since={tomorrow}", headers=host(shop)).text
    for bad in ("?since=yesterday", "?actor=god", "?resource=x%27;--", "?older=abc",
                "?since=2026-02-02&until=2026-01-01", "?until=9999-12-31"):  # fmt: skip
        answer = owner.get(f"/admin/activity/{bad}", headers=host(shop))
        assert answer.status_code == 400, bad
    odd = owner.get("/admin/activity/?_external=1&_scheme=javascript&x=1", headers=host(shop))
    assert odd.status_code == 200 and "_scheme" not in odd.text
    assert owner.get("/admin/activity/export.xml", headers=host(shop)).status_code == 404
    assert owner.get("/admin/activity/export.csv?actor=god", headers=host(shop)).status_code == 400


def test_staff_and_shoppers_cannot_read_the_trail(app, shop, make_user):
    make_user(shop, "staff@example.com", roles=["staff"])
    staff = app.test_client()
    login(staff, shop, "staff@example.com")
    assert staff.get("/admin/activity/", headers=host(shop)).status_code == 403
    assert staff.get("/admin/activity/export.csv", headers=host(shop)).status_code == 403
    assert app.test_client().get("/admin/activity/", headers=host(shop)).status_code == 302


def test_exports_as_csv_and_json(app, owner, shop):
    new_product(app, shop, sku="F-1", title="Formula")
    as_json = owner.get("/admin/activity/export.json?resource=products", headers=host(shop))
    assert as_json.status_code == 200
    assert "attachment" in as_json.headers["Content-Disposition"]
    rows = json.loads(as_json.get_data(as_text=True))
    (made,) = [c for c in rows[0]["changes"] if c["type"] == "products"]
    assert len(rows) == 1 and made["fields"]["title"] == {"new": "Formula"}
    assert rows[0]["hash"] and rows[0]["actor_kind"] == "system"
    as_csv = owner.get("/admin/activity/export.csv", headers=host(shop))
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert len(table) == len(trail(app, shop))
    products = [r for r in table if "products" in r["changes"]]
    assert "Formula" in products[0]["changes"]


def test_tenantctl_audit_lists_with_json_and_limit(app, runner, shop):
    for n in range(3):
        new_product(app, shop, sku=f"L-{n}")
    result = runner.invoke(["audit", "acme", "--json", "--limit", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    newest = trail(app, shop)[-1].seq
    assert [r["seq"] for r in rows] == [newest, newest - 1]
    table = runner.invoke(["audit", "acme", "--resource", "products"])
    assert table.exit_code == 0 and "insert products" in table.output
    assert runner.invoke(["audit", "nosuchshop"]).exit_code == 1
    assert runner.invoke(["audit", "acme", "--actor", "god"]).exit_code == 1
    assert runner.invoke(["audit", "acme", "--since", "soon"]).exit_code == 1
    assert runner.invoke(["audit", "explode", "acme"]).exit_code == 1


# Erasure, retention, archives -----------------------------------------------------------


def test_erasure_masks_the_persons_values_and_the_chain_still_verifies(app, shop, make_user):
    from storefront.privacy import services as privacy

    make_user(shop, "ada@example.com")
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        user.name = "Ada Lovelace"
        db.session.commit()
    with app.app_context(), all_tenants():
        bodies = " ".join(db.session.scalars(select(AuditEntry.body)))
    assert "ada@example.com" in bodies and "Ada Lovelace" in bodies
    with app.app_context(), tenant_context(shop):
        privacy.erase("ada@example.com")
        db.session.commit()
    with app.app_context(), all_tenants():
        bodies = " ".join(db.session.scalars(select(AuditEntry.body)))
    assert "ada@example.com" not in bodies and "Lovelace" not in bodies
    result = verdict(app, shop)
    assert result.ok and result.erased_values >= 2, result
    shown = json.dumps([e.changes for e in trail(app, shop)])
    assert chain.ERASED in shown


def test_retention_prunes_old_entries_behind_a_checkpoint(app, runner, shop, monkeypatch):
    from storefront.audit import recorder

    real = recorder.utcnow
    monkeypatch.setattr(recorder, "utcnow", lambda: real() - timedelta(days=400))
    for n in range(3):
        new_product(app, shop, sku=f"OLD-{n}")
    monkeypatch.setattr(recorder, "utcnow", real)
    new_product(app, shop, sku="NEW-1")
    old_count = len(trail(app, shop)) - 1
    app.config["AUDIT_RETENTION_MAX_DAYS"] = 365
    result = runner.invoke(["audit", "prune", "acme"])
    assert result.exit_code == 0 and f"{old_count} entries older than 365 days" in result.output
    entries = trail(app, shop)
    assert [c["type"] for c in entries[-1].changes] == [audit.CHECKPOINT]
    assert "OLD-" not in json.dumps([e.changes for e in entries])
    verified = runner.invoke(["audit", "verify", "acme"])
    assert verified.exit_code == 0, verified.output
    # Dropping the first kept entry as well is still seen.
    with app.app_context(), all_tenants():
        db.session.execute(
            AuditEntry.__table__.delete().where(
                AuditEntry.tenant_id == shop.id, AuditEntry.seq == entries[0].seq
            )
        )
        db.session.commit()
    assert verdict(app, shop).broken_seq == entries[1].seq


def test_the_owner_sets_retention_within_the_operators_bounds(app, owner, shop):
    page = owner.get("/admin/activity/", headers=host(shop))
    token = csrf_from(page.text)
    saved = owner.post(
        "/admin/activity/retention", data={"csrf_token": token, "days": "120"}, headers=host(shop)
    )
    assert saved.status_code == 303
    assert "retention_days = 120" in (tenant_folder(app, "acme") / "tenant.toml").read_text()
    refused = owner.post(
        "/admin/activity/retention", data={"csrf_token": token, "days": "5"}, headers=host(shop)
    )
    assert refused.status_code == 303
    assert "retention_days = 120" in (tenant_folder(app, "acme") / "tenant.toml").read_text()
    assert (
        owner.post(
            "/admin/activity/retention", data={"csrf_token": token, "days": "x"}, headers=host(shop)
        ).status_code
        == 400
    )
    (setting,) = changes_of(trail(app, shop), "settings")
    assert setting["fields"]["audit.retention_days"] == {"old": None, "new": 120}
    with app.app_context(), tenant_context(shop):
        from storefront.tenancy.registry import context_for

        with tenant_context(context_for("acme")):
            assert audit.retention_days() == 120


def test_a_shop_archive_carries_its_trail_and_it_verifies_after_import(app, runner, shop, tmp_path):
    for n in range(3):
        new_product(app, shop, sku=f"X-{n}")
    exported = trail(app, shop)
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "acme2", "--domain", "acme2.test"])
    assert result.exit_code == 0, result.output
    verified = runner.invoke(["audit", "verify", "acme2"])
    assert verified.exit_code == 0 and "acme2: ok" in verified.output, verified.output
    from storefront.tenancy.registry import context_for

    with app.app_context():
        copy = context_for("acme2")
    imported = trail(app, copy)
    assert [e.hash for e in imported[: len(exported)]] == [e.hash for e in exported]
    assert changes_of(imported[len(exported) :], "shop-imported")
    with app.app_context(), all_tenants():
        assert db.session.scalar(text("SELECT COUNT(*) FROM audit_heads")) == 2
