"""The Host header picks the shop; everything else about resolution, tried to break."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import event
from werkzeug.test import EnvironBuilder, run_wsgi_app

from storefront import create_app
from storefront.extensions import cache, db
from storefront.tenancy import services
from tests.fixtures.factories import host


def test_same_path_answers_with_each_shops_content(client, make_shop):
    acme = make_shop("acme", name="Acme Supplies")
    globex = make_shop("globex", name="Globex Outfitters", theme="minimal")
    a, b = client.get("/", headers=host(acme)), client.get("/", headers=host(globex))
    assert "Acme Supplies" in a.text
    assert "Globex" not in a.text
    assert "Globex Outfitters" in b.text
    assert "Acme" not in b.text
    assert client.get("/api/", headers=host(acme)).json == {"status": "success", "shop": "acme"}
    assert client.get("/api/", headers=host(globex)).json == {"status": "success", "shop": "globex"}


def test_unknown_host_gets_the_platform_404_never_a_shop(client, make_shop):
    make_shop("acme", name="Acme Supplies")
    response = client.get("/", headers={"Host": "nobody.test"})
    assert response.status_code == 404
    assert "Acme" not in response.text
    assert "No shop lives at this address" in response.text


def test_suspended_shop_answers_503_with_its_branding_and_reason(app, client, make_shop):
    acme = make_shop("acme", name="Acme Supplies")
    with app.app_context():
        services.suspend_shop("acme", reason="Closed for inventory until Monday")
    response = client.get("/some/page", headers=host(acme))
    assert response.status_code == 503
    assert "Acme Supplies" in response.text
    assert "Closed for inventory until Monday" in response.text
    with app.app_context():
        services.resume_shop("acme")
    assert client.get("/", headers=host(acme)).status_code == 200


def test_alias_redirects_permanently_to_primary_keeping_path_and_query(app, client, make_shop):
    make_shop("acme", domains=("acme.test", "www.acme.test"))
    response = client.get("/login?next=%2Faccount&x=1", headers={"Host": "www.acme.test"})
    assert response.status_code == 301
    assert response.headers["Location"] == "http://acme.test/login?next=%2Faccount&x=1"


@pytest.mark.parametrize("raw", ["ACME.test", "acme.test.", "acme.test:8080", "Acme.Test.:443"])
def test_host_is_normalised(client, make_shop, raw):
    make_shop("acme", name="Acme Supplies")
    response = client.get("/", headers={"Host": raw})
    assert response.status_code == 200
    assert "Acme Supplies" in response.text


def test_internationalised_domain_resolves_in_both_spellings(client, make_shop):
    make_shop("buecher", name="Bücherstube", domains=("bücher.test",))
    for raw in ("xn--bcher-kva.test", "bücher.test".encode("idna").decode()):
        assert client.get("/", headers={"Host": raw}).status_code == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", 400),
        ("a" * 300 + ".test", 400),
        ("acme.test\r\nX-Injected: 1", 400),
        ("acme.test\n", 400),
        ("127.0.0.1", 404),
        ("[::1]:8080", 404),
        ("[::1", 400),
        ("xn--zz.test", 400),
        ("ex ample.test", 400),
        ("acme.test:notaport", 400),
        ("-acme.test", 400),
        ("a..b", 400),
        ("%00.test", 400),
    ],
)
def test_malformed_hosts_get_4xx_never_500(app, make_shop, raw, expected):
    make_shop("acme", name="Acme Supplies")
    # Straight through WSGI: the test client's own cookie jar chokes on some of these.
    environ = EnvironBuilder(path="/").get_environ()
    environ["HTTP_HOST"] = raw
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    text = b"".join(body).decode()
    assert int(status.split()[0]) == expected
    assert "Acme" not in text


def test_forwarded_host_is_ignored_without_a_trusted_proxy(client, make_shop):
    make_shop("acme", name="Acme Supplies")
    make_shop("globex", name="Globex Outfitters")
    response = client.get("/", headers={"Host": "acme.test", "X-Forwarded-Host": "globex.test"})
    assert "Acme Supplies" in response.text
    assert "Globex" not in response.text


@pytest.mark.settings(TRUSTED_PROXY_COUNT=1)
def test_forwarded_host_and_proto_count_behind_a_configured_proxy(client, make_shop):
    make_shop("acme", name="Acme Supplies")
    make_shop("globex", name="Globex Outfitters")
    response = client.get(
        "/",
        headers={
            "Host": "10.0.0.5",
            "X-Forwarded-Host": "globex.test",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.status_code == 200
    assert "Globex Outfitters" in response.text


@pytest.mark.settings(REGISTRY_POLL_SECONDS=3600)
def test_a_seen_host_resolves_without_any_database_query(app, client, make_shop):
    acme = make_shop("acme")
    client.get("/api/", headers=host(acme))  # first sight: loads the registry
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(5):
            assert client.get("/api/", headers=host(acme)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_a_change_by_another_process_reaches_a_running_app(app, app_config, client, make_shop):
    acme = make_shop("acme")
    assert client.get("/", headers=host(acme)).status_code == 200
    operator = create_app(app_config)  # tenantctl in another process: its own app
    with operator.app_context():
        services.suspend_shop("acme", reason="maintenance")
        db.engine.dispose()
    assert client.get("/", headers=host(acme)).status_code == 503


def test_domain_changes_apply_without_restart(app, client, make_shop):
    make_shop("acme")
    assert client.get("/", headers={"Host": "shop.acme.test"}).status_code == 404
    with app.app_context():
        services.add_domain("acme", "shop.acme.test", primary=True, trust=True)
    assert client.get("/", headers={"Host": "shop.acme.test"}).status_code == 200
    assert (
        client.get("/", headers={"Host": "acme.test"})
        .headers["Location"]
        .startswith("http://shop.acme.test/")
    )


def test_platform_probes_answer_on_any_host(client):
    assert client.get("/_health", headers={"Host": "10.1.2.3"}).json == {"status": "ok"}
    ready = client.get("/_ready", headers={"Host": "whatever.invalid"})
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": "ok", "cache": "ok"}


def _shared_keys(backend) -> int:
    """Keys under this test's prefix in Redis; 0 for an in-process backend."""
    client = getattr(backend, "_read_client", None)
    if client is None:
        return 0
    return sum(1 for _ in client.scan_iter(match=f"{backend.key_prefix}*", count=1000))


