"""Outgoing webhooks cannot be turned against the platform: the attacks as they happened.

A resolver that answers a good address to the check and 127.0.0.1 to the connect; the
loopback and private addresses in every spelling; a receiver that dribbles a byte at a
time and one that answers 300 MB; a slow receiver holding the web worker that served
the request, so another shop's page waited. The receivers and the DNS server (dnslib, as
in the domain tests) listen on loopback; the production code path runs, with the tests'
receivers put on the allow-list (``WEBHOOK_ALLOWED_NETWORKS``) where one must be reached.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme
from dnslib import AAAA, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSServer
from sqlalchemy import select
from werkzeug.serving import make_server

from storefront.extensions import db
from storefront.outbox import BACKGROUND_KEY, run_due
from storefront.outbox.models import OutboxMessage
from storefront.tenancy import all_tenants, tenant_context
from storefront.webhooks import network
from storefront.webhooks import services as webhooks
from tests.fixtures.factories import host
from tests.test_commerce import add_to_cart, checkout
from tests.test_webhooks import Receiver, add_endpoint, settle

NAME = "hooks.example"
HONEST = "127.0.0.2"  # stands for the public address the name first resolves to
STRICT = {  # production's checks; only the honest receiver's address is allowed
    "WEBHOOK_ALLOW_PRIVATE": False,
    "WEBHOOK_ALLOWED_NETWORKS": (f"{HONEST}/32",),
}


# -- the DNS server ----------------------------------------------------------------------


class Rebinding(BaseResolver):
    """Answers ``first`` to the first A query after ``arm()``, then ``then`` to every
    later one (TTL 0): what a rebinding attacker's name server does."""

    def __init__(self) -> None:
        self.first, self.then = HONEST, "127.0.0.1"
        self.armed = False
        self.a_queries = 0
        self.extra: dict[str, list[str]] = {"A": [], "AAAA": []}

    def arm(self) -> None:
        self.armed = True

    def resolve(self, request, handler):
        reply = request.reply()
        name, kind = str(request.q.qname).rstrip(".").lower(), QTYPE[request.q.qtype]
        if name != NAME:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        answers = []
        if kind == "A":
            self.a_queries += 1
            answers.append(A(self.first if self.armed else self.then))
            self.armed = False
        for extra in self.extra.get(kind, []):  # dnslib reads IPv6 only in plain hex
            answers.append(A(extra) if kind == "A" else AAAA(ipaddress.ip_address(extra).exploded))
        for rdata in answers:
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=0))
        return reply


@pytest.fixture
def dns(app):
    resolver = Rebinding()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = DNSServer(resolver, port=port, address="127.0.0.1")
    server.start_thread()
    app.config.update(DNS_RESOLVER=f"127.0.0.1:{port}")
    yield resolver
    server.stop()
    server.server.server_close()


# -- the receivers -----------------------------------------------------------------------


