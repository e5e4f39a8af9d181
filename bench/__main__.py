"""``python -m bench [--quick] [name ...]``: run benchmarks, print tables with ratios
against a baseline measured in the same run, save JSON to bench/results/."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import time
from pathlib import Path

from . import (
    api,
    audit,
    bigshop,
    bulk,
    cache,
    drivers,
    overhead,
    peer,
    provision,
    sandbox,
    scale,
    servers,
    tls_ask,
)
from .stats import GOALS, table

BENCHES = {
    "overhead": overhead.run,
    "scale": scale.run,
    "cache": cache.run,
    "drivers": drivers.run,
    "provision": provision.run,
    "sandbox": sandbox.run,
    "tls_ask": tls_ask.run,
    "api": api.run,
    "bulk": bulk.run,
    "peer": peer.run,
    "servers": servers.run,
    "bigshop": bigshop.run,
    "audit": audit.run,
}
RESULTS = Path(__file__).parent / "results"
# Run only when named: its first run builds a shop of 2,000,000 orders per database.
NAMED_ONLY = {"bigshop"}


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHES, []],
                        help="default: all but bigshop")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    big = parser.add_argument_group("bigshop")
    big.add_argument("--products", type=int, help="big shop's products (default 200,000)")
    big.add_argument("--orders", type=int, help="big shop's orders (default 2,000,000)")
    big.add_argument("--rebuild", action="store_true", help="build the big shop again")
    big.add_argument("--db", choices=["sqlite", "mariadb", "both"], default="both")
    big.add_argument("--drill", action="store_true", help="the fairness drill on gunicorn")
    big.add_argument("--drop", action="store_true", help="drop the kept MariaDB build")
    big.add_argument("--only", default="paths,memory,export,import",
                     help="paths, memory, export, import; none: build only")  # fmt: skip
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    RESULTS.mkdir(exist_ok=True)
    info = machine()
    print(f"machine: {info}")
    for name in args.names or [n for n in BENCHES if n not in NAMED_ONLY]:
        print(f"\n== {name} ==")
        if name == "bigshop":  # writes bigshop-<db>.json itself
            bigshop.run(quick=args.quick, products=args.products, orders=args.orders,
                        rebuild=args.rebuild, database=args.db, drill=args.drill,
                        only=args.only, machine=info, drop=args.drop)  # fmt: skip
            continue
        result = BENCHES[name](quick=args.quick)
        (RESULTS / f"{name}.json").write_text(
            json.dumps({"machine": info, "quick": args.quick, **result}, indent=2)
        )
    if GOALS:
        met = sum(row["met"] == "yes" for row in GOALS)
        print(f"\n== goals: {met} of {len(GOALS)} met ==")
        print(table(GOALS, ["bench", "what", "value", "goal", "met"]))
        # A partial run replaces its own benches' goals and keeps the others'.
        path = RESULTS / "goals.json"
        ran = set(args.names or set(BENCHES) - NAMED_ONLY)
        kept = []
        if path.exists():
            kept = [g for g in json.loads(path.read_text())["goals"] if g["bench"] not in ran]
        path.write_text(json.dumps({"machine": info, "goals": kept + GOALS}, indent=2))


if __name__ == "__main__":
    main()
