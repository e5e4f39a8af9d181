"""Searches are bounded per client and per shop: a flood of queries from one address (or
at one shop) waits its turn instead of taking the database from the shop's neighbours.

Counted only where a search reaches the index: the storefront's search page on a cache
miss (a cached page costs nothing) and the API's product listing with ``q``. Limits are
``SEARCH_RATE_LIMIT`` (per client: an API key, a signed-in account, else an address)
and ``SEARCH_RATE_LIMIT_SHOP`` (all clients of one shop), in Flask-Limiter's notation.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from ..extensions import limiter
from ..tenancy.context import current_tenant

log = logging.getLogger(__name__)


class SearchBusy(Exception):
    """Over a search limit: come back in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"search limit reached, retry in {retry_after} s")
        self.retry_after = retry_after


def _client() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"ip:{get_remote_address()}"


def count_search() -> None:
    """Count one search against the client's and the shop's limits; raise ``SearchBusy``
    past either. A store that cannot be reached lets searches through (as the login
    limits do): search stays up when the limits' store is down."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return
    shop, prefix = current_tenant().uid, config.get("RATELIMIT_KEY_PREFIX", "")
    checks = (
        (config["SEARCH_RATE_LIMIT"], (prefix, "search", shop, _client())),
        (config["SEARCH_RATE_LIMIT_SHOP"], (prefix, "search-shop", shop)),
    )
    strategy = limiter.limiter
    for text, keys in checks:
        item = parse(str(text))
        try:
            allowed = strategy.hit(item, *keys)
            reset_at = strategy.get_window_stats(item, *keys)[0] if not allowed else 0
        except Exception:  # the limits' store is down: serve
            log.warning("search rate limit store unavailable", exc_info=True)
            return
        if not allowed:
            raise SearchBusy(max(1, math.ceil(reset_at - time.time())))
