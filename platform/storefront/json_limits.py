"""JSON from outside is parsed only when it is shallow.

Python's parser recurses once per ``[`` or ``{``: a 2 KB body nested 1,000 deep raises
``RecursionError`` (a 500) before any schema sees it. The app's JSON provider measures
the nesting first, without recursing and at C speed (regular expressions and
``itertools``), and refuses a deeper document as malformed JSON, which a request's
``get_json`` answers with 400. Every request body goes through here: ``request.get_json``
and ``flask.json.loads`` both use the app's provider.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from flask.json.provider import DefaultJSONProvider

# No document this platform takes nests half as deep (a product with variants: 4).
MAX_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a string, escapes included
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONTooDeep(ValueError):
    """The document nests deeper than ``MAX_DEPTH``: refused before it is parsed."""


def depth(text: str) -> int:
    """How deep ``text`` nests arrays and objects (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") == 0:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise ``JSONTooDeep`` when ``text`` nests deeper than ``limit``."""
    if text.count("[") + text.count("{") > limit and depth(text) > limit:
        raise JSONTooDeep(f"JSON nested more than {limit} levels deep")


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than ``MAX_DEPTH``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if isinstance(s, bytes | bytearray):
            # What json.loads does with bytes (UTF-8, -16 or -32), so the brackets counted
            # are the ones it would parse.
            s = s.decode(json.detect_encoding(s), "surrogatepass")
        check_depth(s)
        return super().loads(s, **kwargs)
