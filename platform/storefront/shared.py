"""Types and helpers every layer may use: nothing here imports from the rest of the
platform."""

from __future__ import annotations

from typing import Any

from flask_login import current_user


def signed_in_user() -> Any | None:
    """The request's signed-in account, or None for a visitor.

    ``current_user`` is a proxy: every use of it (``current_user and
    current_user.is_authenticated`` is two) looks the user up again through three context
    locals; a page's hooks asked nine times. Resolved once here per question.
    """
    user = current_user._get_current_object()
    return user if user is not None and user.is_authenticated else None


class SafeView:
    """Marker base for the read-only view objects the platform hands to templates.

    Shop templates (sandboxed) may read any attribute of a ``SafeView``; so a view holds
    plain values only, never an ORM row, the app or a session.
    """
