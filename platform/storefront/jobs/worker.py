"""``tenantctl worker``: Dramatiq worker threads for the outbox, and the sweeper."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from dramatiq import Worker
from flask import Flask

from .broker import QUEUE, enqueue_due
from .periodic import run_periodic

PERIODIC_EVERY = 60.0  # seconds between two looks at the periodic tasks

log = logging.getLogger(__name__)


def run_worker(app: Flask, threads: int = 4, sweep_seconds: float = 5.0) -> None:
    """Run until SIGTERM or SIGINT: worker threads, and a sweep every ``sweep_seconds``."""
    broker = app.extensions.get("storefront.jobs")
    if broker is None:
        raise RuntimeError("set STOREFRONT_JOBS_BACKEND=redis (and a Redis URL) to run a worker")
    worker = Worker(broker, queues={QUEUE}, worker_threads=threads)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("worker: signal %s, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    log.info("worker: %d threads on queue %r", threads, QUEUE)
    periodic_at = 0.0
    try:
        while not stop.is_set():
            try:
                with app.app_context():
                    swept = enqueue_due()
                    if time.monotonic() >= periodic_at:
                        periodic_at = time.monotonic() + PERIODIC_EVERY
                        run_periodic()
                if swept:
                    log.info("worker: %d due row(s) queued", swept)
            except Exception:  # a database or Redis outage: try again next sweep
                log.exception("worker: sweep failed")
            stop.wait(sweep_seconds)
    finally:
        worker.stop()
