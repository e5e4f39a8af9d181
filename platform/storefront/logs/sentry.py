"""Errors to Sentry, when a DSN is configured (``SENTRY_DSN``, or the standard variable).

Off, nothing of ``sentry_sdk`` is imported. On: its Flask integration reports unhandled
errors (and ERROR log lines) with the shop and the request id as tags, the environment
and the release set, and without personal data: no default PII (no cookies, user,
IP address), no request bodies, no frame locals (an order's address sits in them, where
no key name gives it away), the SDK's ``EventScrubber`` with our extra denylist over
the rest, and every string left (messages, breadcrumbs, the query string) with emails
and credentials replaced (``storefront.logs.redact``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from flask import Flask, g, has_request_context

from ..tenancy.context import current_tenant_or_none
from . import ENVIRON, REDACTED, bound, redact, redact_query

# Keys whose values are personal data in our payloads and forms (scrubbed wherever they
# appear in the event: request data, extra, breadcrumbs' data), on top of the SDK's own.
PII_DENYLIST = [
    "email",
    "email_address",
    "customer_email",
    "recipient",
    "to",
    "reply_to",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "company",
    "address",
    "address1",
    "address2",
    "line1",
    "line2",
    "street",
    "city",
    "postal_code",
    "postcode",
    "zip",
    "state",
    "country_area",
    "shipping_address",
    "billing_address",
    "card",
    "iban",
    "remote_addr",
    "x_forwarded_for",
    "x_real_ip",
    "ip_address",
    "authentication_token",
    "x_request_signature",
    "webhook_signature",
]
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def dsn_of(config: Mapping[str, Any]) -> str:
    """The DSN: ``SENTRY_DSN`` in the config (``STOREFRONT_SENTRY_DSN``), else the SDK's
    own environment variable; "" when neither."""
    return str(config.get("SENTRY_DSN") or os.environ.get("SENTRY_DSN") or "").strip()


def init_sentry(app: Flask) -> None:
    """Report errors to Sentry when a DSN is configured; nothing at all otherwise."""
    dsn = dsn_of(app.config)
    if not dsn:
        return
    try:
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration
        from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber
    except ImportError as exc:
        from ..config import ConfigError

        raise ConfigError(
            f"SENTRY_DSN is set but sentry-sdk is missing ({exc.name}): install "
            "'storefront[sentry]', or unset SENTRY_DSN"
        ) from exc
    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("SENTRY_ENVIRONMENT") or app.config.get("ENVIRONMENT"),
        release=app.config.get("SENTRY_RELEASE") or _release(),
        integrations=[FlaskIntegration()],
        # send_default_pii stays unset, which is off: 2.76 warns when it is passed at all
        # (data_collection supersedes it) and keeps the EventScrubber below only without it.
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *PII_DENYLIST], recursive=True, send_default_pii=False
        ),
        before_send=before_send,
        traces_sample_rate=None,  # traces are OpenTelemetry's (storefront.tracing)
        transport=app.config.get("SENTRY_TRANSPORT"),  # tests: a local one, no network
    )
    app.extensions["storefront.sentry"] = True


def _release() -> str | None:
    try:
        return f"storefront@{metadata.version('storefront')}"
    except metadata.PackageNotFoundError:
        return None


def current_tags() -> dict[str, str]:
    """The shop and request id of what runs now (a request's, a job's, a command's)."""
    fields = bound()
    tags: dict[str, str] = {}
    tenant = current_tenant_or_none()
    shop = tenant.slug if tenant is not None else fields.get("shop")
    if shop is None and ENVIRON in fields:
        shop = fields[ENVIRON].get("storefront.shop")
    request_id = fields.get("request_id")
    if request_id is None and has_request_context():
        request_id = g.get("request_id")
    if shop:
        tags["shop"] = str(shop)
    if request_id:
        tags["request_id"] = str(request_id)
    return tags


def before_send(event: Any, _hint: Any) -> Any:
    """Tag the event with the shop and request id; drop what may be personal."""
    event.setdefault("tags", {}).update(current_tags())
    event.pop("user", None)
    req = event.get("request")
    if isinstance(req, dict):
        for name in ("data", "cookies", "env"):
            req.pop(name, None)
        headers = req.get("headers")
        if isinstance(headers, dict):
            req["headers"] = {
                k: v
                for k, v in headers.items()
                if k.lower() not in ("cookie", "authorization", "authentication-token")
            }
        if isinstance(req.get("query_string"), str):
            req["query_string"] = redact_query(req["query_string"])
    return _clean(event)


def _clean(value: Any) -> Any:
    """Every string with emails and credentials replaced (messages, exception values,
    breadcrumbs, URLs)."""
    if isinstance(value, str):
        return _EMAIL.sub(REDACTED, redact(value)) if value else value
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
