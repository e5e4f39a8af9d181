"""Custom domains prove ownership before they serve: a local DNS server (dnslib on a
loopback port) plays the owner's DNS host. Pass, missing TXT, wrong token, wrong target,
dangling after verification; Caddy's ask endpoint answers only for serving domains."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from dnslib import CNAME, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSServer

from storefront.extensions import db
from storefront.jobs.periodic import recheck_domains
from storefront.outbox import deliver_committed
from storefront.tenancy import services, verification
from storefront.tenancy.context import tenant_context
from storefront.tenancy.models import Domain, utcnow

TARGET = "shops.platform.test"
ADDRESS = "192.0.2.10"


class Zone(BaseResolver):
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list] = {}

    def set(self, name: str, kind: str, *values) -> None:
        self.records[(name, kind)] = list(values)

    def clear(self, name: str) -> None:
        for key in [k for k in self.records if k[0] == name]:
            del self.records[key]

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        for rdata in self.records.get((name, kind), []):
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=60))
        if not reply.rr and not any(key[0] == name for key in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def zone(app):
    resolver = Zone()
    port = _udp_port()
    server = DNSServer(resolver, port=port, address="127.0.0.1")
    server.start_thread()
    app.config.update(
        DNS_RESOLVER=f"127.0.0.1:{port}",
        DNS_TIMEOUT=2.0,
        DOMAIN_CNAME_TARGET=TARGET,
        DOMAIN_TARGET_ADDRESSES=[ADDRESS],
        DOMAIN_GRACE_HOURS=72,
    )
    yield resolver
    server.stop()
    server.server.server_close()  # dnslib leaves its socket open


def token_of(app, host):
    with app.app_context():
        return db.session.query(Domain).filter_by(hostname=host).one().verify_token


def status_of(app, host):
    with app.app_context():
        db.session.expire_all()
        return db.session.query(Domain).filter_by(hostname=host).one().status


def publish(zone, app, host, token=None, cname=TARGET):
    zone.set(f"_storefront-verify.{host}", "TXT", TXT(token or token_of(app, host)))
    if cname:
        zone.set(host, "CNAME", CNAME(cname))


def test_a_pending_domain_serves_nothing_until_its_records_prove_it(app, runner, make_shop, zone):
    make_shop("acme")
    added = runner.invoke(["domain", "add", "acme", "shop.acme.example"])
    assert added.exit_code == 0 and "pending" in added.output
    assert "_storefront-verify.shop.acme.example" in added.output and TARGET in added.output
    client = app.test_client()
    assert client.get("/", headers={"Host": "shop.acme.example"}).status_code == 404
    missing = runner.invoke(["domain", "verify", "acme", "shop.acme.example"])
    assert missing.exit_code == 1 and "TXT" in missing.output and "none" in missing.output
    publish(zone, app, "shop.acme.example")
    done = runner.invoke(["domain", "verify", "acme", "shop.acme.example"])
    assert done.exit_code == 0 and "verified" in done.output, done.output
    # An alias of the shop now: it redirects to the primary domain.
    assert client.get("/", headers={"Host": "shop.acme.example"}).status_code == 301
    assert runner.invoke(["domain", "primary", "acme", "shop.acme.example"]).exit_code == 0


def test_a_wrong_token_or_a_wrong_target_does_not_verify(app, runner, make_shop, zone):
    make_shop("acme")
    runner.invoke(["domain", "add", "acme", "a.acme.example"])
    publish(zone, app, "a.acme.example", token="sf-verify-not-the-token")
    assert runner.invoke(["domain", "verify", "acme", "a.acme.example"]).exit_code == 1
    zone.clear("a.acme.example")
    publish(zone, app, "a.acme.example", cname=None)
    zone.set("a.acme.example", "A", A("198.51.100.7"))
    wrong = runner.invoke(["domain", "verify", "acme", "a.acme.example"])
    assert wrong.exit_code == 1 and "198.51.100.7" in wrong.output
    zone.set("a.acme.example", "A", A(ADDRESS))
    assert runner.invoke(["domain", "verify", "acme", "a.acme.example"]).exit_code == 0
    assert status_of(app, "a.acme.example") == "verified"


def test_a_pending_domain_cannot_become_primary_nor_be_claimed_twice(app, runner, make_shop, zone):
    make_shop("acme")
    make_shop("globex")
    assert runner.invoke(["domain", "add", "acme", "b.acme.example", "--primary"]).exit_code == 1
    runner.invoke(["domain", "add", "acme", "b.acme.example"])
    assert runner.invoke(["domain", "primary", "acme", "b.acme.example"]).exit_code == 1
    assert runner.invoke(["domain", "add", "globex", "b.acme.example"]).exit_code == 1


def test_a_dangling_domain_fails_then_lapses(app, make_shop, zone, outbox):
    shop = make_shop("acme", settings='name = "Acme"\ncontact_email = "boss@acme.example.com"\n')
    with app.app_context():
        services.add_domain("acme", "c.acme.example")
    publish(zone, app, "c.acme.example")
    with app.app_context():
        services.verify_domain("acme", "c.acme.example")
    client = app.test_client()
    assert client.get("/", headers={"Host": "c.acme.example"}).status_code == 301
    zone.clear("c.acme.example")  # the owner moved the domain away
    with app.app_context(), tenant_context(shop):
        recheck_domains()
        db.session.commit()
        deliver_committed()
    assert status_of(app, "c.acme.example") == "failing"
    assert client.get("/", headers={"Host": "c.acme.example"}).status_code == 301  # grace
    assert any("no longer points" in m.subject for m in outbox)
    with app.app_context():
        domain = db.session.query(Domain).filter_by(hostname="c.acme.example").one()
        domain.failing_since = utcnow() - timedelta(hours=73)
        db.session.commit()
    with app.app_context(), tenant_context(shop):
        recheck_domains()
        db.session.commit()
    assert status_of(app, "c.acme.example") == "lapsed"
    assert client.get("/", headers={"Host": "c.acme.example"}).status_code == 404


def test_a_pending_domain_that_proves_itself_later_is_picked_up_by_the_job(app, make_shop, zone):
    shop = make_shop("acme")
    with app.app_context():
        services.add_domain("acme", "d.acme.example")
    publish(zone, app, "d.acme.example")
    with app.app_context(), tenant_context(shop):
        recheck_domains()
        db.session.commit()
    assert status_of(app, "d.acme.example") == "verified"


def test_operators_can_trust_a_domain_by_hand(app, runner, make_shop, caplog):
    make_shop("acme")
    trusted = runner.invoke(["domain", "add", "acme", "e.acme.example", "--trust"])
    assert trusted.exit_code == 0 and "now serves" in trusted.output
    assert app.test_client().get("/", headers={"Host": "e.acme.example"}).status_code == 301
    assert "trusted by the operator" in caplog.text


@pytest.mark.parametrize(
    ("domain", "status"),
    [
        ("v.acme.example", 200),
        ("V.ACME.EXAMPLE.", 200),  # the resolver's normalisation: case, trailing dot
        ("acme.test", 200),  # created with the shop: trusted
        ("p.acme.example", 404),  # pending
        ("nobody.example", 404),
        ("192.0.2.10", 404),
        ("[::1]", 404),
        ("", 404),
        ("a" * 300 + ".example", 404),
        ("bad host", 404),
        ("bücher.acme.example", 200),  # IDNA: the same name, either spelling
        ("xn--bcher-kva.acme.example", 200),
    ],
)
def test_caddys_ask_endpoint_says_yes_only_for_serving_domains(
    app, make_shop, zone, domain, status
):
    make_shop("acme")
    with app.app_context():
        services.add_domain("acme", "v.acme.example")
        services.add_domain("acme", "p.acme.example")
        services.add_domain("acme", "bücher.acme.example", trust=True)
    publish(zone, app, "v.acme.example")
    with app.app_context():
        services.verify_domain("acme", "v.acme.example")
    answer = app.test_client().get("/_tls/ask", query_string={"domain": domain})
    assert answer.status_code == status


def test_the_ask_endpoint_is_for_this_machine_only(app, make_shop):
    make_shop("acme")
    client = app.test_client()
    local = client.get("/_tls/ask?domain=acme.test")
    assert local.status_code == 200
    remote = client.get("/_tls/ask?domain=acme.test", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code == 403
    relayed = client.get("/_tls/ask?domain=acme.test", headers={"X-Forwarded-For": "127.0.0.1"})
    assert relayed.status_code == 403
    suspended_shop = make_shop("globex")
    with app.app_context():
        services.suspend_shop("globex", "maintenance")
    assert client.get(f"/_tls/ask?domain={suspended_shop.primary_host}").status_code == 404


def test_the_owner_brings_a_domain_from_added_to_serving_in_the_dashboard(
    app, make_shop, make_user, zone
):
    from tests.fixtures.factories import csrf_from, host, login

    shop = make_shop("acme")
    other = make_shop("globex")
    with app.app_context():
        services.add_domain("globex", "taken.example", trust=True)
    make_user(shop, "boss@example.com", roles=["owner"])
    owner = app.test_client()
    assert login(owner, shop, "boss@example.com").status_code == 302
    page = owner.get("/admin/domains/", headers=host(shop))
    assert page.status_code == 200 and "acme.test" in page.text
    added = owner.post(
        "/admin/domains/",
        data={"csrf_token": csrf_from(page.text), "hostname": "Shop.Acme.Example"},
        headers=host(shop),
    )
    assert added.status_code == 302
    listing = owner.get("/admin/domains/", headers=host(shop)).text
    token = token_of(app, "shop.acme.example")
    assert "pending" in listing and token in listing and TARGET in listing
    clash = owner.post(
        "/admin/domains/",
        data={"csrf_token": csrf_from(listing), "hostname": "taken.example"},
        headers=host(shop),
    )
    assert "used by another shop" in clash.text and "globex" not in clash.text
    confirm = {"confirm-csrf_token": csrf_from(listing)}
    owner.post("/admin/domains/shop.acme.example/verify", data=confirm, headers=host(shop))
    assert status_of(app, "shop.acme.example") == "pending"
    publish(zone, app, "shop.acme.example")
    owner.post("/admin/domains/shop.acme.example/verify", data=confirm, headers=host(shop))
    assert status_of(app, "shop.acme.example") == "verified"
    # Another shop's domain is out of reach.
    foreign = owner.post(
        f"/admin/domains/{other.primary_host}/remove", data=confirm, headers=host(shop)
    )
    assert foreign.status_code == 404
    assert app.test_client().get("/", headers=host(other)).status_code == 200
    owner.post("/admin/domains/shop.acme.example/primary", data=confirm, headers=host(shop))
    assert app.test_client().get("/", headers={"Host": "shop.acme.example"}).status_code == 200


# Unproven claims: they lapse, and a proof wins over them --------------------------------


def test_an_unproven_claim_lapses_after_the_stated_time(app, runner, make_shop, zone, monkeypatch):
    # A shop that adds someone else's name and never proves it held the name for ever:
    # the real owner could not even add it. It holds it DOMAIN_CLAIM_HOURS, no longer.
    make_shop("squat")
    make_shop("owner")
    app.config["DOMAIN_CLAIM_HOURS"] = 72
    assert runner.invoke(["domain", "add", "squat", "brand.example"]).exit_code == 0
    clock = utcnow()
    monkeypatch.setattr(verification, "utcnow", lambda: clock + timedelta(hours=71))
    early = runner.invoke(["domain", "add", "owner", "brand.example"])
    assert early.exit_code == 1 and "claimed by shop 'squat', unproven" in early.output
    monkeypatch.setattr(verification, "utcnow", lambda: clock + timedelta(hours=73))
    late = runner.invoke(["domain", "add", "owner", "brand.example"])
    assert late.exit_code == 0 and "pending" in late.output, late.output
    with app.app_context():
        (row,) = db.session.query(Domain).filter_by(hostname="brand.example").all()
        assert row.tenant.slug == "owner" and row.status == "pending"


def test_a_proof_takes_the_name_from_another_shops_unproven_claim(app, runner, make_shop, zone):
    make_shop("squat")
    owner = make_shop("owner")
    assert runner.invoke(["domain", "add", "squat", "brand.example"]).exit_code == 0
    squat_token = token_of(app, "brand.example")
    refused = runner.invoke(["domain", "add", "owner", "brand.example"])
    assert refused.exit_code == 1
    # The owner is told which record proves the name for its own shop (not the squatter's).
    with app.app_context():
        owner_token = verification.claim_token(owner.uid, "brand.example")
    assert owner_token != squat_token
    assert owner_token in refused.output and squat_token not in refused.output
    publish(zone, app, "brand.example", token=owner_token)
    taken = runner.invoke(["domain", "add", "owner", "brand.example"])
    assert taken.exit_code == 0 and "now serves owner" in taken.output, taken.output
    assert status_of(app, "brand.example") == "verified"
    with app.app_context():
        (row,) = db.session.query(Domain).filter_by(hostname="brand.example").all()
        assert row.tenant.slug == "owner" and row.verify_token == owner_token
    answer = app.test_client().get("/", headers={"Host": "brand.example"})
    assert answer.status_code == 301 and owner.primary_host in answer.headers["Location"]
    gone = runner.invoke(["domain", "verify", "squat", "brand.example"])
    assert gone.exit_code == 1 and "not a domain of squat" in gone.output
    # The owner's own records never prove the squatter's claim, nor does a proof take a
    # name that serves another shop.
    again = runner.invoke(["domain", "add", "squat", "brand.example"])
    assert again.exit_code == 1 and "already claimed by shop 'owner'" in again.output


def test_a_proof_never_takes_a_name_another_shop_serves(app, runner, make_shop, zone):
    make_shop("first")
    second = make_shop("second")
    runner.invoke(["domain", "add", "first", "kept.example"])
    publish(zone, app, "kept.example")
    assert runner.invoke(["domain", "verify", "first", "kept.example"]).exit_code == 0
    with app.app_context():
        publish(
            zone, app, "kept.example", token=verification.claim_token(second.uid, "kept.example")
        )
    refused = runner.invoke(["domain", "add", "second", "kept.example"])
    assert refused.exit_code == 1 and "already claimed by shop 'first'" in refused.output
    assert status_of(app, "kept.example") == "verified"


def test_the_owner_is_shown_how_to_prove_a_contested_domain(app, make_shop, make_user, zone):
    from tests.fixtures.factories import csrf_from, host, login

    make_shop("squat")
    shop = make_shop("owner")
    with app.app_context():
        services.add_domain("squat", "brand.example")
        token = verification.claim_token(shop.uid, "brand.example")
    make_user(shop, "boss@example.com", roles=["owner"])
    client = app.test_client()
    assert login(client, shop, "boss@example.com").status_code == 302
    page = client.get("/admin/domains/", headers=host(shop))
    form = {"csrf_token": csrf_from(page.text), "hostname": "brand.example"}
    refused = client.post("/admin/domains/", data=form, headers=host(shop))
    assert token in refused.text and "_storefront-verify.brand.example" in refused.text
    assert "squat" not in refused.text
    publish(zone, app, "brand.example", token=token)
    assert client.post("/admin/domains/", data=form, headers=host(shop)).status_code == 302
    assert status_of(app, "brand.example") == "verified"
