"""Recording: session events collect what each flush (and each bulk UPDATE or DELETE)
changed in shop-owned tables; just before the transaction commits, one entry per shop is
appended to the shop's chain, with the chain head locked.

Cost: the collection reads the attribute history SQLAlchemy keeps anyway; the writing is
three statements per committing transaction that changed audited rows (lock the head,
insert the entry, move the head), whatever the number of flushes and rows.

Not recorded (``SKIPPED_TABLES``): tables that are derived, churn on every page or are
the platform's own bookkeeping. Columns in ``NOISE_COLUMNS`` are left out of updates (an
update of only those is no change worth an entry); columns that hold secrets are recorded
as changed, with ``[masked]`` for their values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import BindParameter, Column, Table, event, insert, select, update
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm import attributes as orm_attributes
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression

from ..extensions import PlatformSession
from ..tenancy.context import _current
from ..tenancy.models import utcnow
from . import chain
from .actor import current_actor
from .models import GENESIS, AuditEntry, AuditHead

log = logging.getLogger(__name__)

PENDING = "storefront.audit.pending"  # session.info: [(tenant_id, change), ...]
ERASE = "storefront.audit.erase"  # session.info: values this transaction erases
GONE = "storefront.audit.gone"  # session.info: shops this transaction deletes
# A bigger transaction is written as several entries: at most this many changes, and
# bodies within what a shop archive's import takes for a text (transfer.TEXT_MAX).
CHANGES_PER_ENTRY = 100
BODY_MAX = 150_000

# Derived, high-churn or bookkeeping tables (docs/security.md lists them with reasons).
SKIPPED_TABLES = frozenset(
    {
        "audit_entries",
        "audit_heads",
        "user_sessions",  # a sign-in's session row: every sign-in and sign-out
        "outbox",  # queued mails and webhook deliveries, claimed and retried by jobs
        "periodic_runs",  # the scheduler's markers
        "sales_days",  # aggregates, rebuilt from the orders
        "product_sales_days",
        "customer_totals",
        "order_counters",  # the next order number
        "plan_counters",  # what a shop's plan counts (kept with what it counts)
        "product_pairs",  # "bought together", moved by every sale
        "cart_reminders",  # a cart's reminder and its sending state
        "cart_reminder_days",  # what reminders brought back, per day
        "search_terms",  # the search index, derived from the products
        "search_postings",
        "search_deletes",
        "search_stems",
        "search_state",
        "carts",  # a shopper's basket: every click on "add to cart"
        "cart_items",
        "transfers",  # an export's or import's progress (its start is in the trail)
    }
)
# Columns that change as a side effect of use, not of anyone's decision.
NOISE_COLUMNS = frozenset(
    {
        "updated_at",
        "last_seen_at",
        "last_used_at",
        "search_version",
        "cache_generation",  # a shop's cache dropped (every settings edit)
        "sign_count",  # a passkey's use counter and last use: every sign-in
        "lastuse_datetime",
        "tenant_id",
        "id",
    }
)
# The shop's own row (name, status, suspension) is recorded in its own trail.
SHOP_TABLE = "tenants"
# A column whose name contains one of these holds a credential: recorded as changed only.
SECRET_MARKS = (
    "password",
    "secret",
    "token",
    "key_hash",
    "uniquifier",
    "recovery_code",
    "sid_hash",
    "webauthn",
    "credential",
)


SECRET_NAMES = frozenset({"uid"})  # a shop's uid keys its shoppers' order links


def is_secret(name: str) -> bool:
    name = name.lower()
    return name in SECRET_NAMES or any(mark in name for mark in SECRET_MARKS)


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("AUDIT_ENABLED", True))


# Collecting -----------------------------------------------------------------------------


def _value(name: str, value: Any) -> Any:
    if is_secret(name):
        return None if value is None else chain.MASKED
    return chain.seal(value)


def _table(obj: Any) -> Any:
    try:
        return orm_attributes.instance_state(obj).mapper.local_table
    except Exception:  # noqa: BLE001 - not a mapped object
        return None


def _ref(obj: Any) -> Any:
    """How a related object is named in a collection's change (a role by its name)."""
    for attr in ("name", "sku", "slug", "number"):
        value = getattr(obj, attr, None)
        if isinstance(value, str):
            return value
    return getattr(obj, "id", None)


