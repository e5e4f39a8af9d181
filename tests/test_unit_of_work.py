"""A write runs as one unit of work (``storefront.db.unit_of_work``): run again whole when
it loses a write race, committed once, rolled back on any error; and it is the one place
that commits (services flush). Both checkouts (the shop's page and the API) run one
service, ``orders.checkout.place``, and answer the same situations the same way."""

from __future__ import annotations

import pathlib
import re

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from storefront.catalog.models import Product
from storefront.db import transactional, unit_of_work
from storefront.extensions import db
from storefront.orders import checkout as checkout_service
from storefront.orders.models import Order
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host
from tests.test_commerce import ADDRESS, add_to_cart, order_count, stock_of
from tests.test_write_conflicts import _conflict_on

# The unit of work -------------------------------------------------------------------


def _commits(app) -> list[int]:
    """Count the commits the engine sees from now on."""
    seen: list[int] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


def _set_stock(app, shop, slug: str, stock: int) -> None:
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Product).where(Product.slug == slug).values(stock=stock))
        db.session.commit()


def test_a_unit_that_loses_a_write_race_runs_again_and_commits_once(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    runs: list[int] = []
    with app.app_context(), tenant_context(shop):
        commits = _commits(app)
        lost = _conflict_on(app, "UPDATE products", times=2)

        def work() -> int:
            runs.append(1)
            db.session.execute(update(Product).values(stock=Product.stock + 1))
            return len(runs)

        assert unit_of_work(work) == 3  # lost twice, went through on the third run
    assert len(lost) == 2 and len(runs) == 3
    assert len(commits) == 1
    assert stock_of(app, shop, "anvil") == 6  # moved once


def test_a_unit_rolls_back_on_any_error_and_the_error_propagates(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    with app.app_context(), tenant_context(shop):
        commits = _commits(app)

        def work() -> None:
            db.session.execute(update(Product).values(stock=0))
            db.session.flush()
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            unit_of_work(work)
        assert not db.session.new and not db.session.dirty
        assert len(commits) == 0
    assert stock_of(app, shop, "anvil") == 5


def test_a_unit_inside_a_unit_joins_it_one_commit_for_both(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)

    @transactional
    def add_one() -> None:
        db.session.execute(update(Product).values(stock=Product.stock + 1))

    with app.app_context(), tenant_context(shop):
        commits = _commits(app)

        def outer() -> None:
            add_one()
            add_one()

        unit_of_work(outer)
        assert len(commits) == 1
        add_one()  # alone: its own unit
        assert len(commits) == 2

        def failing() -> None:
            add_one()
            raise RuntimeError

        with pytest.raises(RuntimeError):  # an inner unit's error rolls the outer back too
            unit_of_work(failing)
    assert stock_of(app, shop, "anvil") == 8


def test_a_unit_that_keeps_losing_gives_up_and_rolls_back(app, make_shop, product):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    with app.app_context(), tenant_context(shop):
        lost = _conflict_on(app, "UPDATE products", times=99)
        with pytest.raises(OperationalError):
            unit_of_work(lambda: db.session.execute(update(Product).values(stock=1)), attempts=2)
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1  # usable
    assert len(lost) == 2
    assert stock_of(app, shop, "anvil") == 5


# Services never commit ----------------------------------------------------------------

ROOT = pathlib.Path(__file__).resolve().parent.parent / "platform" / "storefront"
COMMIT = re.compile(r"\bdb\.session\.commit\(\)|\bsession\.commit\(\)")
# Where a request, a command or a job owns its transaction: they may commit (and are
# moving to ``unit_of_work``). Everything else is a service: it flushes.
OWNERS = re.compile(r"(^|/)(views|views_\w+)\.py$|^(cli|admin|api)/")
# Services that still commit, each for a reason (path: reason).
ALLOWED = {
    "db.py": "the unit of work itself: the one commit",
    "demo.py": "the demo shop's seeding commits per step on purpose (a big catalog in batches)",
    "catalog/demo.py": "the demo catalog's seeding commits its batches",
    "accounts/mail.py": "an after_this_request hook: commits the request's own transaction "
    "for Flask-Security views that commit nothing themselves",
    "accounts/invitation_views.py": "the staff invitation's pages: views that own their "
    "requests (accepting signs the person in through Flask-Security's hooks)",
    "accounts/sessions.py": "Flask-Security's session hooks (sign-in/out) own their requests",
    "accounts/tokens.py": "Flask-Security's request loader: an API key's last use, "
    "committed at once, apart from the request's work",
    "tenancy/services.py": "create_shop: the new folder is moved into place between the "
    "flush and the commit and removed if the commit fails; a rerun cannot redo that rename "
    "(the other shop changes are @transactional)",
    "tenancy/deletion.py": "a shop's deletion commits per table batch",
    "tenancy/transfer.py": "moving a shop between databases commits per table batch",
}


def test_services_do_not_commit_outside_the_unit_of_work():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if OWNERS.search(name) or name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if COMMIT.search(line.split("#", 1)[0]):
                found.append(f"{name}:{number}")
    assert not found, "services flush; commit through storefront.db.unit_of_work: " + ", ".join(
        found
    )


def test_the_allow_list_names_only_files_that_still_commit():
    stale = [
        name
        for name in ALLOWED
        if not (ROOT / name).exists() or not COMMIT.search((ROOT / name).read_text())
    ]
    assert not stale, "no longer committing, take them off ALLOWED: " + ", ".join(stale)


def test_the_checkout_and_the_stripe_code_do_not_commit():
    for name in ("orders/checkout.py", "orders/stripe_events.py", "orders/stripe_payment.py"):
        assert not COMMIT.search((ROOT / name).read_text()), name
    for name in ("orders/views.py", "api/views.py"):
        text = (ROOT / name).read_text()
        checkout = text[
            text.index("def checkout(") : text.index("\ndef ", text.index("def checkout("))
        ]
        assert "commit(" not in checkout and "rollback(" not in checkout, name


# One checkout service, two surfaces ---------------------------------------------------

KEY = "uow-checkout-key-" + "k" * 8


class Web:
    """The shop's checkout page."""

    def __init__(self, app, shop):
        self.client, self.shop = app.test_client(), shop
        self.form: dict[str, str] = {}

    def add(self, slug: str, quantity: int = 1) -> None:
        assert add_to_cart(self.client, self.shop, slug, quantity).status_code == 302

    def place(self, **extra) -> tuple[str, str | None]:
        """("placed", number) or ("refused", where it sends the shopper)."""
        if not self.form:  # the same form again for a resubmission (the page is gone)
            page = self.client.get("/checkout", headers=host(self.shop))
            self.form = {"csrf_token": csrf_from(page.text), "checkout_key": KEY}
        data = {
            **ADDRESS,
            "email": "ada@example.com",
            **self.form,
            **{k: str(v) for k, v in extra.items()},
        }
        answer = self.client.post("/checkout", data=data, headers=host(self.shop))
        if answer.status_code == 302 and "/orders/" in answer.headers["Location"]:
            return "placed", answer.headers["Location"].split("/orders/")[1].split("?")[0]
        if answer.status_code == 200:  # the page again, with the new total
            return "total_changed", None
        assert answer.status_code == 302, answer.status_code
        return "refused", answer.headers["Location"]


class Api:
    """``POST /api/v1/checkout``."""

    def __init__(self, app, shop):
        self.client, self.shop = app.test_client(use_cookies=False), shop
        self.token = ""

    def add(self, slug: str, quantity: int = 1) -> None:
        items = self.client.get("/api/v1/products", headers=host(self.shop)).json["data"]
        item = next(i for i in items if i["slug"] == slug)
        headers = {**host(self.shop), **({"X-Cart-Token": self.token} if self.token else {})}
        added = self.client.post(
            "/api/v1/cart/items",
            json={"product_id": item["id"], "quantity": quantity},
            headers=headers,
        )
        assert added.status_code == 201, added.json
        self.token = added.json["data"]["token"]

    def place(self, **extra) -> tuple[str, str | None]:
        headers = {**host(self.shop), "X-Cart-Token": self.token, "Idempotency-Key": KEY}
        body = {**ADDRESS, "email": "ada@example.com", "payment_method": "manual", **extra}
        answer = self.client.post("/api/v1/checkout", json=body, headers=headers)
        if answer.status_code == 201:
            return "placed", answer.json["data"]["order"]["number"]
        assert answer.status_code == 409, answer.json
        code = answer.json["error"]["code"]
        return ("total_changed" if code == "total_changed" else "refused"), code


SURFACES = pytest.mark.parametrize("surface", [Web, Api], ids=["web", "api"])


@SURFACES
def test_the_same_checkout_again_answers_its_order(app, make_shop, product, surface):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    buyer = surface(app, shop)
    buyer.add("anvil", 2)
    first = buyer.place()
    again = buyer.place()
    assert first[0] == "placed" and again == first
    assert order_count(app, shop) == 1
    assert stock_of(app, shop, "anvil") == 3


@SURFACES
def test_a_changed_total_places_nothing_and_returns_the_stock(app, make_shop, product, surface):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5, price=1500)
    buyer = surface(app, shop)
    buyer.add("anvil", 2)
    assert buyer.place(expected_total=1)[0] == "total_changed"
    assert order_count(app, shop) == 0
    assert stock_of(app, shop, "anvil") == 5


@SURFACES
def test_a_sold_out_line_places_nothing(app, make_shop, product, surface):
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    buyer = surface(app, shop)
    buyer.add("anvil", 2)
    _set_stock(app, shop, "anvil", 1)
    outcome, where = buyer.place()
    assert outcome == "refused"
    assert where in ("sold_out", "/cart/")  # the API's code; the page sends them to the cart
    assert order_count(app, shop) == 0
    assert stock_of(app, shop, "anvil") == 1


@SURFACES
def test_a_racing_retry_that_committed_first_is_answered_as_its_order(
    app, make_shop, product, surface, monkeypatch
):
    """Another request of the same checkout (same key) commits its order while this one
    runs: this one places nothing and answers that order."""
    shop = make_shop("acme")
    product(shop, "anvil", stock=5)
    buyer = surface(app, shop)
    buyer.add("anvil", 2)
    real = checkout_service.place_order
    raced: list[str] = []

    def racing(cart, contact, user_id=None, **kw):
        if not raced:  # the twin request, in its own session, gets there first
            with app.app_context(), tenant_context(shop):
                twin = real(db.session.get(type(cart), cart.id), contact, user_id, **kw)
                raced.append(twin.number)
                db.session.commit()
        return real(cart, contact, user_id, **kw)

    monkeypatch.setattr(checkout_service, "place_order", racing)
    outcome, number = buyer.place()
    assert raced and (outcome, number) == ("placed", raced[0])
    assert order_count(app, shop) == 1
    assert stock_of(app, shop, "anvil") == 3  # taken once
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(Order.number)) == raced[0]
