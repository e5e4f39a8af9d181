"""Jobs on Redis (Dramatiq) that carry their shop.

The embedded default (``JOBS_BACKEND = "inline"``) delivers outbox rows in the web
process: mails right after the response, webhooks on a small pool of threads of their
own, one per shop at a time (``inline``), never in the worker that served the request.
With ``JOBS_BACKEND = "redis"`` the web process only
sends a message per committed outbox row; ``tenantctl worker`` runs them:

- every message carries its shop's id; the worker looks the shop up again when the
  message runs (never a stale copy) and the outbox binds it with ``tenant_context``, so
  the job runs with the shop's current settings. A deleted shop's message is dropped, a
  suspended shop's row deferred, each with a log line;
- at most ``JOBS_PER_SHOP`` messages of one shop run at once across all workers (a Redis
  concurrent rate limiter); one over the cap goes back to the queue with a short delay,
  so one shop's burst or hanging webhook never holds every worker thread;
- retries and backoff are the outbox's (a row stays pending until delivered or dead),
  so Dramatiq's own retries are off; each row is claimed with a conditional UPDATE
  before it runs, so a message delivered twice sends nothing twice;
- a sweeper in the worker sends messages for rows that are due (retries, rows committed
  while Redis was down, messages lost with a killed worker);
- periodic tasks (``periodic``) run once per period per shop, spread over the period.

Dramatiq rather than RQ: JSON messages by default (never pickle), middleware and rate
limiters built in.
"""

from __future__ import annotations

from flask import Flask

from ..outbox import set_background, set_dispatcher
from .broker import make_broker, send_rows
from .inline import ShopPool
from .periodic import run_periodic

__all__ = ["init_jobs", "run_periodic"]


def init_jobs(app: Flask) -> None:
    """With ``JOBS_BACKEND = "redis"``, committed outbox rows become Dramatiq messages;
    with ``"inline"``, webhook rows go to an in-process pool, off the request's worker."""
    backend = app.config.get("JOBS_BACKEND", "inline")
    if backend == "inline":
        set_background(app, ShopPool(app, threads=int(app.config.get("JOBS_THREADS", 4))))
        return
    if backend != "redis":
        raise ValueError(f"JOBS_BACKEND must be 'inline' or 'redis', not {backend!r}")
    app.extensions["storefront.jobs"] = make_broker(app)
    set_dispatcher(app, send_rows)
