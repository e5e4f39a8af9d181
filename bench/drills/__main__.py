"""``make drills``: 50 shops under concurrent shoppers on gunicorn + MariaDB + Redis, with
Redis stopped for 20 s and MariaDB restarted mid-run, then an oversell drill.

Every response is checked to belong to the host's shop; the server's ``/_metrics`` is
sampled every few seconds and reported by phase (``scrape``). Prints a summary and writes
``bench/results/drills.json``; exits 1 if any check failed. Loopback only, bounded in
time (``--seconds``) and in clients (``--shoppers``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from ..net import start_gunicorn
from ..platform_setup import build_app, migrate, provision, temp_root
from . import CHECKOUT, CSRF, PRODUCT_ID, SAME_ORIGIN
from .scrape import MetricsScraper, table
from .services import MariaDB, Redis

SLUG = re.compile(r"\bs\d{5}\b")


class Drill:
    def __init__(self, port: int, hosts: list[str]) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.hosts = hosts
        self.phase = "warm-up"
        self.lock = threading.Lock()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.failures: list[str] = []
        self.orders: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.recovered_at = float("inf")

    def record(self, status: int, what: str, detail: str = "") -> None:
        """Count a response; a 5xx is a failure unless it is a 503 while MariaDB is down
        (or within 3 s of its restart, while connections come back)."""
        phase = self.phase
        with self.lock:
            self.statuses[(phase, status)] += 1
            if status < 500:
                return
            outage = phase == "mariadb down" or time.monotonic() < self.recovered_at + 3
            if not (status == 503 and outage):
                self.failures.append(f"{phase}: {what} -> {status} {detail[:120]}")

    def get(self, client: httpx.Client, host: str, path: str) -> httpx.Response | None:
        return self._send(client, host, "GET", path)

    def post(self, client: httpx.Client, host: str, path: str, data: dict[str, str]) -> Any:
        return self._send(client, host, "POST", path, data)

    def add_to_cart(self, client: httpx.Client, host: str, product_id: str) -> Any:
        """The product page is shareable (no token): the form is checked by its origin,
        which a browser sends as ``Sec-Fetch-Site``."""
        data = {"product_id": product_id, "quantity": "1"}
        return self._send(client, host, "POST", "/cart/add", data, SAME_ORIGIN)

    def _send(
        self,
        client: httpx.Client,
        host: str,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        try:
            response = client.request(
                method, self.base + path, data=data, headers={"Host": host, **(headers or {})}
            )
        except httpx.HTTPError as exc:
            self.record(599, f"{method} {host}{path}", repr(exc))
            return None
        self.record(response.status_code, f"{method} {host}{path}", response.text[:200])
        slug = host.split(".")[0]
        foreign = {s for s in SLUG.findall(response.text) if s != slug}
        if foreign:
            with self.lock:
                self.failures.append(f"CROSS-SHOP: {host}{path} shows {sorted(foreign)}")
        if (
            response.status_code == 200
            and path in ("/", "/products")
            and f"Shop {slug}" not in response.text
        ):
            with self.lock:
                self.failures.append(f"{host}{path}: shop name missing")
        return response

    def shopper(self, seed: int) -> None:
        import random

        rng = random.Random(seed)
        while not self.stop.is_set():
            host = rng.choice(self.hosts)
            with httpx.Client(timeout=10) as client:
                self.visit(client, host, rng)

    def visit(self, client: httpx.Client, host: str, rng: Any) -> None:
        if not (r := self.get(client, host, "/")) or r.status_code != 200:
            return
        self.get(client, host, "/products")
        page = self.get(client, host, f"/p/product-{rng.randrange(6)}")
        if page is None or page.status_code != 200:
            return
        if rng.random() < 0.5:
            form = self.get(client, host, "/register")
            if form is not None and (token := CSRF.search(form.text)):
                email = f"u{rng.randrange(10**9)}@example.com"
                self.post(
                    client,
                    host,
                    "/register",
                    {
                        "email": email,
                        "password": "drill-password-1",
                        "password_confirm": "drill-password-1",
                        "csrf_token": token.group(1),
                    },
                )
                account = self.get(client, host, "/account")
                if account is not None and account.status_code == 200 and email not in account.text:
                    with self.lock:
                        self.failures.append(f"{host}/account does not show {email}")
        product = PRODUCT_ID.search(page.text)
        if not product:
            return
        added = self.add_to_cart(client, host, product.group(1))
        if added is None or added.status_code != 302:
            return
        form = self.get(client, host, "/checkout")
        if form is None or form.status_code != 200 or not (token := CSRF.search(form.text)):
            return
        placed = self.post(
            client,
            host,
            "/checkout",
            {**CHECKOUT, "csrf_token": token.group(1)},
        )
        location = placed.headers.get("location", "") if placed is not None else ""
        if match := re.search(r"/orders/([A-Z0-9]+-\d+)", location):
            number = match.group(1)
            if not number.startswith(host.split(".")[0].upper() + "-"):
                with self.lock:
                    self.failures.append(f"CROSS-SHOP order number {number} at {host}")
            with self.lock:
                self.orders.append((host.split(".")[0], number))
            shown = self.get(client, host, f"/orders/{number}")
            if shown is not None and shown.status_code == 200 and number not in shown.text:
                with self.lock:
                    self.failures.append(f"{host}/orders/{number} does not show the order")


def oversell(
    drill: Drill, app: Any, host: str, buyers: int = 40, units: int = 10
) -> dict[str, Any]:
    from sqlalchemy import func, select, update

    from storefront.catalog.models import Product
    from storefront.extensions import db
    from storefront.orders.models import OrderLine
    from storefront.tenancy import tenant_context
    from storefront.tenancy.registry import context_for

    slug = host.split(".")[0]
    with app.app_context(), tenant_context(context_for(slug)):
        db.session.execute(update(Product).where(Product.slug == "product-5").values(stock=units))
        db.session.commit()
        before = db.session.scalar(
            select(func.count())
            .select_from(OrderLine)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Product.slug == "product-5")
        )
    clients, forms = [], []
    for _ in range(buyers):
        client = httpx.Client(timeout=30)
        page = drill.get(client, host, "/p/product-5")
        product = PRODUCT_ID.search(page.text)
        drill.add_to_cart(client, host, product.group(1))
        form = drill.get(client, host, "/checkout")
        # The shoppers' address: a US one must be valid for the country (state, ZIP code).
        forms.append(
            {**CHECKOUT, "email": "o@example.com", "csrf_token": CSRF.search(form.text).group(1)}
        )
        clients.append(client)
    barrier = threading.Barrier(buyers)
    placed: list[str] = []

    def buy(client: httpx.Client, form: dict[str, str]) -> None:
        barrier.wait()
        response = drill.post(client, host, "/checkout", form)
        location = response.headers.get("location", "") if response is not None else ""
        if match := re.search(r"/orders/([A-Z0-9]+-\d+)", location):
            placed.append(match.group(1))
            with drill.lock:
                drill.orders.append((slug, match.group(1)))

    threads = [threading.Thread(target=buy, args=pair) for pair in zip(clients, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    with app.app_context(), tenant_context(context_for(slug)):
        stock = db.session.scalar(select(Product.stock).where(Product.slug == "product-5"))
        after = db.session.scalar(
            select(func.count())
            .select_from(OrderLine)
            .join(Product, Product.id == OrderLine.product_id)
            .where(Product.slug == "product-5")
        )
    result = {
        "buyers": buyers,
        "units": units,
        "orders": len(placed),
        "order_lines_written": after - before,
        "stock_left": stock,
    }
    if not (len(placed) == units == after - before and stock == 0):
        drill.failures.append(f"OVERSELL: {result}")
    return result


def reconcile(app: Any, acknowledged: list[tuple[str, str]]) -> dict[str, int]:
    from sqlalchemy import select

    from storefront.extensions import db
    from storefront.orders.models import Order
    from storefront.tenancy.context import all_tenants
    from storefront.tenancy.models import Tenant

    with app.app_context(), all_tenants():
        rows = db.session.execute(
            select(Tenant.slug, Order.number).join(Tenant, Tenant.id == Order.tenant_id)
        ).all()
    stored = Counter((slug, number) for slug, number in rows)
    acked = Counter(acknowledged)
    return {
        "orders_in_database": len(rows),
        "acknowledged": len(acknowledged),
        "lost": sum(1 for key in acked if key not in stored),
        "duplicated": sum(1 for n in stored.values() if n > 1)
        + sum(1 for n in acked.values() if n > 1),
        "unacknowledged": sum(1 for key in stored if key not in acked),
    }


def wind_down(
    drill: Drill, shoppers: list[threading.Thread], app: Any, host: str
) -> tuple[dict[str, Any], dict[str, int]]:
    """Stop the shoppers, run the oversell drill, reconcile every acknowledged order."""
    drill.stop.set()
    for thread in shoppers:
        thread.join(30)
    print("oversell drill ...", flush=True)
    drill.phase = "oversell"
    oversold = oversell(drill, app, host)
    orders = reconcile(app, drill.orders)
    if orders["lost"] or orders["duplicated"]:
        drill.failures.append(f"ORDERS: {orders}")
    return oversold, orders


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drills", description=__doc__)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--shoppers", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=70)
    args = parser.parse_args()
    root = temp_root("drills")
    redis, mariadb = Redis(root), MariaDB(root)
    server = None
    try:
        print("starting MariaDB and Redis on spare loopback ports ...", flush=True)
        mariadb.install()
        mariadb.start()
        mariadb.create_database()
        redis.start()
        os.environ["BENCH_DATABASE_URL"] = mariadb.url
        os.environ["BENCH_REDIS_URL"] = redis.url
        app = build_app(root, REDIS_URL=redis.url)
        migrate(app)
        hosts = provision(app, args.shops)
        server, port = start_gunicorn(
            "bench.drills.wsgi:application",
            root,
            workers=3,
            threads=4,
            log=root / "gunicorn.log",
            # Bare settings (no gunicorn.conf.py): the workers' metrics folder set here.
            env={"PROMETHEUS_MULTIPROC_DIR": str(root / "metrics")},
        )
        drill = Drill(port, hosts)
        shoppers = [
            threading.Thread(target=drill.shopper, args=(i,), daemon=True)
            for i in range(args.shoppers)
        ]
        scraper = MetricsScraper([f"http://127.0.0.1:{port}/_metrics"])
        scraper.start("normal")
        started = time.monotonic()
        for thread in shoppers:
            thread.start()
        s = args.seconds
        timeline = [
            (0.0, "normal", None),
            (s * 0.15, "redis down", redis.stop),
            (s * 0.15 + 20, "redis back", redis.start),
            (s * 0.55, "mariadb down", mariadb.stop),
            (s * 0.55 + 6, "mariadb restarting", mariadb.start),
        ]
        for at, phase, action in timeline:
            time.sleep(max(0.0, started + at - time.monotonic()))
            print(f"t={time.monotonic() - started:5.1f}s  {phase}", flush=True)
            drill.phase = phase if phase != "mariadb restarting" else "mariadb down"
            scraper.mark(drill.phase)
            if action is not None:
                action()
            if phase == "mariadb restarting":
                drill.phase = "recovered"
                scraper.mark(drill.phase)
                drill.recovered_at = time.monotonic()
        time.sleep(max(0.0, started + s - time.monotonic()))
        scraper.mark("oversell")
        oversold, orders = wind_down(drill, shoppers, app, hosts[0])
        scraper.stop()
        by_phase: dict[str, dict[str, int]] = {}
        for (phase, status), count in sorted(drill.statuses.items()):
            by_phase.setdefault(phase, {})[str(status)] = count
        summary = {
            "shops": args.shops,
            "shoppers": args.shoppers,
            "seconds": args.seconds,
            "responses": sum(drill.statuses.values()),
            "by_phase": by_phase,
            "metrics_by_phase": scraper.report(),
            "metrics_scrape_errors": scraper.errors,
            "orders": orders,
            "oversell": oversold,
            "failures": drill.failures[:50],
            "failure_count": len(drill.failures),
        }
        print(json.dumps(summary, indent=2))
        print("\nwhat /_metrics said, by phase:")
        print(table(summary["metrics_by_phase"]), flush=True)
        results = Path(__file__).resolve().parent.parent / "results"
        results.mkdir(exist_ok=True)
        shutil.copy(root / "gunicorn.log", results / "drills-gunicorn.log")
        if drill.failures:
            print(f"see {results / 'drills-gunicorn.log'} for the server's side")
        (results / "drills.json").write_text(json.dumps(summary, indent=2))
        sys.exit(1 if drill.failures else 0)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        redis.stop() if redis.process and redis.process.poll() is None else None
        mariadb.stop() if mariadb.process and mariadb.process.poll() is None else None
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
