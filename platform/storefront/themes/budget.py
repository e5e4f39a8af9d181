"""Render budgets for shop templates: time, loop iterations, ``range``, value sizes, output.

A shop's template is text anyone with its folder wrote; without budgets one page can
freeze a worker (``range(10**12)``) or allocate gigabytes (``'x' * 200000000``). Every
sandboxed render carries a ``Budget`` in a context variable; the sandbox's hooks (calls,
operators, filters, every ``for`` loop, the output) check it and raise
``TemplateBudgetError`` when a limit is passed. Limits come from ``TEMPLATE_*`` settings.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace


@dataclass(frozen=True)
class Limits:
    """What one render of a shop's page may use (``TEMPLATE_*`` settings)."""

    seconds: float = 2.0
    max_range: int = 10_000
    max_iterations: int = 200_000
    max_string: int = 1_000_000
    max_output: int = 5_000_000

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        return cls(
            seconds=float(config.get("TEMPLATE_RENDER_SECONDS", cls.seconds)),
            max_range=int(config.get("TEMPLATE_MAX_RANGE", cls.max_range)),
            max_iterations=int(config.get("TEMPLATE_MAX_ITERATIONS", cls.max_iterations)),
            max_string=int(config.get("TEMPLATE_MAX_STRING", cls.max_string)),
            max_output=int(config.get("TEMPLATE_MAX_OUTPUT", cls.max_output)),
        )


class TemplateBudgetError(SecurityError):
    """A shop's template went over one of its render budgets."""


@dataclass
class Budget:
    limits: Limits
    template: str
    deadline: float = field(init=False)
    iterations: int = 0
    output: int = 0

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


def size_of(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def check_size(value: Any) -> None:
    limit = current_limits().max_string
    if size_of(value) > limit:
        raise TemplateBudgetError(f"a value larger than {limit} items or characters")


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
    """Every ``{% for %}`` of a sandboxed template iterates through this (see ``_parse``)."""
    budget = current_budget()
    for count, item in enumerate(iterable):
        if budget is not None and count % 256 == 0:
            budget.tick(256)
        yield item


# A conversion spec of printf-style formatting: "%-10.3f", "%(name)s", "%*d".
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
MAX_FORMAT_WIDTH = 1_000


def check_percent_format(fmt: Any) -> None:
    if not isinstance(fmt, str):
        return
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise TemplateBudgetError(f"a format width above {MAX_FORMAT_WIDTH}")


def check_brace_format(fmt: str) -> None:
    for _text, _name, spec, _conv in string.Formatter().parse(fmt):
        for number in re.findall(r"\d+", spec or ""):
            if int(number) > MAX_FORMAT_WIDTH:
                raise TemplateBudgetError(f"a format width above {MAX_FORMAT_WIDTH}")


def replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def join_size(items: Any) -> int:
    if isinstance(items, list | tuple):
        return sum(len(x) for x in items if isinstance(x, str))
    return 0


# Checks for methods and filters whose result can be far larger than their arguments.
def _padding_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        check_int(value, current_limits().max_string, "a width")


def _replace_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if replace_size(*args[:4]) > current_limits().max_string:
        raise TemplateBudgetError("replace() would build a value that is too large")


def _join_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args and join_size(args[0]) > current_limits().max_string:
        raise TemplateBudgetError("join() would build a value that is too large")


def _format_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args:
        check_percent_format(args[0])


def _numbers_check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        check_int(value, current_limits().max_range, "a count")


STR_METHOD_CHECKS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], None]] = {
    "center": _padding_check,
    "ljust": _padding_check,
    "rjust": _padding_check,
    "zfill": _padding_check,
    "expandtabs": _numbers_check,
}
# Filter name -> check of (value, *args) before the filter runs.
FILTER_CHECKS: dict[str, Callable[[tuple[Any, ...], dict[str, Any]], None]] = {
    "center": lambda a, k: _padding_check(a[1:], k),
    "indent": lambda a, k: _padding_check(a[1:], k),
    "replace": _replace_check,
    "join": _join_check,
    "format": _format_check,
    "batch": lambda a, k: _numbers_check(a[1:], k),
    "slice": lambda a, k: _numbers_check(a[1:], k),
    "wordwrap": lambda a, k: _numbers_check(a[1:2], {}),
    "truncate": lambda a, k: None,
}


def budgeted_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    check = FILTER_CHECKS.get(name)

    @wraps(fn)  # keeps jinja_pass_arg, so context/environment filters still get theirs
    def run(*args: Any, **kwargs: Any) -> Any:
        tick()
        plain = args[1:] if getattr(fn, "jinja_pass_arg", None) else args
        if check is not None:
            check(plain, kwargs)
        result = fn(*args, **kwargs)
        check_size(result)
        return result

    return run


class BudgetedNamespace(Namespace):
    """``namespace()`` whose values stay within the string budget (no doubling bombs)."""

    def __setitem__(self, name: str, value: Any) -> None:
        check_size(value)
        super().__setitem__(name, value)
