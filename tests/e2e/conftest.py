"""A live server with the two demo shops, and Debian's chromium driven by Playwright.

``make e2e`` runs these; they fail (never skip) when chromium is missing, with the fix.
Screenshots go to ``test-artifacts/screenshots/`` (``STOREFRONT_SCREENSHOTS_DIR`` moves
them; ``make screenshots`` refreshes the README's pictures in ``docs/screenshots/``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from storefront import create_app
from storefront.demo import DEMO_STRIPE
from storefront.extensions import db
from storefront.outbox import stop_sweeper
from tests.fixtures.app import REPO
from tests.fixtures.stripe_fake import fake_stripe

CHROMIUM = os.environ.get("STOREFRONT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, app: Any, port: int) -> None:
        self.app, self.port = app, str(port)

    def mails(self) -> list[Any]:
        """Mails the server sent (locmem backend)."""
        return list(getattr(self.app.extensions["mailman"], "outbox", []))


@pytest.fixture
def live_server(app_config: dict[str, Any]) -> Iterator[LiveServer]:
    """Serve the demo shops on http://<slug>.localhost:<port>/."""
    port = _free_port()
    stripe = fake_stripe()
    # A browser keeps connections open, and Werkzeug's server closes a response (which
    # delivers its outbox rows) only once it lets go: the sweeper delivers within a second.
    app = create_app(
        {**app_config, "SHOP_URL_PORT": port, "STRIPE_API_BASE": stripe.base,
         "OUTBOX_SWEEP_SECONDS": 0.5}
    )  # fmt: skip
    tenants = Path(app.config["TENANTS_DIR"])
    for slug in ("acme", "globex"):
        shutil.copytree(REPO / "tenants" / slug, tenants / slug)
    with app.app_context():
        from storefront.demo import provision_demo

        for _ in provision_demo():
            pass
        db.session.remove()
    # Acme's card payments: the fake Stripe's webhooks reach the shop by its host name.
    stripe.deliver_to(
        DEMO_STRIPE["stripe.webhook_secret"],
        (f"http://127.0.0.1:{port}/payments/stripe/webhook", f"acme.localhost:{port}"),
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, port)
    server.shutdown()
    thread.join(10)
    stop_sweeper(app)  # before the test database goes
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("STOREFRONT_SCREENSHOTS_DIR", REPO / "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
