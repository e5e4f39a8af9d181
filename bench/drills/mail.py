"""``python -m bench.drills.mail``: the mail server is down while orders are placed.

20 shops on gunicorn, jobs on the drill's own Redis run by ``tenantctl worker``'s code
(``mail_app``), mail to a loopback SMTP sink. Shoppers place orders while the sink is
down; the worker is killed with SIGKILL mid-run and started again; then the sink comes
back. Counts: responses by status (no 5xx allowed), orders acknowledged vs in the
database, confirmation mails received per order (exactly one each). Loopback only,
bounded in time; writes ``bench/results/mail-drill.json``; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from ..net import free_port, start_gunicorn
from ..platform_setup import migrate, provision, temp_root
from . import CHECKOUT, CSRF, PRODUCT_ID, SAME_ORIGIN, confirmed_order
from .services import Redis
from .smtp import SmtpSink

RESULTS = Path(__file__).resolve().parents[1] / "results"


def place_order(base: str, host: str, statuses: Counter[int]) -> str | None:
    with httpx.Client(timeout=15) as client:

        def send(method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
            headers = {"Host": host, **(SAME_ORIGIN if path == "/cart/add" else {})}
            response = client.request(method, base + path, data=data, headers=headers)
            statuses[response.status_code] += 1
            return response

        page = send("GET", "/p/product-1")
        product = PRODUCT_ID.search(page.text)
        if not product:
            return None
        send("POST", "/cart/add", {"product_id": product.group(1), "quantity": "1"})
        form = send("GET", "/checkout")
        token = CSRF.search(form.text)
        if token is None:
            return None
        placed = send(
            "POST",
            "/checkout",
            {**CHECKOUT, "csrf_token": token.group(1)},
        )
        match = re.search(r"/orders/([A-Z0-9]+-\d+)", placed.headers.get("location", ""))
        return match.group(1) if match else None


class HookReceiver:
    """A loopback webhook receiver: records when each order's event arrives; one shop's
    endpoint (``/slow``) hangs ``delay`` seconds before answering."""

    def __init__(self, delay: float) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/slow":
                    time.sleep(delay)
                receiver.arrived.setdefault(body["data"]["number"], time.monotonic())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def add_hooks(app: Any, hosts: list[str], port: int) -> None:
    """Every shop gets an order.created endpoint; the first shop's hangs."""
    from storefront.extensions import db
    from storefront.tenancy import tenant_context
    from storefront.webhooks import services as webhooks

    with app.app_context():
        for i, host in enumerate(hosts):
            with tenant_context(host.split(".")[0]):
                path = "slow" if i == 0 else "fast"
                webhooks.add_endpoint(f"http://127.0.0.1:{port}/{path}", ["order.created"])
                db.session.commit()


def outbox_left(app: Any, kind: str | None = None) -> int:
    from storefront.extensions import db
    from storefront.outbox.models import OutboxMessage
    from storefront.tenancy import all_tenants

    with app.app_context(), all_tenants():
        query = select(func.count()).select_from(OutboxMessage)
        query = query.where(OutboxMessage.status != "done")
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        left = db.session.scalar(query)
        db.session.remove()
    return int(left or 0)


