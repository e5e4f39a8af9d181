"""Mails as the shop's pages are drawn: the same template chain, sandbox and budgets.

A mail is two templates, ``<name>.txt`` (the plain part) and ``<name>.html``; the HTML
ones extend ``mail/base.html``. Both are looked up like a page's (the shop's own folder,
then its theme, then the platform's), so a shop may override ``mail/base.html`` or one
mail, and a shop that supplies any template gets its mails rendered in the sandbox,
within the page budgets, with the same curated context.

A shop's override that fails (over budget, refused by the sandbox, a syntax error) does
not stop the mail: that part is drawn again from the platform's templates, with the
shop's branding, and the failure is logged. A password reset or an order confirmation
must arrive whatever a theme author wrote; the fallback renders nothing of the shop's
text, so it cannot leak what the sandbox refused. A failure of the platform's own
templates is raised (the outbox retries the job).

Mail clients ignore most ``<style>`` sheets, so the layout carries inline styles, built
here from the shop's branding colours (``MailView``): text that passes WCAG AA on the
shop's background whatever was saved, and buttons on the branding stylesheet's darkened
"-strong" shade under white text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app, has_request_context, render_template
from jinja2 import TemplateError

from ..i18n import current_locale, shop_locales, tag_of
from ..shared import SafeView
from ..tenancy.context import current_tenant, current_tenant_or_none
from ..tenancy.contrast import AA_NORMAL_TEXT, contrast_ratio, nearest_passing
from ..tenancy.request_hooks import shop_base_url
from .loader import without_shop_templates
from .views import _css_string, readable_on_white_text, static_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedMail:
    """A mail's two parts, in the reader's language."""

    text: str
    html: str


@dataclass(frozen=True)
class MailView(SafeView):
    """What ``mail/base.html`` needs of the shop's branding: colours and ready inline
    ``style`` values (plain text, escaped like any value), and the logo's absolute URL."""

    logo_url: str
    primary: str  # links and headings: passes AA on the background
    button: str  # under white text: passes AA
    background: str
    text: str
    font: str
    heading_font: str
    body_style: str
    header_style: str
    heading_style: str
    text_style: str
    link_style: str
    button_style: str
    table_style: str
    cell_style: str
    footer_style: str


def _readable(colour: str, background: str) -> str:
    """``colour``, or its nearest shade that passes WCAG AA on ``background`` (a shop saved
    before the contrast rule may still hold a pair below it)."""
    if contrast_ratio(colour, background) >= AA_NORMAL_TEXT:
        return colour
    return nearest_passing(colour, background)


def _six(colour: str) -> str:
    """``#rgb``, ``#rrggbb`` or ``#rrggbbaa`` as ``#rrggbb`` (mail clients know that one)."""
    digits = colour.lstrip("#")
    if len(digits) in (3, 4):
        digits = "".join(c * 2 for c in digits[:3])
    return "#" + digits[:6].lower()


@lru_cache(maxsize=1024)
def _styles(
    primary: str, background: str, text: str, font: str, heading_font: str
) -> dict[str, str]:
    # Colours are validated (#rgb, #rrggbb, #rrggbbaa) and fonts filtered to what a font
    # stack needs, so nothing here can end a declaration or the attribute.
    primary, background, text = _six(primary), _six(background), _six(text)
    ink = _readable(text, background)
    link = _readable(primary, background)
    button = readable_on_white_text(primary)
    font, heading_font = _css_string(font), _css_string(heading_font)
    return {
        "primary": link,
        "button": button,
        "background": background,
        "text": ink,
        "font": font,
        "heading_font": heading_font,
        "body_style": (
            f"margin:0;padding:0;background-color:{background};color:{ink};"
            f"font-family:{font};font-size:16px;line-height:1.5"
        ),
        "header_style": (
            f"background-color:{button};color:#ffffff;padding:16px 24px;"
            f"font-family:{heading_font};font-size:20px;font-weight:bold"
        ),
        "heading_style": (
            f"color:{link};font-family:{heading_font};font-size:22px;margin:0 0 16px 0"
        ),
        "text_style": f"color:{ink};font-family:{font};font-size:16px;margin:0 0 12px 0",
        "link_style": f"color:{link};text-decoration:underline",
        "button_style": (
            f"display:inline-block;background-color:{button};color:#ffffff;"
            f"font-family:{font};font-size:16px;font-weight:bold;text-decoration:none;"
            "padding:12px 20px;border-radius:4px"
        ),
        "table_style": f"width:100%;border-collapse:collapse;color:{ink};font-family:{font}",
        "cell_style": f"padding:6px 4px;border-bottom:1px solid {ink}22;text-align:left",
        "footer_style": (
            f"color:{ink};font-family:{font};font-size:13px;padding:16px 24px;"
            f"border-top:1px solid {ink}33"
        ),
    }


def mail_view() -> MailView:
    """The bound shop's branding as the mail layout uses it (needs a request context:
    see ``mail_request``)."""
    ctx = current_tenant()
    if ctx.settings is None:
        raise ValueError(f"shop {ctx.slug} has no valid settings")
    b = ctx.settings.branding
    styles = _styles(
        b.primary_color,
        b.background_color,
        b.text_color,
        b.font_family,
        b.heading_font or b.font_family,
    )
    return MailView(logo_url=logo_url(b.logo), **styles)


def logo_url(logo: str | None) -> str:
    """The shop's logo as an absolute URL on its own domain ("" without one): a mail is
    read far from the shop, so a path alone would lead nowhere."""
    if not logo:
        return ""
    if logo.startswith(("https://", "http://")):
        return logo
    path = static_url(logo if logo.startswith("/media/") else logo.removeprefix("/static/"))
    return shop_base_url(current_tenant()) + path if path.startswith("/") else path


@contextmanager
def mail_request(fresh: bool = False) -> Iterator[None]:
    """A request context whose links are the bound shop's (``url_for(..., _external=True)``
    builds them on its primary domain): the current one inside a request (whose URL
    adapter already builds for the shop), else (or when ``fresh``) a made-up one whose
    links carry the current language's prefix, as the reader's own pages do."""
    if has_request_context() and not fresh:
        yield
        return
    ctx = current_tenant()
    base = shop_base_url(ctx) + "/"
    locales = shop_locales(ctx)
    locale = current_locale()
    if locale in locales[1:]:  # the shop's first language has no prefix
        base += tag_of(locale, locales) + "/"
    with current_app.test_request_context("/", base_url=base):
        yield


def render_mail_part(template: str, **context: Any) -> str:
    """One part of a mail (``…/name.txt`` or ``…/name.html``), as described above: with
    the shop's templates, or the platform's when the shop's fail."""
    context.setdefault("mail", mail_view())
    try:
        return render_template(template, **context)
    except TemplateError as exc:
        if not _shop_supplies_templates():
            raise
        log.warning(
            "mail template %s of shop %s failed (%s: %s); sent with the platform's",
            template,
            current_tenant().slug,
            type(exc).__name__,
            exc,
        )
        with without_shop_templates():
            return render_template(template, **context)


def render_mail(name: str, **context: Any) -> RenderedMail:
    """``name.txt`` and ``name.html`` for the bound shop, with its links (builds a request
    context when there is none). The caller chooses the language (``shop_locale``)."""
    with mail_request():
        context.setdefault("mail", mail_view())
        return RenderedMail(
            text=render_mail_part(f"{name}.txt", **context),
            html=render_mail_part(f"{name}.html", **context),
        )


def _shop_supplies_templates() -> bool:
    env: Any = current_app.jinja_env
    return bool(env.layers.shop_supplies_templates(current_tenant_or_none()))
