"""Row-level tenancy: one hook scopes every ORM statement to the bound shop.

Every shop-owned model mixes in ``TenantScoped``. The ``do_orm_execute`` hook adds
``tenant_id = <bound shop>`` to every SELECT, UPDATE and DELETE (joins, subqueries,
relationship loads and bulk statements included, through ``with_loader_criteria``), and
``before_flush`` stamps inserts. With no shop bound, a statement on a scoped model raises.
``Session.get`` is checked too, because it can answer from the identity map without SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Table, UniqueConstraint, bindparam, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import visitors

from ..extensions import PlatformSession
from .context import CrossTenantWrite, TenantNotBound, _all_tenants, _current

SKIP_OPTION = "storefront_skip_tenant_scope"
# The registry: the only tables that belong to the platform rather than to one shop.
# Billing (storefront.billing): the platform bills shops; its rows name a shop but
# belong to the platform (a webhook arrives before any shop is known).
PLATFORM_TABLES = frozenset(
    {
        "tenants",
        "domains",
        "registry_state",
        "shop_billing",
        "billing_events",
        "signups",  # storefront.signup: a merchant's sign-up before any shop exists
        "signup_failures",
    }
)


class TenantScoped:
    """Mixin for shop-owned models: ``tenant_id`` NOT NULL and leading every unique key.

    Subclasses list extra table arguments in ``__scoped_args__``; ``(tenant_id, id)`` is
    always unique so other scoped tables can point at a row with a composite foreign key
    that cannot cross shops.
    """

    __scoped_args__: tuple[Any, ...] = ()

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # declared_attr takes the class
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("tenant_id", "id"), *cls.__scoped_args__)


def scoped_fk(column: str, target_table: str, ondelete: str | None = "CASCADE") -> Any:
    """A composite foreign key ``(tenant_id, column) -> target(tenant_id, id)``.

    The database itself then refuses a row that points into another shop.
    """
    return ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target_table}.tenant_id", f"{target_table}.id"],
        ondelete=ondelete,
    )


def _is_scoped(mapper: Any) -> bool:
    return issubclass(mapper.class_, TenantScoped)


def _touches_scoped_table(statement: Any) -> bool:
    """Whether any table in the statement (subqueries, joins, counts) is shop-owned.

    Only walked when no shop is bound, which is rare (platform queries, operator tools),
    so the hot path never pays for it.
    """
    return any(
        isinstance(node, Table) and "tenant_id" in node.c and node.name not in PLATFORM_TABLES
        for node in visitors.iterate(statement)
    )


def _scope_statement(state: ORMExecuteState) -> None:
    if _all_tenants.get() or state.execution_options.get(SKIP_OPTION):
        return
    if state.is_insert:
        _hold_insert(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    ctx = _current.get()
    if ctx is None:
        if any(_is_scoped(m) for m in state.all_mappers) or _touches_scoped_table(state.statement):
            raise TenantNotBound(
                "query on shop-owned data with no shop bound: "
                "use tenant_context(shop) or all_tenants()"
            )
        return
    params = state.parameters
    if not state.is_select and params and not isinstance(params, Mapping):
        # SQLAlchemy's bulk UPDATE by primary key (a list of rows) matches on the key
        # alone and leaves loader criteria out: it could reach another shop's rows.
        raise CrossTenantWrite(
            "an UPDATE or DELETE with a list of rows cannot be held to one shop: "
            "change the objects, or run one statement with a WHERE"
        )
    state.statement = _scoped(state.statement)
    if not params:
        state.parameters = {SHOP_PARAM: ctx.id}
    elif isinstance(params, Mapping):
        state.parameters = {**params, SHOP_PARAM: ctx.id}
    else:  # executemany: every set of values gets the shop
        state.parameters = [{**row, SHOP_PARAM: ctx.id} for row in params]


# The shop's id is a bound parameter of one criterion shared by every shop and every
# statement: the criterion never changes, so a statement's cache key and compiled SQL are
# computed once, and the hook above gives each execution its shop's id. A statement that
# somehow ran with the criterion but without the id fails ("A value is required for bind
# parameter"), it never matches another shop. (A lambda closing over the id, built per
# shop, costs a third of a simple query at every execution: SQLAlchemy calls it for each
# entity to pull the id out again.)
SHOP_PARAM = "storefront_shop_id"


def _hold_insert(state: ORMExecuteState) -> None:
    """An INSERT through the session (``session.execute(insert(Model), rows)``, which
    skips the flush and so ``_stamp_inserts``): every row gets the bound shop, a row
    naming another shop is refused, values written into the statement are refused."""
    table = getattr(state.statement, "table", None)
    if table is None or "tenant_id" not in table.c or table.name in PLATFORM_TABLES:
        return
    ctx = _current.get()
    if ctx is None:
        raise TenantNotBound(f"cannot insert into {table.name} with no shop bound")
    statement = state.statement
    if getattr(statement, "_values", None) or getattr(statement, "_multi_values", None):
        raise CrossTenantWrite(
            f"insert into {table.name} with .values() under a shop: pass the rows as "
            "parameters, so each gets the shop"
        )
    params = state.parameters
    rows = [params] if isinstance(params, Mapping) else list(params or [{}])
    for row in rows:
        if row.get("tenant_id", ctx.id) != ctx.id:
            raise CrossTenantWrite(f"a row for {table.name} belongs to another shop")
    stamped = [{**row, "tenant_id": ctx.id} for row in rows]
    state.parameters = stamped[0] if isinstance(params, Mapping) or not params else stamped


_SCOPED: dict[int, tuple[Any, Any]] = {}  # id(statement) -> (statement, with the criterion)
_SCOPED_MAX = 512


def _scoped(statement: Any) -> Any:
    """``statement`` with the shop criterion; the same object for the same statement, so a
    statement built once (a module constant) keeps its cache key computed (SQLAlchemy
    memoizes it per object; ``options()`` makes a new one)."""
    kept = _SCOPED.get(id(statement))
    if kept is not None and kept[0] is statement:
        return kept[1]
    scoped = statement.options(_SHOP_CRITERIA)
    if len(_SCOPED) >= _SCOPED_MAX:
        _SCOPED.clear()  # statements built per call pass through; constants come back
    _SCOPED[id(statement)] = (statement, scoped)
    return scoped


_SHOP_CRITERIA = with_loader_criteria(
    TenantScoped,
    lambda cls: cls.tenant_id == bindparam("storefront_shop_id"),  # SHOP_PARAM
    include_aliases=True,
)


def _stamp_inserts(session: Session, flush_context: Any, instances: Any) -> None:
    everywhere = _all_tenants.get()
    ctx = _current.get()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if ctx is None:
                raise TenantNotBound(f"cannot insert {type(obj).__name__} with no shop bound")
            obj.tenant_id = ctx.id
        elif not everywhere and (ctx is None or obj.tenant_id != ctx.id):
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another shop")
    for obj in session.dirty:
        moved = ctx is None or getattr(obj, "tenant_id", None) != ctx.id
        if isinstance(obj, TenantScoped) and not everywhere and moved:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another shop")


def _guard_get(obj: Any) -> Any:
    """``Session.get`` held to the bound shop.

    ``get`` answers from the identity map without running SQL, so an object loaded inside
    ``all_tenants()`` or under another shop would slip past the hook above.
    """
    if obj is None or not isinstance(obj, TenantScoped) or _all_tenants.get():
        return obj
    ctx = _current.get()
    if ctx is None:
        raise TenantNotBound(f"get({type(obj).__name__}) with no shop bound")
    return obj if obj.tenant_id == ctx.id else None


# The hooks are the platform's session's, not every SQLAlchemy session in the process:
# another app (or library) sharing the interpreter keeps its own rules.
TenantSession = PlatformSession
PlatformSession.get_guard = staticmethod(_guard_get)
event.listen(PlatformSession, "do_orm_execute", _scope_statement)
event.listen(PlatformSession, "before_flush", _stamp_inserts)
