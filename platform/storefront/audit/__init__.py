"""The audit trail: who changed what in a shop, through any surface, hash-chained per
shop (docs/decisions.md, "The audit trail"; docs/security.md, "Audit trail").

Importing this package attaches the recorder to the platform's session (``recorder``);
``init_audit`` connects what is announced rather than flushed (``tenant.toml`` edits).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..tenancy.signals import settings_changed, shop_rows_imported
from . import recorder
from .actor import acting_as, current_actor
from .recorder import record_event

__all__ = ["acting_as", "current_actor", "init_audit", "record_event"]

SETTINGS_FIELDS_MAX = 50


def init_audit(app: Flask) -> None:
    """Record edits of a shop's ``tenant.toml`` (dashboard settings, ``tenantctl config``)."""
    settings_changed.connect(_settings_changed, weak=False)
    shop_rows_imported.connect(_imported, weak=False)
    app.extensions["storefront.audit"] = recorder


def _flatten(table: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    if isinstance(table, dict):
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                flat.update(_flatten(value, f"{name}."))
            else:
                flat[name] = value
    return flat


def _settings_changed(tenant: Any, before: dict[str, Any], after: dict[str, Any], **_: Any) -> None:
    old, new = _flatten(before), _flatten(after)
    changed = {
        key: (old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }
    if not changed:
        return
    shown = dict(list(changed.items())[:SETTINGS_FIELDS_MAX])
    extra = {"more": len(changed) - len(shown)} if len(changed) > len(shown) else {}
    record_event("settings", None, shown, tenant_id=tenant.id, **extra)


def _imported(tenant: Any, **_: Any) -> None:
    """An imported shop's trail goes on from the archive's with the import itself."""
    record_event("shop-imported", tenant.slug, tenant_id=tenant.id)
