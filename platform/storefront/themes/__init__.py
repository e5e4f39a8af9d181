"""Themes: the layered template chain, the sandbox for shop overrides, layered assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, get_flashed_messages, url_for
from flask.globals import _cv_request  # the request context, without a proxy
from jinja2 import FileSystemBytecodeCache

from ..i18n import GETTEXT_GLOBALS, default_url, html_lang, install_gettext, language_links
from ..tenancy.settings import register_themes
from .budget import BudgetedNamespace, Limits, budgeted_range
from .budgeted import budgeted_gettext
from .loader import LayeredEnvironment, Layers, TemplateCache, shipped_themes
from .sandbox import SANDBOX_CODE, ShopSandbox, helper
from .views import bp, branding_url, static_url

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
    # One cache for both environments (keys say which one compiled a template).
    env.cache = TemplateCache(app.config["TEMPLATE_CACHE_SIZE"], env.layers)  # type: ignore[assignment]  # keyed by layer
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
    for name in GETTEXT_GLOBALS:  # sized with their values before they format (widths)
        gettext = sandbox.globals[name]
        assert callable(gettext)  # noqa: S101 - install_gettext put it there
        sandbox.globals[name] = helper(budgeted_gettext(name, gettext))
    install_gettext(env)
    env.sandbox = sandbox
    _bytecode_caches(app, env, sandbox)
    app.extensions["storefront.sandbox_globals"] = sandbox.globals
    app.register_blueprint(bp)
    add_safe_globals(
        app,
        url_for=page_url_for,
        static_url=static_url,
        branding_url=branding_url,
        get_flashed_messages=get_flashed_messages,
        html_lang=html_lang,
        language_links=language_links,
        default_url=default_url,
    )


_URLS_KEY = "storefront.page_urls"
_URLS_MAX = 5_000


def page_url_for(endpoint: str, **values: Any) -> str:
    """``url_for`` for pages: a link without arguments (the header's "Products", "Cart",
    "Log in") is built once per app, language prefix and endpoint, not on every page.

    Only links relative to the request's root are kept: with arguments (``_external``
    among them) it is ``url_for`` itself. The root (``script_root``) carries the language
    prefix, the only part of such a link that varies by request.
    """
    ctx = _cv_request.get(None)
    if values or ctx is None:
        return url_for(endpoint, **values)
    request = ctx.request
    key = (request.script_root, request.blueprint if endpoint[:1] == "." else "", endpoint)
    kept: dict[tuple[str, str | None, str], str] = ctx.app.extensions.setdefault(_URLS_KEY, {})
    found = kept.get(key)
    if found is None:
        found = url_for(endpoint)
        if len(kept) >= _URLS_MAX:
            kept.clear()
        kept[key] = found
    return found


def page_security_url(endpoint: str, **values: Any) -> str:
    """Flask-Security's ``url_for_security``, through ``page_url_for``."""
    blueprint = current_app.config.get("SECURITY_BLUEPRINT_NAME", "security")
    return page_url_for(f"{blueprint}.{endpoint.lstrip('.')}", **values)


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
    # The sandbox's folder carries the version of its compile-time rewrites (budgeted
    # loops, `~` and output): bytecode from before a change must not load after it.
    for environment, name in ((env, "trusted"), (sandbox, f"sandbox-{SANDBOX_CODE}")):
        path = root / name
        path.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(path))
