"""The shop's languages: which locale a request speaks, the catalogs, the shop's own wording.

A shop lists its locales in ``tenant.toml`` (``locales = ["de_DE", "en_GB"]``, the first
the default). A request speaks, in this order:

1. the locale named by the URL's prefix (``/de/…``, ``/en/…``): what search engines see;
2. ``?locale=`` (the API's way), then the ``locale`` cookie (the shopper's last choice);
3. the best match of ``Accept-Language`` among the shop's locales;
4. the shop's default.

Messages come from the platform's catalogs (``translations/``, one per language), with
the shop's ``[texts.<locale>]`` overrides on top. Flask-Babel keeps one translations
object per (locale, domain) for the whole process; ``ShopDomain`` keys the merged one by
shop too, so one shop's wording never reaches another that shares the locale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale, dates
from babel.support import NullTranslations, Translations
from cachetools import LRUCache
from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
)
from flask.globals import _cv_app  # the app context, without a proxy (page_translations)
from flask.typing import ResponseReturnValue
from flask_babel import (
    Babel,
    Domain,
    force_locale,
    get_locale,
    get_timezone,
    get_translations,
)
from flask_babel import gettext as _
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound

from ..problems import wants_json
from ..shared import SafeView
from ..tenancy.context import TenantContext, current_tenant_or_none
from ..tenancy.request_hooks import PLATFORM_SITE, shop_base_url
from ..tenancy.settings import ShopSettings
from .numbers import count, format_count, format_rate

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
PLATFORM_LOCALE = "en"  # pages with no shop (unknown hosts) and the CLI
COOKIE = "locale"
COOKIE_MAX_AGE = 365 * 24 * 3600
ENVIRON_TAG = "storefront.url_locale"
# A locale prefix is a language (``de``) or a language and region (``de-at``); two
# letters only, so no other first path segment (``api``, ``static``) is ever taken.
_PREFIX = re.compile(r"^/([a-z]{2}(?:-[a-z]{2})?)(?=/|$)")


# Which locale ------------------------------------------------------------------------


def shop_locales(ctx: TenantContext | None) -> tuple[str, ...]:
    if ctx is None or ctx.settings is None:
        return ()
    return ctx.settings.all_locales


def url_tags(locales: tuple[str, ...]) -> dict[str, str]:
    """URL prefix -> locale: the language alone, with the region where two share one."""
    languages = [loc.split("_")[0].lower() for loc in locales]
    tags = {}
    for locale, language in zip(locales, languages, strict=True):
        if languages.count(language) == 1:
            tags[language] = locale
        else:
            tags[locale.lower().replace("_", "-")] = locale
    return tags


def tag_of(locale: str, locales: tuple[str, ...]) -> str:
    return next(tag for tag, loc in url_tags(locales).items() if loc == locale)


def match_locale(wanted: str, locales: tuple[str, ...]) -> str | None:
    """The shop locale ``wanted`` (``de``, ``de-DE``, ``de_de``) names, if any."""
    key = wanted.strip().replace("-", "_").lower()
    if not key or len(key) > 20:
        return None
    for locale in locales:
        if locale.lower() == key:
            return locale
    language = key.split("_")[0]
    return next((loc for loc in locales if loc.split("_")[0].lower() == language), None)


def select_locale() -> str:
    """Flask-Babel's locale selector (see the module's docstring for the order)."""
    ctx = current_tenant_or_none()
    locales = shop_locales(ctx)
    if not locales:
        if ctx is None and has_request_context() and request.environ.get(PLATFORM_SITE):
            locales = platform_locales()  # the sign-up pages speak every shipped language
        else:
            return PLATFORM_LOCALE
    if not has_request_context():
        # The CLI speaks English; a job that writes to someone says whom with shop_locale().
        return PLATFORM_LOCALE
    if len(locales) == 1:
        return locales[0]  # nothing to choose between (a prefix it lacks is a 404)
    return negotiate(
        locales,
        request.environ.get(ENVIRON_TAG),
        request.args.get("locale", ""),
        request.cookies.get(COOKIE, ""),
        request.accept_languages,
    )


def platform_locales() -> tuple[str, ...]:
    """The languages of the platform's own pages (sign-up): those a new shop can speak."""
    return tuple(current_app.config["SIGNUP_LOCALES"])


