"""The sandbox shop templates run in: a curated context, an attribute allow-list, budgets.

Jinja's ``SandboxedEnvironment`` blocks underscore attributes, but a plain object graph
still leads to secrets without one (``security.app.config``, ``form.meta.csrf_secret``,
``user.query.session``). So shop templates get only plain values, the platform's view
objects (``SafeView``) and a few helpers; everything else in the context is dropped,
and attribute access is limited to what each allowed type is meant to show.

A page whose template chain holds any text a shop supplied renders *wholly* here (see
``loader.LayeredEnvironment.get_or_select_template``): the trusted templates it extends
or includes compile in this environment too and see only the curated context.

Every render here runs within a ``Budget``: a time limit, a cap on loop iterations, on
``range``, on the size of strings and sequences an operator, ``~``, call or filter may
build (checked before it is built, see ``budgeted``), on all of them added up, and on the
output. Over budget, the render stops with ``TemplateBudgetError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import Template, nodes
from jinja2.environment import TemplateModule
from jinja2.exceptions import TemplateError
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, TemplateReference
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from wtforms import Form
from wtforms.fields import Field
from wtforms.fields.core import Label

from ..shared import SafeView
from .budget import (
    DEFAULT_LIMITS,
    Budget,
    Limits,
    TemplateBudgetError,
    account,
    budgeted_iter,
    check_brace_format,
    check_size,
    current_budget,
    end_budget,
    need,
    percent_size,
    size_of,
    start_budget,
    tick,
    unit_of,
)
from .budget_compare import (
    BUDGETED_TESTS,
    BudgetedCompare,
    budgeted_compare,
    budgeted_key,
    charge_contains,
    charge_method,
)
from .budget_filters import REPLACED_FILTERS, budgeted_filter
from .budgeted import (
    STR_METHOD_SIZES,
    BudgetedEscapeFormatter,
    BudgetedFormatter,
    budgeted_concat,
    budgeted_finalize,
)
from .loader import LayeredContext, LayeredEnvironment

SCALARS = (str, int, float, bool, type(None), Decimal, date, datetime, Markup)
FIELD_ATTRS = frozenset(
    {
        "label",
        "errors",
        "data",
        "id",
        "name",
        "type",
        "flags",
        "description",
        "short_name",
        "checked",
        "choices",
        "render_kw",
    }
)
LABEL_ATTRS = frozenset({"text", "field_id"})
FORM_ATTRS = frozenset({"errors", "hidden_tag", "form_errors"})
# Names a shop template may not even mention: `tenantctl check` reports them.
FORBIDDEN_NAMES = frozenset(
    {"config", "request", "session", "g", "current_app", "app", "environ", "self", "os"}
)


# Jinja's own runtime objects: macros, loops, imported macro modules, super(), namespaces.
JINJA_RUNTIME = (
    TemplateModule,
    LoopContext,
    Macro,
    BlockReference,
    TemplateReference,
    Cycler,
    Joiner,
    Namespace,
)


def helper(fn: Any) -> Any:
    """Mark a function as safe to call from a shop template."""
    fn.__storefront_helper__ = True
    return fn


SAFE_BASES = (*SCALARS, SafeView, Form, Field, *JINJA_RUNTIME)
SEQUENCES = frozenset({list, tuple, set, frozenset})
# Type -> whether its instances are safe by type alone. Every template context is checked
# (includes and imports make new ones), so the answer per type is computed once.
_SAFE_TYPE: dict[type, bool] = {}


def is_safe_value(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    safe = _SAFE_TYPE.get(kind)
    if safe is None:
        safe = _SAFE_TYPE[kind] = issubclass(kind, SAFE_BASES)
    if safe:
        return True
    if depth < 3 and kind in SEQUENCES:  # exact types: a subclass could add behaviour
        return all(is_safe_value(item, depth + 1) for item in value)
    if depth < 3 and kind is dict:
        return all(isinstance(k, str) and is_safe_value(v, depth + 1) for k, v in value.items())
    return callable(value) and getattr(value, "__storefront_helper__", False)


class CuratedContext(LayeredContext):
    """A template context that keeps only safe values, however the template is reached."""

    def __init__(
        self, environment: Any, parent: dict[str, Any], name: Any, blocks: Any, globals: Any = None
    ) -> None:  # Jinja's signature
        parent = {k: v for k, v in parent.items() if is_safe_value(v)}
        for key, value in environment.globals.items():
            parent.setdefault(key, value)
        super().__init__(environment, parent, name, blocks, globals)


class ShopTemplateError(TemplateError):
    """A shop's template failed while rendering (a helper raised, recursion, bad data)."""


