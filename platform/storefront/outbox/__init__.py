"""The outbox: mails and webhooks written with the change that causes them.

Rows added in a transaction are delivered once it commits: after the response has gone
out (``call_on_close``), or at the end of a ``tenantctl`` command. A rollback drops
them with everything else. Failed deliveries wait in the table for the next round.
Rows of ``BACKGROUND_KINDS`` (webhooks) never run in a web worker: with in-process jobs
they go to the background runner the jobs layer installs (``set_background``).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from flask import Flask, Response, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import PlatformSession
from .services import BACKGROUND_KINDS, NEW_ROWS, deliver, due_rows, enqueue, enqueue_mail, run_due

__all__ = [
    "SWEEPER_KEY",
    "stop_sweeper",
    "deliver",
    "deliver_committed",
    "enqueue",
    "enqueue_mail",
    "init_outbox",
    "run_due",
    "set_background",
    "set_dispatcher",
]

Dispatcher = Callable[[list[tuple[int, int]]], None]
DISPATCHER_KEY = "storefront.outbox.dispatcher"


def set_dispatcher(app: Flask, dispatch: Dispatcher) -> None:
    """Hand committed rows (row id, shop id) to a queue instead of delivering them here
    (the jobs layer does this when ``JOBS_BACKEND = "redis"``)."""
    app.extensions[DISPATCHER_KEY] = dispatch


class Background(Protocol):
    """Runs outbox rows on threads of its own (the in-process jobs backend)."""

    def submit(self, rows: list[tuple[int, int]]) -> None:
        """Take (row id, shop id) pairs to run soon; never blocks."""

    def stop(self) -> None:
        """Take nothing more; idle threads end."""


BACKGROUND_KEY = "storefront.outbox.background"


def set_background(app: Flask, runner: Background) -> None:
    """Where rows of ``BACKGROUND_KINDS`` go instead of the thread that committed them
    (the jobs layer installs a thread pool when ``JOBS_BACKEND = "inline"``)."""
    app.extensions[BACKGROUND_KEY] = runner


log = logging.getLogger(__name__)

FLUSHED = "storefront.outbox.flushed"
ENVIRON_KEY = "storefront.outbox"
Row = tuple[int, int, str]  # row id, shop id, kind
# Rows committed outside a request (a CLI command), delivered by ``deliver_committed``.
_committed: ContextVar[list[Row] | None] = ContextVar("storefront_outbox_committed", default=None)
RETRY_PER_ROUND = 20  # due rows of earlier failures retried after each delivery


@event.listens_for(PlatformSession, "after_flush_postexec")
def _flushed(session: Session, _context: Any) -> None:
    rows = session.info.pop(NEW_ROWS, None)
    if rows:
        session.info.setdefault(FLUSHED, []).extend(
            (row.id, row.tenant_id, row.kind) for row in rows
        )


@event.listens_for(PlatformSession, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop(FLUSHED, None)
    if not ids:
        return
    if has_request_context():
        request.environ.setdefault(ENVIRON_KEY, []).extend(ids)
    else:
        pending = _committed.get()
        if pending is None:
            _committed.set(pending := [])
        pending.extend(ids)


@event.listens_for(PlatformSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(NEW_ROWS, None)
    session.info.pop(FLUSHED, None)


def deliver_committed() -> int:
    """Deliver what commits outside a request queued (call at the end of a CLI command)."""
    pending = _committed.get()
    if not pending:
        return 0
    rows, pending[:] = list(pending), []
    return _deliver_safely(rows, here=True)  # a command, not a web worker: it may wait


def _deliver_safely(rows: list[Row], here: bool = False) -> int:
    """Hand the rows to the queue, or run them (``BACKGROUND_KINDS`` on the background
    runner unless ``here``); a failure leaves the rows pending for later."""
    try:
        dispatch = current_app.extensions.get(DISPATCHER_KEY)
        if dispatch is not None:
            dispatch([(row_id, shop) for row_id, shop, _kind in rows])
            return 0
        sent = _run(rows, here)
        _run(due_rows(RETRY_PER_ROUND), here)
        return sent
    except Exception:  # delivery is best effort; the rows stay pending
        log.exception("outbox delivery failed; the rows stay queued")
        return 0


def _run(rows: list[Row], here: bool) -> int:
    background = None if here else current_app.extensions.get(BACKGROUND_KEY)
    if background is None:
        return deliver(row_id for row_id, _shop, _kind in rows)
    later = [(row_id, shop) for row_id, shop, kind in rows if kind in BACKGROUND_KINDS]
    if later:
        background.submit(later)
    return deliver(row_id for row_id, _shop, kind in rows if kind not in BACKGROUND_KINDS)


def init_outbox(app: Flask) -> None:
    """Deliver a request's committed rows after its response has gone out."""

    def schedule(response: Response) -> Response:
        ids = request.environ.pop(ENVIRON_KEY, None)
        if ids:

            def run() -> None:
                with app.app_context():
                    _deliver_safely(ids)

            response.call_on_close(run)
        return response

    app.after_request(schedule)
    app.before_request(lambda: _start_sweeper(app))


_sweepers_lock = threading.Lock()
SWEEPER_KEY = "storefront.outbox.sweeper"  # app.extensions: (pid, event that stops it)


def _start_sweeper(app: Flask) -> None:
    """With in-process jobs, a thread per process runs what is due every few seconds.

    The rows of a request normally go right after its response, but that waits for the
    server to close the response: Werkzeug's development server (``make demo``) does
    so only once the browser lets go of the connection, which can take a minute. The
    sweeper also picks up retries and rows another process committed. Started on the
    first request of each process (gunicorn forks after loading the app); it holds the
    app weakly and ends with it."""
    interval = float(app.config.get("OUTBOX_SWEEP_SECONDS") or 0)
    if interval <= 0 or app.config.get("JOBS_BACKEND", "inline") != "inline":
        return
    pid = os.getpid()
    if app.extensions.get(SWEEPER_KEY, (None,))[0] == pid:
        return
    with _sweepers_lock:
        if app.extensions.get(SWEEPER_KEY, (None,))[0] == pid:
            return
        ref = weakref.ref(app)
        stop = threading.Event()

        def sweep() -> None:
            while not stop.wait(interval):
                current = ref()
                if current is None:
                    return
                with current.app_context():
                    try:
                        _run(due_rows(RETRY_PER_ROUND), here=False)
                    except Exception:  # next round: the rows stay queued
                        log.exception("outbox sweep failed")
                del current

        app.extensions[SWEEPER_KEY] = (pid, stop)
        threading.Thread(target=sweep, name="outbox-sweeper", daemon=True).start()


def stop_sweeper(app: Flask) -> None:
    """End this process's sweeper thread of ``app`` and its background runner's idle
    threads (an app being thrown away, as in the tests, whose database may be gone
    before the app is)."""
    running = app.extensions.get(SWEEPER_KEY)
    if running is not None:
        running[1].set()
    background = app.extensions.get(BACKGROUND_KEY)
    if background is not None:
        background.stop()