def _babel_selector() -> Locale:
    """What Flask-Babel asks once a request: ``select_locale``'s answer as Babel's
    object, parsed once per locale (Flask-Babel would parse the name on every request)."""
    return parsed_locale(select_locale())


def parsed_locale(name: str) -> Locale:
    """Babel's object for a locale name, parsed once per name (a shop's locales are
    validated names, so these are few)."""
    locale = _PARSED.get(name)
    if locale is None:
        locale = _PARSED[name] = Locale.parse(name)
    return locale


_PARSED: dict[str, Locale] = {}


def negotiate(
    locales: tuple[str, ...],
    tag: str | None,
    asked: str,
    cookie: str,
    accepted: Iterable[tuple[str, float]],
) -> str:
    """The page's locale among the shop's: the URL's prefix, else ``?locale=``, else the
    cookie, else the best ``Accept-Language`` match, else the shop's default. Pure: the
    page cache (``caching.PageCache``) decides with it before Flask runs."""
    if tag:
        return url_tags(locales).get(tag, locales[0])
    for wanted in (asked, cookie):
        found = match_locale(wanted, locales)
        if found:
            return found
    for wanted, _quality in accepted:
        found = match_locale(wanted, locales)
        if found:
            return found
    return locales[0]


def select_timezone() -> str | None:
    ctx = current_tenant_or_none()
    return ctx.settings.timezone if ctx and ctx.settings else None


def current_locale() -> str:
    locale = active_locale()
    if locale is None:
        return PLATFORM_LOCALE
    name = _LOCALE_NAMES.get(locale)
    if name is None:
        if len(_LOCALE_NAMES) >= 1024:
            _LOCALE_NAMES.clear()
        name = _LOCALE_NAMES[locale] = str(locale)
    return name


_LOCALE_NAMES: dict[Locale, str] = {}  # str(Locale) builds the name anew each time


def babel_locale() -> Locale:
    """The active locale as Babel's object (formatting with it skips parsing a string)."""
    return active_locale() or parsed_locale(PLATFORM_LOCALE)


def active_locale() -> Locale | None:
    """Flask-Babel's ``get_locale()``: what it chose for this request, read from the app
    context once chosen (a page asks half a dozen times; each of Flask-Babel's own asks
    goes through ``g``'s proxy twice)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        chosen = getattr(ctx.g.__dict__.get("_flask_babel"), "babel_locale", None)
        if chosen is not None:
            return chosen  # type: ignore[no-any-return]
    return get_locale()


@contextmanager
def shop_locale(locale: str | None) -> Iterator[None]:
    """Speak ``locale`` inside (a mail to someone who ordered in it), if the shop still
    speaks it; the shop's default otherwise."""
    locales = shop_locales(current_tenant_or_none())
    chosen = locale if locale in locales else (locales[0] if locales else PLATFORM_LOCALE)
    with force_locale(chosen):
        yield


# Dates in the shop's time zone and the reader's language ------------------------------


def format_when(value: datetime | None) -> str:
    """A moment (stored as naive UTC) in the shop's time zone and the reader's language:
    "25. Nov. 2026, 14:31", "Nov 25, 2026, 2:31 PM"."""
    if value is None:
        return ""
    locale = active_locale() or parsed_locale(PLATFORM_LOCALE)
    moment = _aware(value)
    tz = get_timezone()
    day = dates.format_skeleton("yMMMd", moment, tzinfo=tz, locale=locale)
    time = dates.format_time(moment, "short", tzinfo=tz, locale=locale)
    pattern = str(locale.datetime_formats.get("medium", "{1}, {0}")).replace("'", "")
    return pattern.replace("{1}", day).replace("{0}", time)


def format_day(value: datetime | None) -> str:
    """A day in the shop's time zone: "25. Nov. 2026"."""
    if value is None:
        return ""
    locale = active_locale() or parsed_locale(PLATFORM_LOCALE)
    return dates.format_skeleton("yMMMd", _aware(value), tzinfo=get_timezone(), locale=locale)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def language_name(locale: str) -> str:
    """``de_DE`` named in the reader's language: "Deutsch (Deutschland)", "German (Germany)"."""
    try:
        return Locale.parse(locale).get_display_name(current_locale()) or locale
    except (ValueError, TypeError):
        return locale


# The URL prefix ----------------------------------------------------------------------