def _row_change(op: str, obj: Any) -> tuple[int, dict[str, Any]] | None:
    table = _table(obj)
    if table is None or table.name in SKIPPED_TABLES:
        return None
    shop_row = table.name == SHOP_TABLE
    if not shop_row and "tenant_id" not in table.c:
        return None
    state = orm_attributes.instance_state(obj)
    loaded = state.dict
    tenant_id = loaded.get("id" if shop_row else "tenant_id")
    if shop_row and op == "delete":
        return None  # its trail goes with it
    if tenant_id is None:
        return None
    mapper = state.mapper
    fields: dict[str, Any] = {}
    if op == "update":
        for key in state.committed_state:
            if key in NOISE_COLUMNS or key not in mapper.attrs:
                continue
            prop = mapper.attrs[key]
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            if hasattr(prop, "columns"):
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if old == new:
                    continue
                fields[key] = {"old": _value(key, old), "new": _value(key, new)}
            else:  # a collection (a user's roles): what went and what came
                fields[key] = {
                    "old": chain.seal([_ref(o) for o in history.deleted if o is not None]),
                    "new": chain.seal([_ref(o) for o in history.added if o is not None]),
                }
        if not fields:
            return None
    else:
        for prop in mapper.column_attrs:
            key = prop.key
            if key in NOISE_COLUMNS or loaded.get(key) is None:
                continue
            side = "new" if op == "insert" else "old"
            fields[key] = {side: _value(key, loaded[key])}
    change: dict[str, Any] = {"op": op, "type": table.name, "id": loaded.get("id")}
    if fields:
        change["fields"] = fields
    return int(tenant_id), change


def _after_flush(session: Session, _context: Any) -> None:
    if not enabled():
        return
    found: list[tuple[int, dict[str, Any]]] = []
    for obj in session.deleted:
        table = _table(obj)
        if table is not None and table.name == SHOP_TABLE:
            session.info.setdefault(GONE, set()).add(
                orm_attributes.instance_state(obj).dict.get("id")
            )
    for op, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            change = _row_change(op, obj)
            if change is not None:
                found.append(change)
    if found:
        session.info.setdefault(PENDING, []).extend(found)


def _bound_values(statement: Any, params: Any) -> dict[str, Any]:
    """``column == value`` (and ``IN``) comparisons of a WHERE clause, as values."""
    found: dict[str, Any] = {}
    where = getattr(statement, "whereclause", None)
    if where is None:
        return found
    for node in visitors.iterate(where):
        if not isinstance(node, BinaryExpression) or not isinstance(node.left, Column):
            continue
        if node.operator not in (operators.eq, operators.in_op):
            continue
        right = node.right
        if isinstance(right, BindParameter):
            value = right.value
            if isinstance(params, Mapping) and right.key in params:
                value = params[right.key]
            name = node.left.name
            if name != "tenant_id" and not callable(value):
                found[name] = value
    return found


