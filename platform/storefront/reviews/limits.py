"""New reviews are limited per account and per shop: a bot with one bought item (or a
thousand accounts) cannot bury a shop in reviews. Counted only when a review is written
(a refused form costs nothing). The store being down lets reviews through, as the login
and search limits do: moderation still stands between a review and the page."""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import parse

from .. import metrics
from ..extensions import limiter
from ..tenancy.context import current_tenant
from .services import review_limit

log = logging.getLogger(__name__)


class TooManyReviews(Exception):
    """Over a review limit: come back in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"review limit reached, retry in {retry_after} s")
        self.retry_after = retry_after


def count_review(user_id: int) -> None:
    """Count one new review against the account's and the shop's limits."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return
    shop, prefix = current_tenant().uid, config.get("RATELIMIT_KEY_PREFIX", "")
    per_account, per_shop = review_limit()
    checks = (
        (per_account, (prefix, "review", shop, f"user:{user_id}")),
        (per_shop, (prefix, "review-shop", shop)),
    )
    strategy = limiter.limiter
    for text, keys in checks:
        item = parse(text)
        try:
            allowed = strategy.hit(item, *keys)
            reset_at = strategy.get_window_stats(item, *keys)[0] if not allowed else 0
        except Exception:  # the limits' store is down: serve
            log.warning("review rate limit store unavailable", exc_info=True)
            return
        if not allowed:
            metrics.refused_by(keys[1])
            raise TooManyReviews(max(1, math.ceil(reset_at - time.time())))
