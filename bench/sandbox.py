"""Sandbox: the same product page of a shop without templates of its own (trusted
rendering, shared compiled templates) and of a shop with one override (the whole page
renders in the sandbox, with its attribute checks and budgets)."""

from __future__ import annotations

import shutil
from typing import Any

from .cache import measure
from .platform_setup import build_app, migrate, provision, temp_root
from .stats import table


def run(quick: bool = False) -> dict[str, Any]:
    requests = 300 if quick else 3000
    root = temp_root("sandbox")
    try:
        app = build_app(root, SHOP_PAGE_CACHE=False)
        migrate(app)
        (plain,) = provision(app, 1, products=24)
        (custom,) = provision(app, 1, products=24, overrides=True)
        rows = []
        for path in ("/products", "/p/product-1"):
            trusted = measure(app, plain, requests, path)
            sandboxed = measure(app, custom, requests, path)
            rows.append({"page": path, "case": "trusted (no own templates)", **trusted})
            rows.append({"page": path, "case": "sandboxed (one override)", **sandboxed})
            for row in rows[-2:]:
                row["ratio_vs_trusted_p50"] = row["p50_ms"] / trusted["p50_ms"]
        print(table(rows, ["page", "case", "rps", "p50_ms", "p99_ms", "ratio_vs_trusted_p50"]))
        return {"rows": rows}
    finally:
        shutil.rmtree(root, ignore_errors=True)
