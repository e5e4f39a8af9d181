"""The platform for gunicorn in benchmarks: ``BENCH_ROOT`` names the prepared folder.

Set up as ``wsgi.py`` sets up a production worker (``storefront.serving.settle``)."""

from __future__ import annotations

import os
from pathlib import Path

from storefront.serving import settle

from .platform_setup import build_app

application = build_app(
    Path(os.environ["BENCH_ROOT"]), SHOP_PAGE_CACHE=False, REGISTRY_POLL_SECONDS=2.0
)
settle()
