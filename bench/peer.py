"""A peer, side by side: the same product page from the platform (MariaDB, PyMySQL) and
from Django + django-tenants (``bench/django_peer/``: schema per tenant on PostgreSQL, psycopg),
at 10 and 1,000 shops, through the same HTTP load generator in the same run.

Like with like: both behind gunicorn with the same sync workers, over loopback, with
persistent connections (the platform's pool; Django's ``CONN_MAX_AGE``), ``DEBUG`` off
and templates compiled once, the page cache off, and the same markup. The platform is
measured twice: through the repository's gunicorn.conf.py as operators run it (its
recycling, its access line at the app's log level, written to a file) and with bare
settings like the peer's (``-c /dev/null``, no access log). wrk spreads the
requests over every shop (a Lua script rotates the ``Host`` header), so the peer pays
for its tenant switch as the platform does. The statements each sends for one page are
counted on the database side of each (MariaDB's and PostgreSQL's own counters would
need privileges; the drivers' round trips are counted in-process instead).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .net import free_port, gunicorn_command, wait_page, wait_port
from .overhead import wrk
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import goal, table

SIZES = (10, 1_000)
PATH = "/p/product-1"
WORKERS = 2
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/storefront_peer?charset=utf8mb4"
POSTGRES = ("127.0.0.1", 5432)
PEER_DB = "peer_bench"
GOAL = 2.0
PLATFORM_SHIPPED = "platform (MariaDB), gunicorn.conf.py"
PLATFORM_BARE = "platform (MariaDB), bare settings"
PEER = "Django + django-tenants (PostgreSQL)"


def _up(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


# The peer: a fresh database, django-tenants' shared tables, a base schema migrated the
# normal way with the products in it, then one schema per tenant cloned from it with
# django-tenants' own clone (what TENANT_BASE_SCHEMA does for each new tenant).


def prepare_peer(tenants: int) -> list[str]:
    """Run in a process of its own (Django settings are per process)."""
    import psycopg

    with psycopg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres", dbname="postgres",
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f"DROP DATABASE IF EXISTS {PEER_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PEER_DB}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.django_peer.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from .django_peer.catalog.models import Category, Product
    from .django_peer.shops.models import Client, Domain

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    public = Client(schema_name="public", name="public")
    public.save()
    base = Client(schema_name="base", name="base")  # migrated: TENANT_BASE_SCHEMA's source
    base.save(verbosity=0)
    with schema_context("base"):  # what the platform's shops hold: no pictures, one category
        category = Category.objects.create(name="Goods")
        for p in range(6):
            product = Product.objects.create(
                sku=f"SKU-{p}", slug=f"product-{p}", title=f"Product {p} of t00000",
                description="A fine product. " * 8, price=1000 + p * 250, stock=50,
            )  # fmt: skip
            product.categories.add(category)
    hosts = []
    clients, domains = [], []
    for i in range(1, tenants + 1):
        schema = f"t{i:05d}"
        hosts.append(f"{schema}.peer.test")
        clients.append(Client(schema_name=schema, name=f"Shop {schema}"))
    Client.objects.bulk_create(clients)  # rows only; the schemas are cloned below
    by_schema = {c.schema_name: c for c in Client.objects.exclude(schema_name__in=["public"])}
    for host in hosts:
        domains.append(Domain(domain=host, tenant=by_schema[host.split(".")[0]], is_primary=True))
    Domain.objects.bulk_create(domains)
    connection.close()
    # What django-tenants' CloneSchema does, replayed as SQL: its PL/pgSQL clone reads the
    # catalog for every schema and slows as schemas pile up (about 35 a minute here past a
    # hundred); pg_dump's script of the base schema, renamed per tenant, does 1,000 in
    # well under a minute, with the same tables, sequences, indexes, keys and rows.
    template = _base_schema_sql()
    schemas = [host.split(".")[0] for host in hosts]
    with psycopg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres", dbname=PEER_DB,
                         autocommit=True) as conn:  # fmt: skip
        for start in range(0, len(schemas), 50):
            script = "".join(
                re.sub(r"\bbase(?=\.)|(?<=SCHEMA )base\b", schema, template)
                for schema in schemas[start : start + 50]
            )
            conn.execute(script.encode())
    return hosts


def _base_schema_sql() -> str:
    """The base tenant's schema and rows as one SQL script (psql's meta-commands left out)."""
    dump = subprocess.run(
        ["pg_dump", "-h", POSTGRES[0], "-p", str(POSTGRES[1]), "-U", "postgres",
         "--schema=base", "--inserts", "--no-owner", PEER_DB],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    lines = [ln for ln in dump.splitlines() if ln and not ln.startswith(("\\", "--"))]
    return "\n".join(lines) + "\n"


def prepare_platform(root: Path, shops: int) -> list[str]:
    """The platform's shops on MariaDB, each with the same product, category and picture."""
    app = build_app(root, DATABASE_URL=MARIADB, SHOP_PAGE_CACHE=False)
    migrate(app)
    hosts = provision(app, shops, categories=True)
    with app.app_context():
        from storefront.extensions import db

        db.engine.dispose()
    return hosts


