"""The platform's "now" where time moves a state (billing's trial and grace periods).

``now()`` is naive UTC, like every stored timestamp. Tests move it with ``travel`` (or
``set_offset``) instead of sleeping, so a month of dunning runs in a few statements and
no test asserts on the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time (naive UTC), moved by the offset a test set."""
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def set_offset(offset: timedelta) -> None:
    """Move the clock ``offset`` away from the wall clock (tests only)."""
    global _offset
    _offset = offset


def advance(delta: timedelta) -> datetime:
    """Move the clock on by ``delta``; the new now (tests only)."""
    set_offset(_offset + delta)
    return now()


@contextmanager
def travel(delta: timedelta) -> Iterator[datetime]:
    """Run the block ``delta`` away from now, then come back."""
    before = _offset
    set_offset(before + delta)
    try:
        yield now()
    finally:
        set_offset(before)
