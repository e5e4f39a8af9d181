"""The domains page and ``tenantctl domain add`` show every record to publish: the TXT
proof and what points the domain at the platform (a CNAME for a subdomain, A/AAAA at a
zone's apex, where DNS allows no CNAME)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from storefront.tenancy import services
from tests.fixtures.factories import csrf_from, host, login

TARGET = "shops.platform.test"
V4, V6 = "192.0.2.10", "2001:db8::10"


class Records(HTMLParser):
    """The rows of the page's DNS record tables: (type, name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, ...]] = []
        self._depth = 0  # inside a table.dns-records
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "dns-records" in (dict(attrs).get("class") or ""):
            self._depth = 1
        elif self._depth and tag == "tr":
            self._row = []
        elif self._row is not None and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows.append(tuple(self._row[:3]))
            self._row = None
        elif tag == "table":
            self._depth = 0

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def records_on_page(html: str) -> list[tuple[str, ...]]:
    parser = Records()
    parser.feed(html)
    return parser.rows


@pytest.fixture
def owner(app, make_shop, make_user):
    shop = make_shop("acme")
    make_user(shop, "boss@example.com", roles=["owner"])
    client = app.test_client()
    assert login(client, shop, "boss@example.com").status_code == 302

    def add(hostname: str) -> str:
        page = client.get("/admin/domains/", headers=host(shop)).text
        added = client.post(
            "/admin/domains/",
            data={"csrf_token": csrf_from(page), "hostname": hostname},
            headers=host(shop),
        )
        assert added.status_code == 302
        return client.get("/admin/domains/", headers=host(shop)).text

    return add


def token_of(app, hostname: str) -> str:
    with app.app_context():
        domain = next(d for d in services.get_shop("acme").domains if d.hostname == hostname)
        return domain.verify_token


def test_a_subdomain_is_shown_its_txt_proof_and_its_cname(app, owner):
    app.config.update(DOMAIN_CNAME_TARGET=TARGET, DOMAIN_TARGET_ADDRESSES=[V4, V6])
    page = owner("shop.acme-example.com")
    token = token_of(app, "shop.acme-example.com")
    assert records_on_page(page) == [
        ("TXT", "_storefront-verify.shop.acme-example.com", token),
        ("CNAME", "shop.acme-example.com", TARGET),
    ]


def test_an_apex_domain_is_shown_a_and_aaaa_records_not_a_cname(app, owner):
    app.config.update(DOMAIN_CNAME_TARGET=TARGET, DOMAIN_TARGET_ADDRESSES=[V4, V6])
    page = owner("acme-example.co.uk")
    token = token_of(app, "acme-example.co.uk")
    assert records_on_page(page) == [
        ("TXT", "_storefront-verify.acme-example.co.uk", token),
        ("A", "acme-example.co.uk", V4),
        ("AAAA", "acme-example.co.uk", V6),
    ]


def test_with_only_addresses_configured_a_subdomain_gets_a_records(app, owner):
    app.config.update(DOMAIN_CNAME_TARGET=None, DOMAIN_TARGET_ADDRESSES=[V4])
    rows = records_on_page(owner("shop.acme-example.com"))
    assert rows[1:] == [("A", "shop.acme-example.com", V4)]


def test_without_a_configured_target_the_page_says_to_point_the_domain_too(app, owner):
    app.config.update(DOMAIN_CNAME_TARGET=None, DOMAIN_TARGET_ADDRESSES=())
    page = owner("shop.acme-example.com")
    assert [row[0] for row in records_on_page(page)] == ["TXT"]
    assert "point the domain at the platform" in page


def test_tenantctl_domain_add_prints_the_same_records(app, runner, make_shop):
    app.config.update(DOMAIN_CNAME_TARGET=TARGET, DOMAIN_TARGET_ADDRESSES=[V4])
    make_shop("acme")
    sub = runner.invoke(["domain", "add", "acme", "shop.acme-example.com"])
    apex = runner.invoke(["domain", "add", "acme", "acme-example.com"])
    assert sub.exit_code == 0 and apex.exit_code == 0, sub.output + apex.output
    assert "TXT" in sub.output and f"CNAME shop.acme-example.com  {TARGET}" in sub.output
    assert f"A     acme-example.com  {V4}" in apex.output and "CNAME" not in apex.output
