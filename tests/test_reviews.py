"""Reviews: only buyers, once per order line; moderation; the product's figures exact
under publish, hide and delete; pages, JSON-LD and the API; hostile text stays text;
limits; shops kept apart; erasure and the person's export."""

from __future__ import annotations

import json
import re

import extruct
import pytest
from sqlalchemy import select, update

from storefront.accounts import tokens
from storefront.accounts.models import User
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.orders.models import Order, OrderLine
from storefront.privacy import services as privacy
from storefront.reviews import services as reviews
from storefront.reviews.models import Review
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login

SHOPPER, OTHER, OWNER = "ada@example.com", "bob@example.com", "owner@example.com"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> see http://evil.example'


@pytest.fixture
def shop(app, make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    make_user(acme, SHOPPER, roles=["customer"])
    make_user(acme, OTHER, roles=["customer"])
    with app.app_context(), tenant_context(acme):
        db.session.scalar(select(User).where(User.email == SHOPPER)).name = "Ada Lovelace"
        catalog.create_product("A-1", "Anvil", 1999, stock=50)
        catalog.create_product("R-1", "Rocket", 4999, stock=5)
        db.session.commit()
    return acme


def bought(app, shop, email, slug="anvil", status="paid", number=None) -> int:
    """An order of ``email``'s account in ``status`` with one line of ``slug``: the line's id."""
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        count = len(db.session.scalars(select(Order.id)).all())
        order = Order(
            number=number or f"T-{count + 1}",
            user_id=user.id,
            email=email,
            name="Ada",
            address="1 Way",
            postal_code="1000",
            city="Town",
            country="US",
            shipping_label="Standard",
            shipping=0,
            subtotal=product.price,
            total=product.price,
            currency="USD",
            payment_method="manual",
            status=status,
        )
        db.session.add(order)
        db.session.flush()
        line = OrderLine(
            order_id=order.id,
            product_id=product.id,
            sku=product.sku,
            title=product.title,
            unit_price=product.price,
            quantity=1,
            line_total=product.price,
        )
        db.session.add(line)
        db.session.commit()
        return line.id


def write(client, shop, line_id, rating="5", title="Great", body="Works well."):
    page = client.get(f"/account/reviews/new/{line_id}", headers=host(shop))
    if page.status_code != 200:
        return page
    data = {"rating": rating, "title": title, "body": body, "csrf_token": csrf_from(page.text)}
    return client.post(f"/account/reviews/new/{line_id}", data=data, headers=host(shop))


def figures(app, shop, slug="anvil"):
    with app.app_context(), tenant_context(shop):
        pid = db.session.scalar(select(Product.id).where(Product.slug == slug))
        stored, counted = reviews.figures(pid), reviews.recount(pid)
        assert stored == counted, "the stored figures drifted from the reviews"
        return stored


def state_of(app, shop, review_id=None):
    with app.app_context(), tenant_context(shop):
        stmt = select(Review.status).order_by(Review.id.desc())
        if review_id:
            stmt = stmt.where(Review.id == review_id)
        return db.session.scalar(stmt)


def moderate(client, shop, review_id, action):
    page = client.get("/admin/reviews/", headers=host(shop))
    token = re.search(r'name="confirm-csrf_token" type="hidden" value="([^"]+)"', page.text)
    return client.post(
        f"/admin/reviews/{review_id}/{action}",
        data={"confirm-csrf_token": token.group(1)},
        headers=host(shop),
    )


def review_ids(app, shop):
    with app.app_context(), tenant_context(shop):
        return list(db.session.scalars(select(Review.id).order_by(Review.id)))


# Eligibility -----------------------------------------------------------------------------


def test_only_a_buyer_of_a_paid_order_reviews_and_once_per_line(app, client, shop):
    waiting = bought(app, shop, SHOPPER, status="pending")
    cancelled = bought(app, shop, SHOPPER, status="cancelled")
    paid = bought(app, shop, SHOPPER, status="paid")
    someone_elses = bought(app, shop, OTHER, status="delivered")
    assert client.get("/account/reviews", headers=host(shop)).status_code in (302, 401)
    login(client, shop, SHOPPER)
    mine = client.get("/account/reviews", headers=host(shop))
    assert f"/account/reviews/new/{paid}" in mine.text
    assert f"/account/reviews/new/{waiting}" not in mine.text
    assert f"/account/reviews/new/{cancelled}" not in mine.text
    for line in (waiting, cancelled, someone_elses, 999_999):
        assert write(client, shop, line).status_code == 403
    sent = write(client, shop, paid, rating="4")
    assert sent.status_code == 302
    assert state_of(app, shop) == "pending"  # the shop approves first, by default
    assert write(client, shop, paid).status_code == 409  # one review per order line
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        with pytest.raises(reviews.ReviewError) as refused:
            reviews.reviewable_line(user.id, paid)
        assert refused.value.code == "already_reviewed"
    # A second purchase of the same product is a second line: it may be reviewed too.
    again = bought(app, shop, SHOPPER, status="delivered")
    assert write(client, shop, again, rating="2").status_code == 302
    assert len(review_ids(app, shop)) == 2


def test_bad_input_is_a_clear_400(app, client, shop):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    assert write(client, shop, line, rating="9").status_code == 400
    assert write(client, shop, line, rating="").status_code == 400
    too_long = write(client, shop, line, body="x" * 5001)
    assert too_long.status_code == 400
    spam = write(client, shop, line, body="http://a.example http://b.example www.c.example")
    assert spam.status_code == 400 and "web addresses" in spam.text
    assert review_ids(app, shop) == []


# Moderation and figures ------------------------------------------------------------------


def test_publish_hide_delete_keep_the_figures_exact(app, client, shop):
    lines = [bought(app, shop, SHOPPER) for _ in range(3)]
    login(client, shop, SHOPPER)
    for line, rating in zip(lines, ("5", "4", "2"), strict=True):
        assert write(client, shop, line, rating=rating).status_code == 302
    first, second, third = review_ids(app, shop)
    assert figures(app, shop) == (0, 0)  # pending reviews count for nothing
    client._cookies.clear()  # signed out (a new visitor in the same client)
    login(client, shop, OWNER)
    queue = client.get("/admin/reviews/?state=pending", headers=host(shop))
    assert queue.status_code == 200 and "3 reviews are waiting" in queue.text
    assert moderate(client, shop, first, "publish").status_code == 302
    assert moderate(client, shop, first, "publish").status_code == 302  # twice: counted once
    assert moderate(client, shop, second, "publish").status_code == 302
    assert figures(app, shop) == (2, 9)
    assert moderate(client, shop, first, "hide").status_code == 302
    assert figures(app, shop) == (1, 4)
    assert moderate(client, shop, third, "hide").status_code == 302  # pending -> hidden
    assert figures(app, shop) == (1, 4)
    assert moderate(client, shop, third, "publish").status_code == 302
    assert figures(app, shop) == (2, 6)
    assert moderate(client, shop, second, "delete").status_code == 302
    assert figures(app, shop) == (1, 2)
    assert review_ids(app, shop) == [first, third]
    published = client.get("/admin/reviews/?state=published", headers=host(shop)).text
    hidden = client.get("/admin/reviews/?state=hidden", headers=host(shop)).text
    assert f'id="review-{third}"' in published and f'id="review-{first}"' not in published
    assert f'id="review-{first}"' in hidden
    # The figures follow the review, not a count over the reviews: a stale object moved
    # concurrently does not move them twice.
    with app.app_context(), tenant_context(shop):
        one = db.session.get(Review, first)
        assert one.status == "hidden"
        db.session.execute(
            update(Review).where(Review.id == first).values(status="published")
        )  # another moderator, behind this one's back (no figures moved: a test's cheat)
        assert reviews.set_state(one, "published") is False
        db.session.rollback()
    assert figures(app, shop) == (1, 2)


def test_the_owner_replies_and_chooses_to_publish_at_once(app, client, shop):
    login(client, shop, OWNER)
    page = client.get("/admin/reviews/", headers=host(shop))
    saved = client.post(
        "/admin/reviews/settings",
        data={"settings-auto_publish": "y", "settings-csrf_token": csrf_from_prefixed(page.text)},
        headers=host(shop),
    )
    assert saved.status_code == 302
    client._cookies.clear()  # signed out (a new visitor in the same client)
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    assert write(client, shop, line, rating="3", body="Fine.").status_code == 302
    assert state_of(app, shop) == "published" and figures(app, shop) == (1, 3)
    client._cookies.clear()  # signed out (a new visitor in the same client)
    login(client, shop, OWNER)
    (review_id,) = review_ids(app, shop)
    page = client.get("/admin/reviews/", headers=host(shop))
    token = re.search(
        rf'name="reply-{review_id}-csrf_token" type="hidden" value="([^"]+)"', page.text
    ).group(1)
    replied = client.post(
        f"/admin/reviews/{review_id}/reply",
        data={f"reply-{review_id}-reply": "Thanks, Ada!", f"reply-{review_id}-csrf_token": token},
        headers=host(shop),
    )
    assert replied.status_code == 302
    product_page = client.get("/p/anvil", headers=host(shop)).text
    assert "Thanks, Ada!" in product_page and "The shop replied" in product_page


def csrf_from_prefixed(html: str, prefix: str = "settings") -> str:
    return re.search(rf'name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_a_customer_cannot_moderate(app, client, shop):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    write(client, shop, line)
    (review_id,) = review_ids(app, shop)
    assert client.get("/admin/reviews/", headers=host(shop)).status_code == 403
    assert client.post(f"/admin/reviews/{review_id}/publish", headers=host(shop)).status_code in (
        400,
        403,
    )
    assert state_of(app, shop) == "pending"


# Pages and search engines ----------------------------------------------------------------


def publish_all(app, shop):
    with app.app_context(), tenant_context(shop):
        for review in db.session.scalars(select(Review)).all():
            reviews.publish(review)
        db.session.commit()


def test_pages_show_published_reviews_as_text_never_markup(app, client, shop):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    assert write(client, shop, line, rating="4", title=HOSTILE, body=HOSTILE).status_code == 302
    client._cookies.clear()  # signed out (a new visitor in the same client)
    page = client.get("/p/anvil", headers=host(shop)).text
    assert "No reviews yet." in page and "evil.example" not in page  # pending: not shown
    publish_all(app, shop)
    page = client.get("/p/anvil", headers=host(shop)).text
    assert "&lt;script&gt;alert(" in page
    assert '<script>alert("x")' not in page and "<img src=x" not in page
    assert 'href="http://evil.example' not in page  # no link is made of the words
    assert "By Ada L." in page and "Lovelace" not in page
    assert "Rated 4.0 out of 5" in page and "1 review" in page
    listing = client.get("/products", headers=host(shop)).text
    assert "Rated 4.0 out of 5" in listing and "(1 review)" in listing
    everything = client.get("/p/anvil/reviews", headers=host(shop))
    assert everything.status_code == 200 and "&lt;script&gt;" in everything.text
    assert client.get("/p/anvil/reviews?after=garbage", headers=host(shop)).status_code == 404
    assert client.get("/p/nothing/reviews", headers=host(shop)).status_code == 404


def test_the_reviews_page_goes_back_in_time_by_keyset(app, client, shop):
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == SHOPPER))
        uid = user.id
    lines = [bought(app, shop, SHOPPER) for _ in range(25)]
    with app.app_context(), tenant_context(shop):
        user = db.session.get(User, uid)
        for n, line_id in enumerate(lines):
            line = reviews.reviewable_line(uid, line_id)
            made = reviews.create_review(user, line, 1 + n % 5, f"Review number {n}", "")
            reviews.publish(made)
        db.session.commit()
    first = client.get("/p/anvil/reviews", headers=host(shop)).text
    seen = re.findall(r"Review number (\d+)<", first)
    assert len(seen) == 20 and seen[0] == "24"
    after = re.search(r'href="/p/anvil/reviews\?after=([0-9.]+)"', first).group(1)
    rest = re.findall(
        r"Review number (\d+)<",
        client.get(f"/p/anvil/reviews?after={after}", headers=host(shop)).text,
    )
    assert sorted(map(int, seen + rest)) == list(range(25))
    assert figures(app, shop) == (25, sum(1 + n % 5 for n in range(25)))