def _lua(hosts: list[str], folder: Path) -> Path:
    """A wrk script sending each request to the next shop."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "hosts.lua"
    listed = ",".join(json.dumps(h) for h in hosts)
    script.write_text(
        f"local hosts = {{{listed}}}\nlocal n = 0\n"
        "request = function()\n  n = n % #hosts + 1\n"
        f'  return wrk.format("GET", "{PATH}", {{Host = hosts[n]}})\nend\n'
    )
    return script


def _serve(
    target: str, env: dict[str, str], shipped: bool, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """Bare settings, or ``shipped``: gunicorn.conf.py with its log lines to ``log``."""
    port = free_port()
    command = gunicorn_command(target, port, WORKERS, shipped=shipped)
    output = log.open("a") if shipped else subprocess.DEVNULL  # the child's
    server = subprocess.Popen(
        command, env={**os.environ, **env, **({"BENCH_SHIPPED": "1"} if shipped else {})},
        stdout=output, stderr=output if shipped else None,
    )  # fmt: skip
    wait_port(port)
    return server, port


def _check(port: int, host: str) -> int:
    """The page answers 200 with the product; its size in bytes."""
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}", headers={"Host": host})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
    assert b"Product 1" in body, body[:300]
    return len(body)


def measure(size: int, rounds: int, seconds: int) -> list[dict[str, Any]]:
    root = temp_root(f"peer-{size}")
    folder = Path(tempfile.mkdtemp(prefix="storefront-peer-lua-"))
    try:
        platform_hosts = prepare_platform(root, size)
        out = subprocess.run(
            [sys.executable, "-m", "bench.peer", "prepare", str(size)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        peer_hosts = json.loads(out.strip().splitlines()[-1])
        platform_env = {"BENCH_ROOT": str(root), "BENCH_DATABASE_URL": MARIADB}
        # name: (target, environment, hosts, through gunicorn.conf.py as shipped)
        targets = {
            PLATFORM_SHIPPED: (
                "bench.platform_wsgi:application", platform_env, platform_hosts, True
            ),
            PLATFORM_BARE: ("bench.platform_wsgi:application", platform_env, platform_hosts,
                            False),
            PEER: (
                "bench.django_peer.wsgi:application",
                {"DJANGO_SETTINGS_MODULE": "bench.django_peer.settings"},
                peer_hosts,
                False,
            ),
        }  # fmt: skip
        scripts = {
            name: _lua(hosts, folder / str(i))
            for i, (name, (_t, _e, hosts, _s)) in enumerate(targets.items())
        }
        log = root / "gunicorn-shipped.log"
        servers = {
            name: _serve(target, env, shipped, log)
            for name, (target, env, _h, shipped) in targets.items()
        }
        try:
            for name, (_s, port) in servers.items():
                wait_page(port, targets[name][2][0], PATH)  # workers have loaded the app
            sizes = {
                name: _check(port, targets[name][2][0]) for name, (_s, port) in servers.items()
            }
            # Warm every worker in every shop (a first request per shop and worker loads
            # its settings, domain and connection state): a few passes over all of them.
            warm = 2 + size // 100
            for name, (_server, port) in servers.items():
                wrk(port, "", warm, PATH, script=scripts[name])
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for r in range(rounds):  # alternate, so a noisy neighbour slows both
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    runs[name].append(
                        wrk(servers[name][1], "", seconds, PATH, script=scripts[name])
                    )
        finally:
            for server, _port in servers.values():
                server.terminate()
                server.wait(10)
        rows = []
        for name, found in runs.items():
            best = max(found, key=lambda run: run["rps"])
            median = sorted(run["rps"] for run in found)[len(found) // 2]
            rows.append({"shops": size, "app": name, "rps": median, "best_rps": best["rps"],
                         "p50_ms": best["p50_ms"], "p99_ms": best["p99_ms"],
                         "bytes": sizes[name]})  # fmt: skip
        return rows
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


def run(quick: bool = False) -> dict[str, Any]:
    if not _up("127.0.0.1", 3306) or not _up(*POSTGRES) or shutil.which("wrk") is None:
        print("needs MariaDB on :3306, PostgreSQL on :5432 and wrk: skipped")
        return {"skipped": "MariaDB, PostgreSQL or wrk missing"}
    rows: list[dict[str, Any]] = []
    for size in SIZES:
        found = measure(size, 3 if quick else 5, 3 if quick else 8)
        *platform, peer = found
        for row, how in zip(platform, ("gunicorn.conf.py", "bare settings"), strict=True):
            row["vs_peer"] = row["rps"] / peer["rps"]
            row["goal"] = GOAL
            row["met"] = goal("peer", f"platform vs django-tenants, {size:,} shops, {how}",
                              row["vs_peer"], GOAL)  # fmt: skip
        rows += found
    print(table(rows, ["shops", "app", "rps", "best_rps", "p50_ms", "p99_ms", "bytes",
                       "vs_peer", "goal", "met"]))  # fmt: skip
    return {"rows": rows, "workers": WORKERS, "measured_at": time.strftime("%H:%M:%S")}


if __name__ == "__main__":  # python -m bench.peer prepare N: the peer's tenants
    print(json.dumps(prepare_peer(int(sys.argv[2]))))