class LocalePrefix:
    """``/de/products`` is ``/products`` in German: the prefix moves into ``SCRIPT_NAME``,
    so routing is unchanged and every link ``url_for`` builds keeps the language."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        found = _PREFIX.match(path)
        if found:
            tag = found.group(1)
            environ[ENVIRON_TAG] = tag
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + tag
            environ["PATH_INFO"] = path[found.end() :] or "/"
        return self.wsgi_app(environ, start_response)


def check_prefix() -> ResponseReturnValue | None:
    """``before_request``: a prefix the shop does not speak is a page that does not exist."""
    tag = request.environ.get(ENVIRON_TAG)
    ctx = current_tenant_or_none()
    if tag and ctx is not None and tag not in url_tags(shop_locales(ctx)):
        raise NotFound()
    return None


def say_language(response: Response) -> Response:
    """``after_request``: which language the page is in, and what chose it (a page
    without a prefix depends on ``?locale=``, the cookie or ``Accept-Language``).

    A prefixed page sets no cookie: it is the same page for everyone, so a shared cache
    may keep it. The switcher remembers a choice (``choose_language``)."""
    ctx = current_tenant_or_none()
    locales = shop_locales(ctx)
    # The API says its language on every answer, a shop's or the platform's (English).
    if (locales or wants_json()) and response.mimetype in ("text/html", "application/json"):
        response.headers.setdefault("Content-Language", html_lang())
    if len(locales) >= 2 and not request.environ.get(ENVIRON_TAG):
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def choose_language(tag: str) -> ResponseReturnValue:
    """``/_language/<tag>?next=/path``: the switcher's link. Remembers the shopper's choice
    (for the pages without a prefix: a redirect after login, a bookmark of ``/``) and
    shows the page they were on in that language."""
    ctx = current_tenant_or_none()
    locale = url_tags(shop_locales(ctx)).get(tag)
    if locale is None:
        raise NotFound()
    wanted = request.args.get("next", "/")[:2000]
    local = wanted.startswith("/") and not wanted.startswith(("//", "/\\"))
    response = redirect(f"/{tag}{wanted if local else '/'}", code=303)
    response.set_cookie(
        COOKIE,
        locale,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# The page's languages, for the switcher and hreflang -------------------------------------


@dataclass(frozen=True)
class LanguageLink(SafeView):
    locale: str  # de_DE
    lang: str  # de-DE, for hreflang and lang attributes
    label: str  # "Deutsch": each language named in itself
    url: str  # this page in that language
    current: bool
    choose_url: str = ""  # the switcher's link: remembers the choice, then shows ``url``


def html_lang() -> str:
    """The BCP 47 tag of the text on this page, for ``<html lang>``."""
    return current_locale().replace("_", "-")


def language_links() -> tuple[LanguageLink, ...]:
    """This page in each of the shop's languages (empty when it speaks one)."""
    ctx = current_tenant_or_none()
    locales = shop_locales(ctx)
    if len(locales) < 2 or not has_request_context():
        return ()
    assert ctx is not None  # noqa: S101 - shop_locales returned some
    base = shop_base_url(ctx)
    path = request.full_path.rstrip("?") if request.method == "GET" else "/"
    active = current_locale()
    links = []
    languages = [loc.split("_")[0] for loc in locales]
    for tag, locale in url_tags(locales).items():
        parsed = Locale.parse(locale)
        # "Deutsch", or "Deutsch (Österreich)" beside another German
        alone = languages.count(parsed.language) == 1
        name = (
            parsed.get_language_name(locale) if alone else parsed.get_display_name(locale)
        ) or locale
        links.append(
            LanguageLink(
                locale=locale,
                lang=locale.replace("_", "-"),
                label=name[:1].upper() + name[1:],
                url=f"{base}/{tag}{path}",
                current=locale == active,
                choose_url=f"{base}/_language/{tag}?{urlencode({'next': path})}",
            )
        )
    return tuple(links)


def default_url() -> str:
    """This page without a language prefix (``hreflang="x-default"``)."""
    ctx = current_tenant_or_none()
    if ctx is None or not has_request_context():
        return ""
    return shop_base_url(ctx) + request.full_path.rstrip("?")


# The shop's own texts in the active language ------------------------------------------


