"""The sign-up pages, on the platform's own domain only (``tenancy.request_hooks``
marks those requests; everywhere else these routes do not exist)."""

from __future__ import annotations

import logging
from typing import Any

from babel import Locale
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives
from limits import parse

from ..db import unit_of_work
from ..extensions import limiter
from ..i18n import current_locale, html_lang, platform_locales, url_tags
from ..tenancy.request_hooks import PLATFORM_SITE
from . import services
from .messages import refusal
from .rules import SignupRefused, availability, network_of, shop_host

log = logging.getLogger(__name__)

bp = Blueprint("signup", __name__, url_prefix="/signup")


@bp.before_request
def _platform_only() -> None:
    """A shop's host has no sign-up pages: 404, as for any other path it lacks."""
    if not request.environ.get(PLATFORM_SITE):
        abort(404)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    body = render_template(
        template,
        lang=html_lang(),
        languages=_languages(),
        platform_domain=current_app.config["PLATFORM_DOMAIN"],
        **context,
    )
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Language"] = html_lang()
    response.headers["Cache-Control"] = "no-store"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _languages() -> list[tuple[str, str, bool]]:
    """(URL prefix, the language's own name, is it this page's) for the chooser."""
    here = current_locale()
    path = request.path
    return [
        (
            f"/{tag}{path}",
            (Locale.parse(locale).get_language_name(locale) or locale).capitalize(),
            locale == here,
        )
        for tag, locale in url_tags(platform_locales()).items()
    ]


def _choices() -> dict[str, Any]:
    here = current_locale()
    locales = [
        (loc, (Locale.parse(loc).get_display_name(here) or loc).capitalize())
        for loc in current_app.config["SIGNUP_LOCALES"]
    ]
    currencies = [
        (code, f"{code} · {Locale.parse(here).currencies.get(code, code)}")
        for code in current_app.config["SIGNUP_CURRENCIES"]
    ]
    return {"locales": locales, "currencies": currencies}


@bp.route("", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    """The sign-up form; sent, it mails the confirmation link."""
    form = {
        "email": "",
        "shop_name": "",
        "slug": "",
        "locale": current_locale() if current_locale() in platform_locales() else "en_US",
        "currency": current_app.config["SIGNUP_CURRENCIES"][0],
    }
    if request.method == "GET":
        return _page("platform/signup/start.html", form=form, error=None, **_choices())
    form.update({k: request.form.get(k, "")[:300] for k in form})
    req = services.SignupRequest(
        email=form["email"],
        password=request.form.get("password", "")[:300],
        shop_name=form["shop_name"],
        slug=form["slug"],
        locale=form["locale"],
        currency=form["currency"],
        remote_addr=request.remote_addr,
    )
    try:
        signup, token = unit_of_work(lambda: services.start(req))
    except SignupRefused as exc:
        if exc.code != "cooling_off":
            services.note_failure(request.remote_addr)
        status = (
            429
            if exc.code in ("cooling_off", "too_many_for_address", "too_many_for_network")
            else 422
        )
        error = {"code": exc.code, "message": refusal(exc.code)}
        return _page("platform/signup/start.html", status, form=form, error=error, **_choices())
    _mail_link(signup.email, signup.shop_name, signup.locale, token)
    return redirect(url_for("signup.sent"), code=303)


@bp.route("/sent")
def sent() -> ResponseReturnValue:
    return _page("platform/signup/sent.html")


@bp.route("/check")
def check() -> ResponseReturnValue:
    """Is this name free? ``{"slug", "available", "code", "host", "message"}``; a 429
    past ``SIGNUP_CHECK_RATE`` per network (typing asks a few times a second at most)."""
    if not _check_allowed():
        response = jsonify(code="rate_limited", message=refusal("cooling_off"))
        response.status_code = 429
        response.headers["Retry-After"] = "60"
        return response
    found = availability(request.args.get("slug", "")[:100], services.now())
    message = (
        _("%(host)s is available.", host=found.host) if found.available else refusal(found.code)
    )
    response = jsonify(
        slug=found.slug,
        available=found.available,
        code=found.code,
        host=found.host,
        message=message,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The mailed link: a page with one button (a mail scanner's GET changes nothing);
    the button creates the shop."""
    token = token[:500]
    if request.method == "GET":
        try:
            signup = services.signup_for(token)
        except SignupRefused as exc:
            services.note_failure(request.remote_addr)
            return _page("platform/signup/failed.html", 404, message=refusal(exc.code))
        return _page(
            "platform/signup/confirm.html", shop_name=signup.shop_name, host=shop_host(signup.slug)
        )
    try:
        signup = services.confirm(token)
    except SignupRefused as exc:
        services.note_failure(request.remote_addr)
        status = 410 if exc.code in ("used", "expired") else 404 if exc.code == "bad_link" else 409
        return _page("platform/signup/failed.html", status, message=refusal(exc.code))
    base = services.shop_base(signup.slug)
    return _page(
        "platform/signup/done.html",
        pending=signup.status == "pending",
        shop_name=signup.shop_name,
        base=base,
        login=f"{base}/login?next=%2Fadmin%2F",
    )


def _check_allowed() -> bool:
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return True
    keys = (config.get("RATELIMIT_KEY_PREFIX", ""), "signup-check", network_of(request.remote_addr))
    try:
        return bool(limiter.limiter.hit(parse(config["SIGNUP_CHECK_RATE"]), *keys))
    except Exception:  # the limits' store is down: answer (the form checks again)
        log.warning("sign-up check rate limit store unavailable", exc_info=True)
        return True


def _mail_link(to: str, shop_name: str, locale: str, token: str) -> None:
    """Mail the confirmation link, in the language chosen, after the row is committed.
    A platform mail, not a shop's: no shop (and so no outbox of one) exists yet; when
    sending fails, signing up again sends a new link once the old one lapsed."""
    tag = next((t for t, loc in url_tags(platform_locales()).items() if loc == locale), "")
    # In the language chosen: the confirmation page speaks it whatever the browser says.
    link = f"{services.platform_base()}{f'/{tag}' if tag else ''}/signup/confirm/{token}"
    with force_locale(locale):
        subject = _("Confirm your shop %(name)s", name=shop_name)
        body = render_template("platform/signup/mail.txt", shop_name=shop_name, link=link)
    message = EmailMultiAlternatives(
        subject, body, from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[to]
    )
    try:
        message.send()
    except Exception:  # the row stays; the page says to look for the mail
        log.exception("sign-up confirmation mail to %s failed", to)
