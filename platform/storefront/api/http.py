"""The API's HTTP manners, the same on every route: CORS per shop, rate limits per client
and per shop, entity tags (``304`` on ``If-None-Match``, ``412`` on a stale ``If-Match``),
and opaque cursors for listings an integration syncs through."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from .. import metrics, plans
from ..accounts import tokens
from ..catalog.keyset import Mark
from ..extensions import limiter
from ..listing import MAX_ID
from ..tenancy.context import current_tenant, current_tenant_or_none
from .access import init_access
from .errors import ApiError

log = logging.getLogger(__name__)
# What a page on an allowed origin may send and read.
CORS_REQUEST_HEADERS = (
    "Accept-Language, Authorization, Authentication-Token, Content-Type, Idempotency-Key, "
    "If-Match, If-None-Match, X-Cart-Token"
)
CORS_EXPOSED_HEADERS = (
    "Content-Language, ETag, Link, Location, Retry-After, RateLimit-Limit, "
    "RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, X-Cart-Token, Idempotent-Replayed"
)
CORS_MAX_AGE = "600"


def init_http(bp: Blueprint) -> None:
    bp.before_request(_rate_limit)
    bp.before_request(_api_on)
    # After the limit (guessing keys counts), before anything is read; then the
    # route's declared parameters (contract.init_contract).
    init_access(bp)
    bp.after_request(_manners)


# CORS -------------------------------------------------------------------------------


def allowed_origin() -> str | None:
    """The request's ``Origin`` when the shop lets pages there call its API."""
    origin = request.headers.get("Origin", "").strip().lower().rstrip("/")
    shop = current_tenant_or_none()
    settings = shop.settings if shop is not None else None
    if not origin or settings is None:
        return None
    return origin if origin in settings.api.cors_origins else None


def _cors(response: Response) -> None:
    response.vary.add("Origin")
    origin = allowed_origin()
    if origin is None:
        return
    # No Access-Control-Allow-Credentials: a page elsewhere never rides the shop's
    # cookies; it holds a cart token and sends keys in headers.
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        allow = response.headers.get("Allow", "")
        response.headers["Access-Control-Allow-Methods"] = allow
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


def _manners(response: Response) -> Response:
    _cors(response)
    for name, value in g.get("rate_headers", {}).items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# Rate limits ------------------------------------------------------------------------


def _client() -> str:
    """Who a limit counts: the API key, else the signed-in account, else the address."""
    if current_user.is_authenticated:  # loads a key or token from the headers
        key_id = tokens.request_key_id()
        return f"key:{key_id}" if key_id is not None else f"user:{current_user.id}"
    return f"ip:{get_remote_address()}"


def _rate_limit() -> None:
    """Count the request against its client's limit and the shop's; 429 past either."""
    if request.method == "OPTIONS" or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    uid, prefix = current_tenant().uid, current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    checks = [
        (current_app.config["API_RATE_LIMIT"], (prefix, "api", uid, _client())),
        (current_app.config["API_RATE_LIMIT_SHOP"], (prefix, "api-shop", uid)),
    ]
    plan = plans.current_plan()
    if plan.api_requests_per_minute is not None:  # the shop's plan: counted per shop
        checks.append((f"{plan.api_requests_per_minute} per minute", (prefix, "api-plan", uid)))
    strategy = limiter.limiter
    tightest: tuple[int, int, int, str] | None = None  # remaining, limit, reset, policy
    for text, keys in checks:
        item = parse(text)
        try:
            allowed = strategy.hit(item, *keys)
            reset_at, remaining = strategy.get_window_stats(item, *keys)
        except Exception:  # the limits' store is down: serve, as the login limits do
            log.warning("API rate limit store unavailable", exc_info=True)
            return
        reset = max(0, math.ceil(reset_at - time.time()))
        policy = f"{item.amount};w={item.get_expiry()}"
        if not allowed:
            g.rate_headers = _rate_headers(item.amount, 0, reset, policy)
            g.rate_headers["Retry-After"] = str(max(reset, 1))
            metrics.refused_by(keys[1])  # "api" (the client's), "api-shop" or "api-plan"
            if keys[1] == "api-plan":
                _over_plan(plan, item.amount, reset)
            raise ApiError(
                429,
                _(
                    "Too many requests: at most %(num)s in %(window)s s. Try again in %(wait)s s.",
                    num=item.amount,
                    window=item.get_expiry(),
                    wait=max(reset, 1),
                ),
            )
        if tightest is None or remaining < tightest[0]:
            tightest = (remaining, item.amount, reset, policy)
    if tightest is not None:
        remaining, amount, reset, policy = tightest
        g.rate_headers = _rate_headers(amount, remaining, reset, policy)


def _over_plan(plan: plans.Plan, allowed: int, reset: int) -> None:
    """429 ``plan_limit_reached``: the shop's plan's requests per minute are used up."""
    exc = plans.PlanLimitReached(
        "api_requests_per_minute",
        plan,
        allowed=allowed,
        used=allowed,
        upgrade=plans.all_plans().lifting(plan, "api_requests_per_minute", allowed + 1),
    )
    raise ApiError(
        429,
        _("%(reason)s Try again in %(wait)s s.", reason=str(exc), wait=max(reset, 1)),
        code=exc.code,
        **exc.problem(),
    )