@pytest.mark.settings(REGISTRY_POLL_SECONDS=3600, REGISTRY_UNKNOWN_SIZE=100)
def test_random_unknown_hosts_add_nothing_to_the_shared_cache(app, client, make_shop, monkeypatch):
    # Every unknown Host wrote a shared entry kept for an hour: 300 random names, 300 keys
    # in Redis. Negative answers now stay in each worker, in a bounded LRU of their own.
    acme = make_shop("acme")
    assert client.get("/api/", headers=host(acme)).status_code == 200
    with app.app_context():
        backend = cache.cache  # the configured backend: SimpleCache, or Redis in CI
    written: list[str] = []
    for name in ("set", "add", "set_many", "inc", "dec"):
        original = getattr(backend, name, None)
        if original is not None:

            def spy(key, *args, _original=original, **kwargs):
                written.append(str(key))
                return _original(key, *args, **kwargs)

            monkeypatch.setattr(backend, name, spy)
    keys_before = _shared_keys(backend)
    if hasattr(backend, "_read_client"):
        assert keys_before >= 1  # the count sees keys: acme's registry entry is one
    names = [f"{secrets.token_hex(8)}.example" for _ in range(300)]
    for name in names:
        assert client.get("/", headers={"Host": name}).status_code == 404
    assert [key for key in written if any(name in key for name in names)] == []
    assert len(written) <= 3  # nothing per name
    assert _shared_keys(backend) - keys_before <= 3
    registry = app.extensions["storefront.registry"]
    assert len(registry._unknown) <= 100  # bounded in the worker too
    # The flood pushed no known shop out, and a name seen again costs no query.
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/", headers=host(acme)).status_code == 200
        assert client.get("/", headers={"Host": names[-1]}).status_code == 404
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen == []
