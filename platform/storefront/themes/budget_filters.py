"""Budgeted filters for shop templates: sized before they build, deadline-checked as they loop.

The filters that build more than they are given (``indent``, ``center``, ``replace``,
``format``, ``urlize``, ``xmlattr``, ``escape``, ``tojson``, ``upper``, ...) are sized from
their arguments first (``FILTER_SIZES``); ``join``, ``sum``, ``batch`` and ``wordwrap`` are
replaced outright (``REPLACED_FILTERS``); filters answering with a generator (``map``,
``select``, ``unique``, ...) are iterated through the budget, and those walking their
input in C count it as loop iterations (``WORK_FILTERS``). See ``budgeted_filter``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from types import GeneratorType
from typing import Any

from jinja2 import pass_environment, pass_eval_context
from jinja2.filters import do_batch, make_attrgetter, sync_do_join
from jinja2.nodes import EvalContext

from .budget import (
    SIZED,
    account,
    budgeted_iter,
    check_int,
    current_budget,
    current_limits,
    escaped_size,
    need,
    percent_size,
    text_size,
    tick,
)
from .budget_compare import COMPARING_FILTERS, charge_items
from .budgeted import LINE_OVERHEAD, cased_size, limit

LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits on
WRAP_SEGMENT = 10_000  # textwrap is quadratic in a long word: it wraps this much at a time


def line_count(text: str) -> int:
    return 1 + sum(text.count(c) for c in LINE_BREAKS)


@pass_eval_context
def budgeted_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    items = value if isinstance(value, list | tuple) else list(budgeted_iter(value))
    escape = eval_ctx.autoescape
    measure = escaped_size if escape else text_size
    cap = limit()
    total = measure(d, cap) * max(len(items) - 1, 0)
    for item in items:
        if total > cap:
            break
        total += measure(item, cap - total)
    need(total, what="|join")
    return sync_do_join(eval_ctx, items, d)


@pass_environment
def budgeted_sum(
    environment: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0
) -> Any:
    """``sum`` that sizes each step of a sum of lists (and builds it in linear time)."""
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    budget = current_budget()
    if isinstance(start, list | tuple):
        kind, built = type(start), list(start)
        for count, item in enumerate(iterable):
            if not isinstance(item, kind):
                raise TypeError(
                    f'can only concatenate {kind.__name__} (not "{type(item).__name__}")'
                )
            need(len(built) + len(item), 8, "|sum")
            built.extend(item)
            if budget is not None and count % 64 == 0:
                budget.tick(0)
        return built if kind is list else tuple(built)
    total = start
    for count, item in enumerate(iterable):
        total = total + item
        if budget is not None and count % 256 == 0:
            budget.tick(0)
    return total


def budgeted_batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[Any]:
    check_int(linecount, current_limits().max_range, "a batch")
    if isinstance(value, SIZED) and isinstance(linecount, int) and linecount > 0:
        batches = -(-len(value) // linecount)
        need(batches, LINE_OVERHEAD + 8 * linecount, "|batch")
    for count, batch in enumerate(do_batch(value, linecount, fill_with)):
        if count % 64 == 0:
            tick(0)
        account(batch)
        yield batch


@pass_environment
def budgeted_wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's ``wordwrap``, a paragraph (and a long one ``WRAP_SEGMENT`` characters) at
    a time, sized as it goes: textwrap alone took 54 s over one long word."""
    if wrapstring is None:
        wrapstring = environment.newline_sequence
    wrapper = textwrap.TextWrapper(
        width=width,
        expand_tabs=False,
        replace_whitespace=False,
        break_long_words=break_long_words,
        break_on_hyphens=break_on_hyphens,
    )
    paragraphs: list[str] = []
    total = 0
    for line in s.splitlines():
        lines: list[str] = []
        for segment in _segments(line):
            tick(0)
            wrapped = wrapper.wrap(segment)
            total += sum(map(len, wrapped)) + len(wrapstring) * (len(wrapped) + 1)
            need(total, 1, "|wordwrap", LINE_OVERHEAD * (len(lines) + len(wrapped)))
            lines.extend(wrapped)
        paragraphs.append(wrapstring.join(lines))
    return wrapstring.join(paragraphs)


def _segments(line: str) -> Iterator[str]:
    while len(line) > WRAP_SEGMENT:
        cut = line.rfind(" ", 0, WRAP_SEGMENT)
        cut = cut if cut > 0 else WRAP_SEGMENT
        yield line[:cut]
        line = line[cut:].lstrip(" ")
    yield line


