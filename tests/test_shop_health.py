"""The shop's health on the dashboard's overview: orders today, server errors today,
webhook deliveries and mails that fail, each the shop's own, each with an "All good" when
there is nothing to do, and only for the shop's owner and staff."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from storefront.admin import health
from storefront.extensions import db
from storefront.metrics import usage
from storefront.orders.aggregates import SalesDay, shop_day
from storefront.outbox.models import OutboxMessage
from storefront.outbox.services import MAX_ATTEMPTS, deliver, enqueue_mail
from storefront.tenancy import all_tenants, tenant_context
from storefront.tenancy.models import utcnow
from storefront.webhooks import services as webhooks
from tests.fixtures.factories import csrf_from, host, login
from tests.fixtures.mail import FlakyEmailBackend
from tests.test_webhooks import Receiver, add_endpoint

OWNER = "owner@example.com"
FLAKY = "tests.fixtures.mail.FlakyEmailBackend"
pytestmark = pytest.mark.settings(SHOP_PAGE_CACHE=False)


@pytest.fixture
def shops(make_shop, make_user):
    """Acme and Globex, each with its owner."""
    acme, globex = make_shop("acme"), make_shop("globex")
    make_user(acme, OWNER, roles=["owner"])
    make_user(globex, OWNER, roles=["owner"])
    return acme, globex


def signed_in(app, shop, email=OWNER):
    client = app.test_client()
    assert login(client, shop, email).status_code == 302
    return client


def panel(client, shop) -> str:
    """The health section of the overview, as text (tags dropped, entities read)."""
    page = client.get("/admin/", headers=host(shop))
    assert page.status_code == 200
    found = re.search(r'<section class="health".*?</section>', page.text, re.S)
    assert found, "no health panel on the overview"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))))


def card(text: str, title: str) -> str:
    """One card's text: from its title to the next card's."""
    titles = ["Orders today", "Errors today", "Webhook failures", "Mail failures"]
    start = text.index(title)
    ends = [text.index(t, start + 1) for t in titles if t != title and t in text[start + 1 :]]
    return text[start : min(ends, default=len(text))]


def paid_today(app, shop, orders: int) -> None:
    """Today's row of the shop's daily figures says ``orders`` were paid."""
    with app.app_context(), tenant_context(shop):
        db.session.add(
            SalesDay(day=shop_day(utcnow()), currency="USD", orders=orders, revenue=orders * 100)
        )
        db.session.commit()


def dead_mail(app, shop, to: str, error: str = "SMTPRecipientsRefused: {...}") -> int:
    """A mail to ``to`` that ran out of attempts with ``error``."""
    with app.app_context(), tenant_context(shop):
        row = enqueue_mail(to, f"Your order, {to}", "Thanks")
        db.session.flush()
        row.status, row.attempts, row.last_error = "dead", MAX_ATTEMPTS, error
        db.session.commit()
        return row.id


def test_a_quiet_shop_is_all_good(app, shops):
    acme, _globex = shops
    text = panel(signed_in(app, acme), acme)
    assert "Your shop's health" in text
    assert "No order paid yet today." in card(text, "Orders today")
    for title in ("Errors today", "Webhook failures", "Mail failures"):
        assert "All good" in card(text, title), title
    assert "Send again" not in text


def test_each_shop_sees_its_own_figures_only(app, shops):
    acme, globex = shops
    paid_today(app, acme, 3)
    paid_today(app, globex, 40)
    with app.app_context():
        usage.record(globex.id, requests=50, errors=7)
    dead_mail(app, globex, "zoe@globex.example")
    with app.app_context(), tenant_context(globex):
        row = enqueue_mail("x@globex.example", "Hi", "Hi")  # a failing mail, retried later
        db.session.flush()
        row.attempts, row.last_error = 1, "ConnectionRefusedError: [Errno 111]"
        row.next_attempt_at = utcnow() + timedelta(minutes=30)  # its backoff
        db.session.commit()

    acme_text = panel(signed_in(app, acme), acme)
    assert "3 orders paid" in card(acme_text, "Orders today")
    assert "40" not in card(acme_text, "Orders today")
    with app.app_context():
        acme_errors = usage.today(acme.id)["errors"]
    assert acme_errors == 0
    assert "All good" in card(acme_text, "Errors today")
    assert "All good" in card(acme_text, "Mail failures")
    assert "globex.example" not in acme_text

    globex_text = panel(signed_in(app, globex), globex)
    assert "40 orders paid" in card(globex_text, "Orders today")
    errors = card(globex_text, "Errors today")
    with app.app_context():
        assert usage.today(globex.id)["errors"] == 7
    # Of 50 and the dashboard's own requests so far.
    assert re.search(r"7 requests of 5\d today \(UTC\) ended in a server error", errors)
    mails = card(globex_text, "Mail failures")
    assert "To zoe@globex.example" in mails and "To x@globex.example" in mails
    assert "1 mail was not delivered in the last 7 days." in mails
    assert "1 mail failed and will be tried again." in mails
    assert "misspelt" in mails and "could not be reached" in mails


def test_errors_today_are_read_from_the_shops_usage(app, shops, monkeypatch):
    acme, _globex = shops
    client = signed_in(app, acme)
    asked = []

    def today(shop_id):
        asked.append(shop_id)
        return {**usage.empty(), "requests": 1234, "errors": 2}

    monkeypatch.setattr(usage, "today", today)
    errors = card(panel(client, acme), "Errors today")
    assert asked == [acme.id]
    assert "2 requests of 1,234 today (UTC) ended in a server error" in errors
    assert "platform operator" in errors


def test_errors_not_measured_say_so(app, shops):
    acme, _globex = shops
    client = signed_in(app, acme)
    store = app.extensions.pop(health.USAGE_KEY)
    try:
        errors = card(panel(client, acme), "Errors today")
    finally:
        app.extensions[health.USAGE_KEY] = store
    assert "Not measured on this platform." in errors and "All good" not in errors


def test_a_failed_webhook_delivery_appears_with_a_link_to_the_webhooks(app, shops):
    acme, globex = shops
    receiver = Receiver()
    receiver.status = 500
    try:
        add_endpoint(app, acme, receiver.url, ["product.updated"])
        with app.app_context(), tenant_context(acme):
            webhooks.emit("product.updated", {"sku": "A-1"})
            db.session.commit()
        with app.app_context(), all_tenants():
            row_id = db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.kind == "webhook")
            )
        with app.app_context():
            deliver([row_id])  # the receiver answers 500: retried later
    finally:
        receiver.close()
    owner = signed_in(app, acme)
    page = owner.get("/admin/", headers=host(acme)).text
    hooks = card(panel(owner, acme), "Webhook failures")
    assert "1 delivery failed and will be tried again." in hooks
    assert "product.updated" in hooks
    assert "The receiver answered with status 500." in hooks
    assert "Next attempt" in hooks
    assert 'href="/admin/webhooks/"' in page
    assert receiver.url not in page  # a receiver's URL may hold its secret: not on the overview

    with app.app_context(), all_tenants():  # its last attempt timed out: it gave up
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status="dead", attempts=MAX_ATTEMPTS, last_error="ConnectTimeout: timed out")
        )
        db.session.commit()
    hooks = card(panel(owner, acme), "Webhook failures")
    assert "1 delivery gave up in the last 7 days." in hooks
    assert "The receiver took too long to answer." in hooks
    assert f"Gave up after {MAX_ATTEMPTS} attempts." in hooks
    assert "All good" in card(panel(signed_in(app, globex), globex), "Webhook failures")


@pytest.mark.settings(MAIL_BACKEND=FLAKY)
def test_a_dead_mail_appears_and_is_sent_again(app, shops):
    acme, globex = shops
    FlakyEmailBackend.down = True
    try:
        with app.app_context(), tenant_context(acme):
            row = enqueue_mail("ada@example.com", "Your order ACME-1001", "Thanks")
            db.session.commit()
            row_id = row.id
        with app.app_context():
            deliver([row_id])  # the mail server is down: retried later
        with app.app_context(), all_tenants():
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(attempts=MAX_ATTEMPTS - 1, next_attempt_at=utcnow() - timedelta(1))
            )
            db.session.commit()
        with app.app_context():
            deliver([row_id])  # the last attempt: it gives up
    finally:
        FlakyEmailBackend.down = False
    with app.app_context(), all_tenants():
        assert db.session.get(OutboxMessage, row_id).status == "dead"

    owner = signed_in(app, acme)
    page = owner.get("/admin/", headers=host(acme)).text
    mails = card(panel(owner, acme), "Mail failures")
    assert "To ada@example.com Your order ACME-1001 ·" in mails
    assert "The mail server could not be reached." in mails
    assert "Connection refused" not in mails  # the raw error stays in the logs
    assert f"Gave up after {MAX_ATTEMPTS} attempts." in mails
    assert "Send again" in mails
    retry = f"/admin/health/mails/{row_id}/retry"
    assert retry in page

    # Another shop's owner cannot send it (nor learn it exists); no CSRF token: refused.
    other = signed_in(app, globex)
    token = csrf_from(other.get("/admin/", headers=host(globex)).text)
    assert other.post(retry, data={"csrf_token": token}, headers=host(globex)).status_code == 404
    assert owner.post(retry, headers=host(acme)).status_code == 400

    mailbox = app.extensions["mailman"].outbox = []
    answer = owner.post(retry, data={"csrf_token": csrf_from(page)}, headers=host(acme))
    assert answer.status_code == 302 and answer.location.endswith("/admin/#health")
    with app.app_context(), all_tenants():
        assert db.session.get(OutboxMessage, row_id).status == "done"
    assert [m.to for m in mailbox] == [["ada@example.com"]]
    assert "All good" in card(panel(owner, acme), "Mail failures")
    # Not dead any more: a second "Send again" finds nothing to send.
    assert (
        owner.post(retry, data={"csrf_token": csrf_from(page)}, headers=host(acme)).status_code
        == 404
    )


def test_only_the_shops_staff_see_it(app, shops, make_user):
    acme, _globex = shops
    dead_mail(app, acme, "ada@example.com")
    anonymous = app.test_client()
    assert anonymous.get("/admin/", headers=host(acme)).status_code == 302
    make_user(acme, "shopper@example.com")
    shopper = signed_in(app, acme, "shopper@example.com")
    assert shopper.get("/admin/", headers=host(acme)).status_code == 403
    row_id = dead_mail(app, acme, "bob@example.com")
    assert shopper.post(f"/admin/health/mails/{row_id}/retry", headers=host(acme)).status_code in (
        400,
        403,
    )

    make_user(acme, "staff@example.com", roles=["staff"])
    staff = signed_in(app, acme, "staff@example.com")
    page = staff.get("/admin/", headers=host(acme)).text
    text = panel(staff, acme)
    assert "To ada@example.com" in text and "Send again" in text
    assert 'href="/admin/webhooks/"' not in page  # the webhooks page is the owner's
    with app.app_context(), tenant_context(acme):
        row = enqueue_mail("eve@example.com", "Hi", "Hi")
        db.session.flush()
        row.kind = "webhook"  # a delivery (only its kind matters to the panel's list)
        row.payload = '{"endpoint_id": 1, "body": {"type": "order.paid"}}'
        row.status, row.attempts, row.last_error = "dead", MAX_ATTEMPTS, "ConnectError: refused"
        db.session.commit()
    hooks = card(panel(staff, acme), "Webhook failures")
    assert "order.paid" in hooks and "The receiver could not be reached." in hooks
    assert "The shop's owner can redeliver them on the Webhooks page." in hooks


def test_old_failures_are_history_and_counts_stop_at_the_cap(app, shops):
    acme, _globex = shops
    old = dead_mail(app, acme, "old@example.com")
    with app.app_context(), all_tenants():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old)
            .values(created_at=utcnow() - timedelta(days=health.RECENT_DAYS + 1))
        )
        db.session.commit()
    owner = signed_in(app, acme)
    assert "All good" in card(panel(owner, acme), "Mail failures")
    for n in range(health.COUNT_CAP + 2):
        dead_mail(app, acme, f"m{n}@example.com")
    mails = card(panel(owner, acme), "Mail failures")
    assert f"{health.COUNT_CAP}+ mails were not delivered" in mails
    assert mails.count("To m") == health.SHOWN  # the newest few, not the lot
    assert "old@example.com" not in mails


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("SMTPRecipientsRefused: {'a@b': (550, b'no such user')}", "refused the address"),
        ("SMTPAuthenticationError: (535, b'bad')", "mail login"),
        ("SMTPSenderRefused: (553, b'no')", "sender address"),
        ("SMTPDataError: (554, b'spam')", "refused the message"),
        ("gaierror: [Errno -2] Name or service not known", "could not be reached"),
        ("KeyError: 'to'", "platform operator can see the details"),
        ("", "platform operator can see the details"),
    ],
)
def test_mail_reasons_in_plain_words(app, error, words):
    with app.test_request_context():
        assert words in health.mail_reason(error)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("RuntimeError: answered 503", "status 503"),
        ("ReadTimeout: the delivery's deadline passed", "too long"),
        ("ConnectError: [Errno 111] Connection refused", "could not be reached"),
        ("WebhookError: x resolves to 10.0.0.1, which is not a public address.", "not a public"),
        ("RemoteProtocolError: Server disconnected", "could not be read"),
        ("ValueError: odd", "platform operator can see the details"),
    ],
)
def test_webhook_reasons_in_plain_words(app, error, words):
    with app.test_request_context():
        assert words in health.webhook_reason(error)


def test_an_erased_persons_mails_are_no_failure_and_never_sent_again(app, shops):
    """An erasure drops the person's queued mails (dead, "erased") and scrubs the address
    of those that had failed: neither is a failure to act on, nor sent again."""
    from storefront.privacy import services as privacy

    acme, _globex = shops
    failed = dead_mail(app, acme, "gone@example.com")
    with app.app_context(), tenant_context(acme):
        enqueue_mail("gone@example.com", "Your order", "Thanks")  # queued, not yet sent
        db.session.commit()
        privacy.erase("gone@example.com")
        db.session.commit()
    owner = signed_in(app, acme)
    page = owner.get("/admin/", headers=host(acme)).text
    mails = card(panel(owner, acme), "Mail failures")
    assert "gone@example.com" not in page
    assert "1 mail was not delivered" in mails  # the one that failed, its address erased
    assert "Send again" not in mails
    retry = f"/admin/health/mails/{failed}/retry"
    assert (
        owner.post(retry, data={"csrf_token": csrf_from(page)}, headers=host(acme)).status_code
        == 404
    )


def test_an_endpoint_switched_off_shows_though_nothing_failed_lately(app, shops):
    from storefront.webhooks.models import WebhookEndpoint

    acme, _globex = shops
    with app.app_context(), tenant_context(acme):
        db.session.add(
            WebhookEndpoint(url="https://hooks.example.com/x", events="order.paid", active=False)
        )
        db.session.commit()
    hooks = card(panel(signed_in(app, acme), acme), "Webhook failures")
    assert "1 endpoint was switched off after failing again and again." in hooks
    assert "All good" not in hooks and "hooks.example.com" not in hooks