def _api_on() -> None:
    """403 ``plan_limit_reached`` on every route when the shop's plan leaves the API off."""
    if request.method == "OPTIONS":
        return
    try:
        plans.require("api")
    except plans.PlanLimitReached as exc:
        raise ApiError(403, str(exc), code=exc.code, **exc.problem()) from None


def _rate_headers(limit: int, remaining: int, reset: int, policy: str) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(reset),
        "RateLimit-Policy": policy,
    }


# Entity tags ------------------------------------------------------------------------


def etag_of(state: Any) -> str:
    """A strong tag for a resource's state (a JSON-able value)."""
    text = json.dumps(state, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cacheable(response: Response, max_age: int = 60) -> Response:
    """A catalog read: tagged by its body, ``304`` when the client has it already."""
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.vary.add("Accept-Language")
    response.set_etag(etag_of(response.get_json()))
    response.make_conditional(request)
    return response


def tagged(response: Response, tag: str) -> Response:
    """A resource read with the tag a later ``If-Match`` is compared to."""
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(tag)
    response.make_conditional(request)
    return response


def check_if_match(tag: str) -> None:
    """``412`` when the client wrote against a state the resource has left."""
    header = request.headers.get("If-Match")
    if not header:
        return
    wanted = {part.strip().removeprefix("W/").strip('"') for part in header.split(",")}
    if "*" not in wanted and tag not in wanted:
        raise ApiError(
            412,
            _("The resource changed since you read it (If-Match): read it again and retry."),
        )


# Cursors ----------------------------------------------------------------------------

MAX_LIMIT = 100


def limit_arg(default: int = 50) -> int:
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, _("limit must be a whole number from 1 to %(max)s.", max=MAX_LIMIT))
    return int(raw)


EPOCH = datetime(1970, 1, 1)
CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9]{1,10}$"  # microseconds since 1970, then the row's id


def encode_cursor(moment: datetime | None, row_id: int) -> str:
    """Where a listing stopped: the last row's (moment, id). Clients treat it as opaque."""
    micros = (moment or EPOCH) - EPOCH
    return f"{micros // timedelta(microseconds=1)}.{row_id}"


def decode_cursor(raw: str) -> tuple[datetime, int]:
    """A cursor from ``next_cursor``; anything off its pattern is a 400."""
    if not re.fullmatch(CURSOR_PATTERN, raw):
        raise ApiError(400, _("cursor is not one this API gave out: use meta.next_cursor."))
    micros, row_id = raw.split(".")
    return EPOCH + timedelta(microseconds=int(micros)), min(int(row_id), MAX_ID)


# The catalog's cursors (``catalog.keyset``): the sort, the direction (after / before),
# the row's sort value and its id. Every string of this pattern is a place in the
# catalog (a title's bytes in hex, what is no UTF-8 read leniently), so a cursor a client
# mangled moves it elsewhere in the listing; it never answers an error.
CATALOG_SORTS = {"newest": "n", "price_asc": "pa", "price_desc": "pd", "title": "t"}
RANKED_CODE = "r"  # relevance: a position in the search's ranking
CATALOG_CURSOR_PATTERN = (
    r"^(?:(?:n|pa|pd|r)[ab]\.[0-9]{1,17}|t[ab]\.(?:[0-9a-f]{2}){0,800})\.[0-9]{1,10}$"
)


def encode_mark(mark: Mark) -> str:
    """A catalog cursor for ``mark``. Clients treat it as opaque."""
    direction = "b" if mark.before else "a"
    if mark.sort not in CATALOG_SORTS:  # relevance
        return f"{RANKED_CODE}{direction}.{int(mark.values[0])}.0"
    value, row_id = mark.values
    if value is None:  # a row without the value sorts as the smallest one
        text = "0"
    elif isinstance(value, datetime):
        text = str((value - EPOCH) // timedelta(microseconds=1))
    elif isinstance(value, str):
        text = value.encode()[:800].hex()
    else:
        text = str(int(value))
    return f"{CATALOG_SORTS[mark.sort]}{direction}.{text}.{row_id}"


def decode_mark(raw: str) -> Mark:
    """A catalog cursor from ``meta.next_cursor`` or ``meta.prev_cursor``."""
    if not re.fullmatch(CATALOG_CURSOR_PATTERN, raw):
        raise ApiError(400, _("cursor is not one this API gave out: use meta.next_cursor."))
    head, text, row_id = raw.split(".")
    code, before = head[:-1], head[-1] == "b"
    if code == RANKED_CODE:
        return Mark("relevance", (int(text),), before)
    sort = {short: name for name, short in CATALOG_SORTS.items()}[code]
    value: Any
    if sort == "newest":
        value = EPOCH + timedelta(microseconds=int(text))
    elif sort == "title":
        value = bytes.fromhex(text).decode("utf-8", "replace")
    else:
        value = int(text)
    return Mark(sort, (value, min(int(row_id), MAX_ID)), before)


def datetime_arg(name: str) -> datetime | None:
    """An ISO 8601 date or time from the query string, as naive UTC; 400 if malformed."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            _(
                "%(name)s must be an ISO 8601 date or time, e.g. %(example)s.",
                name=name,
                example="2026-11-25T08:00:00Z",
            ),
        ) from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 shifted by its offset: past either end
            moment = datetime.max if moment.year > 1970 else EPOCH
    # Nothing in a shop is older than 1970: earlier bounds mean "from the start".
    return min(max(moment, EPOCH), datetime(9999, 12, 31))