def _set_values(statement: Any, params: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column, expr in (getattr(statement, "_values", None) or {}).items():
        name = getattr(column, "name", None) or getattr(column, "key", None) or str(column)
        if isinstance(expr, BindParameter):
            value = params.get(expr.key, expr.value) if isinstance(params, Mapping) else expr.value
        else:
            value = _expression(expr)
        values[str(name)] = value
    return values


_SYMBOLS = {operators.add: "+", operators.sub: "-", operators.mul: "*"}


def _expression(expr: Any) -> str:
    """A computed value as it reads: ``stock - 1`` (a column and a number), else SQL."""
    if (
        isinstance(expr, BinaryExpression)
        and isinstance(expr.left, Column)
        and isinstance(expr.right, BindParameter)
        and expr.operator in _SYMBOLS
    ):
        return f"{expr.left.name} {_SYMBOLS[expr.operator]} {expr.right.value}"
    return str(expr)[:200]


def _bulk_statement(state: ORMExecuteState) -> None:
    """An UPDATE or DELETE run as a statement (no flush sees it): recorded with what it
    set and the values its WHERE compared, under the bound shop."""
    if not (state.is_update or state.is_delete) or not enabled():
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name == SHOP_TABLE and state.is_delete:
        params = state.parameters if isinstance(state.parameters, Mapping) else {}
        gone = _bound_values(state.statement, params).get("id")
        session_info = state.session.info.setdefault(GONE, set())
        session_info.update(gone if isinstance(gone, list | tuple) else [gone])
        return
    if table is None or table.name in SKIPPED_TABLES or "tenant_id" not in table.c:
        return
    ctx = _current.get()
    if ctx is None:  # an operator's cross-shop statement: no one shop's chain
        return
    params = state.parameters if isinstance(state.parameters, Mapping) else {}
    change: dict[str, Any] = {
        "op": "update-where" if state.is_update else "delete-where",
        "type": table.name,
    }
    if state.is_update:
        values = {
            k: v for k, v in _set_values(state.statement, params).items() if k not in NOISE_COLUMNS
        }
        if not values:
            return  # only bookkeeping (an API key's last use)
        change["fields"] = {k: {"new": _value(k, v)} for k, v in values.items()}
    where = _bound_values(state.statement, params)
    if where:
        change["where"] = {k: _value(k, v) for k, v in where.items()}
    state.session.info.setdefault(PENDING, []).append((ctx.id, change))


def record_event(
    kind: str,
    ident: Any = None,
    fields: Mapping[str, tuple[Any, Any]] | None = None,
    tenant_id: int | None = None,
    **note: Any,
) -> None:
    """Record a change that is no row of the database (a setting in ``tenant.toml``, an
    operator's reset) in a shop's trail (the bound one unless ``tenant_id`` names it),
    written with the transaction's other changes. ``fields`` maps a name to
    ``(old, new)``; ``note`` adds plain facts."""
    from ..extensions import db

    ctx = _current.get()
    shop = tenant_id if tenant_id is not None else (ctx.id if ctx is not None else None)
    if shop is None or not enabled():
        return
    change: dict[str, Any] = {"op": "event", "type": kind, "id": ident}
    if fields:
        change["fields"] = {
            name: {"old": _value(name, old), "new": _value(name, new)}
            for name, (old, new) in fields.items()
        }
    if note:
        change["note"] = {k: chain.plain(v) for k, v in note.items()}
    session = db.session()
    session.connection()  # begins the transaction the entry is written in
    session.info.setdefault(PENDING, []).append((shop, change))


def erase_pending(values: Iterable[str]) -> None:
    """Values being erased in this transaction: entries it writes have them erased too."""
    from ..extensions import db

    session = db.session()
    session.info.setdefault(ERASE, set()).update(v for v in values if v)


# Writing --------------------------------------------------------------------------------


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # the last changes, so after_flush collects them now
    pending = session.info.pop(PENDING, None)
    erasing = session.info.pop(ERASE, None)
    gone = session.info.pop(GONE, None) or set()
    if gone and pending:  # a deleted shop's trail went with it: nothing to append to
        pending = [(shop, change) for shop, change in pending if shop not in gone]
    if not pending:
        return
    write(session, pending, erasing or ())


def write(
    session: Session, pending: list[tuple[int, dict[str, Any]]], erasing: Iterable[str] = ()
) -> None:
    """Append the pending changes to their shops' chains (one entry per shop, or more
    when there are more than ``CHANGES_PER_ENTRY`` changes)."""
    by_shop: dict[int, list[dict[str, Any]]] = {}
    for tenant_id, change in pending:
        by_shop.setdefault(tenant_id, []).append(change)
    actor = current_actor()
    needles = [v for v in erasing if v]
    connection = session.connection()
    heads = cast(Table, AuditHead.__table__)
    entries = cast(Table, AuditEntry.__table__)
    now = utcnow()
    for tenant_id, changes in by_shop.items():
        row = connection.execute(
            select(heads.c.seq, heads.c.hash)
            .where(heads.c.tenant_id == tenant_id)
            .with_for_update()
        ).first()
        if row is None:
            connection.execute(insert(heads), {"tenant_id": tenant_id, "seq": 0, "hash": GENESIS})
            seq, prev = 0, GENESIS
        else:
            seq, prev = int(row[0]), str(row[1])
        made = []
        for part in _parts(changes):
            seq += 1
            entry = _entry(tenant_id, seq, now, actor, part, needles)
            entry["prev_hash"] = prev
            entry["hash"] = prev = chain.entry_hash(
                prev, chain.header(_Row(entry)), entry.pop("_body")
            )
            made.append(entry)
        connection.execute(insert(entries), made)
        connection.execute(
            update(heads).where(heads.c.tenant_id == tenant_id).values(seq=seq, hash=prev)
        )


def _parts(changes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    parts: list[list[dict[str, Any]]] = [[]]
    size = 0
    for change in changes:
        length = len(chain.canonical(change))
        if parts[-1] and (len(parts[-1]) >= CHANGES_PER_ENTRY or size + length > BODY_MAX):
            parts.append([])
            size = 0
        parts[-1].append(change)
        size += length
    return parts


class _Row:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)


def _entry(
    tenant_id: int,
    seq: int,
    now: Any,
    actor: Any,
    changes: list[dict[str, Any]],
    needles: list[str],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actor": chain.seal(actor.label) if actor.label else None,
        "address": chain.seal(actor.address) if actor.address else None,
        "changes": changes,
    }
    if needles:
        body = chain.map_leaves(
            body, lambda leaf: chain.erase_leaf(leaf) if chain.matches(leaf, needles) else leaf
        )
    types = []
    for change in changes:
        if change["type"] not in types:
            types.append(change["type"])
    resources = ","
    for kind in types:
        if len(resources) + len(kind) + 1 > 255:
            break
        resources += f"{kind},"
    return {
        "tenant_id": tenant_id,
        "seq": seq,
        "created_at": now,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "source": actor.source,
        "request_id": actor.request_id,
        "resources": resources,
        "body": chain.canonical(body),
        "_body": body,
    }


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended: rolled back or done
        session.info.pop(PENDING, None)
        session.info.pop(ERASE, None)
        session.info.pop(GONE, None)


event.listen(PlatformSession, "after_flush", _after_flush)
event.listen(PlatformSession, "do_orm_execute", _bulk_statement)
event.listen(PlatformSession, "before_commit", _before_commit)
event.listen(PlatformSession, "after_transaction_end", _forget)
