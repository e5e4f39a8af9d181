"""The mail after a delivery inviting a review: the owner's switch and days, one mail per
order however often the job runs, in the buyer's language with the shop's look, an
unsubscribe link that holds, guests and old orders passed over, bounded runs; the owner's
count of reviews waiting; a line reviewed once even after its review is deleted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine
from storefront.outbox.services import run_due
from storefront.reviews import invitations
from storefront.reviews import services as reviews
from storefront.reviews.models import Review
from storefront.tenancy import tenant_context
from storefront.tenancy.models import utcnow
from tests.fixtures.factories import host, login
from tests.test_reviews import OWNER, SHOPPER, bought, csrf_from_prefixed, moderate, write

LANGUAGES = 'name = "Acme"\nlocales = ["en_US", "de_DE"]\ncurrency = "USD"\n'


@pytest.fixture
def shop(app, make_shop, make_user):
    from storefront.catalog import services as catalog

    acme = make_shop("acme", settings=LANGUAGES)
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, SHOPPER, roles=["customer"])
    with app.app_context(), tenant_context(acme):
        db.session.scalar(select(User).where(User.email == SHOPPER)).name = "Ada Lovelace"
        catalog.create_product("A-1", "Anvil", 1999, stock=50)
        catalog.create_product("R-1", "Rocket", 4999, stock=5)
        db.session.commit()
    return acme


def delivered(app, shop, days_ago=8, email=SHOPPER, locale=None, guest=False) -> str:
    """A delivered order of the account (or a guest's), delivered ``days_ago``: its number."""
    line = bought(app, shop, email, status="delivered")
    with app.app_context(), tenant_context(shop):
        order_id = db.session.scalar(select(OrderLine.order_id).where(OrderLine.id == line))
        values = {"updated_at": utcnow() - timedelta(days=days_ago), "locale": locale}
        if guest:
            values["user_id"] = None
        db.session.execute(update(Order).where(Order.id == order_id).values(**values))
        db.session.commit()
        return db.session.scalar(select(Order.number).where(Order.id == order_id))


def switch_on(app, shop, days=7):
    with app.app_context(), tenant_context(shop):
        invitations.save_settings(True, days)
        db.session.commit()


def run(app, shop, **kwargs) -> int:
    with app.app_context(), tenant_context(shop):
        sent = invitations.send_due(**kwargs)
        db.session.commit()
    with app.app_context():
        run_due()
    return sent


def invitations_in(outbox):
    return [m for m in outbox if "how do you like" in m.subject.lower() or "Bewertung" in m.body]


def test_nothing_is_mailed_until_the_owner_turns_it_on(app, shop, outbox):
    delivered(app, shop)
    assert run(app, shop) == 0
    assert not outbox


def test_one_mail_per_delivered_order_with_links_and_an_unsubscribe(app, client, shop, outbox):
    number = delivered(app, shop)
    delivered(app, shop, days_ago=2)  # not due yet (the owner's 7 days)
    switch_on(app, shop)
    assert run(app, shop) == 1
    assert run(app, shop) == 0  # sent once, however often the job runs
    (mail,) = invitations_in(outbox)
    assert mail.to == [SHOPPER] and mail.subject == "Acme: how do you like what you bought?"
    assert number in mail.body and "Anvil" in mail.body
    assert "/account/reviews/new/" in mail.body
    html = mail.alternatives[0][0]
    assert "Review Anvil" in html
    leave = re.search(r"http://acme\.test(/reviews/unsubscribe/[^\s\"<>]+)", mail.body).group(1)
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The link's review form opens for the signed-in buyer.
    review_path = re.search(r"http://acme\.test(/account/reviews/new/\d+)", mail.body).group(1)
    login(client, shop, SHOPPER)
    assert client.get(review_path, headers=host(shop)).status_code == 200
    # Unsubscribing: a page with one button, then no more invitations.
    visitor = app.test_client()
    page = visitor.get(leave, headers=host(shop))
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert visitor.post(leave, headers=host(shop)).status_code == 200
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(User.review_mails).where(User.email == SHOPPER)) is False
    delivered(app, shop)
    assert run(app, shop) == 0
    assert len(invitations_in(outbox)) == 1


def test_the_mail_speaks_the_orders_language(app, shop, outbox):
    delivered(app, shop, locale="de_DE")
    switch_on(app, shop)
    assert run(app, shop) == 1
    (mail,) = [m for m in outbox if SHOPPER in m.to]
    # Drawn in German (the words are German once the catalogs carry this feature's).
    assert '<html lang="de' in mail.alternatives[0][0]
    # And its unsubscribe page answers in the shop's language the link is opened in.
    leave = re.search(r"http://acme\.test(/de/reviews/unsubscribe/[^\s\"<>]+)", mail.body)
    page = app.test_client().get(leave.group(1), headers=host(shop))
    assert page.status_code == 200 and "Abmelden" in page.text


