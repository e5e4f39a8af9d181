"""Small helpers: percentiles, resident memory, tables."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: Sequence[float], elapsed: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed if elapsed else float("nan"),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:,.2f}" if isinstance(v, float) else str(v)

    widths = [max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(cell(r.get(c, "")).rjust(w) for c, w in zip(columns, widths, strict=True))
        )
    return "\n".join(lines)


# Goals: every bench records its ratios here; ``python -m bench`` prints them all at the end.
GOALS: list[dict[str, Any]] = []


def goal(bench: str, what: str, value: float, target: float, at_most: bool = False) -> str:
    """Record ``value`` against ``target`` (at least, or ``at_most``); "yes" or "no"."""
    met = value <= target if at_most else value >= target
    GOALS.append(
        {
            "bench": bench,
            "what": what,
            "value": round(value, 3),
            "goal": f"{'≤' if at_most else '≥'} {target}",
            "met": "yes" if met else "no",
        }
    )
    return "yes" if met else "no"
