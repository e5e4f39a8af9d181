"""Row-level tenancy: one hook scopes every ORM statement to the bound shop.

Every shop-owned model mixes in ``TenantScoped``. The ``do_orm_execute`` hook adds
``tenant_id = <bound shop>`` to every SELECT, UPDATE and DELETE (joins, subqueries,
relationship loads and bulk statements included, through ``with_loader_criteria``), and
``before_flush`` stamps inserts. With no shop bound, a statement on a scoped model raises.
``Session.get`` is checked too, because it can answer from the identity map without SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Table, UniqueConstraint, event
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
PLATFORM_TABLES = frozenset({"tenants", "domains", "registry_state"})


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
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if _all_tenants.get() or state.execution_options.get(SKIP_OPTION):
        return
    ctx = _current.get()
    if ctx is None:
        if any(_is_scoped(m) for m in state.all_mappers) or _touches_scoped_table(state.statement):
            raise TenantNotBound(
                "query on shop-owned data with no shop bound: "
                "use tenant_context(shop) or all_tenants()"
            )
        return
    state.statement = state.statement.options(_criteria(ctx.id))


_CRITERIA: dict[int, Any] = {}  # a plain dict: atomic under threads; emptied when full
_CRITERIA_MAX = 20_000


def _criteria(tenant_id: int) -> Any:
    """The loader criterion of one shop, built once: building it analyses the lambda, a
    fifth of a scoped query's own cost. The option is immutable; its compiled SQL is
    shared by every shop (the id is a bound parameter)."""
    option = _CRITERIA.get(tenant_id)
    if option is None:
        # The lambda closes over a plain value, never over the context: it is cached.
        option = with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            track_closure_variables=True,
        )
        if len(_CRITERIA) >= _CRITERIA_MAX:
            _CRITERIA.clear()
        _CRITERIA[tenant_id] = option
    return option


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
