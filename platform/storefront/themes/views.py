"""Layered static files and the shop's branding stylesheet."""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cachetools import TTLCache
from flask import Blueprint, Response, abort, current_app, make_response, request
from flask.typing import ResponseReturnValue
from werkzeug.wsgi import wrap_file

from ..shopfiles import open_inside
from ..tenancy.context import current_tenant_or_none
from ..tenancy.settings import Branding
from .loader import shop_dir, theme_dir

bp = Blueprint("themes", __name__)

BASE_STATIC = Path(__file__).resolve().parent.parent / "static"
LONG_CACHE = 365 * 24 * 3600


def static_folders() -> list[Path]:
    """The shop's static folder, then its theme's, then the base one."""
    ctx = current_tenant_or_none()
    folders = []
    if ctx is not None:
        folders.append(shop_dir(current_app, ctx.slug) / "static")
        folders.append(theme_dir(ctx.theme) / "static")
    folders.append(BASE_STATIC)
    return folders


def open_static(filename: str) -> BinaryIO | None:
    """The opened file that serves ``filename``, or None.

    Opened through ``open_inside`` from each folder in turn: no ``..``, no absolute path,
    no link followed, a regular file only. What is served (or fingerprinted) is the file
    this opened, never the path again: a file swapped for a link after it was first
    served is refused at its next request.
    """
    for folder in static_folders():
        try:
            return open_inside(folder.parent, f"{folder.name}/{filename}")
        except OSError:  # missing here, or refused: a link, a folder, a FIFO, "..", "/…"
            continue
    return None


def fingerprint(st: os.stat_result) -> str:
    """A short version of an opened file: changes whenever the file is edited or replaced.
    (No inode: the same file copied to several app servers keeps one URL.)"""
    key = f"{st.st_mtime_ns}:{st.st_size}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@bp.route("/static/<path:filename>", endpoint="static")
def static(filename: str) -> Response:
    """Serve a shop asset, else the theme's, else the base one (streamed from the file
    ``open_static`` opened, never reopened by name)."""
    file = open_static(filename)
    if file is None:
        abort(404)
    try:
        st = os.fstat(file.fileno())
        response = current_app.response_class(
            wrap_file(request.environ, file),
            mimetype=mimetypes.guess_type(filename)[0] or "application/octet-stream",
            direct_passthrough=True,
        )
        response.content_length = st.st_size
        response.last_modified = datetime.fromtimestamp(st.st_mtime, UTC)
        response.set_etag(fingerprint(st))
        fingerprinted = "v" in request.args
        response.cache_control.public = True
        response.cache_control.max_age = LONG_CACHE if fingerprinted else 300
        if fingerprinted:
            response.cache_control.immutable = True
        response.make_conditional(request.environ, accept_ranges=True, complete_length=st.st_size)
        return response
    except BaseException:
        file.close()
        raise


@bp.route("/branding.css")
def branding_css() -> ResponseReturnValue:
    """The shop's colours and fonts as CSS custom properties, which the themes use.

    Pages link it as ``?v=<hash of this text>`` (``branding_url``): that answer is kept a
    year, and a colour change links a new URL, so the owner sees it on the next page. A
    ``v`` that is not the current text's (an old page, a worker whose registry has not yet
    seen the change) and the bare URL are revalidated on every use, never kept stale.
    """
    ctx = current_tenant_or_none()
    if ctx is None or ctx.settings is None:
        abort(404)
    css, version = _stylesheet(ctx.settings.branding)
    response = make_response(css)
    response.mimetype = "text/css"
    response.set_etag(version)
    if request.args.get("v") == version:
        response.cache_control.public = True
        response.cache_control.max_age = LONG_CACHE
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)


def branding_url() -> str:
    """The URL of the shop's branding stylesheet, versioned by its content."""
    from flask import url_for

    ctx = current_tenant_or_none()
    if ctx is None or ctx.settings is None:
        return url_for("themes.branding_css")
    return url_for("themes.branding_css", v=_stylesheet(ctx.settings.branding)[1])


