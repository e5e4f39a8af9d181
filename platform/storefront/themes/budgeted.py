"""Budgeted forms of what can grow a value in a shop template besides filters.

``~`` (compiled to ``budgeted_concat``), ``{{ value }}`` (``budgeted_finalize``),
``str.format``/``format_map`` (``BudgetedFormatter``), gettext's formatting and the
``str`` methods that build more than they are given each work out the size of their
result from their arguments and ask ``need`` before building it. The filters are in
``budget_filters``. The sandbox installs these (``ShopSandbox``, ``init_themes``);
trusted templates keep Jinja's own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from string import Formatter
from typing import Any

from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from ..i18n import page_translations
from .budget import (
    SIZED,
    TemplateBudgetError,
    account,
    check_format_spec,
    current_budget,
    current_limits,
    escaped_size,
    field_size,
    need,
    percent_size,
    replace_size,
    text_size,
)

LINE_OVERHEAD = 64  # bytes a str object takes besides its characters


def limit() -> int:
    return current_limits().max_string


# --- ~ and output ------------------------------------------------------------------


@pass_eval_context
def budgeted_concat(eval_ctx: EvalContext, parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c`` (the sandbox compiles every ``~`` to this): sized before joined."""
    escape = eval_ctx.autoescape and any(hasattr(p, "__html__") for p in parts)
    measure = escaped_size if escape else text_size
    cap, total = limit(), 0
    for part in parts:
        total += measure(part, cap - total)
        if total > cap:
            break
    need(total, what="a ~ concatenation")
    result = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    account(result)
    return result


def budgeted_finalize(value: Any) -> Any:
    """Every ``{{ value }}``: what it turns into on the page must fit what is left of the
    output budget *before* it is stringified (a list of lists is printed whole)."""
    if isinstance(value, str):
        if len(value) < 100_000:  # escaped, at most 500,000: the output budget's business
            return value
    elif not isinstance(value, SIZED):
        return value  # numbers, None, the platform's objects
    budget = current_budget()
    if budget is not None:
        room = budget.limits.max_output - budget.output
        if escaped_size(value, room) > room:
            raise TemplateBudgetError(f"the page is larger than {budget.limits.max_output} bytes")
    return value


# --- str.format and format_map -----------------------------------------------------


class _Budgeted(Formatter):
    """Counts each field as it is formatted: widths come from the spec after nested
    fields are filled in (``'{:>{w}}'``), values by their size."""

    total = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.total = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:  # !r of a list of lists is its whole text
            need(self.total + field_size(value, conversion, False, limit()), what="a format")
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        width = check_format_spec(format_spec)
        escape = isinstance(self, EscapeFormatter) and not hasattr(value, "__html__")
        self.total += max(width, field_size(value, "s", escape, limit() - self.total))
        need(self.total, what="a format")
        return super().format_field(value, format_spec)


class BudgetedFormatter(_Budgeted, SandboxedFormatter):
    pass


class BudgetedEscapeFormatter(_Budgeted, SandboxedEscapeFormatter):
    pass


# --- gettext -------------------------------------------------------------------------

# How each gettext global finds its text, and the values it formats besides the caller's.
_LOOKUPS: dict[str, tuple[Callable[..., str], Callable[[tuple[Any, ...]], dict[str, Any]]]] = {
    "_": (lambda t, s: t.ugettext(s), lambda a: {}),
    "gettext": (lambda t, s: t.ugettext(s), lambda a: {}),
    "ngettext": (lambda t, s, p, n: t.ungettext(s, p, n), lambda a: {"num": a[2]}),
    "pgettext": (lambda t, c, s: t.upgettext(c, s), lambda a: {"context": a[0]}),
    "npgettext": (
        lambda t, c, s, p, n: t.unpgettext(c, s, p, n),
        lambda a: {"context": a[0], "num": a[3]},
    ),
}


def budgeted_gettext(name: str, fn: Callable[..., str]) -> Callable[..., str]:
    """``_()``, ``ngettext()``, ... whose text (the shop's own wording too) is sized with
    its values before it is formatted."""
    lookup, implied = _LOOKUPS[name]

    @pass_eval_context
    @wraps(fn)
    def run(eval_ctx: EvalContext, *args: Any, **variables: Any) -> str:
        text = lookup(page_translations(), *args)
        if "%" in text:
            fmt = Markup(text) if eval_ctx.autoescape else text  # noqa: S704 - only measured
            need(percent_size(fmt, {**implied(args), **variables}), what=name)
        return fn(eval_ctx, *args, **variables)

    return run


# --- str methods ----------------------------------------------------------------------


def cased_size(value: Any, *args: Any, **kwargs: Any) -> int:
    """``upper()`` and friends: ASCII keeps its length, other text may triple ('ﬃ')."""
    if isinstance(value, str) and value.isascii():
        return len(value)
    return 3 * text_size(value)


STR_METHOD_SIZES: dict[str, Callable[..., int]] = {
    **{
        name: (lambda s, width, *rest: max(len(s), width if isinstance(width, int) else 0))
        for name in ("center", "ljust", "rjust", "zfill")
    },
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t") * max(tabsize, 0),
    "replace": lambda s, old, new, count=-1: replace_size(s, old, new, count),
    "join": lambda s, items: _join_items_size(s, items),
    "encode": lambda s, *args, **kwargs: 4 * len(s),
    **{
        name: cased_size
        for name in ("upper", "lower", "title", "capitalize", "casefold", "swapcase")
    },
    **{name: (lambda s, *args, **kwargs: _pieces(s)) for name in ("split", "rsplit")},
    "splitlines": lambda s, keepends=False: _pieces(s),
    "translate": lambda s, table: _translate_size(s, table),
    "maketrans": lambda s, x, y=None, z=None: _table_size(x),
}


def _translate_size(s: str, table: Any) -> int:
    """Each character may become the longest text the table maps to."""
    widest = 1
    if isinstance(table, dict):
        widest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
    return len(s) * max(widest, 1)


def _table_size(x: Any) -> int:
    entries = len(x) if isinstance(x, str | dict) else 0
    need(entries, 8, "str.maketrans()", entries * 100)  # a dict entry and its key and value
    return entries


def _pieces(s: str) -> int:
    """``split()`` makes a string object per piece: each counts its object's bytes (a
    million two-letter words are 50 MB, not 2)."""
    pieces = len(s) // 2 + 1  # at most, split on whitespace or one character
    need(pieces, 8, "str.split()", pieces * LINE_OVERHEAD)
    return len(s)


def _join_items_size(sep: str, items: Any) -> int:
    if not isinstance(items, list | tuple):
        return 0
    cap = limit()
    total = len(sep) * max(len(items) - 1, 0)
    for item in items:
        if total > cap:
            break
        total += len(item) if isinstance(item, str) else 0
    return total


# Filters that walk their whole input in C (a sort calls its key a million times): their
# input's length counts as loop iterations, so the iteration budget sees that work.
