"""Per-shop caching: keys carry the shop and its generation, clears are per shop, nothing
personal is cached, values are JSON only, and a Redis outage is a miss, not an error."""

from __future__ import annotations

import pickle
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import update

from storefront.caching import JSONSerializer, shop_key
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import cache, db
from storefront.tenancy import tenant_context
from storefront.tenancy.context import TenantNotBound
from tests.fixtures.factories import add_products, host, login


@pytest.fixture
def shops(app, two_shops):
    acme, globex = two_shops
    add_products(app, acme, "Anvil")
    add_products(app, globex, "Tent")
    return acme, globex


def rename_behind_the_cache(app, shop, title):
    """Change the data without the services, so no invalidation happens."""
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Product).values(title=title))
        db.session.commit()


def test_home_page_of_two_shops_never_shares_a_cached_body(client, shops):
    acme, globex = shops
    for _ in range(2):  # cold, then warm
        a, b = client.get("/", headers=host(acme)).text, client.get("/", headers=host(globex)).text
        assert "Anvil" in a and "Tent" not in a
        assert "Tent" in b and "Anvil" not in b


def test_pages_are_cached_per_shop_and_clear_touches_one_shop(app, client, runner, shops):
    acme, globex = shops
    client.get("/products", headers=host(acme))
    client.get("/products", headers=host(globex))
    rename_behind_the_cache(app, acme, "Renamed anvil")
    rename_behind_the_cache(app, globex, "Renamed tent")
    assert "Renamed" not in client.get("/products", headers=host(acme)).text  # served cached

    result = runner.invoke(["cache", "clear", "acme"])
    assert result.exit_code == 0 and "cache cleared for acme" in result.output
    assert "Renamed anvil" in client.get("/products", headers=host(acme)).text
    assert "Renamed" not in client.get("/products", headers=host(globex)).text  # untouched
    assert runner.invoke(["cache", "clear"]).exit_code == 0
    assert "Renamed tent" in client.get("/products", headers=host(globex)).text
    assert runner.invoke(["cache", "clear", "nope"]).exit_code == 1


def test_writes_through_the_services_invalidate_the_shops_pages(app, client, shops):
    acme, _ = shops
    assert "Hammer" not in client.get("/products", headers=host(acme)).text
    with app.app_context(), tenant_context(acme):
        catalog.create_product("acme-2", "Hammer", 500, stock=1)
        db.session.commit()
    assert "Hammer" in client.get("/products", headers=host(acme)).text


def test_logged_in_pages_are_never_cached_or_served_from_cache(app, client, shops, make_user):
    acme, _ = shops
    make_user(acme, "ada@example.com")
    login(client, acme, "ada@example.com")
    assert "Log out" in client.get("/products", headers=host(acme)).text
    anonymous = app.test_client()
    assert "Log out" not in anonymous.get("/products", headers=host(acme)).text
    rename_behind_the_cache(app, acme, "Fresh anvil")
    assert "Fresh anvil" in client.get("/products", headers=host(acme)).text  # not from cache


def test_anonymous_catalog_pages_set_no_cookie_and_may_be_kept_by_shared_caches(app, client, shops):
    """A first-time visitor's home, listing, category, search and product pages: no
    Set-Cookie, public with a short shared lifetime, an entity tag and 304 on a match;
    the product page's form needs no session (its cart form checks the origin)."""
    acme, _ = shops
    with app.app_context(), tenant_context(acme):
        catalog.create_category("Tools")
        db.session.commit()
    for path in ("/", "/products", "/c/tools", "/search?q=anvil", "/p/anvil"):
        visitor = app.test_client()
        first = visitor.get(path, headers=host(acme))
        assert first.status_code == 200, path
        assert "Set-Cookie" not in first.headers, (path, first.headers.get("Set-Cookie"))
        control = first.headers["Cache-Control"]
        assert "public" in control and "s-maxage=60" in control, (path, control)
        assert "stale-while-revalidate=300" in control and "max-age=0" in control
        assert first.headers["ETag"]
        kept = visitor.get(path, headers={**host(acme), "If-None-Match": first.headers["ETag"]})
        assert kept.status_code == 304 and kept.data == b"", path
        again = visitor.get(path, headers=host(acme))  # from the page cache this time
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
        assert "Set-Cookie" not in again.headers
    assert 'name="csrf_token"' not in visitor.get("/p/anvil", headers=host(acme)).text


def test_a_cross_site_form_cannot_add_to_a_cart(app, client, shops):
    acme, _ = shops
    page = client.get("/p/anvil", headers=host(acme)).text
    product_id = page.split('name="product_id" value="')[1].split('"')[0]
    form = {"product_id": product_id, "quantity": "1"}
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another shop
        {"Origin": "https://evil.example"},
        {"Origin": "http://globex.test"},
    ):
        answer = client.post("/cart/add", data=form, headers={**host(acme), **headers})
        assert answer.status_code == 403, headers
    assert "Anvil" not in client.get("/cart/", headers=host(acme)).text
    ok = client.post("/cart/add", data=form, headers={**host(acme), "Origin": "http://acme.test"})
    assert ok.status_code == 302 and "Anvil" in client.get("/cart/", headers=host(acme)).text


def test_a_visitor_with_a_cart_or_a_login_never_gets_the_shared_page(app, client, shops):
    acme, _ = shops
    client.get("/products", headers=host(acme))  # kept for everyone
    page = client.get("/p/anvil", headers=host(acme)).text
    product_id = page.split('name="product_id" value="')[1].split('"')[0]
    client.post("/cart/add", data={"product_id": product_id}, headers=host(acme))
    mine = client.get("/products", headers=host(acme))
    assert 'class="cart-count"' in mine.text and "public" not in mine.headers.get(
        "Cache-Control", ""
    )
    assert 'class="cart-count"' not in app.test_client().get("/products", headers=host(acme)).text


