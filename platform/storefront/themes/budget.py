"""Render budgets for shop templates: time, loop iterations, ``range``, value sizes, output.

A shop's template is text anyone with its folder wrote; without budgets one page can
freeze a worker (``range(10**12)``) or allocate gigabytes (``'x' * 200000000``). Every
sandboxed render carries a ``Budget`` in a context variable; the sandbox's hooks (calls,
operators, ``~``, filters, every ``for`` loop, the output) check it and raise
``TemplateBudgetError`` when a limit is passed. Limits come from ``TEMPLATE_*`` settings.

Sizes are checked *before* a value is built: each hook works out how large its result
will be from its arguments (``need``), in time proportional to the arguments' length
at most, never to the result's. Everything built is also added up (``account``, by
``sys.getsizeof``): however many values under the cap a page keeps alive (in recursion
frames, say), one render's allocations stay under ``TEMPLATE_MAX_BUILT`` bytes.
"""

from __future__ import annotations

import re
import string
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

from .. import metrics


@dataclass(frozen=True)
class Limits:
    """What one render of a shop's page may use (``TEMPLATE_*`` settings)."""

    seconds: float = 2.0
    max_range: int = 10_000
    max_iterations: int = 200_000
    max_string: int = 1_000_000
    max_output: int = 5_000_000
    max_built: int = 16 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(
            seconds=float(config.get("TEMPLATE_RENDER_SECONDS", cls.seconds)),
            max_range=int(config.get("TEMPLATE_MAX_RANGE", cls.max_range)),
            max_iterations=int(config.get("TEMPLATE_MAX_ITERATIONS", cls.max_iterations)),
            max_string=int(config.get("TEMPLATE_MAX_STRING", cls.max_string)),
            max_output=int(config.get("TEMPLATE_MAX_OUTPUT", cls.max_output)),
            max_built=int(config.get("TEMPLATE_MAX_BUILT", cls.max_built)),
        )


class TemplateBudgetError(SecurityError):
    """A shop's template went over one of its render budgets (counted, by budget, in
    ``storefront_sandbox_refusals_total`` the moment it is raised, wherever it renders)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.budget = next((name for part, name in _BUDGETS if part in message), "size")
        metrics.sandbox_refused(self.budget)


# Which budget a refusal's message names: a bounded label for the metrics.
_BUDGETS = (
    ("loop iterations", "iterations"),
    ("took longer", "time"),
    ("page is larger", "output"),
    ("bytes of values", "built"),
    ("range()", "range"),
    ("format width", "format"),
)


@dataclass
class Budget:
    limits: Limits
    template: str
    deadline: float = field(init=False)
    iterations: int = 0
    output: int = 0
    built: int = 0  # bytes of every value the page's operators, calls and filters built

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.seconds

    def tick(self, steps: int = 1) -> None:
        self.iterations += steps
        if self.iterations > self.limits.max_iterations:
            raise TemplateBudgetError(
                f"more than {self.limits.max_iterations} loop iterations in one page"
            )
        if time.monotonic() > self.deadline:
            raise TemplateBudgetError(f"rendering took longer than {self.limits.seconds:g} s")

    def wrote(self, size: int) -> None:
        self.output += size
        if self.output > self.limits.max_output:
            raise TemplateBudgetError(f"the page is larger than {self.limits.max_output} bytes")

    def build(self, size: int) -> None:
        self.built += size
        if self.built > self.limits.max_built:
            raise TemplateBudgetError(
                f"the page built more than {self.limits.max_built} bytes of values"
            )


_budget: ContextVar[Budget | None] = ContextVar("storefront_template_budget", default=None)
DEFAULT_LIMITS = Limits()


def current_budget() -> Budget | None:
    return _budget.get()


def start_budget(limits: Limits, template: str) -> Any:
    """Begin a render's budget; returns the token for ``end_budget``."""
    return _budget.set(Budget(limits, template))


def end_budget(token: Any) -> None:
    _budget.reset(token)


def current_limits() -> Limits:
    budget = current_budget()
    return budget.limits if budget is not None else DEFAULT_LIMITS


def tick(steps: int = 1) -> None:
    budget = current_budget()
    if budget is not None:
        budget.tick(steps)


SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def size_of(value: Any) -> int:
    if isinstance(value, SIZED):
        return len(value)
    return 0


def unit_of(value: Any) -> int:
    """Bytes one item or character of ``value`` takes at most (a slot, a code point)."""
    if isinstance(value, str):
        return 1 if value.isascii() else 4  # isascii() reads a flag: O(1)
    return 1 if isinstance(value, bytes) else 8


def check_size(value: Any) -> None:
    limit = current_limits().max_string
    if size_of(value) > limit:
        raise TemplateBudgetError(f"a value larger than {limit} items or characters")


def need(size: int, unit: int = 1, what: str = "a value", extra: int = 0) -> None:
    """Refuse, before it is built, a value of ``size`` items or characters of ``unit``
    bytes each (plus ``extra`` bytes of objects built on the way)."""
    budget = current_budget()
    limits = budget.limits if budget is not None else DEFAULT_LIMITS
    if size > limits.max_string:
        raise TemplateBudgetError(f"{what} larger than {limits.max_string} items or characters")
    if budget is not None and budget.built + size * unit + extra > limits.max_built:
        raise TemplateBudgetError(f"the page built more than {limits.max_built} bytes of values")


