"""Comparisons in shop templates, charged the items they may visit (issue 29).

``[[0] * 999999] * 999`` is cheap to build (every row is the same list) but comparing it
with another such value visits a billion items in C: ``a == b`` held a worker 6-9 s, a
loop of them 30 s. So every comparison of a sandboxed template, in each spelling:

- the operators (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``): the
  sandbox compiles each comparison to ``budgeted_compare`` (``BudgetedCompare``);
- the tests (``is eq(b)``, ``is in(b)``, ``select('lt', b)``, ...): ``BUDGETED_TESTS``;
- the filters that compare items (``sort``, ``max``, ``unique``, ...): ``charge_items``;

first charges the iteration budget with the items it may visit, found by walking the
operands no further than the budget left (``deep_size``), then compares. Scalars cost
nothing more than a type check: text compares in C within the value cap already.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.runtime import LoopContext
from jinja2.visitor import NodeTransformer

from .budget import current_budget

CONTAINERS = (list, tuple, dict, set, frozenset)
HASHED = (dict, set, frozenset)  # `in` looks the needle up by its hash
TEXT_STEP = 4096  # characters of a text inside a container that count as one more item


def deep_size(value: Any, limit: int) -> int:
    """How many items a comparison of ``value`` may visit, counted no further than just
    past ``limit``: a shared row counts every time it is reached (a comparison visits it
    every time), so the walk is bounded by ``limit``, never by the value."""
    if not isinstance(value, CONTAINERS):
        return 1
    count = 1
    stack = [iter(value.items() if isinstance(value, dict) else value)]
    while stack:  # iterators, not items: a row of a million is never copied
        for item in stack[-1]:
            count += 1
            if count > limit:
                return count
            if isinstance(item, CONTAINERS):
                stack.append(iter(item.items() if isinstance(item, dict) else item))
                break
            if isinstance(item, str):
                count += len(item) // TEXT_STEP
        else:
            stack.pop()
    return count


def _charge(cost: Callable[[int], int]) -> None:
    budget = current_budget()
    if budget is not None:
        room = budget.limits.max_iterations - budget.iterations
        budget.tick(cost(max(room, 0)))


def charge_compare(left: Any, right: Any) -> None:
    """``left == right`` (or ``<``, ...) visits no more items than the smaller side."""
    if isinstance(left, CONTAINERS) or isinstance(right, CONTAINERS):
        _charge(lambda room: deep_size(right, deep_size(left, room)))


def charge_contains(needle: Any, haystack: Any) -> None:
    """``needle in haystack``: a list is compared item by item with the needle, a dict or
    set hashes the needle (a tuple's hash walks all of it) and compares one candidate."""
    if isinstance(haystack, HASHED):
        if isinstance(needle, CONTAINERS):
            _charge(lambda room: deep_size(needle, room))
    elif isinstance(haystack, CONTAINERS):
        _charge(lambda room: deep_size(haystack, room))


def charge_items(value: Any, sorts: bool) -> None:
    """A filter that compares its items (``max``) pays for each comparison, one that sorts
    them pays that ``log2 n`` times: the deep size of its input, not its length."""
    if not isinstance(value, CONTAINERS):
        return
    rounds = max(len(value) - 1, 1).bit_length() if sorts else 1
    _charge(lambda room: rounds * deep_size(value, room // rounds))


def charge_method(owner: Any, name: str, args: tuple[Any, ...]) -> None:
    """Methods that compare in C: ``list.index``/``count`` (the needle with each item),
    ``dict.get`` (hashes its key), ``loop.changed`` (the last value with this one)."""
    if not args:
        return
    if (isinstance(owner, list | tuple) and name in ("index", "count")) or (
        isinstance(owner, dict) and name == "get"
    ):
        charge_contains(args[0], owner)
    elif isinstance(owner, LoopContext) and name == "changed":
        charge_compare(args, getattr(owner, "_last_changed_value", None))


def _contains(needle: Any, haystack: Any) -> bool:
    charge_contains(needle, haystack)
    return needle in haystack


def _compared(compare: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(left: Any, right: Any) -> Any:
        charge_compare(left, right)
        return compare(left, right)

    run.__name__ = compare.__name__
    return run


# Jinja's compare operators (nodes.Operand.op) and what each does, charged first.
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": _compared(operator.eq),
    "ne": _compared(operator.ne),
    "lt": _compared(operator.lt),
    "lteq": _compared(operator.le),
    "gt": _compared(operator.gt),
    "gteq": _compared(operator.ge),
    "in": _contains,
    "notin": lambda needle, haystack: not _contains(needle, haystack),
}


# The same without a charge: both operands are scalars (and text compares in C).
UNCHARGED: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lteq": operator.le,
    "gt": operator.gt,
    "gteq": operator.ge,
    "in": lambda needle, haystack: needle in haystack,
    "notin": lambda needle, haystack: needle not in haystack,
}


def budgeted_compare(operands: tuple[Any, ...], *ops: str) -> Any:
    """``a < b < c`` (the sandbox compiles every comparison to this): each step charged
    before it runs. Like Python's chain it answers the first false step's result, or the
    last one; unlike it, every operand has been evaluated first (a template's operands
    have no side effects to skip)."""
    if len(ops) == 1:  # the usual case, and scalars on the fast path
        left, right = operands
        if not isinstance(left, CONTAINERS) and not isinstance(right, CONTAINERS):
            return UNCHARGED[ops[0]](left, right)
        return OPERATORS[ops[0]](left, right)
    left, result = operands[0], True
    for op, right in zip(ops, operands[1:], strict=True):
        result = OPERATORS[op](left, right)
        if not result:
            return result
        left = right
    return result


# Jinja's tests that compare, under each of their names (``is eq(b)``, ``select('>', 1)``).
BUDGETED_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    **dict.fromkeys(("eq", "equalto", "=="), OPERATORS["eq"]),
    **dict.fromkeys(("ne", "!="), OPERATORS["ne"]),
    **dict.fromkeys(("lt", "lessthan", "<"), OPERATORS["lt"]),
    **dict.fromkeys(("le", "<="), OPERATORS["lteq"]),
    **dict.fromkeys(("gt", "greaterthan", ">"), OPERATORS["gt"]),
    **dict.fromkeys(("ge", ">="), OPERATORS["gteq"]),
    "in": _contains,
}
# Filters that compare their input's items -> whether they sort it (log2 n rounds).
COMPARING_FILTERS = {
    "sort": True,
    "dictsort": True,
    "groupby": True,
    "min": False,
    "max": False,
    "unique": False,
}


def budgeted_key(key: Any) -> Any:
    """A dict literal's key (``{t: 1}``) is hashed: a tuple's hash walks all of it."""
    charge_contains(key, {})
    return key


class BudgetedCompare(NodeTransformer):
    """``a == b`` becomes ``(a, b)|budgeted_compare('eq')``: charged before it compares;
    a dict literal's key ``k`` becomes ``k|budgeted_key``: charged before it is hashed."""

    def visit_Pair(self, node: nodes.Pair) -> nodes.Node:
        self.generic_visit(node)
        if not isinstance(node.key, nodes.Const):
            node.key = nodes.Filter(
                node.key, "budgeted_key", [], [], None, None, lineno=node.lineno
            )
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)  # comparisons inside the operands
        operands = nodes.Tuple(
            [node.expr, *(operand.expr for operand in node.ops)], "load", lineno=node.lineno
        )
        ops: list[nodes.Expr] = [nodes.Const(operand.op) for operand in node.ops]
        return nodes.Filter(operands, "budgeted_compare", ops, [], None, None, lineno=node.lineno)
