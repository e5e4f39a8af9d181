"""``tenantctl plan create|set``: write the plans file, keeping the operator's comments.

Every edit is validated before the file is replaced (atomically, in its folder), so a
typo never leaves the installation without plans; the running workers see the new file
within a second (``definitions``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit

from .definitions import (
    FEATURES,
    LIMITS,
    PLAN_NAME,
    PlansError,
    PlansFile,
    forget_cached,
    parse_plans,
    plans_path,
)

NO_LIMIT = ("none", "unlimited", "-")


def _document(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
        doc.add(tomlkit.comment("Plans shops can be on, smallest first (docs/operators.md)."))
        return doc
    except Exception as exc:  # noqa: BLE001 - tomlkit raises several parse error types
        raise PlansError([f"{path}: invalid TOML: {exc}"]) from None


def parse_limit(name: str, raw: str) -> int | None:
    """A limit as typed: a whole number (``10_000``, ``5GB`` for bytes), or ``none``."""
    text = raw.strip().lower().replace("_", "").replace(",", "")
    if name not in LIMITS:
        raise PlansError([f"unknown limit {name!r} (one of: {', '.join(LIMITS)})"])
    if text in NO_LIMIT:
        return None
    factor = 1
    if name == "storage_bytes":
        for suffix, scale in (("gb", 10**9), ("mb", 10**6), ("kb", 10**3), ("b", 1)):
            if text.endswith(suffix):
                text, factor = text[: -len(suffix)].strip(), scale
                break
    if not text.isdigit():
        raise PlansError([f"{name}: expected a whole number or 'none', got {raw!r}"])
    return int(text) * factor


def parse_features(raw: str) -> list[str]:
    """``api,webhooks`` (or ``none``) as a list, each one checked."""
    wanted = [] if raw.strip().lower() in NO_LIMIT else [f.strip() for f in raw.split(",")]
    unknown = [f for f in wanted if f not in FEATURES]
    if unknown:
        raise PlansError([f"unknown feature {unknown[0]!r} (some of: {', '.join(FEATURES)})"])
    return list(dict.fromkeys(f for f in wanted if f))


def write_plan(
    name: str,
    *,
    create: bool,
    label: str | None = None,
    limits: dict[str, int | None] | None = None,
    features: list[str] | None = None,
    default: bool = False,
) -> PlansFile:
    """Add plan ``name`` (``create``) or change it; returns the plans as written."""
    import re

    if not re.fullmatch(PLAN_NAME, name):
        raise PlansError([f"plan name {name!r}: lower-case letters, digits, - and _"])
    path = plans_path()
    doc = _document(path)
    plans: Any = doc.get("plans")
    if plans is None:
        plans = tomlkit.table(is_super_table=True)
        doc["plans"] = plans
    if create and name in plans:
        raise PlansError([f"plan {name!r} exists already (change it with: tenantctl plan set)"])
    if not create and name not in plans:
        raise PlansError([f"no plan {name!r} (make it with: tenantctl plan create)"])
    if create:
        plans[name] = tomlkit.table()
    table = plans[name]
    if label is not None:
        table["label"] = label
    for limit, value in (limits or {}).items():
        if value is None:
            table.pop(limit, None)
        else:
            table[limit] = value
    if features is not None:
        table["features"] = features
    if default:
        doc["default"] = name
    return _write(path, doc)


def _write(path: Path, doc: tomlkit.TOMLDocument) -> PlansFile:
    text = tomlkit.dumps(doc)
    plans = parse_plans(text, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".plans.", suffix=".toml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    forget_cached()
    return plans
