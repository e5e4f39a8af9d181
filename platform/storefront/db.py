"""What differs by database backend, held to one behaviour: column types with one rule on
every database, and engine-level settings applied when the engine connects."""

from __future__ import annotations

import functools
import logging
import os
import random
import time
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Flask
from sqlalchemy import DateTime, LargeBinary, String, Text, event
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.compiler import compiles

from .extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

MYSQL_SQL_MODE = (
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)


# Column types: one rule on every database --------------------------------------------


class Identifier(String):
    """Text a shop names a thing by (a SKU, a slug, an order number, a discount code):
    compared exactly, byte for byte, on every database (docs/decisions.md).

    SQLite compares bytes. MariaDB's default collations ignore case, accents and trailing
    spaces, so ``x``, ``X`` and ``x `` were one SKU there and ``/p/CLASSIC-ANVIL`` a page;
    its ``utf8mb4_bin`` still pads (``'x' = 'x '``). ``utf8mb4_nopad_bin`` (MySQL 8:
    ``utf8mb4_0900_bin``) pads nothing, so lookups and unique keys agree with SQLite's.
    """


@compiles(Identifier, "mysql", "mariadb")
def _identifier_ddl(type_: Identifier, compiler: Any, **kw: Any) -> str:
    return str(
        compiler.process(
            mysql.VARCHAR(type_.length, collation=binary_collation(compiler.dialect)), **kw
        )
    )


def binary_collation(dialect: Any) -> str:
    """The utf8mb4 collation that compares bytes and pads nothing, on this server."""
    return "utf8mb4_nopad_bin" if dialect.is_mariadb else "utf8mb4_0900_bin"


class Timestamp(DateTime):
    """A moment, in UTC without a zone, read back as it was written: microseconds kept.

    MySQL's and MariaDB's ``DATETIME`` drops them (a checkout and its idempotent replay
    showed different ``created_at``); ``DATETIME(6)`` keeps them, as SQLite's text does.
    """


@compiles(Timestamp, "mysql", "mariadb")
def _timestamp_ddl(_type: Timestamp, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(mysql.DATETIME(fsp=6), **kw))


class LongText(Text):
    """Text a form lets reach tens of thousands of characters (a page's body, a product's
    description): whole on every database.

    MySQL's and MariaDB's ``TEXT`` holds 65,535 *bytes*: a 50,000-character page in a
    script of three or four bytes a character did not fit. ``MEDIUMTEXT`` holds 16 MB;
    SQLite's text has no such bound.
    """


@compiles(LongText, "mysql", "mariadb")
def _long_text_ddl(_type: LongText, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(mysql.MEDIUMTEXT(), **kw))


class KeyBytes(LargeBinary):
    """Bytes a unique key covers (a passkey's credential id, up to ``length`` bytes).

    MySQL's and MariaDB's ``BLOB`` takes no index without a prefix length, so a unique
    key over one cannot be declared; ``VARBINARY(n)`` can. SQLite's ``BLOB`` indexes as
    it is (and reads ``VARBINARY`` back as a number type).
    """


@compiles(KeyBytes, "mysql", "mariadb")
def _key_bytes_ddl(type_: KeyBytes, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(mysql.VARBINARY(type_.length), **kw))


def init_engine_hooks(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    _dispose_after_fork(engine)
    _skip_needless_rollbacks(engine)
    if engine.dialect.name in ("mysql", "mariadb"):
        _ping_when_idle(engine, float(app.config["MYSQL_PING_IDLE_SECONDS"]))
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


_OPEN = "storefront.transaction_open"
_IDLE_SINCE = "storefront.idle_since"


def _skip_needless_rollbacks(engine: Any) -> None:
    """One ROLLBACK per request, not two.

    Closing the request's session rolls its transaction back; the pool then resets the
    connection it gets back with a second ROLLBACK, a round trip that does nothing. Here
    the pool's reset rolls back unless SQLAlchemy saw the connection's last transaction
    end (committed or rolled back) since it left the pool; work done on the raw driver
    connection is rolled back as before. The reset event replaces the pool's own
    (``pool_reset_on_return=None``), as SQLAlchemy's pooling guide describes.
    """

    @event.listens_for(engine, "checkout")
    def _checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        record.info[_OPEN] = True  # until SQLAlchemy sees a transaction end

    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        conn.info[_OPEN] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: Any) -> None:
        conn.info[_OPEN] = False

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if state.terminate_only:  # the connection is being closed, not pooled
            return
        if record is not None and not record.info.get(_OPEN, True):
            return
        engine.dialect.do_rollback(dbapi_connection)
        if record is not None:
            record.info[_OPEN] = False