def test_json_ld_has_the_aggregate_rating_and_reviews(app, client, shop):
    lines = [bought(app, shop, SHOPPER) for _ in range(2)]
    login(client, shop, SHOPPER)
    for line, rating in zip(lines, ("5", "4"), strict=True):
        write(client, shop, line, rating=rating, title="</script><script>alert(1)</script>")
    client._cookies.clear()  # signed out (a new visitor in the same client)
    publish_all(app, shop)
    page = client.get("/p/anvil", headers=host(shop))
    found = extruct.extract(
        page.text, base_url="http://acme.test/p/anvil", syntaxes=["json-ld"], uniform=True
    )
    product = next(item for item in found["json-ld"] if item["@type"] == "Product")
    rating = product["aggregateRating"]
    assert rating["@type"] == "AggregateRating"
    assert rating["ratingValue"] == "4.5" and rating["reviewCount"] == 2
    assert rating["bestRating"] == 5 and rating["worstRating"] == 1
    assert len(product["review"]) == 2
    assert {r["reviewRating"]["ratingValue"] for r in product["review"]} == {4, 5}
    assert product["review"][0]["author"] == {"@type": "Person", "name": "Ada L."}
    assert product["review"][0]["name"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in page.text
    other = client.get("/p/rocket", headers=host(shop))
    none = extruct.extract(
        other.text, base_url="http://acme.test/p/rocket", syntaxes=["json-ld"], uniform=True
    )
    assert "aggregateRating" not in next(i for i in none["json-ld"] if i["@type"] == "Product")


def test_labels_follow_the_reader_and_the_words_stay_as_written(app, client, make_shop, make_user):
    shop = make_shop("acme", settings='name = "Acme"\nlocales = ["en_US", "de_DE"]\n')
    make_user(shop, SHOPPER, roles=["customer"])
    with app.app_context(), tenant_context(shop):
        catalog.create_product("A-1", "Anvil", 1999, stock=50)
        db.session.commit()
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    write(client, shop, line, rating="5", body="Très solide, vraiment.")
    publish_all(app, shop)
    german = client.get("/de/p/anvil", headers=host(shop)).text
    assert "Très solide, vraiment." in german
    assert 'lang="en"' in german  # written on the English pages: marked as English


# Cross-shop isolation --------------------------------------------------------------------


def test_shops_keep_their_reviews(app, client, shop, make_shop, make_user):
    globex = make_shop("globex")
    make_user(globex, OWNER, roles=["owner"])
    make_user(globex, SHOPPER, roles=["customer"])
    with app.app_context(), tenant_context(globex):
        catalog.create_product("A-1", "Anvil", 1999, stock=50)
        db.session.commit()
    acme_line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    write(client, shop, acme_line, rating="1", body="Acme only")
    publish_all(app, shop)
    (acme_review,) = review_ids(app, shop)
    # Globex's shopper (same address, another account) cannot review Acme's line.
    other = app.test_client()
    login(other, globex, SHOPPER)
    assert write(other, globex, acme_line).status_code == 403
    assert "Acme only" not in other.get("/p/anvil", headers=host(globex)).text
    assert figures(app, globex) == (0, 0)
    owner = app.test_client()
    login(owner, globex, OWNER)
    assert "Acme only" not in owner.get("/admin/reviews/", headers=host(globex)).text
    page = owner.get("/admin/reviews/", headers=host(globex)).text
    token = csrf_from_prefixed(page)  # the session's token, under the confirm form's name
    for action in ("hide", "delete"):
        answer = owner.post(
            f"/admin/reviews/{acme_review}/{action}",
            data={"confirm-csrf_token": token},
            headers=host(globex),
        )
        assert answer.status_code == 404
    api = owner.get("/api/v1/products/anvil/reviews", headers=host(globex)).json
    assert api["data"] == [] and api["meta"]["rating_count"] == 0
    assert state_of(app, shop) == "published" and figures(app, shop) == (1, 1)


# API ---------------------------------------------------------------------------------------


def token_of(app, shop, email):
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        return {**host(shop), "Authentication-Token": user.get_auth_token()}


def key_of(app, shop, *scopes):
    with app.app_context(), tenant_context(shop):
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        secret = tokens.create_key(owner, "k", scopes=list(scopes)).secret
        db.session.commit()
    return {**host(shop), "Authorization": f"Bearer {secret}"}


def test_the_api_writes_lists_and_moderates(app, client, shop):
    shopper = token_of(app, shop, SHOPPER)
    body = {"rating": 5, "title": "Solid", "body": HOSTILE}
    refused = client.post("/api/v1/products/anvil/reviews", json=body, headers=shopper)
    assert refused.status_code == 403  # bought nothing yet
    bought(app, shop, SHOPPER)
    made = client.post("/api/v1/products/anvil/reviews", json=body, headers=shopper)
    assert made.status_code == 201, made.json
    review = made.json["data"]
    assert review["status"] == "pending" and review["body"] == HOSTILE  # text, as written
    again = client.post("/api/v1/products/anvil/reviews", json=body, headers=shopper)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reviewed"
    bad = client.post("/api/v1/products/anvil/reviews", json={"rating": 6}, headers=shopper)
    assert bad.status_code == 422
    assert (
        client.post("/api/v1/products/anvil/reviews", json=body, headers=host(shop)).status_code
        == 401
    )
    public = client.get("/api/v1/products/anvil/reviews", headers=host(shop)).json
    assert public["data"] == [] and public["meta"]["rating_count"] == 0
    # Moderation: reviews:read lists, reviews:write moderates, other keys are refused.
    reader, writer = key_of(app, shop, "reviews:read"), key_of(app, shop, "reviews:write")
    products_key = key_of(app, shop, "products:write")
    queue = client.get("/api/v1/admin/reviews?status=pending", headers=reader)
    assert queue.status_code == 200 and [r["id"] for r in queue.json["data"]] == [review["id"]]
    assert client.get("/api/v1/admin/reviews", headers=products_key).status_code == 403
    patch = {"status": "published", "reply": "Thank you!"}
    assert (
        client.patch(
            f"/api/v1/admin/reviews/{review['id']}", json=patch, headers=reader
        ).status_code
        == 403
    )
    assert client.get("/api/v1/admin/reviews", headers=shopper).status_code == 403
    moved = client.patch(f"/api/v1/admin/reviews/{review['id']}", json=patch, headers=writer)
    assert moved.status_code == 200 and moved.json["data"]["status"] == "published"
    public = client.get("/api/v1/products/anvil/reviews", headers=host(shop)).json
    assert public["meta"]["rating_count"] == 1 and public["meta"]["rating_average"] == "5.0"
    assert public["data"][0]["reply"] == "Thank you!" and public["data"][0]["author"] == "Ada L."
    assert "status" not in public["data"][0]
    assert (
        client.patch(
            f"/api/v1/admin/reviews/{review['id']}", json={"status": "nope"}, headers=writer
        ).status_code
        == 422
    )
    assert client.delete(f"/api/v1/admin/reviews/{review['id']}", headers=writer).status_code == 204
    assert client.get(f"/api/v1/admin/reviews/{review['id']}", headers=reader).status_code == 404
    assert figures(app, shop) == (0, 0)
    assert (
        client.get("/api/v1/products/anvil/reviews?cursor=x", headers=host(shop)).status_code == 400
    )
    assert client.get("/api/v1/products/nothing/reviews", headers=host(shop)).status_code == 404


def test_the_api_pages_by_cursor(app, client, shop):
    with app.app_context(), tenant_context(shop):
        uid = db.session.scalar(select(User.id).where(User.email == SHOPPER))
    lines = [bought(app, shop, SHOPPER) for _ in range(5)]
    with app.app_context(), tenant_context(shop):
        user = db.session.get(User, uid)
        for line_id in lines:
            reviews.publish(reviews.create_review(user, reviews.reviewable_line(uid, line_id), 3))
        db.session.commit()
    seen, cursor = [], None
    for _ in range(5):
        url = "/api/v1/products/anvil/reviews?limit=2" + (f"&cursor={cursor}" if cursor else "")
        answer = client.get(url, headers=host(shop))
        assert answer.status_code == 200
        seen += [r["id"] for r in answer.json["data"]]
        cursor = answer.json["meta"]["next_cursor"]
        if cursor is None:
            break
        assert 'rel="next"' in answer.headers["Link"]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_the_document_lists_the_review_routes(app, client, shop):
    document = client.get("/api/v1/openapi.json", headers=host(shop)).json
    listing = document["paths"]["/api/v1/products/{slug}/reviews"]
    assert listing["get"]["security"] == [] and "post" in listing
    assert {"apiKey": ["reviews:write"]} in listing["post"]["security"]
    admin = document["paths"]["/api/v1/admin/reviews"]["get"]
    assert admin["security"][0] == {"apiKey": ["reviews:read"]}
    assert "Review" in document["components"]["schemas"]


# Limits ------------------------------------------------------------------------------------


@pytest.mark.settings(RATELIMIT_ENABLED=True, REVIEW_RATE_LIMIT="2 per hour")
def test_an_account_writes_a_bounded_number_of_reviews(app, client, shop):
    lines = [bought(app, shop, SHOPPER) for _ in range(3)]
    login(client, shop, SHOPPER)
    assert write(client, shop, lines[0]).status_code == 302
    assert write(client, shop, lines[1]).status_code == 302
    third = write(client, shop, lines[2])
    assert third.status_code == 429 and third.headers["Retry-After"]
    assert len(review_ids(app, shop)) == 2


# Privacy -----------------------------------------------------------------------------------


def test_erasure_keeps_the_words_without_their_author_and_the_export_has_them(app, client, shop):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    write(client, shop, line, rating="5", body="Ada Lovelace loves it. Write to ada@example.com")
    publish_all(app, shop)
    with app.app_context(), tenant_context(shop):
        exported = json.loads("".join(privacy.person_data(SHOPPER)))
        assert exported["reviews"][0]["rating"] == 5
        assert "loves it" in exported["reviews"][0]["body"]
        privacy.erase(SHOPPER)
        db.session.commit()
        kept = db.session.scalar(select(Review))
        assert kept.user_id is None and kept.author_name == ""
        assert "loves it" in kept.body
        assert "Ada Lovelace" not in kept.body and "ada@example.com" not in kept.body
    assert figures(app, shop) == (1, 5)
    page = client.get("/p/anvil", headers=host(shop)).text
    assert "By a shopper" in page and "Ada L." not in page


# The shop archive ---------------------------------------------------------------------------


def test_an_exported_shop_brings_its_reviews_and_figures(app, client, runner, shop, tmp_path):
    line = bought(app, shop, SHOPPER)
    login(client, shop, SHOPPER)
    write(client, shop, line, rating="4", body="Travels well.")
    publish_all(app, shop)
    with app.app_context(), tenant_context(shop):
        reviews.set_auto_publish(True)
        db.session.commit()
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output
    from storefront.tenancy.registry import context_for

    with app.app_context(), tenant_context(context_for("copy")):
        review = db.session.scalar(select(Review))
        line_row = db.session.get(OrderLine, review.order_line_id)
        product = db.session.get(Product, review.product_id)
        user = db.session.get(User, review.user_id)
        assert review.body == "Travels well." and review.status == "published"
        assert line_row is not None and product.slug == "anvil" and user.email == SHOPPER
        assert (product.rating_count, product.rating_total) == (1, 4)
        assert reviews.auto_publish() is True
    page = client.get("/p/anvil", headers={"Host": "copy.test"})
    assert "Travels well." in page.text


def test_the_demo_shops_have_reviews(app, client):
    import shutil
    from pathlib import Path

    from storefront.demo import provision_demo
    from storefront.tenancy.registry import context_for
    from tests.fixtures.app import REPO

    for slug in ("acme", "globex"):
        shutil.copytree(REPO / "tenants" / slug, Path(app.config["TENANTS_DIR"]) / slug)
    with app.app_context():
        said = list(provision_demo())
        assert any("demo reviews added to acme" in line for line in said)
        again = list(provision_demo())  # idempotent: none added twice
        assert not any("demo reviews" in line for line in again)
        with tenant_context(context_for("acme")):
            anvil = db.session.scalar(select(Product).where(Product.sku == "ACME-ANV-50"))
            assert (anvil.rating_count, anvil.rating_total) == (2, 9)
            assert reviews.recount(anvil.id) == (2, 9)
            assert reviews.pending_count() == 1
    page = client.get(f"/p/{anvil.slug}", headers={"Host": "acme.localhost"})
    assert "Fell exactly where planned." in page.text and "Rated 4.5 out of 5" in page.text
