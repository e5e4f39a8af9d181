"""The template chain: shop overrides, then the shop's theme, then the base templates.

Jinja caches compiled templates by ``(loader, name)``; a loader that changes per request
would hand shop A's override to shop B. Here the cache key is the *layer that supplies
the template* plus its name: a shop's own override is cached under that shop, while the
thousands of shops that override nothing share one compiled copy of each theme and base
template. The cache itself is an LRU (cachetools) sized by ``TEMPLATE_CACHE_SIZE``.

Shop overrides are untrusted code: they compile in a sandboxed environment (see
``sandbox``), and everything they extend or include is loaded through it too.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from cachetools import LRUCache, TTLCache
from flask.templating import Environment as FlaskEnvironment
from jinja2 import BaseLoader, FileSystemLoader, Template, TemplateNotFound

from ..tenancy.context import TenantContext, current_tenant_or_none

SHIPPED_THEMES_DIR = Path(__file__).parent / "shipped"
BASE_LAYER = ("base",)
THEME_PREFIX = "@theme/"
BASE_PREFIX = "@base/"


@cache
def shipped_themes() -> tuple[str, ...]:
    """Names of the themes that ship with the platform."""
    return tuple(
        sorted(p.name for p in SHIPPED_THEMES_DIR.iterdir() if (p / "theme.toml").exists())
    )


def theme_dir(theme: str) -> Path:
    return SHIPPED_THEMES_DIR / theme


def shop_dir(app: Any, slug: str) -> Path:
    return Path(app.config["TENANTS_DIR"]) / slug


def _template_names(folder: Path) -> frozenset[str]:
    """Every template file below ``folder``; links that leave the folder are ignored."""
    if not folder.is_dir():
        return frozenset()
    root = folder.resolve()
    names = set()
    for dirpath, _dirs, files in os.walk(folder):
        for filename in files:
            path = Path(dirpath) / filename
            if not path.resolve().is_relative_to(root):
                continue
            names.add(path.relative_to(folder).as_posix())
    return frozenset(names)


class Layers:
    """Finds which layer supplies a template name for a shop, with a short-lived cache."""

    def __init__(self, app: Any, base_loader: BaseLoader) -> None:
        self.app = app
        self.base_loader = base_loader
        # The folders of each (shop, theme): building Paths on every lookup is not free.
        self._chains: LRUCache[Any, list[tuple[tuple[str, ...], Path | None]]] = LRUCache(
            maxsize=app.config["REGISTRY_LRU_SIZE"]
        )
        # Bounded like the registry: one loader per shop with overrides, per theme.
        self._loaders: LRUCache[tuple[str, ...], FileSystemLoader] = LRUCache(
            maxsize=app.config["REGISTRY_LRU_SIZE"]
        )
        # In production a shop's override list is re-read every few seconds at most; in
        # development on every lookup, so new override files show up at once.
        live = app.debug or app.config.get("TEMPLATES_AUTO_RELOAD")
        ttl = 0.0 if live else max(app.config["REGISTRY_POLL_SECONDS"], 1.0)
        self._names: TTLCache[tuple[str, ...], frozenset[str]] = TTLCache(
            maxsize=app.config["REGISTRY_LRU_SIZE"], ttl=ttl or 1e-9
        )

    def _loader(self, key: tuple[str, ...], folder: Path) -> FileSystemLoader:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = FileSystemLoader(str(folder))
        return loader

    def _has(self, key: tuple[str, ...], folder: Path, name: str) -> bool:
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = _template_names(folder)
        return name in names

    def chain(self, ctx: TenantContext | None) -> list[tuple[tuple[str, ...], Path | None]]:
        key = (ctx.slug, ctx.theme) if ctx is not None else None
        layers = self._chains.get(key)
        if layers is None:
            layers = []
            if ctx is not None:
                layers.append((("shop", ctx.slug), shop_dir(self.app, ctx.slug) / "templates"))
                layers.append((("theme", ctx.theme), theme_dir(ctx.theme) / "templates"))
            layers.append((BASE_LAYER, None))
            self._chains[key] = layers
        return layers

    def find(self, name: str, ctx: TenantContext | None) -> tuple[tuple[str, ...], BaseLoader, str]:
        """The (layer key, loader, name in that layer) that supplies ``name`` for ``ctx``.

        ``@theme/x.html`` skips the shop's override (so an override can extend the version
        it replaces); ``@base/x.html`` goes straight to the base templates.
        """
        chain = self.chain(ctx)
        if name.startswith(THEME_PREFIX):
            name, chain = name.removeprefix(THEME_PREFIX), chain[-2:] if ctx else chain
        elif name.startswith(BASE_PREFIX):
            name, chain = name.removeprefix(BASE_PREFIX), chain[-1:]
        for key, folder in chain:
            if folder is None:
                return key, self.base_loader, name
            if self._has(key, folder, name):
                return key, self._loader(key, folder), name
        raise TemplateNotFound(name)  # pragma: no cover - the base layer always answers

    def invalidate(self) -> None:
        self._names.clear()


class LayeredEnvironment(FlaskEnvironment):
    """Flask's Jinja environment with the layered lookup and a layer-keyed cache."""

    sandboxed = False
    layers: Layers
    sandbox: Any

    def _load_template(self, name: str, globals: Any) -> Template:  # noqa: A002 - Jinja's name
        key, loader, layer_name = self.layers.find(name, current_tenant_or_none())
        if key[0] == "shop" and not self.sandboxed:
            # An override is untrusted wherever it is used from: compile it sandboxed.
            return self.sandbox._load_template(name, globals)
        cache_key = (("sandbox",) if self.sandboxed else ()) + key + (layer_name,)
        if self.cache is not None:
            template = self.cache.get(cache_key)  # type: ignore[arg-type]  # keyed by layer
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:
                    template.globals.update(globals)
                return template
        template = loader.load(self, layer_name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[cache_key] = template  # type: ignore[index]
        return template
