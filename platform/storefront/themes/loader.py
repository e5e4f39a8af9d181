"""The template chain: shop overrides, then the shop's theme, then the base templates.

Jinja caches compiled templates by ``(loader, name)``; a loader that changes per request
would hand shop A's override to shop B. Here the cache key is the *layer that supplies
the template* plus its name: a shop's own override is cached under that shop, while the
thousands of shops that override nothing share one compiled copy of each theme and base
template. The cache itself is an LRU (cachetools) sized by ``TEMPLATE_CACHE_SIZE``.

Shop overrides are untrusted code, wherever they sit in a page's template graph. A page
of a shop that supplies any template renders wholly in the sandbox (see ``sandbox``): the
trusted environment never loads a shop's text, and refuses to if asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from flask.templating import Environment as FlaskEnvironment
from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context

from ..shopfiles import list_inside, open_inside, stat_inside
from ..tenancy.context import TenantContext, current_tenant_or_none

SHIPPED_THEMES_DIR = Path(__file__).parent / "shipped"
BASE_LAYER = ("base",)
THEME_PREFIX = "@theme/"
BASE_PREFIX = "@base/"
# Set while a page must not use the shop's own templates (its error page after its
# templates failed): the shop's branding on the theme's templates.
_without_overrides: ContextVar[bool] = ContextVar("storefront_without_overrides", default=False)


@contextmanager
def without_shop_templates() -> Iterator[None]:
    """Render with the shop's theme and branding but none of its own template files."""
    token = _without_overrides.set(True)
    try:
        yield
    finally:
        _without_overrides.reset(token)


@contextmanager
def with_shop_templates() -> Iterator[None]:
    """Render with the shop's own template files (sandboxed, as on its storefront) inside
    a dashboard request: the owner's preview of a storefront page shows what shoppers see."""
    token = _without_overrides.set(False)
    try:
        yield
    finally:
        _without_overrides.reset(token)


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
    """Every regular file below ``folder``, reached without following a link."""
    return frozenset(list_inside(folder.parent, folder.name))


