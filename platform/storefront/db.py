"""Engine-level settings that differ by backend, applied when the engine connects."""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from .extensions import db

log = logging.getLogger(__name__)

MYSQL_SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)


def init_engine_hooks(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    _dispose_after_fork(engine)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first.
    app.teardown_appcontext(_remove_session_safely)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            # WAL lets readers work while one writer writes; the busy timeout makes a
            # second writer wait instead of failing at once.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
        elif engine.dialect.name in ("mysql", "mariadb"):
            cursor.execute(f"SET SESSION sql_mode='{MYSQL_SQL_MODE}'")
        cursor.close()


def _dispose_after_fork(engine: Any) -> None:
    """A forked worker (gunicorn --preload, uwsgi) must never reuse the parent's sockets.

    ``dispose(close=False)`` drops the inherited pool without closing the parent's
    connections, as SQLAlchemy's pooling guide recommends; any server that forks gets it.
    """
    ref = weakref.ref(engine)

    def after_fork() -> None:
        inherited = ref()
        if inherited is not None:
            inherited.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)


def _remove_session_safely(exc: BaseException | None = None) -> None:
    """End the request's session even when the database went away mid-request.

    Closing a session rolls back its connection; on a dead connection that raises, and
    from a teardown the error would escape Flask as a bare 500. Here the connection is
    invalidated instead (the pool opens a new one once the database is back).
    """
    try:
        db.session.remove()
    except DBAPIError:
        log.warning("database connection lost while ending a request; discarding it")
        session = db.session.registry()
        session.invalidate()
        db.session.registry.clear()