def _stylesheet(b: Branding) -> tuple[str, str]:
    """The stylesheet's text and version (every page links it: kept per set of values)."""
    return _stylesheet_of(
        b.primary_color, b.accent_color, b.background_color, b.text_color,
        b.font_family, b.heading_font or b.font_family,
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _stylesheet_of(*values: str) -> tuple[str, str]:
    css = branding_stylesheet(*values)
    return css, hashlib.sha256(css.encode()).hexdigest()[:16]


def branding_stylesheet(
    primary: str, accent: str, background: str, text: str, font: str, heading_font: str
) -> str:
    """The text of branding.css for a shop's ``[branding]`` values."""
    return (
        ":root {\n"
        f"  --color-primary: {primary};\n"
        f"  --color-accent: {accent};\n"
        # What white text sits on (buttons, badges): the brand colour, darkened only as
        # far as WCAG AA needs (4.5:1), whatever colour the owner picked.
        f"  --color-primary-strong: {readable_on_white_text(primary)};\n"
        f"  --color-accent-strong: {readable_on_white_text(accent)};\n"
        f"  --color-background: {background};\n"
        f"  --color-text: {text};\n"
        f"  --font-body: {_css_string(font)};\n"
        f"  --font-heading: {_css_string(heading_font)};\n"
        "}\n"
    )


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def readable_on_white_text(color: str) -> str:
    """``color`` (#rgb, #rrggbb or #rrggbbaa), darkened step by step until white text on
    it has a contrast of at least 4.5:1 (WCAG 2.1 AA); unchanged when it already has."""
    hex_part = color.lstrip("#")
    if len(hex_part) == 3:
        hex_part = "".join(c * 2 for c in hex_part)
    rgb = tuple(float(int(hex_part[i : i + 2], 16)) for i in (0, 2, 4))
    for _ in range(40):
        if 1.05 / (_luminance(rgb) + 0.05) >= 4.5:  # type: ignore[arg-type]
            break
        rgb = tuple(c * 0.93 for c in rgb)
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _css_string(value: str) -> str:
    # Fonts are operator input: keep only what a font stack needs, nothing that ends a rule.
    return "".join(c for c in value if c.isalnum() or c in " ,'-\"") or "sans-serif"


def static_url(filename: str) -> str:
    """A fingerprinted URL for a static file: cached for a year, changed when the file is.

    Finding the file means opening it through up to three folders and reading its stat; the
    answer is kept per shop, theme, cache generation and name for STATIC_URL_CACHE_SECONDS
    (not at all in development, where edits must show at once), so a page with four assets
    costs no file-system calls. ``tenantctl cache clear SHOP`` refreshes a shop's at once.
    """
    from flask import url_for

    if filename.startswith("/media/"):
        return filename  # an uploaded file (a logo): its key already names its content
    ctx = current_tenant_or_none()
    key = (ctx.slug, ctx.theme, ctx.cache_generation, filename) if ctx else ("", filename)
    urls = _static_urls()
    if urls is not None and (known := urls.get(key)) is not None:
        return known
    file = open_static(filename)
    if file is None:
        url = url_for("themes.static", filename=filename)
    else:
        with file:
            version = fingerprint(os.fstat(file.fileno()))
        url = url_for("themes.static", filename=filename, v=version)
    if urls is not None:
        urls[key] = url
    return url


def _static_urls() -> TTLCache[tuple[object, ...], str] | None:
    """The app's static-URL cache, or None in development (template auto-reload on)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.jinja_env.auto_reload:
        return None
    urls = app.extensions.get("storefront.static_urls")
    if urls is None:
        urls = app.extensions["storefront.static_urls"] = TTLCache(
            maxsize=4 * app.config["REGISTRY_LRU_SIZE"],
            ttl=float(app.config["STATIC_URL_CACHE_SECONDS"]),
        )
    return urls
