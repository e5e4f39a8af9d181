"""``python -m bench.plot``: draw docs/images/bench-*.png from bench/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend

RESULTS = Path(__file__).parent / "results"
OUT = Path(__file__).parent.parent / "docs" / "images"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def scale() -> None:
    data = _load("scale")
    if not data:
        return
    rows = data["rows"]
    shops = [r["shops"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(shops, [r["p50_ms"] for r in rows], "o-", label="p50")
    left.plot(shops, [r["p99_ms"] for r in rows], "s--", label="p99")
    left.set(xscale="log", xlabel="shops", ylabel="ms per request", title="Latency")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot(shops, [r["rss_mb"] for r in rows], "o-", color="tab:green", label="RSS (MiB)")
    right.set(xscale="log", xlabel="shops", ylabel="MiB", title="Resident memory, one worker")
    right.set_ylim(bottom=0)
    twin = right.twinx()
    twin.plot(shops, [r["queries_per_request"] for r in rows], "^:", color="tab:red")
    twin.set_ylabel("SQL queries per request", color="tab:red")
    twin.set_ylim(0, max(5, max(r["queries_per_request"] for r in rows) * 1.5))
    fig.suptitle("Scaling in shops (every shop with its own template override)")
    fig.tight_layout()
    fig.savefig(OUT / "bench-scale.png", dpi=110)
    plt.close(fig)


def overhead() -> None:
    data = _load("overhead")
    if not data:
        return
    rows = data["rows"]
    paths = list(dict.fromkeys(r["path"] for r in rows))
    apps = list(dict.fromkeys(r["app"] for r in rows))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(apps)
    for n, app in enumerate(apps):
        values = [
            next((r["rps"] for r in rows if r["path"] == p and r["app"] == app), 0) for p in paths
        ]
        offset = (n - (len(apps) - 1) / 2) * width
        bars = ax.bar([i + offset for i in range(len(paths))], values, width, label=app)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(paths)), paths)
    ax.set_ylabel("requests / s")
    ax.set_title("The same product page: single-shop Flask apps vs the platform")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "bench-overhead.png", dpi=110)
    plt.close(fig)


def peer() -> None:
    data = _load("peer")
    if not data or "rows" not in data:
        return
    rows = data["rows"]
    sizes = list(dict.fromkeys(r["shops"] for r in rows))
    apps = list(dict.fromkeys(r["app"] for r in rows))
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.38
    for n, app in enumerate(apps):
        values = [
            next(r["rps"] for r in rows if r["shops"] == s and r["app"] == app) for s in sizes
        ]
        bars = ax.bar([i + (n - 0.5) * width for i in range(len(sizes))], values, width, label=app)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(sizes)), [f"{s:,} shops" for s in sizes])
    ax.set_ylabel("requests / s (wrk, gunicorn)")
    ax.set_title("The same product page: the platform and a Django peer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "bench-peer.png", dpi=110)
    plt.close(fig)


def goals() -> None:
    """Every goal as how far it is from its bound: 1.0 is the bound, right of it is met."""
    data = _load("goals")
    if not data:
        return
    rows = data["goals"]
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(rows) + 1.2))
    labels, values, colours = [], [], []
    for row in rows:
        bound = float(row["goal"].split()[-1])
        better_low = row["goal"].startswith("≤")
        labels.append(f"{row['bench']}: {row['what']}")
        values.append(bound / row["value"] if better_low else row["value"] / bound)
        colours.append("tab:green" if row["met"] == "yes" else "tab:red")
    ax.barh(range(len(rows)), values, color=colours)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("measured ÷ goal (1.0 is the goal; green: met)")
    fig.tight_layout()
    fig.savefig(OUT / "bench-goals.png", dpi=110)
    plt.close(fig)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    scale()
    overhead()
    peer()
    goals()
    print(f"plots written to {OUT}")


if __name__ == "__main__":
    main()
