"""The platform for ``bench/servers.py``: ``BENCH_ROOT`` names the prepared folder,
``BENCH_PAGE_CACHE=1`` turns the page cache on. Set up as ``wsgi.py`` sets up a
production worker."""

from __future__ import annotations

import os
from pathlib import Path

from storefront.serving import settle

from .platform_setup import build_app

application = build_app(
    Path(os.environ["BENCH_ROOT"]),
    SHOP_PAGE_CACHE=os.environ.get("BENCH_PAGE_CACHE") == "1",
    REGISTRY_POLL_SECONDS=2.0,
)
settle()