def _indent_size(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> int:
    size = text_size(s)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if pad <= 0:
        return size
    lines = size + 1  # at most; counted exactly only when that bound is too much
    if size + lines * pad > limit() and isinstance(s, str):
        lines = line_count(s)
    need(size + lines * pad, 1, "|indent", lines * LINE_OVERHEAD)
    return size + lines * pad


def _urlize_size(
    value: Any,
    trim_url_limit: Any = None,
    nofollow: bool = False,
    target: Any = None,
    rel: Any = None,
    extra_schemes: Any = None,
) -> int:
    size = text_size(value)
    words = (
        line_count(value) + value.count(" ") + value.count("\t") if isinstance(value, str) else size
    )
    return 10 * size + words * (64 + text_size(target or "") + text_size(rel or ""))


def _replace_size(s: Any, old: Any, new: Any, count: Any = None) -> int:
    """Escaping may grow ``s`` and ``new`` (when one of them is Markup): counted too."""
    if not isinstance(s, str):
        return 5 * text_size(s)
    need(text_size(old), what="|replace")  # stringified whole, like s and new
    old = str(old)
    grown = escaped_size(new) - len(old)
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return escaped_size(s) + hits * max(0, grown)


def _format_size(value: Any, *args: Any, **kwargs: Any) -> int:
    if not isinstance(value, str):  # |format stringifies its value first
        need(text_size(value), what="|format")
        return 0
    return percent_size(value, kwargs or args)


def _unless_text(value: Any, *args: Any, **kwargs: Any) -> int:
    return text_size(value) if isinstance(value, str) else 0


def _slices(value: Any, slices: Any, fill_with: Any = None) -> int:
    check_int(slices, current_limits().max_range, "a slice count")
    return 0


# Filter name -> the size of its result, from the filter's own arguments (no context).
FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": lambda value, width=80: max(text_size(value), width if isinstance(width, int) else 0),
    "indent": _indent_size,
    "replace": _replace_size,
    "format": _format_size,
    "slice": _slices,
    "urlize": _urlize_size,
    "xmlattr": lambda d, autospace=True: escaped_size(d) + 4 * text_size(d),
    "escape": lambda value: escaped_size(value),
    "e": lambda value: escaped_size(value),
    "forceescape": lambda value: escaped_size(value),
    "tojson": lambda value, indent=None: 6 * text_size(value) * (2 if indent else 1),
    "pprint": lambda value: 4 * text_size(value),
    "urlencode": lambda value: 12 * text_size(value),
    "truncate": lambda s, length=255, killwords=False, end="...", leeway=None: (
        text_size(s) + text_size(end)
    ),
    "list": _unless_text,
    "reverse": _unless_text,
    **{
        name: (lambda value, *args, **kwargs: text_size(value))
        for name in ("string", "safe", "striptags", "trim", "wordcount")
    },
    **{name: cased_size for name in ("upper", "lower", "title", "capitalize")},
}
# Filters replaced outright in the sandbox.
REPLACED_FILTERS: dict[str, Callable[..., Any]] = {
    "join": budgeted_join,
    "sum": budgeted_sum,
    "batch": budgeted_batch,
    "wordwrap": budgeted_wordwrap,
}
# str methods a template may call whose result outgrows the string: name -> its size.
WORK_FILTERS = frozenset(
    {"sort", "dictsort", "groupby", "min", "max", "unique", "list", "join", "sum", "tojson"}
)


def budgeted_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` sized before it runs (``FILTER_SIZES``), its result counted, its generator
    (``map``, ``select``, ...) iterated through the budget."""
    size = FILTER_SIZES.get(name)
    work = name in WORK_FILTERS and name not in COMPARING_FILTERS
    sorts = COMPARING_FILTERS.get(name)
    first = 1 if getattr(fn, "jinja_pass_arg", None) else 0

    @wraps(fn)  # keeps jinja_pass_arg, so context/environment filters still get theirs
    def run(*args: Any, **kwargs: Any) -> Any:
        value = args[first] if len(args) > first else None
        tick(1 + len(value) if work and isinstance(value, SIZED) else 1)
        if sorts is not None:  # each comparison of items visits them all: charged deep
            charge_items(value, sorts)
        if size is not None:
            need(size(*args[first:], **kwargs), what=f"|{name}")
        result = fn(*args, **kwargs)
        if type(result) is GeneratorType:
            return budgeted_iter(result)
        account(result)
        return result

    return run