def shop_text(settings: ShopSettings, name: str) -> str:
    """One of the shop's texts (``footer_text``, ``mail_footer``, ``shipping_label``,
    ``payment_instructions``) in the active locale: its ``[content.<locale>]`` version,
    else the default one, else the platform's wording."""
    override = settings.content.get(current_locale())
    value = getattr(override, name, None) if override is not None else None
    if value:
        return str(value)
    if name == "footer_text":
        return settings.branding.footer_text
    if name == "banner_text":
        return settings.branding.banner_text
    if name == "mail_footer":
        return settings.mail.footer
    if name == "shipping_label":
        return settings.shipping.label or _("Standard shipping")
    if name == "payment_instructions":
        return settings.payment.instructions or _(
            "Pay by bank transfer; we ship when the payment arrives."
        )
    if name == "cash_on_delivery_instructions":
        return settings.payment.cash_on_delivery_instructions or _(
            "Pay the courier when your parcel arrives."
        )
    raise KeyError(name)


def localized(translations: dict[str, dict[str, str]] | None, field: str, default: str) -> str:
    """A shop content field (a product's title, a category's name) in the active locale,
    falling back to the default-locale text stored on the row itself."""
    if translations:
        text = (translations.get(current_locale()) or {}).get(field)
        if text:
            return text
    return default


def localized_meta(
    translations: dict[str, dict[str, str]] | None, field: str, default: str | None, content: str
) -> str:
    """What search engines show (``meta_title``, ``meta_description``) in the active locale.

    The locale's own text first; else, when the row's ``content`` field (its title, name)
    is translated into the locale, "" (the page makes it from that translated content:
    the owner's text in another language would not describe it); else the default-locale
    text on the row, as the page itself shows the default-locale content.
    """
    own = (translations or {}).get(current_locale()) or {}
    if own.get(field):
        return own[field]
    if own.get(content):
        return ""
    return default or ""


def shop_locales_of_bound() -> tuple[str, ...]:
    return shop_locales(current_tenant_or_none())


def other_locales() -> tuple[str, ...]:
    """The bound shop's locales besides its default: those its content is translated into."""
    return shop_locales(current_tenant_or_none())[1:]


def link_label(labels: dict[str, str], default: str) -> str:
    return labels.get(current_locale()) or default


# Catalogs and the shop's own wording -------------------------------------------------


class ShopDomain(Domain):
    """The platform's catalogs, with the bound shop's ``[texts.<locale>]`` on top."""

    def __init__(self, directories: list[str], cache_size: int = 1000) -> None:
        super().__init__(translation_directories=directories, domain="messages")
        self.shop_cache: LRUCache[tuple[str, int, str], Translations] = LRUCache(cache_size)

    def get_translations(self) -> NullTranslations:
        """The request's translations, worked out once per request and locale (a page asks
        for a dozen messages; ``force_locale`` gives a new locale, so a mail rendered
        inside one gets its own)."""
        locale = active_locale()
        if has_app_context():
            hit = g.get(_TRANSLATIONS_KEY)
            if hit is not None and hit[0] is locale:
                return hit[1]
        result = self._translations_for(str(locale or PLATFORM_LOCALE))
        if has_app_context():
            setattr(g, _TRANSLATIONS_KEY, (locale, result))
        return result

    def _translations_for(self, locale: str) -> NullTranslations:
        base = super().get_translations()
        ctx = current_tenant_or_none()
        if ctx is None or ctx.settings is None or not ctx.settings.texts:
            return base
        texts = ctx.settings.texts.get(locale)
        if not texts:
            return base
        key = (ctx.uid, ctx.cache_generation, locale)
        merged = self.shop_cache.get(key)
        if merged is None:
            merged = self.shop_cache[key] = with_overrides(base, texts)
        return merged


_TRANSLATIONS_KEY = "_storefront_translations"


class ShopWording(str):
    """A shop's own wording for a platform message: text, never markup.

    Jinja treats a translation as markup (``Markup(text)``: the platform's catalogs are
    trusted) and so does Flask-Babel's lazy string (its ``__html__`` hands the text over
    as is), so a quote in a shop's wording used to end an HTML attribute. Both ask the
    text for its HTML (``Markup()`` and ``escape()`` call ``__html__``), and this answer
    is the text escaped: every way a translation reaches a page escapes a shop's wording
    as text. ``str()`` and ``%`` keep the mark, so a lazy string and a formatted message
    carry it to where they are shown; anything else makes a plain ``str``, which Jinja
    escapes anyway."""

    __slots__ = ()

    def __html__(self) -> Markup:
        return escape(str.__str__(self))

    def __str__(self) -> str:
        return self  # str() of a lazy string must keep the mark (see above)

    def __mod__(self, values: Any) -> ShopWording:
        return ShopWording(str.__mod__(self, values))


