"""In-process jobs: the outbox rows that wait on other servers run on threads of their own.

With ``JOBS_BACKEND = "inline"`` a web worker delivers a request's mails after the
response, but never a webhook: the receiver decides how long that takes, and a sync
worker busy with it serves no other shop. Webhook rows go to this pool instead:

- ``JOBS_THREADS`` threads per process, started when there is work and ended after a
  while idle (and in a forked worker, anew);
- at most one row per shop at a time, shops taken in turn, so one shop's slow receivers
  hold one thread, never all of them;
- ``submit`` never blocks: what does not fit in a shop's queue stays pending in the
  table, and the sweeper offers it again.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque

from flask import Flask

from ..outbox import deliver

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0  # a thread with nothing to do for this long ends
MAX_QUEUED_PER_SHOP = 500  # more of one shop waits in the table for the next sweep


class ShopPool:
    """A few daemon threads running outbox rows, at most one per shop at a time."""

    def __init__(self, app: Flask, threads: int = 4) -> None:
        if threads < 1:
            raise ValueError("JOBS_THREADS must be at least 1")
        self._app = weakref.ref(app)  # the pool ends with its app
        self._threads = threads
        self._lock = threading.Condition()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._queues: dict[int, deque[int]] = {}  # shop id: its row ids, oldest first
        self._ready: deque[int] = deque()  # shops with rows waiting and none running
        self._running: set[int] = set()  # shops with a row running
        self._known: set[int] = set()  # row ids queued or running (a sweep offers them again)
        self._workers = 0
        self._stopped = False

    def submit(self, rows: list[tuple[int, int]]) -> None:
        """Queue (row id, shop id) pairs; returns at once."""
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's threads are not here
                self._reset()
            self._stopped = False
            for row_id, shop in rows:
                queue = self._queues.get(shop, ())
                if row_id in self._known or len(queue) >= MAX_QUEUED_PER_SHOP:
                    continue
                self._queues.setdefault(shop, deque()).append(row_id)
                self._known.add(row_id)
                if shop not in self._running and shop not in self._ready:
                    self._ready.append(shop)
            idle = self._workers - len(self._running)
            for _ in range(min(self._threads - self._workers, len(self._ready) - idle)):
                self._workers += 1
                threading.Thread(target=self._work, name="outbox-background", daemon=True).start()
            self._lock.notify_all()

    def stop(self) -> None:
        """Idle threads end now; a running row ends by its own deadline."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (the tests, a command's end)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._known, timeout)

    def running_shops(self) -> set[int]:
        with self._lock:
            return set(self._running)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._ready and not self._stopped:
                    if not self._lock.wait(IDLE_SECONDS) and not self._ready:
                        break
                if self._stopped or not self._ready:
                    self._workers -= 1
                    return
                shop = self._ready.popleft()
                row_id = self._queues[shop].popleft()
                self._running.add(shop)
            try:
                self._run(row_id)
            finally:
                with self._lock:
                    self._running.discard(shop)
                    self._known.discard(row_id)
                    if self._queues.get(shop):
                        self._ready.append(shop)  # behind the shops already waiting
                    else:
                        self._queues.pop(shop, None)
                    self._lock.notify_all()

    def _run(self, row_id: int) -> None:
        app = self._app()
        if app is None:
            return
        with app.app_context():
            try:
                deliver([row_id])  # claims the row, binds its shop, records the outcome
            except Exception:  # the database, say: the row stays pending for the sweeper
                log.exception("outbox row %s failed in the background; it stays queued", row_id)