def _ping_when_idle(engine: Any, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle a while.

    ``pool_pre_ping`` pings on every checkout: a round trip per page. A connection that
    was in use a moment ago is alive; one idle for a while may have been closed by the
    server or a failover, and gets pinged (if dead, the pool opens a fresh one and the
    request never sees it).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dbapi_connection.ping(False)  # PyMySQL and mysqlclient: no reconnect
        except Exception as exc:  # the driver's error, whichever driver
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


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


# Write conflicts -------------------------------------------------------------------

# MySQL/MariaDB error numbers that mean "this transaction lost a race; run it again":
# 1213 ER_LOCK_DEADLOCK (InnoDB's deadlock victim, and how Galera reports a transaction
# that failed certification against a write committed on another node), 1205
# ER_LOCK_WAIT_TIMEOUT (InnoDB rolls back the statement only; the whole transaction is
# rolled back and rerun here), 1020 ER_CHECKREAD (a row changed under a snapshot read).
CONFLICT_ERRORS = frozenset({1213, 1205, 1020})
CONFLICT_ATTEMPTS = 4  # the first try and three more


def is_write_conflict(exc: BaseException) -> bool:
    """A database error that says the transaction lost a race, not that it was wrong."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in CONFLICT_ERRORS
    # SQLite: another writer held the database past the busy timeout.
    return "database is locked" in str(orig)


def retrying(
    work: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS, keep_loaded: bool = False
) -> T:
    """Run ``work`` and commit, as one transaction; when it loses a write race, roll the
    whole transaction back and run ``work`` again (a bounded number of times, with a short
    random pause), so it takes effect once.

    ``work`` must do everything the transaction does from its start: it runs again from
    a rolled-back session (ORM objects it uses reload their rows). What it leaves for
    after the commit (outbox rows to dispatch) is dropped with the rollback and made
    again by the next run. Any other error propagates as it is, for the caller to handle.

    ``keep_loaded``: what the transaction wrote keeps the values it wrote after the commit,
    instead of being read again on next use. On a cluster that read may reach a node that
    has not applied the commit yet (Galera applies on the others after certifying), see
    no row, and turn a committed order into an error page.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            _commit(keep_loaded)
            return result
        except DBAPIError as exc:
            if not is_write_conflict(exc) or attempt == attempts:
                raise
            db.session.rollback()
            log.warning("write conflict (%s), attempt %d of %d: running the transaction again",
                        exc.orig, attempt, attempts)  # fmt: skip
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable")


def _commit(keep_loaded: bool) -> None:
    session = db.session()
    if not keep_loaded:
        session.commit()
        return
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


# Units of work ---------------------------------------------------------------------

_IN_UNIT = "storefront.in_unit_of_work"
P = ParamSpec("P")


def unit_of_work(
    work: Callable[[], T], *, keep_loaded: bool = False, attempts: int = CONFLICT_ATTEMPTS
) -> T:
    """Run ``work`` as one transaction: run again from the start when it loses a write
    race (``retrying``), committed once when it returns, rolled back when anything is
    raised (the error then propagates as it is). The one place a write commits: the web,
    the API, the CLI and the jobs call it (or ``transactional``); services only flush.

    Inside another unit of work it joins that one: ``work`` runs, and the outer unit
    commits or rolls back the lot (a service step that is its own unit of work when
    called alone, e.g. a job handler run from a CLI command's unit).
    """
    session = db.session()
    if session.info.get(_IN_UNIT):
        return work()

    def inside() -> T:
        # Marked while ``work`` runs (not while committing: what runs after a commit,
        # e.g. delivering its outbox rows, is not inside this unit).
        session.info[_IN_UNIT] = True
        try:
            return work()
        finally:
            session.info.pop(_IN_UNIT, None)

    try:
        return retrying(inside, attempts=attempts, keep_loaded=keep_loaded)
    except BaseException:
        db.session.rollback()
        raise


def transactional(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` as a unit of work (``unit_of_work``): each call runs, and is retried, as
    one transaction, committed once, rolled back on any error."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return unit_of_work(lambda: fn(*args, **kwargs))

    return wrapper