def test_guests_old_orders_and_reviewed_lines_are_passed_over(app, client, shop, outbox):
    delivered(app, shop, guest=True)  # reviews come from an account
    delivered(app, shop, days_ago=60)  # long before the switch went on
    number = delivered(app, shop)
    with app.app_context(), tenant_context(shop):  # its only line is reviewed already
        line = db.session.scalar(
            select(OrderLine.id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.number == number)
        )
    login(client, shop, SHOPPER)
    assert write(client, shop, line).status_code == 302
    switch_on(app, shop)
    assert run(app, shop) == 0
    assert not invitations_in(outbox)
    with app.app_context(), tenant_context(shop):  # each looked at once, never again
        looked = db.session.scalars(select(Order.review_invited_at)).all()
        assert sum(1 for at in looked if at is not None) == 2  # the old one is never read


def test_a_run_is_bounded_and_the_rest_wait(app, shop, outbox):
    for _ in range(3):
        delivered(app, shop)
    switch_on(app, shop)
    assert run(app, shop, limit=2) == 2
    assert run(app, shop, limit=2) == 1
    assert run(app, shop, limit=2) == 0


def test_a_forged_or_foreign_unsubscribe_link_changes_nothing(app, client, shop, make_shop):
    other = make_shop("other")
    with app.app_context(), tenant_context(other):
        user = User(email="x@example.com", fs_uniquifier="u" * 32, active=True)
        db.session.add(user)
        db.session.flush()
        foreign = invitations.unsubscribe_token(user)
        db.session.rollback()
    for token in (foreign, "nonsense", "x" * 400):
        page = client.post(f"/reviews/unsubscribe/{token}", headers=host(shop))
        assert page.status_code == 404
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(User.review_mails).where(User.email == SHOPPER)) is None


def test_the_owner_turns_it_on_in_the_dashboard_and_sees_the_waiting_count(
    app, client, shop, outbox
):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    assert write(client, shop, line).status_code == 302
    client._cookies.clear()
    login(client, shop, OWNER)
    overview = client.get("/admin/", headers=host(shop)).text
    assert "1 review waiting for your approval" in overview
    page = client.get("/admin/reviews/", headers=host(shop))
    assert "email the buyer once asking for a review" in page.text
    bad = client.post(
        "/admin/reviews/settings",
        data={
            "settings-invite": "y",
            "settings-invite_days": "999",
            "settings-csrf_token": csrf_from_prefixed(page.text),
        },
        headers=host(shop),
    )
    assert bad.status_code == 302
    with app.app_context(), tenant_context(shop):
        assert invitations.settings() is None or not invitations.settings().invite
    saved = client.post(
        "/admin/reviews/settings",
        data={
            "settings-invite": "y",
            "settings-invite_days": "3",
            "settings-csrf_token": csrf_from_prefixed(page.text),
        },
        headers=host(shop),
    )
    assert saved.status_code == 302
    with app.app_context(), tenant_context(shop):
        found = invitations.settings()
        assert (found.invite, found.invite_days) == (True, 3)
    delivered(app, shop, days_ago=4)
    assert run(app, shop) == 1


def test_a_deleted_review_does_not_open_its_line_again(app, client, shop):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    assert write(client, shop, line).status_code == 302
    client._cookies.clear()
    login(client, shop, OWNER)
    with app.app_context(), tenant_context(shop):
        (review_id,) = db.session.scalars(select(Review.id)).all()
    assert moderate(client, shop, review_id, "delete").status_code == 302
    client._cookies.clear()
    login(client, shop, SHOPPER)
    again = client.get(f"/account/reviews/new/{line}", headers=host(shop))
    assert again.status_code == 409
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        assert reviews.reviewable_lines(user.id) == []
        with pytest.raises(reviews.ReviewError):
            reviews.line_for_product(
                user.id, db.session.scalar(select(OrderLine.product_id).where(OrderLine.id == line))
            )
    # The API says the same.
    from tests.test_reviews import token_of

    api = client.post(
        "/api/v1/products/anvil/reviews",
        json={"rating": 4, "body": "Again."},
        headers=token_of(app, shop, SHOPPER),
    )
    assert api.status_code == 409, api.json
    assert api.json["error"]["code"] == "already_reviewed"


def test_a_review_racing_its_lines_deleted_review_is_refused(app, shop):
    """The line's mark is the guard, not the review row: a line whose review is gone is
    refused at the write too (as a second writer that read it free would be)."""
    line = bought(app, shop, SHOPPER)
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        target = reviews.reviewable_line(user.id, line)
        review = reviews.create_review(user, target, 5, "", "Good.")
        db.session.commit()
        reviews.delete_review(review)
        db.session.commit()
        with pytest.raises(reviews.ReviewError):
            reviews.create_review(user, target, 4, "", "Again.")  # read before the delete
        db.session.rollback()
        assert db.session.scalar(select(Review.id)) is None


def test_a_shops_own_unsubscribe_page_stays_in_the_sandbox(app, client, shop):
    """The page the mailed link opens renders the shop's override, through the sandbox."""
    from tests.test_sandbox_escape import assert_safe, override

    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        token = invitations.unsubscribe_token(user)
    override(app, "acme", "reviews/unsubscribe.html", "OURS {{ config.SECRET_KEY }}")
    hostile = client.get(f"/reviews/unsubscribe/{token}", headers=host(shop))
    assert hostile.status_code in (403, 503)
    assert_safe(app, hostile, "reviews/unsubscribe.html")
    assert "Acme" in hostile.text  # the shop's error page