def account(value: Any) -> None:
    """A value was built: check it against the cap and add it to the page's total."""
    if isinstance(value, SIZED):
        budget = _budget.get()
        limits = budget.limits if budget is not None else DEFAULT_LIMITS
        if len(value) > limits.max_string:
            raise TemplateBudgetError(
                f"a value larger than {limits.max_string} items or characters"
            )
        if budget is not None:
            budget.build(sys.getsizeof(value))  # O(1): the object itself, not what it holds


def text_size(value: Any, limit: int | None = None, depth: int = 0) -> int:
    """How many characters ``str(value)`` has, counted no further than just past
    ``limit``: the work is bounded by the budget, never by the value (a list of a
    million lists of a million items answers after about ``limit`` steps)."""
    if isinstance(value, str):
        return len(value)
    if limit is None:
        limit = current_limits().max_string
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        digits = len(value.as_tuple().digits)
        return digits + 2 + (abs(exponent) if isinstance(exponent, int) else 0)
    if isinstance(value, list | tuple | set | frozenset | dict):
        if depth > 20:
            return limit + 1
        total = 2
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            total += text_size(item, limit - total, depth + 1) + 2
            if total > limit:
                break
        return total
    if isinstance(value, bytes):
        return 4 * len(value) + 3
    return 64  # the platform's own objects: their text is their data, not a template's


_ESCAPED = {"&": 4, "<": 3, ">": 3, '"': 4, "'": 4}  # extra characters per escape


def escaped_size(value: Any, limit: int | None = None) -> int:
    """How long ``value`` is once HTML-escaped (exact for text, an upper bound otherwise)."""
    if hasattr(value, "__html__"):
        return text_size(value, limit)
    if not isinstance(value, str):
        return 5 * text_size(value, limit)
    if len(value) <= 1000:
        return 5 * len(value)
    return len(value) + sum(value.count(c) * extra for c, extra in _ESCAPED.items())


def check_int(value: Any, limit: int, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit:
        raise TemplateBudgetError(f"{what} larger than {limit}")


def budgeted_range(*args: int) -> Iterator[int]:
    """``range`` capped at ``TEMPLATE_MAX_RANGE`` items."""
    rng = range(*args)
    limit = current_limits().max_range
    if len(rng) > limit:
        raise TemplateBudgetError(f"range() of more than {limit} items")
    return iter(rng)


def budgeted_iter(iterable: Any) -> Iterator[Any]:
    """Every ``{% for %}`` of a sandboxed template iterates through this (see ``_parse``),
    and so does every generator a filter answers with (``map``, ``select``, ...).

    Items are counted as they come: the first at once, then 256 at a time, so a page of
    many short loops is charged what it iterates (not 256 per loop)."""
    budget = current_budget()
    for count, item in enumerate(iterable):
        if budget is not None and count & 255 == 0:
            budget.tick(256 if count else 1)
        yield item


# A conversion spec of printf-style formatting: "%-10.3f", "%(name)s", "%*d".
_PERCENT_SPEC = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
MAX_FORMAT_WIDTH = 1_000


def check_percent_format(fmt: Any) -> None:
    if not isinstance(fmt, str):
        return
    for _name, width, precision, _conversion in _PERCENT_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise TemplateBudgetError(f"a format width above {MAX_FORMAT_WIDTH}")


def field_size(value: Any, conversion: str, escape: bool, limit: int) -> int:
    """Characters one formatted field takes, before its width."""
    if conversion in "ra":  # repr() escapes: up to ten characters per code point
        return 10 * text_size(value, limit) + 2
    size = escaped_size(value, limit) if escape else text_size(value, limit)
    if conversion not in "s" and isinstance(value, int | float | Decimal):
        size = 2 * size  # a number's digits, with grouping and sign
    return size


def percent_size(fmt: Any, values: Any) -> int:
    """How long ``fmt % values`` will be (``%``, ``|format``, gettext's texts): the
    format's own text plus, per conversion, the larger of its width and its value."""
    if not isinstance(fmt, str) or "%" not in fmt:
        return 0
    limit = current_limits().max_string
    escape = hasattr(fmt, "__html__")  # Markup escapes every value it formats
    positional = values if isinstance(values, tuple) else (values,)
    index = total = 0
    for name, width, precision, conversion in _PERCENT_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise TemplateBudgetError(f"a format width above {MAX_FORMAT_WIDTH}")
        if conversion == "%":
            continue
        if name:
            value = values.get(name, "") if isinstance(values, dict) else ""
        else:
            value = positional[index] if index < len(positional) else ""
            index += 1
        size = field_size(value, conversion, escape, limit)
        total += max(size, int(width or 0)) + int(precision or 0)
        if total > limit:
            break
    return len(fmt) + total


def check_brace_format(fmt: str) -> None:
    for _text, _name, spec, _conv in string.Formatter().parse(fmt):
        check_format_spec(spec)


def check_format_spec(spec: str | None) -> int:
    """Refuse widths above ``MAX_FORMAT_WIDTH`` in one field's spec; its widest number."""
    widest = 0
    for number in re.findall(r"\d+", spec or ""):
        widest = max(widest, int(number))
        if widest > MAX_FORMAT_WIDTH:
            raise TemplateBudgetError(f"a format width above {MAX_FORMAT_WIDTH}")
    return widest


def replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


class BudgetedNamespace(Namespace):
    """``namespace()`` whose values stay within the string budget (no doubling bombs)."""

    def __setitem__(self, name: str, value: Any) -> None:
        check_size(value)
        super().__setitem__(name, value)
