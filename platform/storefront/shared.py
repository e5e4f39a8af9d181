"""Types every layer may use: nothing here imports from the rest of the platform."""

from __future__ import annotations


class SafeView:
    """Marker base for the read-only view objects the platform hands to templates.

    Shop templates (sandboxed) may read any attribute of a ``SafeView``; so a view holds
    plain values only, never an ORM row, the app or a session.
    """
