"""Demo catalog data (the catalog itself lands with the commerce work)."""

from __future__ import annotations


def seed_catalog(slug: str) -> int:
    """Add the demo products of ``slug`` if it has none; returns how many were added."""
    return 0
