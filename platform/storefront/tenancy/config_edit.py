"""Edit a shop's ``tenant.toml`` from the CLI, keeping the operator's comments.

Every edit is validated against the schema before the file is replaced (atomically), so a
typo never leaves a shop broken.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from ..db import unit_of_work
from .contrast import contrast_problems
from .registry import bump_generation
from .services import ShopError, get_shop, tenants_dir
from .settings import SettingsError, ShopSettings, parse_settings, settings_path
from .signals import settings_changed, settings_saving


def parse_value(raw: str) -> Any:
    """A CLI value as TOML (``true``, ``12``, ``"x"``, ``[1, 2]``), else a plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _document(slug: str) -> tuple[Path, tomlkit.TOMLDocument]:
    get_shop(slug)
    path = settings_path(tenants_dir(), slug)
    try:
        return path, tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShopError(f"{path} is missing") from None
    except Exception as exc:  # noqa: BLE001 - tomlkit raises several parse error types
        raise ShopError(f"{path}: invalid TOML: {exc}") from None


def get_value(slug: str, key: str) -> Any:
    _path, doc = _document(slug)
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ShopError(f"{key} is not set in {slug}'s tenant.toml")
        node = node[part]
    return node.unwrap() if hasattr(node, "unwrap") else node


def set_value(slug: str, key: str, value: Any) -> None:
    update_values(slug, {key: value})


def unset_value(slug: str, key: str) -> None:
    path, doc = _document(slug)
    if not _unset(doc, key):
        raise ShopError(f"{key} is not set in {slug}'s tenant.toml")
    _write(slug, path, doc)


def update_values(slug: str, changes: dict[str, Any]) -> None:
    """Set several keys at once (``None`` unsets one): one validation, one write."""
    path, doc = _document(slug)
    for key, value in changes.items():
        if value is None:
            _unset(doc, key)
            continue
        *parents, leaf = key.split(".")
        node: Any = doc
        for part in parents:
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
            if not isinstance(node, Table | dict):
                raise ShopError(f"{key}: {part} is not a table")
        node[leaf] = value
    _write(slug, path, doc)


def _unset(doc: tomlkit.TOMLDocument, key: str) -> bool:
    *parents, leaf = key.split(".")
    node: Any = doc
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node:
        return False
    del node[leaf]
    return True


def _refuse_low_contrast(path: Path, settings: ShopSettings) -> None:
    """A colour edit that leaves a pair below WCAG AA is refused, with the ratio and the
    nearest passing shade (the dashboard's form says the same, translated, before this)."""
    try:
        previous = parse_settings(path.read_text(encoding="utf-8"), str(path)).branding
    except (OSError, SettingsError):
        previous = None
    problems = contrast_problems(settings.branding, settings.theme, previous)
    if problems:
        p = problems[0]
        raise ShopError(
            f"not saved: {p.foreground} on {p.background} has a contrast of "
            f"{int(p.ratio * 10) / 10:.1f}:1, below WCAG AA's 4.5:1; "
            f"nearest passing {p.changed}: {p.suggestion}"
        )


def _saved(path: Path) -> ShopSettings | None:
    try:
        return parse_settings(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SettingsError):
        return None


def _write(slug: str, path: Path, doc: tomlkit.TOMLDocument) -> None:
    text = tomlkit.dumps(doc)
    try:
        settings = parse_settings(text, str(path))
    except SettingsError as exc:
        raise ShopError(f"not saved: {exc}") from None
    _refuse_low_contrast(path, settings)
    settings_saving.send(slug, settings=settings, previous=_saved(path))  # a plan may refuse
    try:
        before = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        before = {}
    fd, tmp = tempfile.mkstemp(prefix=".tenant.", suffix=".toml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)

    def record() -> None:  # from its start: a retry reads the shop's row again
        tenant = get_shop(slug)
        tenant.name = settings.name
        tenant.cache_generation += 1  # cached pages show the name, footer, colours
        settings_changed.send(tenant, before=before, after=after)  # the audit trail
        bump_generation()

    # The file is written first (a failure there changes nothing); its rows follow as one
    # unit of work (joined to the caller's, a dashboard page's, where there is one).
    after = tomllib.loads(text)
    unit_of_work(record)