class ShopFolderLoader(BaseLoader):
    """A shop's own templates, each opened at the moment it is read through
    ``open_inside``: no link followed below the shop's folder, a regular file only, at most
    the environment's ``max_template_bytes``. The list of a shop's templates is trusted
    for long in production; the file is not: a listed template swapped for a link to
    another shop's ``secrets.toml`` afterwards is not found, never read."""

    def __init__(self, folder: Path) -> None:
        self.root, self.sub = folder.parent, folder.name

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        relative = f"{self.sub}/{template}"
        limit = int(getattr(environment, "max_template_bytes", 256 * 1024))
        try:
            with open_inside(self.root, relative) as file:
                seen = _signature(os.fstat(file.fileno()))
                data = file.read(limit + 1)
        except OSError:
            raise TemplateNotFound(template) from None
        if len(data) > limit:
            raise SecurityError(f"{template} is larger than {limit // 1024} KiB")
        filename = str(self.root / relative)
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateSyntaxError("the file is not UTF-8 text", 1, template, filename) from None

        def uptodate() -> bool:  # asked only with auto-reload (development)
            try:
                return _signature(stat_inside(self.root, relative)) == seen
            except OSError:
                return False

        return source, filename, uptodate

    def list_templates(self) -> list[str]:
        return sorted(list_inside(self.root, self.sub))


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def platform_templates_only(bp: Any) -> None:
    """Pages of ``bp`` (the owner's dashboard) use the platform's templates, never a
    shop's: a theme author's text cannot reach the owner's session or mimic its forms."""

    def start() -> None:
        from flask import g

        g.storefront_platform_templates = _without_overrides.set(True)

    def end(_exc: BaseException | None = None) -> None:
        from flask import g

        token = g.pop("storefront_platform_templates", None)
        if token is not None:
            _without_overrides.reset(token)

    bp.before_request(start)
    bp.teardown_request(end)


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
        self._loaders: LRUCache[tuple[str, ...], BaseLoader] = LRUCache(
            maxsize=app.config["REGISTRY_LRU_SIZE"]
        )
        # A shop's override list, read from its folder. In development it is read on every
        # lookup, so new override files show up at once. In production it is trusted
        # until the shop's cache generation changes (``tenantctl cache clear``, part of
        # the layer's key): a list that expired after a few seconds was read again on
        # nearly every visit of a shop once there were more shops than requests per few
        # seconds (a folder walk per page at 1,000 shops: benchmarks.md).
        self.live = bool(app.debug or app.config.get("TEMPLATES_AUTO_RELOAD"))
        self._names: LRUCache[tuple[str, ...], frozenset[str]] = LRUCache(
            maxsize=app.config["REGISTRY_LRU_SIZE"]
        )
        # What ``find`` answered, for as long as the override lists it read stay trusted:
        # a page includes a dozen templates, each looked up on every render.
        self._found: dict[tuple[Any, str], Any] = {}
        self.found_max = 4 * app.config["TEMPLATE_CACHE_SIZE"]
        # The compiled template each environment answered for a (shop chain, name), under
        # the same trust: an include then costs one dict lookup, not the layer lookup, the
        # layer-keyed cache's bookkeeping and (for a shop's own) a stat of its file.
        self.loaded: dict[tuple[Any, ...], Template] = {}

    def _loader(self, key: tuple[str, ...], folder: Path) -> BaseLoader:
        loader = self._loaders.get(key)
        if loader is None:
            # A shop's files are hostile; the shipped themes' are the platform's own.
            shop = key[0] == "shop"
            loader = ShopFolderLoader(folder) if shop else FileSystemLoader(str(folder))
            self._loaders[key] = loader
        return loader

    def _has(self, key: tuple[str, ...], folder: Path, name: str) -> bool:
        return name in self._listed(key, folder)

    def _listed(self, key: tuple[str, ...], folder: Path) -> frozenset[str]:
        names = None if self.live else self._names.get(key)
        if names is None:
            names = _template_names(folder)
            if not self.live:
                self._names[key] = names
        return names

    @staticmethod
    def chain_key(ctx: TenantContext | None) -> Any:
        own = not _without_overrides.get()
        return (ctx.uid, ctx.slug, ctx.cache_generation, ctx.theme, own) if ctx else None

    def chain(self, ctx: TenantContext | None) -> list[tuple[tuple[str, ...], Path | None]]:
        own = not _without_overrides.get()
        key = self.chain_key(ctx)
        layers = self._chains.get(key)
        if layers is None:
            layers = []
            if ctx is not None:
                if own:
                    # Keyed by the shop's never-reused identity and cache generation: a
                    # compiled override dies with `tenantctl cache clear` and with the shop.
                    shop_key = ("shop", ctx.uid, str(ctx.cache_generation))
                    layers.append((shop_key, shop_dir(self.app, ctx.slug) / "templates"))
                layers.append((("theme", ctx.theme), theme_dir(ctx.theme) / "templates"))
            layers.append((BASE_LAYER, None))
            self._chains[key] = layers
        return layers

    def find(self, name: str, ctx: TenantContext | None) -> tuple[tuple[str, ...], BaseLoader, str]:
        """The (layer key, loader, name in that layer) that supplies ``name`` for ``ctx``.

        ``@theme/x.html`` skips the shop's override (so an override can extend the version
        it replaces); ``@base/x.html`` goes straight to the base templates.
        """
        memo = (self.chain_key(ctx), name)  # the shop's identity: never another shop's
        if not self.live:
            kept = self._found.get(memo)
            if kept is not None:
                return kept  # type: ignore[no-any-return]
        found = self._find(name, self.chain(ctx), ctx)
        if not self.live:
            if len(self._found) >= self.found_max:
                self._found.clear()
            self._found[memo] = found
        return found

    def _find(
        self, name: str, chain: list[tuple[tuple[str, ...], Path | None]], ctx: Any
    ) -> tuple[tuple[str, ...], BaseLoader, str]:
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

    def shop_supplies_templates(self, ctx: TenantContext | None) -> bool:
        """Whether the shop has any template of its own (then its pages render sandboxed)."""
        if ctx is None or _without_overrides.get():
            return False
        key, folder = self.chain(ctx)[0]
        if key[0] != "shop" or folder is None:
            return False
        return bool(self._listed(key, folder))

    def invalidate(self) -> None:
        self._names.clear()
        self._found.clear()
        self.loaded.clear()


class TemplateGlobals(dict[str, Any]):
    """A template's globals with their names kept: Jinja copies the names into a new set
    for every context a page opens (the page and each include). Only
    ``LayeredEnvironment`` writes to a template's globals, and says so (``renamed``)."""

    names: frozenset[str]

    def renamed(self) -> TemplateGlobals:
        self.names = frozenset(self)
        return self


