"""The platform for gunicorn in benchmarks: ``BENCH_ROOT`` names the prepared folder."""

from __future__ import annotations

import os
from pathlib import Path

from .platform_setup import build_app

application = build_app(
    Path(os.environ["BENCH_ROOT"]), SHOP_PAGE_CACHE=False, REGISTRY_POLL_SECONDS=2.0
)
