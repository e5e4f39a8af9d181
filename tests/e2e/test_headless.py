"""A headless storefront on another site (docs/examples/headless, served from its own
origin) lists products, fills a cart held by X-Cart-Token and checks out through the API,
with the CORS the shop allows that site, and nothing for a site it does not list."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.orders.models import Order
from storefront.tenancy import config_edit, tenant_context
from storefront.tenancy.registry import context_for
from tests.fixtures.app import REPO

pytestmark = pytest.mark.e2e


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def front():
    """The example page, served by a plain static server on its own port (its own origin)."""
    handler = functools.partial(_Quiet, directory=str(REPO / "docs/examples/headless"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def _orders(app) -> int:
    with app.app_context(), tenant_context(context_for("acme")):
        return int(db.session.scalar(select(func.count()).select_from(Order)) or 0)


def test_a_headless_page_elsewhere_lists_fills_a_cart_and_checks_out(
    browser, live_server, front, screenshots
):
    port, app = live_server.port, live_server.app
    api = f"http://acme.localhost:{port}"
    page = browser.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    # Not listed yet: the browser keeps the API's answers from the page.
    page.goto(f"{front}/index.html?api={api}")
    page.wait_for_function("document.getElementById('status').textContent.length > 0")
    assert page.locator(".products li").count() == 0
    assert any("CORS" in error or "Access-Control" in error for error in errors), errors

    with app.app_context():
        config_edit.update_values("acme", {"api.cors_origins": [front]})
    page.goto(f"{front}/index.html?api={api}")
    page.wait_for_selector(".products li button.add")
    assert page.locator(".products li").count() == 8
    page.locator("button.add").nth(0).click()
    page.wait_for_function("document.getElementById('cart').textContent.includes('1 ×')")
    page.locator("button.add").nth(1).click()
    page.wait_for_function("document.querySelectorAll('#cart li').length === 2")
    page.select_option("#country", "US")
    page.wait_for_function("document.getElementById('total').textContent.includes('$')")
    for name, value in {
        "email": "headless@example.com",
        "name": "Hedda Less",
        "address": "1 Main St",
        "postal_code": "10001",
        "city": "New York",
    }.items():
        page.fill(f"input[name={name}]", value)
    page.select_option("#payment", "bank_transfer")
    before = _orders(app)
    page.locator("#checkout button[type=submit]").dblclick()  # a double click: one order
    page.wait_for_function("document.getElementById('placed').textContent.includes('ACME-')")
    page.screenshot(path=screenshots / "headless-checkout.png", full_page=True)
    assert _orders(app) == before + 1
    placed = page.locator("#placed").inner_text()
    assert "Order ACME-" in placed and "bank transfer" in placed.lower()
    page.wait_for_function("document.getElementById('cart').textContent.includes('empty')")
    page.close()
