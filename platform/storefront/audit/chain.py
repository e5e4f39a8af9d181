"""Sealing values and chaining entries: what makes the trail tamper-evident yet erasable.

An entry's ``body`` (JSON) holds the readable record: who (``actor``, a name), from where
(``address``) and the changes, whose every old and new value is *sealed*: stored as
``{"v": value, "s": salt}`` with a fresh random salt. The entry's hash does not cover the
values themselves but their digests, ``sha256(salt, canonical value)``::

    hash = sha256(prev_hash + canonical({"h": plain columns, "b": body, each sealed value
                                          replaced by its digest}))

Erasing a person's value (``erase_leaf``) replaces ``{"v", "s"}`` by ``{"d": digest,
"erased": true}``: the hash is the same, so the chain stays verifiable, and with the salt
gone the digest cannot be matched against guesses (an email address has little entropy;
128 random bits do). Changing a kept value changes its digest, so the entry's hash.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

ERASED = "[erased]"
MASKED = "[masked]"
VALUE_MAX = 500  # characters of a value kept (a long description is cut, with its length)
SALT_BYTES = 16


def canonical(obj: Any) -> str:
    """One spelling per value: sorted keys, no spaces, Unicode as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plain(value: Any) -> Any:
    """A column's value as JSON that reads back equal (so its digest does too), cut to
    ``VALUE_MAX`` characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, str):
        return _cut(value)
    try:
        text = canonical(json.loads(json.dumps(value, default=str)))
    except (TypeError, ValueError):
        return _cut(str(value))
    return json.loads(text) if len(text) <= VALUE_MAX else _cut(text)


def _cut(text: str) -> str:
    if len(text) <= VALUE_MAX:
        return text
    return f"{text[:VALUE_MAX]}… ({len(text)} characters)"


def digest(salt: str, value: Any) -> str:
    return hashlib.sha256(f"{salt}\x00{canonical(value)}".encode()).hexdigest()


def seal(value: Any) -> dict[str, Any]:
    """A value as stored: readable, with the salt its digest is made with."""
    return {"v": plain(value), "s": secrets.token_hex(SALT_BYTES)}


def is_erased(leaf: Any) -> bool:
    return isinstance(leaf, Mapping) and leaf.get("erased") is True


def leaf_value(leaf: Any) -> Any:
    """What a stored value shows: the value, ``[erased]``, or a plain leaf as it is."""
    if isinstance(leaf, Mapping):
        if leaf.get("erased") is True:
            return ERASED
        if "s" in leaf and "v" in leaf:
            return leaf["v"]
    return leaf


def leaf_digest(leaf: Any) -> Any:
    """What the hash covers for a stored value."""
    if isinstance(leaf, Mapping):
        if leaf.get("erased") is True:
            return {"d": leaf.get("d")}
        if "s" in leaf and "v" in leaf:
            return {"d": digest(str(leaf["s"]), leaf["v"])}
    return leaf  # a masked secret or a plain value: hashed as it is


def erase_leaf(leaf: Any) -> Any:
    if isinstance(leaf, Mapping) and "s" in leaf and "v" in leaf:
        return {"d": digest(str(leaf["s"]), leaf["v"]), "erased": True}
    return leaf


def map_leaves(body: Mapping[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    """``body`` with ``fn`` applied to every sealed position: the actor's name, the
    address, each change's old and new values and the values its ``where`` matched."""
    out = dict(body)
    for key in ("actor", "address"):
        if out.get(key) is not None:
            out[key] = fn(out[key])
    changes = []
    for change in body.get("changes") or ():
        change = dict(change)
        if isinstance(change.get("fields"), Mapping):
            change["fields"] = {
                name: {side: fn(leaf) for side, leaf in pair.items()}
                if isinstance(pair, Mapping)
                else fn(pair)
                for name, pair in change["fields"].items()
            }
        if isinstance(change.get("where"), Mapping):
            change["where"] = {name: fn(leaf) for name, leaf in change["where"].items()}
        changes.append(change)
    if "changes" in body:
        out["changes"] = changes
    return out


HEADER_FIELDS = ("seq", "created_at", "actor_kind", "actor_id", "source", "request_id", "resources")


def header(entry: Any) -> dict[str, Any]:
    """The plain columns the hash covers (never ``id`` or ``tenant_id``: an imported
    shop's rows get new ones, and its chain must still verify)."""
    values = {name: getattr(entry, name) for name in HEADER_FIELDS}
    created = values["created_at"]
    if isinstance(created, datetime):
        values["created_at"] = created.replace(tzinfo=None).isoformat(timespec="microseconds")
    return values


def entry_hash(prev_hash: str, head: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    sealed = map_leaves(body, leaf_digest)
    return hashlib.sha256((prev_hash + canonical({"h": head, "b": sealed})).encode()).hexdigest()


def matches(leaf: Any, needles: Iterable[str]) -> bool:
    """Whether a stored value names one of ``needles`` (case-insensitive substring)."""
    value = leaf_value(leaf) if not is_erased(leaf) else None
    if value is None or isinstance(value, bool | int | float):
        return False
    text = (value if isinstance(value, str) else canonical(value)).casefold()
    return any(n.casefold() in text for n in needles if n)
