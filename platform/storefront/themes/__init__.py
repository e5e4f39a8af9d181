"""Themes: the layered template chain, the sandbox for shop overrides, layered assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachetools import LRUCache
from flask import Flask, get_flashed_messages, url_for
from jinja2 import FileSystemBytecodeCache

from ..i18n import GETTEXT_GLOBALS, default_url, html_lang, install_gettext, language_links
from ..tenancy.settings import register_themes
from .budget import BudgetedNamespace, Limits, budgeted_range
from .loader import LayeredEnvironment, Layers, shipped_themes
from .sandbox import ShopSandbox, helper
from .views import bp, static_url

# Jinja's default globals a shop template keeps: range and namespace in budgeted forms;
# lipsum is dropped (it writes as much text as it is asked to).
SANDBOX_GLOBALS = {
    "range": budgeted_range,
    "namespace": BudgetedNamespace,
}
JINJA_DEFAULT_GLOBALS = ("dict", "cycler", "joiner")

register_themes(shipped_themes())  # tenant.toml may name these


def init_themes(app: Flask) -> None:
    """Wire the layered loader and the shop sandbox into the app's Jinja environment."""
    env = app.jinja_env
    if not isinstance(env, LayeredEnvironment):
        raise TypeError("the app must use LayeredEnvironment (StorefrontFlask does)")
    assert env.loader is not None  # noqa: S101 - Flask always gives the app a loader
    env.layers = Layers(app, env.loader)
    env.globals["static_url"] = static_url
    # Escapes exactly as the trusted environment does (Flask passes autoescape itself).
    sandbox = ShopSandbox(app, autoescape=app.select_jinja_autoescape, **app.jinja_options)
    sandbox.layers = env.layers
    sandbox.auto_reload = env.auto_reload
    sandbox.limits = Limits.from_config(app.config)
    env.max_template_bytes = sandbox.max_template_bytes = int(
        app.config.get("TEMPLATE_MAX_FILE_BYTES", 256 * 1024)
    )
    # One LRU for both environments (keys say which one compiled a template). cachetools'
    # LRU is O(1) per hit; Jinja's own moves the key through a deque, O(n) in its size.
    env.cache = LRUCache(maxsize=app.config["TEMPLATE_CACHE_SIZE"])
    sandbox.cache = env.cache
    sandbox.filters.update(env.filters)
    sandbox.tests.update(env.tests)
    sandbox.globals.clear()
    sandbox.globals.update({name: env.globals[name] for name in JINJA_DEFAULT_GLOBALS})
    sandbox.globals.update({name: helper(fn) for name, fn in SANDBOX_GLOBALS.items()})
    sandbox.install_budgeted_filters()
    # The shop's templates speak the shop's languages too: _(), ngettext(), {% trans %}.
    sandbox.add_extension("jinja2.ext.i18n")
    install_gettext(sandbox)
    for name in GETTEXT_GLOBALS:
        helper(sandbox.globals[name])
    install_gettext(env)
    env.sandbox = sandbox
    _bytecode_caches(app, env, sandbox)
    app.extensions["storefront.sandbox_globals"] = sandbox.globals
    app.register_blueprint(bp)
    add_safe_globals(
        app,
        url_for=url_for,
        static_url=static_url,
        get_flashed_messages=get_flashed_messages,
        html_lang=html_lang,
        language_links=language_links,
        default_url=default_url,
    )


def add_safe_globals(app: Flask, **helpers: Any) -> None:
    """Expose helpers to every template, shop overrides included."""
    for name, fn in helpers.items():
        wrapped = helper(_wrap(fn))
        app.jinja_env.globals[name] = fn
        app.jinja_env.sandbox.globals[name] = wrapped  # type: ignore[attr-defined]


def add_safe_values(app: Flask, **values: str | int) -> None:
    """Expose plain constants to every template, shop overrides included."""
    for name, value in values.items():
        app.jinja_env.globals[name] = value
        app.jinja_env.sandbox.globals[name] = value  # type: ignore[attr-defined]


def _wrap(fn: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = getattr(fn, "__name__", "helper")
    return call


def _bytecode_caches(app: Flask, env: Any, sandbox: Any) -> None:
    """Compiled templates evicted from the in-memory LRU come back from disk, not the parser.

    With thousands of shops overriding templates, the LRU (TEMPLATE_CACHE_SIZE) bounds
    memory; Jinja's bytecode cache makes a miss cost an unmarshal instead of a compile.
    The sandbox compiles different code for the same file, so it gets its own folder.
    """
    folder = app.config.get("TEMPLATE_BYTECODE_DIR")
    if folder is False:
        return
    root = Path(folder or Path(app.instance_path) / "template-cache")
    for environment, name in ((env, "trusted"), (sandbox, "sandbox")):
        path = root / name
        path.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(path))
