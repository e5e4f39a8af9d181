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

import httpx
from sqlalchemy import func, select

from ..net import free_port, start_gunicorn
from ..platform_setup import migrate, provision, temp_root
from .services import Redis
from .smtp import SmtpSink

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PRODUCT_ID = re.compile(r'name="product_id" value="(\d+)"')
RESULTS = Path(__file__).resolve().parents[1] / "results"


def place_order(base: str, host: str, statuses: Counter[int]) -> str | None:
    with httpx.Client(timeout=15) as client:

        def send(method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
            response = client.request(method, base + path, data=data, headers={"Host": host})
            statuses[response.status_code] += 1
            return response

        page = send("GET", "/p/product-1")
        token, product = CSRF.search(page.text), PRODUCT_ID.search(page.text)
        if not (token and product):
            return None
        data = {"product_id": product.group(1), "quantity": "1", "csrf_token": token.group(1)}
        send("POST", "/cart/add", data)
        form = send("GET", "/checkout")
        token = CSRF.search(form.text)
        if token is None:
            return None
        placed = send(
            "POST",
            "/checkout",
            {
                "email": "drill@example.com",
                "name": "Drill Shopper",
                "address": "1 Loop Road",
                "postal_code": "12345",
                "city": "Loopback",
                "country": "Localhost",
                "payment_method": "manual",
                "csrf_token": token.group(1),
            },
        )
        match = re.search(r"/orders/([A-Z0-9]+-\d+)", placed.headers.get("location", ""))
        return match.group(1) if match else None


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
    server, port = start_gunicorn("bench.drills.mail_app:application", root, workers=2, threads=4)
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
        mailed = {s.removeprefix("Your order ") for s in subjects if s.startswith("Your order ")}
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
        result = {
            "shops": args.shops,
            "smtp_down_seconds": args.down,
            "responses": dict(sorted(statuses.items())),
            "orders_acknowledged": len(acknowledged),
            "orders_in_database": len(in_database),
            "mails_received": len(sink.messages),
            "distinct_message_ids": len(ids),
            "duplicate_mails": duplicates,
            "orders_without_mail": len(unmailed),
            "seconds_to_drain_after_smtp_returned": round(drained, 1),
            "worker_killed_with_sigkill": 1,
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
