"""Traces (storefront.tracing): off by default and then absent; on, every span of a
request or a job carries its shop and request id, and a job continues the trace of the
request that queued it.

OpenTelemetry's global TracerProvider can be set once per process: this module sets one
per test session (an in-memory exporter behind the platform's own provider set-up, with
its sampler and shop attributes) and empties it around each test. An app traces only
when its config says so (``TRACING_ENABLED``), so the other tests' apps never feed it;
the Redis instrumentation (process-wide, as in production) is taken off after each test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dramatiq import Worker
from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from storefront import create_app, tracing
from storefront.catalog import services as catalog
from storefront.extensions import db
from storefront.outbox import stop_sweeper
from storefront.outbox.models import OutboxMessage
from storefront.tenancy.context import all_tenants, tenant_context
from storefront.tenancy.registry import context_for
from storefront.tenancy.services import NewShop, create_shop
from storefront.tracing import REQUEST_ID, SHOP_ID, SHOP_SLUG
from tests.fixtures.app import REPO, TEST_REDIS_URL, BufferedClient
from tests.fixtures.factories import csrf_from, host
from tests.test_api_webhooks import owner_key
from tests.test_caching import RedisServer
from tests.test_commerce import ADDRESS, add_to_cart
from tests.test_jobs import wait_for
from tests.test_webhooks import Receiver, settle

ON = pytest.mark.settings(TRACING_ENABLED=True)
OTEL_ENV = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture(scope="session")
def _session_exporter() -> InMemorySpanExporter:
    from storefront.tracing import otel

    exporter = InMemorySpanExporter()
    current = trace.get_tracer_provider()
    if type(current).__name__ != "ProxyTracerProvider":  # pragma: no cover - a second module
        pytest.fail(f"a TracerProvider is set already: {current!r}")
    trace.set_tracer_provider(otel.make_provider(exporter, SimpleSpanProcessor))
    return exporter


@pytest.fixture
def spans(_session_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """The spans this test finished (the session's exporter, emptied before and after)."""
    _session_exporter.clear()
    yield _session_exporter
    _session_exporter.clear()
    instrumentor = RedisInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def by_trace(finished: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = {}
    for span in finished:
        traces.setdefault(span.context.trace_id, []).append(span)
    return traces


def servers(finished: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [s for s in finished if s.kind == SpanKind.SERVER]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def before_shop(finished: tuple[ReadableSpan, ...]) -> None:
    """Spans without the shop are the host lookup's, which finds it: its statements,
    and its reads of the shared cache, all before the first span that has the shop."""
    children = sorted((s for s in finished if s.parent is not None), key=lambda s: s.start_time)
    first = next((i for i, s in enumerate(children) if SHOP_ID in attrs(s)), len(children))
    for span in children[first:]:
        assert SHOP_ID in attrs(span), attrs(span)
    for span in children[:first]:
        assert attrs(span).get("db.system") == "redis" or registry_statement(span), attrs(span)


def registry_statement(span: ReadableSpan) -> bool:
    """A statement of the host registry's (its poll, a host's lookup): before the shop."""
    statement = str(attrs(span).get("db.statement") or attrs(span).get("db.query.text") or "")
    table = re.search(r"\bFROM\s+`?(\w+)", statement)
    return table is not None and table.group(1) in ("registry_state", "domains", "tenants")


# Off ---------------------------------------------------------------------------------


def test_off_unless_configured(monkeypatch):
    for name in OTEL_ENV:
        monkeypatch.delenv(name, raising=False)
    assert not tracing.enabled_in({})
    assert not tracing.enabled_in({"TRACING_ENABLED": False})
    assert tracing.enabled_in({"TRACING_ENABLED": True})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert tracing.enabled_in({})
    assert not tracing.enabled_in({"TRACING_ENABLED": False})  # the platform's word wins
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing.enabled_in({})


def test_an_app_switched_off_makes_no_spans(app, client, make_shop, spans):
    acme = make_shop("acme")
    assert client.get("/", headers=host(acme)).status_code == 200
    assert tracing.EXTENSION not in app.extensions
    assert type(app.wsgi_app).__name__ != "TracedApp"
    with app.app_context():
        assert tracing.traceparent() == ""
    assert spans.get_finished_spans() == ()


def test_by_default_off_costs_no_import_and_the_endpoint_variable_switches_it_on(tmp_path):
    """In a process of its own (the global provider is set once per process):

    - with no OTEL_* variable, a request runs and nothing of the traces is imported;
    - with OTEL_EXPORTER_OTLP_ENDPOINT alone, an app traces and the spans reach that
      collector over OTLP/HTTP; the provider is made on the first request, not when the
      app is built (gunicorn builds it in the master, before forking).
    """
    collector = Collector()
    script = f"""
import os, sys
sys.path[:0] = [{str(REPO / "platform")!r}, {str(REPO)!r}]
from storefront import create_app
config = {{
    "TESTING": True, "ENVIRONMENT": "testing", "SECRET_KEY": "k" * 40,
    "INSTANCE_PATH": {str(tmp_path / "instance")!r}, "TENANTS_DIR": {str(tmp_path)!r},
}}
answer = create_app(config).test_client().get("/", headers={{"Host": "nowhere.test"}})
# redis-py imports the metrics SDK itself when it is installed: the traces' parts are ours.
ours = ("opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter",
        "opentelemetry.propagate", "storefront.tracing.otel")
print("off", answer.status_code, sorted(name for name in sys.modules if name.startswith(ours)))

os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = {collector.url!r}
from opentelemetry import trace
app = create_app(config)
built = type(trace.get_tracer_provider()).__name__
client = app.test_client()
client.get("/_health", headers={{"Host": "nowhere.test"}})  # probes are not traced
answer = client.get("/", headers={{"Host": "nowhere.test"}})
trace.get_tracer_provider().force_flush()
print("on", built, type(trace.get_tracer_provider()).__name__, answer.headers["X-Request-ID"])
"""
    env = {k: v for k, v in os.environ.items() if k not in OTEL_ENV}
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
        )
    finally:
        collector.close()
    assert done.returncode == 0, done.stderr[-2000:]
    off, on = done.stdout.strip().splitlines()[-2:]
    assert off.split(" ", 2)[2] == "[]", off
    _, built, used, request_id = on.split()
    assert (built, used) == ("ProxyTracerProvider", "TracerProvider")
    assert collector.posts, done.stderr[-2000:]
    (path, content_type, body), *_ = collector.posts
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert request_id.encode() in body and b"storefront.request_id" in body
    assert b"/_health" not in b"".join(post[2] for post in collector.posts)


class Collector:
    """An OTLP/HTTP collector on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((self.path, self.headers["Content-Type"], body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# On ----------------------------------------------------------------------------------


@ON
def test_a_request_is_a_server_span_with_its_shop_request_id_and_sql(
    app, client, make_shop, product, spans
):
    acme = make_shop("acme")
    product(acme, "anvil")
    answer = client.get("/p/anvil", headers={**host(acme), "X-Request-ID": "rid-anvil-1"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "rid-anvil-1"
    finished = spans.get_finished_spans()
    (server,) = servers(finished)
    assert server.name == "GET /p/<slug>"
    assert attrs(server)["http.route"] == "/p/<slug>"
    assert attrs(server)[SHOP_ID] == acme.id and attrs(server)[SHOP_SLUG] == "acme"
    assert attrs(server)[REQUEST_ID] == "rid-anvil-1"
    sql = [s for s in finished if s.kind == SpanKind.CLIENT and "db.system" in attrs(s)]
    sql += [s for s in finished if "db.system.name" in attrs(s) and s not in sql]
    assert sql, [s.name for s in finished]
    for span in sql:
        assert span.context.trace_id == server.context.trace_id
        assert span.parent is not None
    # Every span of the request carries the request id, and every one but the host
    # lookup's own (what finds the shop) carries the shop.
    for span in finished:
        assert attrs(span)[REQUEST_ID] == "rid-anvil-1", span.name
    before_shop(finished)
    shop_spans = [s for s in finished if SHOP_ID in attrs(s)]
    assert any(not registry_statement(s) for s in shop_spans if s.kind == SpanKind.CLIENT)
    assert {(attrs(s)[SHOP_ID], attrs(s)[SHOP_SLUG]) for s in shop_spans} == {(acme.id, "acme")}


@ON
def test_a_request_id_is_made_when_none_is_given_and_the_answer_says_it(
    app, client, make_shop, spans
):
    acme = make_shop("acme")
    answer = client.get("/", headers={**host(acme), "X-Request-ID": "bad id with spaces"})
    given = answer.headers["X-Request-ID"]
    assert given != "bad id with spaces" and len(given) == 32
    (server,) = servers(spans.get_finished_spans())
    assert attrs(server)[REQUEST_ID] == given


@ON
def test_the_resolvers_own_answers_are_traced_too(app, client, make_shop, spans):
    make_shop("acme", domains=("acme.test", "www.acme.test"))
    assert client.get("/", headers={"Host": "unknown.test"}).status_code == 404
    assert client.get("/cart", headers={"Host": "www.acme.test"}).status_code == 301
    unknown, alias = sorted(servers(spans.get_finished_spans()), key=lambda s: s.start_time)
    assert SHOP_ID not in attrs(unknown) and attrs(unknown)[REQUEST_ID]
    assert attrs(alias)[SHOP_SLUG] == "acme"


@ON
def test_a_page_from_the_page_cache_has_a_span_with_its_shop(
    app, client, make_shop, product, spans
):
    acme = make_shop("acme")
    product(acme, "anvil")
    assert client.get("/p/anvil", headers=host(acme)).status_code == 200
    spans.clear()
    again = client.get("/p/anvil", headers={**host(acme), "X-Request-ID": "rid-kept"})
    assert again.status_code == 200
    finished = spans.get_finished_spans()
    (server,) = servers(finished)
    assert server.name == "GET (page cache)", [s.name for s in finished]
    assert attrs(server)["storefront.page_cache"] == "hit"
    assert attrs(server)[SHOP_ID] == acme.id and attrs(server)[REQUEST_ID] == "rid-kept"
    for span in finished:
        assert attrs(span)[REQUEST_ID] == "rid-kept"
        assert attrs(span).get(SHOP_ID, acme.id) == acme.id
    before_shop(finished)
    # No statement but the host registry's (which tests poll on every request).
    sql = [s for s in finished if attrs(s).get("db.system") not in (None, "redis")]
    assert all(registry_statement(s) for s in sql), [attrs(s) for s in sql]
    if TEST_REDIS_URL:
        assert any(attrs(s).get("db.system") == "redis" for s in finished), finished


@ON
def test_redis_calls_are_spans_of_the_request(app, client, make_shop, product, spans):
    acme = make_shop("acme")
    product(acme, "anvil")
    assert client.get("/p/anvil", headers=host(acme)).status_code == 200
    finished = spans.get_finished_spans()
    (server,) = servers(finished)
    redis = [s for s in finished if attrs(s).get("db.system") == "redis"]
    if not TEST_REDIS_URL:  # SimpleCache in-process: nothing to trace
        assert redis == []
        return
    assert redis
    for span in redis:
        assert span.context.trace_id == server.context.trace_id
        assert attrs(span)[REQUEST_ID] == attrs(server)[REQUEST_ID]
    assert any(attrs(s).get(SHOP_ID) == acme.id for s in redis)


@ON
def test_a_job_continues_the_trace_of_the_request_that_queued_it(
    app, client, make_shop, make_user, spans
):
    """A product created through the API queues a webhook; its run and its POST are in
    the request's trace, with the request's shop and id."""
    receiver = Receiver()
    try:
        acme = make_shop("acme")
        key = owner_key(app, acme, make_user, scopes=["webhooks:write", "products:write"])
        made = client.post(
            "/api/v1/admin/webhooks",
            json={"url": receiver.url, "events": ["product.created"]},
            headers=key,
        )
        assert made.status_code == 201, made.json
        spans.clear()
        created = client.post(
            "/api/v1/admin/products",
            json={"sku": "T-1", "title": "Traced", "price": 100},
            headers={**key, "X-Request-ID": "rid-queued"},
        )
        assert created.status_code == 201, created.json
        settle(app)
        assert receiver.requests
    finally:
        receiver.close()
    sent_headers = {name.lower() for name in receiver.requests[-1][0]}
    assert "traceparent" not in sent_headers  # our trace ids stay ours
    with app.app_context(), all_tenants():
        row = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.kind == "webhook")
        ).one()
        assert row.request_id == "rid-queued"
        assert row.traceparent.startswith("00-") and len(row.traceparent) == 55
    finished = spans.get_finished_spans()
    (server,) = [s for s in servers(finished) if attrs(s)[REQUEST_ID] == "rid-queued"]
    (job,) = [s for s in finished if s.kind == SpanKind.CONSUMER]
    assert job.name == "outbox webhook"
    assert job.context.trace_id == server.context.trace_id
    assert f"{job.context.trace_id:032x}" in row.traceparent
    assert attrs(job)[SHOP_ID] == acme.id and attrs(job)[SHOP_SLUG] == "acme"
    assert attrs(job)[REQUEST_ID] == "rid-queued"
    assert attrs(job)["storefront.outbox.kind"] == "webhook"
    (post,) = [s for s in finished if s.name == "webhook POST"]
    assert post.parent is not None and post.parent.span_id == job.context.span_id
    assert attrs(post)["http.response.status_code"] == 200
    assert attrs(post)["server.address"] == "127.0.0.1"
    assert receiver.url.rsplit("/", 1)[1] not in json.dumps(attrs(post))  # no path
    assert attrs(post)[SHOP_ID] == acme.id and attrs(post)[REQUEST_ID] == "rid-queued"
    job_sql = [s for s in finished if s.parent and s.parent.span_id == job.context.span_id]
    assert all(attrs(s)[REQUEST_ID] == "rid-queued" for s in job_sql)


@ON
def test_two_shops_spans_never_mix(app, make_shop, product, spans):
    """Both shops served at once, from real threads: every span of a trace carries the
    shop and request id of its own server span."""
    shops = [make_shop("acme"), make_shop("globex")]
    for shop in shops:
        product(shop, "anvil")
    failures: list[BaseException] = []
    start = threading.Barrier(len(shops))

    def browse(shop: Any) -> None:
        try:
            client = app.test_client()
            start.wait()
            for i in range(6):
                path = "/p/anvil" if i % 2 else "/"
                rid = f"{shop.slug}-{i}"
                answer = client.get(path, headers={**host(shop), "X-Request-ID": rid})
                assert answer.status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=browse, args=(shop,)) for shop in shops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    traces = by_trace(spans.get_finished_spans())
    assert len(traces) == 12
    seen = set()
    for trace_spans in traces.values():
        (server,) = servers(tuple(trace_spans))
        slug, rid = attrs(server)[SHOP_SLUG], attrs(server)[REQUEST_ID]
        assert rid.startswith(f"{slug}-")
        seen.add(rid)
        for span in trace_spans:
            assert attrs(span)[REQUEST_ID] == rid, span.name
            if SHOP_SLUG in attrs(span):
                assert attrs(span)[SHOP_SLUG] == slug, span.name
    assert len(seen) == 12


@ON
def test_a_job_run_by_the_worker_continues_the_request_trace(
    app_config, tmp_path, make_shop_in, spans
):
    """``tenantctl worker``'s path: Dramatiq worker threads on Redis run the order mail the
    checkout queued, in the checkout's trace, with its shop and request id."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        app = create_app(
            {
                **app_config,
                "REDIS_URL": f"redis://127.0.0.1:{server.port}/0",
                "JOBS_BACKEND": "redis",
            }
        )
        app.test_client_class = BufferedClient
        shop = make_shop_in(app, "acme")
        client = app.test_client()
        add_to_cart(client, shop, "anvil")
        page = client.get("/checkout", headers=host(shop))
        data = {**ADDRESS, "email": "ada@example.com", "csrf_token": csrf_from(page.text)}
        paid = client.post("/checkout", data=data, headers={**host(shop), "X-Request-ID": "rid-co"})
        assert paid.status_code == 302
        worker = Worker(app.extensions["storefront.jobs"], worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            wait_for(lambda: any(s.kind == SpanKind.CONSUMER for s in spans.get_finished_spans()))
        finally:
            worker.stop()
            stop_sweeper(app)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        server.stop()
    finished = spans.get_finished_spans()
    (request,) = [s for s in servers(finished) if attrs(s)[REQUEST_ID] == "rid-co"]
    (job,) = [s for s in finished if s.kind == SpanKind.CONSUMER]
    assert job.name == "outbox order.mail"
    assert job.context.trace_id == request.context.trace_id
    assert attrs(job)[SHOP_SLUG] == "acme" and attrs(job)[SHOP_ID] == shop.id
    assert attrs(job)[REQUEST_ID] == "rid-co"


@pytest.fixture
def make_shop_in(tmp_path):
    """A shop with one product in the given app (this module's own apps)."""

    def make(app, slug):
        with app.app_context():
            tenant = create_shop(NewShop(slug=slug, name=slug.title(), domains=(f"{slug}.test",)))
            shop = context_for(tenant.slug)
        with app.app_context(), tenant_context(shop):
            catalog.create_product("SKU-anvil", "Anvil", 1999, stock=5)
            db.session.commit()
        return shop

    return make