def with_overrides(base: NullTranslations, texts: dict[str, str | list[str]]) -> Translations:
    """A copy of ``base`` whose messages ``texts`` replaces (lists are plural forms)."""
    merged = Translations()
    catalog = dict(getattr(base, "_catalog", {}))
    for msgid, text in texts.items():
        if isinstance(text, list):
            for index, form in enumerate(text):
                catalog[(msgid, index)] = ShopWording(form)
        else:
            catalog[msgid] = ShopWording(text)
    merged._catalog = catalog  # type: ignore[attr-defined]
    merged.plural = getattr(base, "plural", merged.plural)  # type: ignore[attr-defined]
    return merged


def page_translations() -> NullTranslations:
    """The request's translations: what ``ShopDomain`` worked out for this request and
    locale, straight from the app context's ``g`` (a page asks for a dozen labels;
    Flask-Babel's own path looks the domain and the locale up again for each, through
    three context-local proxies). ``force_locale`` changes Flask-Babel's locale object,
    so a mail rendered inside one misses and works out its own."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        data = ctx.g.__dict__
        hit = data.get(_TRANSLATIONS_KEY)
        babel = data.get("_flask_babel")
        if hit is not None and hit[0] is getattr(babel, "babel_locale", None):
            return hit[1]  # type: ignore[no-any-return]
    return get_translations()


# What Jinja's i18n extension calls, "new style" (autoescaped, always %-formatted with
# the keywords) as ``install_gettext_callables(newstyle=True)`` makes them, but one call
# each: Jinja's own wrappers go through three ``Context.call``s per label. Marking the
# text Markup is what Jinja does: the catalogs are the platform's. A shop's own wording
# is a ``ShopWording``, which ``Markup()`` escapes as text (attributes included).


@pass_eval_context
def _gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    text = page_translations().ugettext(string)
    if not variables and "%" not in text:
        return Markup(text) if eval_ctx.autoescape else text  # noqa: S704 - as below
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # type: ignore[no-any-return]  # noqa: S704


@pass_eval_context
def _ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", count(num))  # "%(num)s" in the reader's digits
    text = page_translations().ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # type: ignore[no-any-return]  # noqa: S704


@pass_eval_context
def _pgettext(eval_ctx: EvalContext, context: str, string: str, /, **variables: Any) -> str:
    variables.setdefault("context", context)
    text = page_translations().upgettext(context, string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # type: ignore[no-any-return]  # noqa: S704


@pass_eval_context
def _npgettext(
    eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", count(num))
    text = page_translations().unpgettext(context, singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # type: ignore[no-any-return]  # noqa: S704


def install_gettext(env: Any) -> None:
    """Give ``env`` (with Jinja's i18n extension) the request's translations: ``_()``,
    ``gettext()``, ``ngettext()``, ``pgettext()``, ``npgettext()`` and ``{% trans %}``."""
    env.install_null_translations(newstyle=True)  # compiles {% trans %} new style
    env.globals.update(
        {
            "_": _gettext,
            "gettext": _gettext,
            "ngettext": _ngettext,
            "pgettext": _pgettext,
            "npgettext": _npgettext,
        }
    )


GETTEXT_GLOBALS = ("_", "gettext", "ngettext", "pgettext", "npgettext")


def init_i18n(app: Flask) -> Babel:
    """Flask-Babel with the shop's locale and time zone; the URL prefix; the catalogs.

    Before ``init_tenancy``: the prefix must come off the path after ``RootMount`` has
    folded any server-given ``SCRIPT_NAME`` back into it, so it wraps the app first.
    """
    app.config.setdefault("BABEL_DEFAULT_LOCALE", PLATFORM_LOCALE)
    babel = Babel(app, locale_selector=_babel_selector, timezone_selector=select_timezone)
    babel.domain_instance = ShopDomain([str(TRANSLATIONS_DIR)])  # type: ignore[misc]
    app.wsgi_app = LocalePrefix(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(check_prefix)
    app.after_request(say_language)
    app.add_url_rule("/_language/<tag>", "choose_language", choose_language)
    app.jinja_env.filters.update(
        when=format_when, day=format_day, number=format_count, percent=format_rate
    )
    app.jinja_env.globals["markup"] = Markup  # platform templates only (never the sandbox)
    return babel