class ShopTemplate(Template):
    """A template of a sandboxed page: renders within a budget; any failure is a
    ``TemplateError`` naming the template, never a bare exception (and so never a 500)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if current_budget() is not None:  # rendered from inside another sandboxed render
            return super().render(*args, **kwargs)
        environment: ShopSandbox = self.environment  # type: ignore[assignment]
        token = start_budget(environment.limits, self.name or "?")
        try:
            return super().render(*args, **kwargs)
        except (TemplateError, SQLAlchemyError, HTTPException):
            raise
        except RecursionError:
            raise ShopTemplateError("templates include or call themselves endlessly") from None
        except Exception as exc:  # a shop's text must never reach a 500
            raise ShopTemplateError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            end_budget(token)


class ShopSandbox(LayeredEnvironment, ImmutableSandboxedEnvironment):
    """The environment shop templates (and every template of their pages) render in."""

    sandboxed = True
    context_class = CuratedContext
    template_class = ShopTemplate
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})
    limits: Limits = DEFAULT_LIMITS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Flask's Environment.__init__ calls Jinja's base __init__ directly, so the
        # sandbox's own never runs: set up what it would have.
        self.binop_table = self.default_binop_table.copy()
        self.unop_table = self.default_unop_table.copy()
        self.filters.update(
            budgeted_iter=budgeted_iter,
            budgeted_concat=budgeted_concat,
            budgeted_compare=budgeted_compare,
            budgeted_key=budgeted_key,
        )
        self.finalize = budgeted_finalize  # every {{ value }} is sized before it is printed

    def install_budgeted_filters(self) -> None:
        """Wrap every filter with the budget checks, and charge the tests that compare
        (`is eq(b)`, `select('<', b)`): call after the filters and tests are final."""
        self.filters.update(REPLACED_FILTERS)
        self.tests.update(BUDGETED_TESTS)
        for name, fn in list(self.filters.items()):
            if name in INTERNAL_FILTERS or getattr(fn, "__storefront_budgeted__", False):
                continue
            wrapped = budgeted_filter(name, fn)
            wrapped.__storefront_budgeted__ = True  # type: ignore[attr-defined]
            self.filters[name] = wrapped

    # Every for loop iterates through the budget, every `~` is sized before it joins and
    # every comparison is charged before it compares: Jinja compiles `~` and comparisons
    # to Python of their own, outside `call_binop`.
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "budgeted_iter", [], [], None, None)
        tree = _SizedConcat().visit(tree)
        return BudgetedCompare().visit(tree)  # type: ignore[no-any-return]

    # Output (the page, captured blocks, macro bodies) is joined through the budget.
    def concat(self, parts: Iterable[str]) -> str:  # type: ignore[override]
        budget = current_budget()
        if budget is None:
            return "".join(parts)
        return "".join(self._counted(parts, budget))

    @staticmethod
    def _counted(parts: Iterable[str], budget: Budget) -> Iterator[str]:
        for count, part in enumerate(parts):
            budget.wrote(len(part))
            if count % 64 == 0:
                budget.tick(0)
            yield part

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, (SafeView, *JINJA_RUNTIME)):
            return True
        if isinstance(obj, Form):
            return attr in FORM_ATTRS or attr in obj._fields
        if isinstance(obj, Field):
            return attr in FIELD_ATTRS
        if isinstance(obj, Label):
            return attr in LABEL_ATTRS
        return isinstance(obj, (*SCALARS, list, tuple, dict, set, frozenset))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        for value in (*args, *kwargs.values()):
            check_size(value)
        owner = getattr(__obj, "__self__", None)
        charge_method(owner, getattr(__obj, "__name__", ""), args)
        if isinstance(owner, str):
            size = STR_METHOD_SIZES.get(getattr(__obj, "__name__", ""))
            if size is not None:
                need(size(owner, *args, **kwargs), unit_of(owner), f"str.{__obj.__name__}()")
        result = super().call(__context, __obj, *args, **kwargs)
        account(result)
        return result

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict):  # `d[t]` hashes t: a tuple's hash walks all of it
            charge_contains(argument, obj)
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * max(abs(left).bit_length(), 1) > 4096:
                raise TemplateBudgetError("a power that large is not allowed")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and size_of(seq):
                    need(size_of(seq) * max(times, 0), unit_of(seq), "a repeated value")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > 4096:
                raise TemplateBudgetError("a number that large is not allowed")
        elif operator == "%":
            need(percent_size(left, right), unit_of(left), "a % format")
        elif operator == "+" and (size_of(left) or size_of(right)):
            need(size_of(left) + size_of(right), unit_of(left), "a sum of values")
        result = super().call_binop(context, operator, left, right)
        account(result)
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's ``str.format`` wrapper with a formatter that sizes every field."""
        if not isinstance(value, MethodType | BuiltinMethodType) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        fmt = value.__self__
        if not isinstance(fmt, str):
            return None
        check_brace_format(fmt)
        formatter: BudgetedFormatter | BudgetedEscapeFormatter
        if isinstance(fmt, Markup):
            formatter = BudgetedEscapeFormatter(self, escape=fmt.escape)
        else:
            formatter = BudgetedFormatter(self)
        is_format_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs = args[0]
                args = ()
            result = type(fmt)(formatter.vformat(fmt, args, kwargs))
            account(result)
            return result

        return checked


INTERNAL_FILTERS = frozenset(
    {"budgeted_iter", "budgeted_concat", "budgeted_compare", "budgeted_key"}
)
SANDBOX_CODE = 4  # bump when _parse or finalize compile different code (bytecode cache)


class _SizedConcat(NodeTransformer):
    """``a ~ b`` becomes ``(a, b)|budgeted_concat``: sized before it is joined."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)  # changes node in place: `~` inside `~`
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return nodes.Filter(parts, "budgeted_concat", [], [], None, None, lineno=node.lineno)