class LayeredContext(Context):
    """Jinja's context, taking the globals' names from ``TemplateGlobals``."""

    def __init__(
        self,
        environment: Environment,
        parent: dict[str, Any],
        name: str | None,
        blocks: dict[str, Any],
        globals: MutableMapping[str, Any] | None = None,
    ) -> None:
        names = getattr(globals, "names", None)
        super().__init__(environment, parent, name, blocks, None if names else globals)
        if names:
            self.globals_keys = names  # type: ignore[assignment]  # read only, by Jinja too


class TemplateCache(LRUCache[tuple[str, ...], Template]):
    """Compiled templates keyed by layer, for both environments (cachetools' LRU is O(1)
    per hit; Jinja's own moves the key through a deque, O(n) in its size). Clearing it
    also forgets which template each shop's chain was answered (``Layers.loaded``)."""

    def __init__(self, maxsize: int, layers: Layers) -> None:
        super().__init__(maxsize=maxsize)
        self.layers = layers

    def clear(self) -> None:
        self.layers.loaded.clear()
        super().clear()


class LayeredEnvironment(FlaskEnvironment):
    """Flask's Jinja environment with the layered lookup and a layer-keyed cache."""

    sandboxed = False
    context_class = LayeredContext
    layers: Layers
    sandbox: Any
    max_template_bytes = 256 * 1024

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict, not Jinja's ``ChainMap`` over the
        environment's: every context a page opens (the page, its layout, each include)
        copies the globals' names, and a ``ChainMap`` walks both maps in Python for each
        of some thirty names. The platform sets its globals while building the app, before
        any template loads (which Jinja's documentation asks anyway), so the snapshot
        misses nothing. Templates without globals of their own share one snapshot (a
        worker keeps thousands of compiled templates); nothing writes to it
        (``_load_layered`` gives a template asked for with more globals a copy)."""
        if d:
            return TemplateGlobals({**self.globals, **d}).renamed()
        shared = self.__dict__.get("_shared_globals")
        if shared is None or len(shared) != len(self.globals):  # one added since: renew
            shared = self._shared_globals = TemplateGlobals(self.globals).renamed()
        return shared

    def get_or_select_template(self, template_name_or_list: Any, *args: Any, **kw: Any) -> Any:
        """Flask's entry point for a page: a shop with templates of its own renders here
        in the sandbox, the whole page, whatever extends or includes what."""
        if not self.sandboxed and self.layers.shop_supplies_templates(current_tenant_or_none()):
            return self.sandbox.get_or_select_template(template_name_or_list, *args, **kw)
        return super().get_or_select_template(template_name_or_list, *args, **kw)

    def _load_template(self, name: str, globals: Any) -> Template:  # Jinja's name
        ctx = current_tenant_or_none()
        if globals or self.auto_reload or self.layers.live:
            return self._load_layered(name, globals, ctx)
        memo = (self.sandboxed, self.layers.chain_key(ctx), name)
        loaded = self.layers.loaded
        template = loaded.get(memo)
        if template is None:
            template = self._load_layered(name, globals, ctx)
            if len(loaded) >= self.layers.found_max:
                loaded.clear()
            loaded[memo] = template
        return template

    def _load_layered(self, name: str, globals: Any, ctx: TenantContext | None) -> Template:
        key, loader, layer_name = self.layers.find(name, ctx)
        if key[0] == "shop" and not self.sandboxed:
            # Fail closed: a trusted render must never reach a shop's text (it would
            # run with the full context). Pages of such shops render sandboxed.
            raise SecurityError(f"a trusted page reached the shop template {name!r}")
        cache_key = (("sandbox",) if self.sandboxed else ()) + key + (layer_name,)
        if self.cache is not None:
            template = self.cache.get(cache_key)  # type: ignore[arg-type]  # keyed by layer
            if template is not None and (not self.auto_reload or template.is_up_to_date):
                if globals:  # a copy: the template's globals may be the shared ones
                    template.globals = TemplateGlobals({**template.globals, **globals}).renamed()
                return template
        template = loader.load(self, layer_name, self.make_globals(globals))
        if self.cache is not None:
            self.cache[cache_key] = template  # type: ignore[index]
        return template