def wait_drained(app: Any, seconds: float, kind: str | None = None) -> int:
    deadline = time.monotonic() + seconds
    while (left := outbox_left(app, kind)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "bench.drills.mail_app"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drills.mail", description=__doc__)
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--down", type=float, default=30.0, help="seconds the SMTP sink is down")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    root = temp_root("mail-drill")
    redis = Redis(root)
    redis.start()
    smtp_port = free_port()
    sink = SmtpSink(smtp_port)  # not started: the mail server is down
    env = {
        **os.environ,
        "BENCH_ROOT": str(root),
        "BENCH_REDIS_URL": redis.url,
        "BENCH_SMTP_PORT": str(smtp_port),
    }
    os.environ.update({k: env[k] for k in ("BENCH_ROOT", "BENCH_REDIS_URL", "BENCH_SMTP_PORT")})
    from .mail_app import application as app

    migrate(app)
    hosts = provision(app, args.shops)
    server, port = start_gunicorn(
        "bench.drills.mail_app:application",
        root,
        workers=2,
        threads=4,
        log=RESULTS / "mail-drill-gunicorn.log",
    )
    worker = start_worker(env)
    base = f"http://127.0.0.1:{port}"
    statuses: Counter[int] = Counter()
    acknowledged: list[str] = []
    lock = threading.Lock()
    failures: list[str] = []
    started = time.monotonic()
    try:
        per_thread = args.orders // 10

        def shopper(i: int) -> None:
            for k in range(per_thread):
                number = place_order(base, hosts[(i * per_thread + k) % len(hosts)], statuses)
                if number:
                    with lock:
                        acknowledged.append(number)

        threads = [threading.Thread(target=shopper, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        time.sleep(min(5.0, args.down / 3))
        worker.send_signal(signal.SIGKILL)  # mid-run, while it retries against a dead server
        worker.wait()
        worker = start_worker(env)
        for thread in threads:
            thread.join()
        placing = time.monotonic() - started
        time.sleep(max(0.0, args.down - placing))
        sink.start()  # the mail server is back
        back_at = time.monotonic()
        from storefront.extensions import db
        from storefront.orders.models import Order
        from storefront.outbox.models import OutboxMessage
        from storefront.tenancy import all_tenants

        deadline = time.monotonic() + 120
        pending = -1
        while time.monotonic() < deadline:
            with app.app_context(), all_tenants():
                pending = db.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != "done")
                )
                db.session.remove()
            if pending == 0:
                break
            time.sleep(0.5)
        drained = time.monotonic() - back_at
        with app.app_context(), all_tenants():
            in_database = set(db.session.scalars(select(Order.number)))
        subjects = Counter(m["Subject"] for m in sink.messages)
        ids = Counter(m["Message-ID"] for m in sink.messages)
        mailed = {n for s in subjects if (n := confirmed_order(str(s)))}
        duplicates = sum(n - 1 for n in subjects.values() if n > 1)
        lost = set(acknowledged) - in_database
        unmailed = in_database - mailed
        five_xx = sum(n for status, n in statuses.items() if status >= 500)
        if five_xx:
            failures.append(f"{five_xx} responses were 5xx")
        if lost:
            failures.append(f"{len(lost)} acknowledged orders are not in the database")
        if unmailed:
            failures.append(f"{len(unmailed)} orders got no confirmation mail")
        if duplicates:
            failures.append(f"{duplicates} duplicate mails")
        if pending:
            failures.append(f"{pending} outbox rows never delivered")
        # Phase B: Redis (the queue) stopped while 50 more orders are placed (~20 s).
        redis.stop()
        down_since = time.monotonic()
        b_statuses: Counter[int] = Counter()
        b_orders = [place_order(base, hosts[k % len(hosts)], b_statuses) for k in range(50)]
        time.sleep(max(0.0, 20 - (time.monotonic() - down_since)))
        redis_down_seconds = time.monotonic() - down_since
        redis.start()
        b_left = wait_drained(app, 90)
        b_mailed = {confirmed_order(str(m["Subject"])) for m in sink.messages}
        b_missing = [n for n in b_orders if n and n not in b_mailed]
        b_5xx = sum(n for status, n in b_statuses.items() if status >= 500)
        if b_5xx or b_missing or b_left:
            failures.append(f"redis down: {b_5xx} 5xx, {len(b_missing)} unmailed, {b_left} left")
        # Phase C: every shop has a webhook endpoint; the first shop's hangs 10 s.
        hooks = HookReceiver(delay=10.0)
        add_hooks(app, hosts, hooks.port)
        c_statuses: Counter[int] = Counter()
        placed_at: dict[str, tuple[str, float]] = {}
        for k in range(60):
            host = hosts[k % len(hosts)]
            number = place_order(base, host, c_statuses)
            if number:
                placed_at[number] = (host, time.monotonic())
        time.sleep(15)
        hooks.close()
        others = {n: at for n, (host, at) in placed_at.items() if host != hosts[0]}
        fast = sorted(hooks.arrived[n] - at for n, at in others.items() if n in hooks.arrived)
        missed = len(others) - len(fast)
        p50 = fast[len(fast) // 2] if fast else float("nan")
        p99 = fast[min(len(fast) - 1, int(len(fast) * 0.99))] if fast else float("nan")
        if missed or not fast or p99 > 5:
            failures.append(f"hanging webhook: {missed} other shops' missing, p99 {p99:.2f} s")
        # The whole run, once the mails have drained: each order mailed exactly once (the
        # hanging endpoint's deliveries stay pending on purpose: its receiver is gone).
        final_left = wait_drained(app, 60, kind="mail")
        with app.app_context(), all_tenants():
            all_orders = set(db.session.scalars(select(Order.number)))
        all_subjects = Counter(
            n for m in sink.messages if (n := confirmed_order(str(m["Subject"])))
        )
        all_duplicates = sum(n - 1 for n in all_subjects.values() if n > 1)
        all_unmailed = all_orders - set(all_subjects)
        if all_duplicates or all_unmailed or final_left:
            failures.append(
                f"whole run: {all_duplicates} duplicates, {len(all_unmailed)} unmailed, "
                f"{final_left} mails left in the outbox"
            )
        result = {
            "shops": args.shops,
            "smtp_down_seconds": args.down,
            "responses": dict(sorted(statuses.items())),
            "orders_acknowledged": len(acknowledged),
            "orders_in_database": len(in_database),
            "mails_received": sum(subjects.values()),
            "distinct_message_ids": len(ids),
            "duplicate_mails": duplicates,
            "orders_without_mail": len(unmailed),
            "seconds_to_drain_after_smtp_returned": round(drained, 1),
            "worker_killed_with_sigkill": 1,
            "redis_down": {
                "seconds": round(redis_down_seconds, 1),
                "orders_placed": len([n for n in b_orders if n]),
                "responses": dict(sorted(b_statuses.items())),
                "orders_without_mail": len(b_missing),
            },
            "hanging_webhook": {
                "responses": dict(sorted(c_statuses.items())),
                "other_shops_deliveries": len(fast),
                "missing": missed,
                "p50_seconds": round(p50, 3),
                "p99_seconds": round(p99, 3),
            },
            "whole_run": {
                "orders": len(all_orders),
                "confirmation_mails": sum(all_subjects.values()),
                "duplicates": all_duplicates,
                "orders_without_mail": len(all_unmailed),
                "distinct_message_ids": len({m["Message-ID"] for m in sink.messages}),
                "mails_in_all": len(sink.messages),
            },
            "failures": failures,
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "mail-drill.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
    finally:
        worker.terminate()
        server.terminate()
        sink.stop()
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
