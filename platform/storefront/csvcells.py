"""CSV cells a spreadsheet will not run.

Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return before one) as a formula: a shopper who types
``=HYPERLINK(...)`` as their name would have it run on the owner's computer when the
order export is opened. Such cells are written with a leading apostrophe (OWASP's advice);
the catalog import takes that apostrophe off again, so an export re-imports unchanged.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet evaluates (numbers pass unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def read_cell(value: str) -> str:
    """Undo ``safe_cell`` for a cell read back from an export."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