def test_no_shop_key_without_a_shop_bound(app):
    with app.app_context(), pytest.raises(TenantNotBound):
        shop_key("anything")


def test_cached_values_are_json_and_a_planted_pickle_is_a_miss():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    serializer = JSONSerializer()
    assert serializer.loads(serializer.dumps({"a": [1, "x"]})) == {"a": [1, "x"]}
    assert serializer.loads(serializer.dumps(7)) == 7
    assert serializer.loads(pickle.dumps(Boom())) is None
    assert serializer.loads(b"!" + pickle.dumps("x")) is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server we can stop and start."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.tmp_path = tmp_path
        self.process = None

    def start(self):
        self.process = subprocess.Popen(  # fixed arguments
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the outage test (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_redis_outage_is_a_miss_and_caching_resumes(app_config, own_redis, make_shop, caplog):
    from storefront import create_app
    from storefront.tenancy.services import NewShop, create_shop

    app = create_app({**app_config, "REDIS_URL": own_redis.url, "CACHE_RETRY_SECONDS": 1.0})
    with app.app_context():
        create_shop(NewShop(slug="acme", name="Acme", domains=("acme.test",)))
        with tenant_context(app.extensions["storefront.registry"].lookup("acme.test").tenant):
            catalog.create_product("a-1", "Anvil", 100, stock=1)
            db.session.commit()
    client = app.test_client()
    headers = {"Host": "acme.test"}
    assert client.get("/products", headers=headers).status_code == 200
    with app.app_context():
        assert cache.get("probe") is None
        cache.set("probe", "before")
        assert cache.get("probe") == "before"

    own_redis.stop()
    for _ in range(5):
        response = client.get("/products", headers=headers)
        assert response.status_code == 200 and "Anvil" in response.text
    with app.app_context():
        assert cache.get("probe") is None  # a direct call is a miss, not an exception
        assert cache.set("probe", "x") is False
    assert client.get("/_ready").status_code == 503  # readiness tells the truth
    outage_lines = [r for r in caplog.records if "cache unavailable" in r.getMessage()]
    assert 1 <= len(outage_lines) <= 2  # logged once per interval, not once per call

    own_redis.start()
    with app.app_context():
        deadline = time.monotonic() + 5
        while cache.set("probe", "after") is False and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cache.get("probe") == "after"  # resumed without a restart
    assert client.get("/products", headers=headers).status_code == 200
    assert client.get("/_ready").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_hung_redis_costs_one_timeout_not_one_per_request(app_config, make_shop):
    """A Redis that accepts connections but never answers: after the first timeout the
    cache stays out of the way, so later requests never wait on it."""
    import threading

    from storefront import create_app

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []

    def accept_forever():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)  # never read from, never answered

    threading.Thread(target=accept_forever, daemon=True).start()
    port = listener.getsockname()[1]
    shop = make_shop("acme")
    app = create_app(
        {**app_config, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "CACHE_RETRY_SECONDS": 60.0}
    )
    client = app.test_client()
    try:
        for _ in range(10):
            assert client.get("/products", headers=host(shop)).status_code == 200
        attempts = len(accepted)
        assert 1 <= attempts <= 4  # the first call (with redis-py's own retries), no more
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_invalidation_waits_for_the_commit_and_a_rollback_keeps_the_cache(app, client, shops):
    acme, _ = shops
    client.get("/products", headers=host(acme))  # cached
    rename_behind_the_cache(app, acme, "Renamed anvil")
    with app.app_context(), tenant_context(acme):
        catalog.create_product("acme-2", "Hammer", 500, stock=1)
        # Not committed yet: the cached page is still what other workers serve.
        assert "Renamed" not in client.get("/products", headers=host(acme)).text
        db.session.rollback()
    assert "Renamed" not in client.get("/products", headers=host(acme)).text
    with app.app_context(), tenant_context(acme):
        catalog.create_product("acme-2", "Hammer", 500, stock=1)
        db.session.commit()
    page = client.get("/products", headers=host(acme)).text
    assert "Hammer" in page and "Renamed anvil" in page


def test_asset_fingerprints_are_kept_until_the_shop_cache_is_cleared(app, client, runner, shops):
    import re

    from tests.fixtures.factories import tenant_folder

    acme, _ = shops
    css = tenant_folder(app, "acme") / "static" / "css" / "shop.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text("body { color: red; }")
    runner.invoke(["cache", "clear", "acme"])

    def fingerprint():
        page = client.get("/cart/", headers=host(acme)).text  # never page-cached
        return re.search(r"css/shop\.css\?v=([0-9a-f]+)", page).group(1)

    first = fingerprint()
    css.write_text("body { color: blue; } /* edited */")
    assert fingerprint() == first  # no file-system call per page in production
    runner.invoke(["cache", "clear", "acme"])
    assert fingerprint() != first


def test_a_cache_failure_after_a_commit_never_fails_the_request(app, make_shop, monkeypatch):
    """The page-cache token is renewed once the transaction has committed; whatever the
    cache raises then (a failover mid-call), the committed work stands and nothing raises."""
    from storefront.caching import invalidate_shop_cache

    shop = make_shop("acme")

    def broken(*_args, **_kwargs):
        raise OSError("connection reset during failover")

    with app.app_context(), tenant_context(shop):
        monkeypatch.setattr(cache, "set", broken)
        catalog.create_product("a-1", "Anvil", 100, stock=1)
        invalidate_shop_cache()
        db.session.commit()  # does not raise
        monkeypatch.undo()
        assert catalog.get_product("anvil") is not None
