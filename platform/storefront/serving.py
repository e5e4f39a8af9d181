"""Process settings for a serving worker, applied by ``wsgi.py`` after the app is built.

A worker keeps many long-lived objects: compiled templates, shop settings, registry
entries, SQLAlchemy's statement cache. CPython's cyclic garbage collector runs a
young-generation pass every 700 allocations and, every so often, a full pass over all
of them, so the more shops a worker has seen the more a request pays for collections
that find nothing (measured: p50 at 10,000 shops 1.6x that of 10 shops, 1.03x with the
thresholds below; docs/benchmarks.md). Requests make little cyclic garbage, so
collecting less often costs a little memory and saves that time.
"""

from __future__ import annotations

import gc
import os

# young generation, then how many young passes per middle pass, middle per full pass
GC_THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Collect once, move what survived out of the collector's sight, collect less often.

    ``gc.freeze()`` puts every object alive now (the app, its blueprints, imported
    modules) in a permanent generation no pass scans again; with a forking server the
    workers also keep sharing those pages instead of copying them on the first pass.
    ``STOREFRONT_GC_THRESHOLDS="700,10,10"`` restores CPython's defaults.
    """
    thresholds: tuple[int, ...] = GC_THRESHOLDS
    raw = os.environ.get("STOREFRONT_GC_THRESHOLDS", "").strip()
    if raw:
        try:
            thresholds = tuple(int(part) for part in raw.split(","))
        except ValueError:
            thresholds = ()
        if len(thresholds) != 3 or min(thresholds) < 0:
            raise SystemExit(
                f"STOREFRONT_GC_THRESHOLDS={raw!r}: give three whole numbers, e.g. 700,10,10"
            )
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