class RawReceiver:
    """A TCP listener that reads each request and hands the connection to ``answer``;
    counts connections, the most open at once, and the bytes it got out."""

    def __init__(self, answer: Callable[[socket.socket, RawReceiver], None], address=None):
        self.answer = answer
        self.connections = self.active = self.max_active = self.sent = 0
        self.finished = threading.Event()  # the last connection ended
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.create_server(address or ("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.finished.clear()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def hung_up(self, conn: socket.socket, wait: float) -> bool:
        """Wait up to ``wait`` seconds; whether the platform closed the connection."""
        conn.settimeout(wait)
        try:
            return conn.recv(1) == b""
        except TimeoutError:
            return False

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.answer(conn, self)
        except OSError:
            pass  # the platform hung up: what the attack tests want
        finally:
            with self.lock:
                self.active -= 1
                if not self.active:
                    self.finished.set()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self.lock:
            self.sent += len(data)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def dribble(head: bytes, every: float = 0.25, limit: float = 20.0):
    """Send ``head`` at once, then one byte every ``every`` seconds for up to ``limit``."""

    def answer(conn: socket.socket, receiver: RawReceiver) -> None:
        receiver.send(conn, head)
        ends = time.monotonic() + limit
        while time.monotonic() < ends and not receiver.stop.is_set():
            receiver.send(conn, b"x")
            if receiver.hung_up(conn, every):
                return

    return answer


def huge(chunked: bool, total: int = 300 * 1024 * 1024):
    """A 200 whose body is ``total`` bytes (claimed in Content-Length, or chunked)."""
    block = b"\0" * 65536

    def answer(conn: socket.socket, receiver: RawReceiver) -> None:
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % total
        receiver.send(conn, b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n")
        piece = b"10000\r\n" + block + b"\r\n" if chunked else block
        for _ in range(total // len(block)):
            receiver.send(conn, piece)

    return answer


class TLSReceiver:
    """An HTTPS receiver on ``address`` with a certificate for NAME from ``ca``; records
    each request's headers and the SNI name each handshake asked for."""

    def __init__(self, ca: trustme.CA, address: tuple[str, int]) -> None:
        self.requests: list[dict[str, str]] = []
        self.sni: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(dict(self.headers))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(NAME).configure_cert(context)
        context.sni_callback = lambda _sock, name, _ctx: receiver.sni.append(name)
        self.server = ThreadingHTTPServer(address, Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_pair(app, tmp_path):
    """The honest HTTPS receiver on 127.0.0.2:P and the platform's "internal service" on
    127.0.0.1:P (the same port): only the address decides which one a delivery reaches."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    app.config.update(WEBHOOK_CA_FILE=str(ca_file))
    for _attempt in range(20):
        honest = TLSReceiver(ca, (HONEST, 0))
        try:
            inside = RawReceiver(lambda conn, r: None, ("127.0.0.1", honest.port))
        except OSError:  # that port is taken on 127.0.0.1: another pair
            honest.close()
            continue
        break
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    yield honest, inside
    honest.close()
    inside.close()


def emit(app, shop, event="product.updated") -> None:
    with app.app_context(), tenant_context(shop):
        webhooks.emit(event, {"id": 1})
        db.session.commit()


def rows(app) -> list[OutboxMessage]:
    with app.app_context(), all_tenants():
        found = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
        ).all()
        db.session.expunge_all()
        return list(found)


def deliver_now(app) -> float:
    """Run what is due in this thread (as ``tenantctl outbox run`` does); seconds taken."""
    started = time.monotonic()
    with app.app_context():
        run_due()
    return time.monotonic() - started


# -- 1. connect to the address that was checked ------------------------------------------


@pytest.mark.settings(**STRICT)
def test_a_rebinding_resolver_never_gets_the_delivery_to_loopback(app, make_shop, dns, tls_pair):
    honest, inside = tls_pair
    shop = make_shop("acme")
    url = f"https://{NAME}:{honest.port}/hook"
    dns.arm()
    add_endpoint(app, shop, url, ["product.updated"])  # checked: 127.0.0.2, allowed
    emit(app, shop)
    dns.arm()  # the check sees 127.0.0.2 again; any second lookup would get 127.0.0.1
    before = dns.a_queries
    deliver_now(app)
    assert dns.a_queries - before == 1  # one lookup, and the connection used its answer
    assert inside.connections == 0  # the platform's own 127.0.0.1 never saw a byte
    (request,) = honest.requests
    # Host, SNI and the certificate are the name's, though the socket went to the address.
    assert request["Host"] == f"{NAME}:{honest.port}" and honest.sni == [NAME]
    assert [row.status for row in rows(app)] == ["done"]


@pytest.mark.settings(**STRICT)
def test_a_name_that_now_resolves_inside_is_refused_at_delivery(app, make_shop, dns, tls_pair):
    honest, inside = tls_pair
    shop = make_shop("acme")
    dns.arm()
    add_endpoint(app, shop, f"https://{NAME}:{honest.port}/hook", ["product.updated"])
    emit(app, shop)  # not armed: every lookup now says 127.0.0.1
    deliver_now(app)
    assert inside.connections == 0 and honest.requests == []
    (row,) = rows(app)
    assert row.status == "pending" and "127.0.0.1, which is not a public address" in row.last_error


@pytest.mark.settings(**STRICT)
@pytest.mark.parametrize(
    ("kind", "address"),
    [("AAAA", "::ffff:127.0.0.1"), ("AAAA", "64:ff9b::a9fe:a9fe"), ("A", "10.0.0.7")],
)
def test_a_name_with_any_inside_address_is_refused_when_added(app, make_shop, dns, kind, address):
    shop = make_shop("acme")
    dns.arm()
    dns.extra[kind] = [address]  # beside the allowed 127.0.0.2: one bad answer is enough
    refused = pytest.raises(webhooks.WebhookError, match="not a public address")
    with app.app_context(), tenant_context(shop), refused:
        webhooks.add_endpoint(f"https://{NAME}/hook", ["order.created"])


# -- 2. every spelling of an inside address ------------------------------------------------


INSIDE = [
    "https://[::127.0.0.1]/",  # IPv4-compatible
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "https://[::ffff:0:127.0.0.1]/",  # IPv4-translated (SIIT)
    "https://[64:ff9b::127.0.0.1]/",  # NAT64, well-known prefix
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[64:ff9b:1::808:808]/",  # local-use NAT64: the operator's own translator
    "https://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "https://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://2130706433/",  # decimal 127.0.0.1
    "https://0x7f.1/",  # hex
    "https://017700000001/",  # octal
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://0.0.0.0/",
    "https://0/",
    "https://[::]/",
    "https://[::1]/",
    "https://[fe80::1]/",  # link-local
    "https://[fe80::1%25eth0]/",
    "https://169.254.169.254/",
    "https://[fd00::1]/",  # unique local
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://192.0.2.1/",  # documentation
    "https://[2001:db8::1]/",
    "https://198.18.0.1/",  # benchmarking
    "https://224.0.1.1/",  # multicast, which Python 3.11 calls global
    "https://[ff0e::1]/",
    "https://240.0.0.1/",  # reserved
    "https://255.255.255.255/",
    "https://192.88.99.1/",  # 6to4 relay anycast
    "https://[100::1]/",  # discard
    "https://127.0.0.1./",
    "https://localhost/",
    "https://a.b.localhost/",
]


@pytest.mark.settings(**STRICT)
@pytest.mark.parametrize("url", INSIDE)
def test_no_spelling_of_an_inside_address_is_accepted(app, make_shop, url):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop), pytest.raises(webhooks.WebhookError):
        webhooks.add_endpoint(url, ["order.created"])


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address reaches that address
        ("::ffff:8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("2002:808:808::1", True),
        ("::ffff:10.1.2.3", False),
        ("64:ff9b::c0a8:1", False),
        ("5f00::1", False),  # SRv6 segment identifiers
        ("3fff::1", False),  # documentation (2024)
    ],
)
def test_is_public_judges_the_ipv4_address_an_ipv6_one_carries(address, public):
    assert network.is_public(ipaddress.ip_address(address)) is public


# -- 3. a deadline for all of it, and a cap on the answer ----------------------------------


DEADLINE = 1.0
MARGIN = 1.5  # generous: two cores shared by everyone


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=DEADLINE)
@pytest.mark.parametrize(
    ("head", "outcome"),
    [
        (b"HTTP/1.1 200 OK\r\n", "pending"),  # the headers never end: a failed delivery
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", "done"),  # the status is in
    ],
    ids=["headers", "body"],
)
def test_a_dribbling_receiver_holds_a_delivery_no_longer_than_the_deadline(
    app, make_shop, head, outcome
):
    receiver = RawReceiver(dribble(head))  # a byte every 0.25 s: no read ever times out
    try:
        shop = make_shop("acme")
        add_endpoint(app, shop, receiver.url, ["product.updated"])
        emit(app, shop)
        took = deliver_now(app)
        assert took < DEADLINE + MARGIN, took
        assert receiver.finished.wait(5)  # and the platform hung up
    finally:
        receiver.close()
    (row,) = rows(app)
    assert row.status == outcome
    if outcome == "pending":
        assert "Timeout" in row.last_error and "deadline" in row.last_error


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=10.0)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_answer_is_not_read(app, make_shop, chunked):
    receiver = RawReceiver(huge(chunked))
    try:
        shop = make_shop("acme")
        add_endpoint(app, shop, receiver.url, ["product.updated"])
        emit(app, shop)
        tracemalloc.start()
        try:
            deliver_now(app)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert receiver.finished.wait(5)
    finally:
        receiver.close()
    assert peak < 4 * 1024 * 1024, peak  # 64 KiB read; the 300 MB never came in
    assert receiver.sent < 64 * 1024 * 1024  # the platform hung up long before the end
    assert [row.status for row in rows(app)] == ["done"]  # 200: the status is what counts


# -- 4. never in a web worker ------------------------------------------------------------


def attempts(app) -> list[int]:
    return [row.attempts for row in rows(app)]


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=3.0)
def test_a_slow_receiver_never_holds_the_worker_that_served_the_request(
    app, client, make_shop, product
):
    slow = RawReceiver(dribble(b"HTTP/1.1 200 OK\r\n"))  # holds a delivery 3 s
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url)
        product(acme, "anvil")
        add_to_cart(client, acme, "anvil")
        # The test client closes each response as a server does, in this thread: with
        # deliveries run on close, this call and the page below would wait 3 s each.
        assert checkout(client, acme).status_code == 302
        assert attempts(app) == [0]  # the request is answered; its delivery is not over
        assert client.get("/", headers=host(globex)).status_code == 200
        assert attempts(app) == [0]  # another shop's page answered meanwhile
        settle(app)
    finally:
        slow.close()
    (row,) = rows(app)
    assert row.attempts == 1 and "deadline" in row.last_error
    assert slow.connections == 1


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=3.0)
def test_a_single_worker_serves_another_shop_while_a_delivery_runs(app, make_shop, product):
    """The attack as it happened: one worker process that serves a request at a time (a
    gunicorn sync worker; here Werkzeug's unthreaded server), a shop whose receiver
    dribbles, and another shop's visitor right after."""
    slow = RawReceiver(dribble(b"HTTP/1.1 200 OK\r\n"))
    server = make_server("127.0.0.1", 0, app, threaded=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url)
        product(acme, "anvil")
        with httpx.Client(base_url=base, timeout=10) as browser:  # cookies kept
            add_to_cart(browser, acme, "anvil")
            assert checkout(browser, acme).status_code == 302
        visitor = httpx.get(base + "/", headers=host(globex), timeout=10)
        assert visitor.status_code == 200
        assert attempts(app) == [0]  # globex's page came while acme's delivery ran on
        settle(app)
    finally:
        server.shutdown()
        server.server_close()
        slow.close()
    assert attempts(app) == [1] and slow.connections == 1


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=2.0, JOBS_THREADS=2)
def test_one_shops_slow_receivers_take_one_thread_not_all(app, make_shop):
    slow, fast = RawReceiver(dribble(b"HTTP/1.1 200 OK\r\n")), Receiver()
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url, ["product.updated"])
        add_endpoint(app, globex, fast.url, ["product.updated"])
        for _ in range(3):  # three slow deliveries for acme, queued first
            emit(app, acme)
        emit(app, globex)
        pool = app.extensions[BACKGROUND_KEY]
        pool.submit([(row.id, row.tenant_id) for row in rows(app)])
        deadline = time.monotonic() + 10
        while not fast.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fast.requests  # globex's delivery got a thread at once...
        assert attempts(app)[:3] == [0, 0, 0]  # ...while acme's first was still running
        settle(app, 30)
    finally:
        slow.close()
        fast.close()
    assert slow.max_active == 1  # never two of one shop at once
    assert slow.connections == 3


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=3.0)
def test_a_due_retry_never_runs_in_another_shops_request(app, client, make_shop, product):
    slow = RawReceiver(dribble(b"HTTP/1.1 200 OK\r\n"))
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url, ["product.updated"])
        emit(app, acme)  # acme's delivery, due now
        product(globex, "tent")
        add_to_cart(client, globex, "tent")
        # globex's order: its mail goes after the response, then a round of due rows.
        assert checkout(client, globex).status_code == 302
        assert attempts(app) == [0]  # acme's delivery was not run in globex's worker
        settle(app)
    finally:
        slow.close()
    assert attempts(app) == [1] and slow.connections == 1


@pytest.mark.settings(WEBHOOK_DEADLINE_SECONDS=3.0, OUTBOX_SWEEP_SECONDS=0.1)
def test_the_sweeper_hands_webhooks_to_the_pool(app, client, make_shop, outbox):
    from storefront.outbox import enqueue_mail

    slow = RawReceiver(dribble(b"HTTP/1.1 200 OK\r\n"))
    try:
        acme, globex = make_shop("acme"), make_shop("globex")
        add_endpoint(app, acme, slow.url, ["product.updated"])
        emit(app, acme)  # due first
        with app.app_context(), tenant_context(globex):
            enqueue_mail("someone@example.com", "Hello", "A mail behind a slow webhook")
            db.session.commit()
        client.get("/", headers=host(globex))  # the first request starts the sweeper
        ends = time.monotonic() + 10
        while not outbox and time.monotonic() < ends:
            time.sleep(0.02)
        assert [m.subject for m in outbox] == ["Hello"]
        assert attempts(app) == [0]  # the mail did not wait for acme's receiver
        settle(app)
    finally:
        slow.close()
    assert attempts(app) == [1]
