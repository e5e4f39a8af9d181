"""The Staff page: invitations by mail (expiry, reuse, resend, withdrawal, another shop's
link), roles changed and members removed, the last owner kept; API keys never beyond
their maker's role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from storefront.accounts import tokens
from storefront.accounts.models import StaffInvitation, User
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import PASSWORD, csrf_from, host, login

OWNER = "owner@example.com"
INVITED = "new@example.com"
SUBJECT = "you are invited to the shop's staff"


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


def staff_page(client, shop):
    page = client.get("/admin/staff/", headers=host(shop))
    assert page.status_code == 200, page.status_code
    return page


def invite(client, shop, email=INVITED, role="fulfilment"):
    page = staff_page(client, shop)
    return client.post(
        "/admin/staff/invite",
        data={
            "invite-csrf_token": csrf_from(page.text),
            "invite-email": email,
            "invite-role": role,
        },
        headers=host(shop),
    )


def invitation_links(outbox, email=INVITED):
    mails = [m for m in outbox if m.to == [email] and SUBJECT in m.subject]
    return [re.search(r"https?://\S+/staff-invitation/\S+", m.body).group(0) for m in mails]


def path_of(link):
    return re.sub(r"^https?://[^/]+", "", link)


def roles_of(app, shop, email):
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        return None if user is None else user.role_names


def join_as_new(client, shop, link, password=PASSWORD):
    page = client.get(path_of(link), headers=host(shop))
    assert page.status_code == 200, page.status_code
    return client.post(
        path_of(link),
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Nell",
            "password": password,
            "password_confirm": password,
        },
        headers=host(shop),
    )


def test_an_owner_invites_by_mail_and_the_new_member_joins_with_that_role(app, shop, owner, outbox):
    assert invite(owner, shop).status_code == 302
    assert INVITED in staff_page(owner, shop).text  # pending
    (link,) = invitation_links(outbox)
    (mail,) = [m for m in outbox if m.to == [INVITED]]
    assert "Acme" in mail.subject and "Order fulfilment" in mail.body
    assert link.startswith("http://acme.test/")  # the shop's own domain
    html = mail.alternatives[0][0]
    assert "Accept the invitation" in html
    visitor = app.test_client()
    joined = join_as_new(visitor, shop, link)
    assert joined.status_code == 302 and "/login" in joined.headers["Location"]
    assert roles_of(app, shop, INVITED) == ["fulfilment"]
    member = app.test_client()
    assert login(member, shop, INVITED).status_code == 302
    assert member.get("/admin/orders", headers=host(shop)).status_code == 200
    assert member.get("/admin/customers", headers=host(shop)).status_code == 403
    assert member.get("/admin/products/new", headers=host(shop)).status_code == 403  # a form
    # Used: the link opens nothing any more, and the invitation has left the list.
    assert app.test_client().get(path_of(link), headers=host(shop)).status_code == 404
    assert INVITED not in staff_page(owner, shop).text.split("Invitations", 1)[1]


def test_an_expired_link_is_refused_with_a_clear_page(app, shop, owner, outbox):
    invite(owner, shop)
    (link,) = invitation_links(outbox)
    with app.app_context(), tenant_context(shop):
        db.session.execute(
            update(StaffInvitation).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    answer = app.test_client().get(path_of(link), headers=host(shop))
    assert answer.status_code == 410 and "expired" in answer.text
    assert roles_of(app, shop, INVITED) is None


def test_a_link_from_one_shop_opens_nothing_at_another(app, shop, owner, outbox, make_shop):
    globex = make_shop("globex")
    invite(owner, shop)
    (link,) = invitation_links(outbox)
    visitor = app.test_client()
    answer = visitor.get(path_of(link), headers=host(globex))
    assert answer.status_code == 404
    page = visitor.get(path_of(link), headers=host(shop))  # a token from acme's page
    posted = visitor.post(
        path_of(link),
        data={
            "csrf_token": csrf_from(page.text),
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
        headers=host(globex),
    )
    assert posted.status_code in (400, 404)
    assert roles_of(app, globex, INVITED) is None and roles_of(app, shop, INVITED) is None


def test_a_tampered_or_garbage_token_is_a_404_not_a_500(app, shop, owner, outbox):
    invite(owner, shop)
    (link,) = invitation_links(outbox)
    client = app.test_client()
    for bad in (
        path_of(link)[:-3] + "abc",
        "/staff-invitation/x",
        "/staff-invitation/" + "a" * 3000,
    ):
        assert client.get(bad, headers=host(shop)).status_code == 404


def test_resending_kills_the_older_link_and_withdrawing_kills_the_newer(app, shop, owner, outbox):
    invite(owner, shop)
    with app.app_context(), tenant_context(shop):
        invitation_id = db.session.scalar(select(StaffInvitation.id))
    page = staff_page(owner, shop)
    token = csrf_from(page.text)
    resent = owner.post(
        f"/admin/staff/invitations/{invitation_id}/resend",
        data={"csrf_token": token},
        headers=host(shop),
    )
    assert resent.status_code == 302
    first, second = invitation_links(outbox)
    client = app.test_client()
    assert client.get(path_of(first), headers=host(shop)).status_code == 404
    assert client.get(path_of(second), headers=host(shop)).status_code == 200
    withdrawn = owner.post(
        f"/admin/staff/invitations/{invitation_id}/revoke",
        data={"csrf_token": token},
        headers=host(shop),
    )
    assert withdrawn.status_code == 302
    assert client.get(path_of(second), headers=host(shop)).status_code == 404


def test_an_existing_account_signs_in_and_accepts_and_nobody_else_can(
    app, shop, owner, outbox, make_user
):
    make_user(shop, INVITED)  # a shopper of the shop already
    make_user(shop, "other@example.com")
    invite(owner, shop, role="catalog_editor")
    (link,) = invitation_links(outbox)
    other = app.test_client()
    login(other, shop, "other@example.com")
    assert other.get(path_of(link), headers=host(shop)).status_code == 409
    anonymous = app.test_client().get(path_of(link), headers=host(shop))
    assert anonymous.status_code == 200 and "/login?next=" in anonymous.text
    invited = app.test_client()
    login(invited, shop, INVITED)
    page = invited.get(path_of(link), headers=host(shop))
    accepted = invited.post(
        path_of(link), data={"csrf_token": csrf_from(page.text)}, headers=host(shop)
    )
    assert accepted.status_code == 302
    assert roles_of(app, shop, INVITED) == ["catalog_editor", "customer"]
    assert invited.get("/admin/products", headers=host(shop)).status_code == 200


def test_the_last_owner_cannot_be_removed_or_demoted(app, shop, owner, make_user, runner):
    with app.app_context(), tenant_context(shop):
        owner_id = db.session.scalar(select(User.id).where(User.email == OWNER))
    token = csrf_from(staff_page(owner, shop).text)
    demoted = owner.post(
        f"/admin/staff/{owner_id}/role",
        data={f"m{owner_id}-csrf_token": token, f"m{owner_id}-role": "manager"},
        headers=host(shop),
        follow_redirects=True,
    )
    assert "last owner" in demoted.text
    removed = owner.post(
        f"/admin/staff/{owner_id}/remove",
        data={"csrf_token": token},
        headers=host(shop),
        follow_redirects=True,
    )
    assert "last owner" in removed.text
    assert roles_of(app, shop, OWNER) == ["owner"]
    cli = runner.invoke(["user", "revoke", "acme", OWNER, "owner"])
    assert cli.exit_code == 1 and "last owner" in cli.output
    # With a second owner, the first may step down.
    make_user(shop, "partner@example.com", roles=["owner"])
    stepped = owner.post(
        f"/admin/staff/{owner_id}/role",
        data={f"m{owner_id}-csrf_token": token, f"m{owner_id}-role": "manager"},
        headers=host(shop),
    )
    assert stepped.status_code == 302
    assert roles_of(app, shop, OWNER) == ["manager"]
    assert owner.get("/admin/staff/", headers=host(shop)).status_code == 403


def test_only_staff_write_changes_the_staff(app, shop, owner, make_user):
    make_user(shop, "manager@example.com", roles=["manager"])
    manager = app.test_client()
    login(manager, shop, "manager@example.com")
    assert manager.get("/admin/staff/", headers=host(shop)).status_code == 403
    token = csrf_from(manager.get("/account/addresses/new", headers=host(shop)).text)
    refused = manager.post(
        "/admin/staff/invite",
        data={"csrf_token": token, "invite-email": "x@example.com", "invite-role": "owner"},
        headers=host(shop),
    )
    assert refused.status_code == 403
    with app.app_context(), tenant_context(shop):
        assert db.session.scalars(select(StaffInvitation)).all() == []


def test_bad_input_on_the_staff_page_is_a_clear_4xx(app, shop, owner):
    bad_role = invite(owner, shop, role="janitor")
    assert bad_role.status_code == 400
    bad_mail = invite(owner, shop, email="not-an-address")
    assert bad_mail.status_code == 400
    already = invite(owner, shop, email=OWNER, role="manager")
    assert already.status_code == 400 and "already" in already.text
    token = csrf_from(staff_page(owner, shop).text)
    assert (
        owner.post("/admin/staff/999999/remove", data={"csrf_token": token}, headers=host(shop))
    ).status_code == 302  # flashed: not on the staff


def test_an_api_key_never_holds_more_than_its_makers_role(app, shop, make_user, runner):
    make_user(shop, "editor@example.com", roles=["catalog_editor"])
    beyond = runner.invoke(
        ["user", "token", "acme", "editor@example.com", "--scope", "orders:read"]
    )
    assert beyond.exit_code == 1 and "does not allow" in beyond.output
    made = runner.invoke(["user", "token", "acme", "editor@example.com"])
    assert made.exit_code == 0
    key = made.output.strip().splitlines()[-1]
    with app.app_context(), tenant_context(shop):
        (row,) = tokens.list_keys()
        assert set(row.scopes) == {"products:read", "products:write"}
    bearer = {**host(shop), "Authorization": f"Bearer {key}"}
    client = app.test_client()
    assert client.get("/api/v1/admin/products", headers=bearer).status_code == 200
    assert client.get("/api/v1/admin/orders", headers=bearer).status_code == 403
    # The role taken down to read-only: the key can no longer write.
    runner.invoke(["user", "revoke", "acme", "editor@example.com", "catalog_editor"])
    runner.invoke(["user", "grant", "acme", "editor@example.com", "read_only"])
    created = client.post(
        "/api/v1/admin/products",
        json={"sku": "X-1", "title": "X", "price": 100},
        headers=bearer,
    )
    assert created.status_code == 403


def test_a_login_token_acts_with_its_roles_permissions(app, shop, make_user):
    make_user(shop, "editor@example.com", roles=["catalog_editor"])
    client = app.test_client(use_cookies=False)
    answer = client.post(
        "/api/v1/account/login",
        json={"email": "editor@example.com", "password": PASSWORD},
        headers=host(shop),
    )
    assert answer.status_code == 200, answer.json
    headers = {**host(shop), "Authentication-Token": answer.json["data"]["token"]}
    assert client.get("/api/v1/admin/products", headers=headers).status_code == 200
    assert client.get("/api/v1/admin/orders", headers=headers).status_code == 403


def test_an_invitation_takes_a_staff_seat_of_the_plan(app, shop, owner, outbox, make_user, request):
    """The plan's staff seats count at the invitation and again at the acceptance."""
    from storefront.plans.definitions import forget_cached
    from tests.test_plans import write_plans

    invite(owner, shop)  # owner + one invited: 2 of 2 once accepted
    (link,) = invitation_links(outbox)
    write_plans(app)
    request.addfinalizer(forget_cached)
    make_user(shop, "first@example.com", roles=["manager"])  # the second seat, taken
    refused = invite(owner, shop, email="third@example.com")
    assert refused.status_code == 400 and "Staff accounts" in refused.text
    joined = join_as_new(app.test_client(), shop, link)
    assert joined.status_code == 400 and "Staff accounts" in joined.text
    assert roles_of(app, shop, INVITED) is None
