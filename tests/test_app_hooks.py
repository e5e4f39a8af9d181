"""The app's own request machinery: what it keeps between requests stays bounded."""

from __future__ import annotations


def test_ensure_sync_keeps_plain_functions_as_they_are_and_stays_bounded(app):
    def hook() -> None:
        return None

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook  # the second answer comes from the memo
    # after_this_request makes a new function on every request: the memo must not grow
    for _ in range(2_000):
        fresh = _new_function()
        assert app.ensure_sync(fresh) is fresh
    assert len(app._coroutines) <= 512


def test_ensure_sync_still_wraps_a_coroutine_function(app):
    async def view() -> str:
        return "ok"

    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError:  # Flask's async support needs asgiref; then it says so, as Flask does
        return
    assert wrapped is not view
    assert wrapped() == "ok"


def _new_function():
    return lambda response: response  # a new function object on every call
