"""The per-shop config overlay: whitelisted keys read through to the bound shop.

``app.config`` is never written per request. Reads of the keys a shop may set (see
``settings.SHOP_CONFIG_KEYS`` and ``ShopSettings.overlay``) look at the bound shop first,
so extensions that read config at request time (Flask-Security's ``cv()``) see the
shop's value while another shop's request in the next thread sees its own.
"""

from __future__ import annotations

from typing import Any

from flask import Config

from .context import _current

_MISSING = object()


class OverlayConfig(Config):
    def _shop_value(self, key: str) -> Any:
        ctx = _current.get()
        if ctx is None:
            return _MISSING
        return ctx.overlay.get(key, _MISSING)

    def __getitem__(self, key: str) -> Any:
        value = self._shop_value(key)
        return super().__getitem__(key) if value is _MISSING else value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._shop_value(key)
        return super().get(key, default) if value is _MISSING else value
