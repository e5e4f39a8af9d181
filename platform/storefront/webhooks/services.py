"""Signed webhooks per shop, delivered through the outbox.

``emit(event, data)`` writes one outbox row per subscribed endpoint, in the caller's
transaction: a webhook exists exactly when the change commits. Each delivery is a JSON
POST signed twice over the same body:

- as `Standard Webhooks <https://www.standardwebhooks.com/>`_ say, so a receiver checks
  it with an off-the-shelf library: ``webhook-id`` (the event id, the same on every retry:
  deduplicate by it), ``webhook-timestamp`` (against replays) and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`` keyed by the secret's
  base64-decoded bytes (``whsec_<base64>``);
- as before, for receivers written against it (deprecated): ``Storefront-Signature:
  t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the whole secret as text>``,
  with ``Storefront-Event-Id`` and ``Storefront-Timestamp``. A delivery that does not answer 2xx
within ``WEBHOOK_DEADLINE_SECONDS`` (all of it, not per read) is retried by the outbox
with exponential backoff; after ``DISABLE_AFTER`` deliveries gave up in a row, the
endpoint is switched off and the shop's contact is mailed. Deliveries never run in a web
worker: the in-process jobs backend runs them on its own threads, one per shop at a time.

Endpoints must be http(s), and in production https and never the platform itself nor an
address that is not globally routable, in any spelling (``network.is_public``): checked
when added and again at every delivery, which then connects to exactly the addresses it
checked (``network``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, true, update

from .. import metrics, plans, tracing
from ..extensions import db
from ..i18n import shop_locale
from ..metrics import usage
from ..outbox import enqueue
from ..outbox.models import OutboxMessage
from ..outbox.services import handler, on_give_up, queue_shop_mail
from ..tenancy.context import current_tenant
from . import network
from .models import EVENTS, WebhookEndpoint, new_secret
from .network import WebhookError

log = logging.getLogger(__name__)

DISABLE_AFTER = 5  # deliveries that gave up in a row
MAX_ENDPOINTS = 20


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Storefront-Signature`` header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def standard_key(secret: str) -> bytes:
    """The HMAC key a Standard Webhooks receiver reads from ``whsec_<base64>``. A secret
    made before the standard was followed is URL-safe base64: its own bytes (libraries
    that insist on the standard alphabet cannot read it: rotate it)."""
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header (Standard Webhooks, version 1)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the signature, refuse an old timestamp."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def check_url(url: str) -> str:
    """An endpoint address the platform may call; raises ``WebhookError`` otherwise."""
    url = url.strip()
    if len(url) > 500:
        raise WebhookError(_("The URL is longer than 500 characters."))
    # Asked in the owner's request: the lookup gets the DNS timeout, not a delivery's time.
    lookup = min(float(current_app.config.get("DNS_TIMEOUT", 3.0)), _deadline_seconds())
    checked_addresses(network.parse(url), time.monotonic() + lookup)
    return url


def checked_addresses(target: network.Target, deadline: float) -> list[network.Address]:
    """Every address ``target``'s host resolves to now, each one checked; the only
    addresses a delivery may connect to. Raises ``WebhookError``."""
    config = current_app.config
    if config.get("WEBHOOK_ALLOW_PRIVATE"):  # development and the demo: any address
        return network.resolve(target, deadline, config.get("DNS_RESOLVER"))
    if target.scheme != "https":
        raise WebhookError(_("Use an https:// URL."))
    own = {h.strip().lower() for h in current_tenant().hosts}
    if target.host in own or target.host == "localhost" or target.host.endswith(".localhost"):
        raise WebhookError(_("The URL points at the platform itself."))
    # Operator-listed networks a receiver may sit in though not public (a private
    # deployment's own receivers; the tests' loopback receivers). Empty by default.
    allowed = [ipaddress.ip_network(n) for n in config.get("WEBHOOK_ALLOWED_NETWORKS") or ()]
    addresses = network.resolve(target, deadline, config.get("DNS_RESOLVER"))
    for address in addresses:
        if not network.is_public(address) and not any(address in net for net in allowed):
            raise WebhookError(
                _(
                    "%(host)s resolves to %(address)s, which is not a public address.",
                    host=target.host,
                    address=address,
                )
            )
    return addresses


def _deadline_seconds() -> float:
    return float(current_app.config.get("WEBHOOK_DEADLINE_SECONDS", 10.0))


class TooManyEndpoints(WebhookError):
    """The shop has ``MAX_ENDPOINTS`` already."""


def _events(events: list[str]) -> str:
    wanted = [e for e in dict.fromkeys(events) if e]
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown or not wanted:
        raise WebhookError(_("Events must be among: %(events)s.", events=", ".join(EVENTS)))
    return " ".join(wanted)


@plans.counter("webhook_endpoints")
def _count_endpoints(bound: int | None) -> int:
    return plans.bounded_count(select(WebhookEndpoint.id), bound)


def add_endpoint(url: str, events: list[str]) -> WebhookEndpoint:
    wanted = _events(events)
    count = len(db.session.scalars(select(WebhookEndpoint.id)).all())
    if count >= MAX_ENDPOINTS:
        raise TooManyEndpoints(_("A shop has at most %(num)s endpoints.", num=MAX_ENDPOINTS))
    plans.check("webhook_endpoints")
    endpoint = WebhookEndpoint(url=check_url(url), events=wanted)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; a new URL is checked as a new endpoint's is, and switching
    an endpoint on forgets the failures that switched it off."""
    if events is not None:
        endpoint.events = _events(events)
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = check_url(url)
    if active is True and not endpoint.active:
        endpoint.active, endpoint.failures, endpoint.disabled_reason = True, 0, ""
    elif active is False:
        endpoint.active = False
    db.session.flush()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret (the old one stops at once: deliveries still queued are
    signed with the new one when they go)."""
    endpoint.secret = new_secret()
    db.session.flush()
    return endpoint


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookError(f"no webhook endpoint {endpoint_id}")
    return endpoint


def remove_endpoint(endpoint_id: int) -> None:
    db.session.delete(get_endpoint(endpoint_id))
    db.session.flush()


def enable_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_endpoint(endpoint_id)
    endpoint.active, endpoint.failures, endpoint.disabled_reason = True, 0, ""
    return endpoint


def emit(event: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for every active endpoint of the bound shop that wants it."""
    return emit_many(event, [data])


def listeners(event: str) -> list[WebhookEndpoint]:
    """The bound shop's active endpoints that want ``event`` (one statement)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not plans.current_plan().allows("webhooks"):
        return []  # the shop's plan switched webhooks off: nothing is sent
    endpoints = db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active == true()))
    return [endpoint for endpoint in endpoints if event in endpoint.event_list]


def emit_many(
    event: str, datas: list[dict[str, Any]], endpoints: list[WebhookEndpoint] | None = None
) -> int:
    """Queue one ``event`` per item of ``datas`` for every endpoint that wants it: one
    statement for the endpoints, whatever the number (a catalog import)."""
    if not datas:
        return 0
    endpoints = listeners(event) if endpoints is None else endpoints
    created = int(datetime.now(UTC).timestamp())
    shop = current_tenant().slug
    queued = 0
    for data in datas:
        event_id = "evt_" + secrets.token_hex(12)
        body = {"id": event_id, "type": event, "created": created, "shop": shop, "data": data}
        for endpoint in endpoints:
            payload = {"endpoint_id": endpoint.id, "body": body}
            enqueue("webhook", payload, dedupe_key=f"webhook:{endpoint.id}:{event_id}")
            queued += 1
    return queued


def deliveries(limit: int = 50) -> list[dict[str, Any]]:
    """The latest deliveries of the bound shop, newest first (the delivery log)."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "webhook")
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    log_rows = []
    for row in rows:
        payload = json.loads(row.payload)
        log_rows.append(
            {
                "id": row.id,
                "endpoint_id": payload["endpoint_id"],
                "event": payload["body"]["type"],
                "event_id": payload["body"]["id"],
                "status": row.status,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "created_at": row.created_at,
            }
        )
    return log_rows


def redeliver(delivery_id: int) -> OutboxMessage:
    """Queue a delivery again, same event id and body (receivers deduplicate by id)."""
    row = db.session.get(OutboxMessage, delivery_id)
    if row is None or row.kind != "webhook":
        raise WebhookError(f"no webhook delivery {delivery_id}")
    payload = json.loads(row.payload)
    return enqueue("webhook", payload, dedupe_key=f"webhook:redeliver:{secrets.token_hex(8)}")


# Never in a web worker: a receiver decides how long it takes (see outbox.BACKGROUND_KINDS).
@handler("webhook", background=True)
def _deliver(payload: dict[str, Any]) -> None:
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"])
    if endpoint is None or not endpoint.active:
        log.info("webhook endpoint %s gone or disabled; delivery dropped", payload["endpoint_id"])
        return
    body = json.dumps(payload["body"], separators=(",", ":")).encode()
    timestamp = int(time.time())
    event_id = payload["body"]["id"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Storefront-Webhooks/1",
        # Standard Webhooks: what receivers' libraries check.
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(endpoint.secret, event_id, timestamp, body),
        "Storefront-Event": payload["body"]["type"],
        # Deprecated: the first scheme, kept for the receivers written against it.
        "Storefront-Event-Id": event_id,
        "Storefront-Timestamp": str(timestamp),
        "Storefront-Signature": sign(endpoint.secret, timestamp, body),
    }
    config = current_app.config
    # One deadline for all of it: the lookup, the connection, the request and the answer.
    deadline = time.monotonic() + _deadline_seconds()
    target = network.parse(endpoint.url)
    # Checked again (what the name resolves to may have changed), and the connection goes
    # to these very addresses: no second lookup for a rebinding resolver to answer.
    try:
        addresses = checked_addresses(target, deadline)
        # The receiver's name and port only: a webhook URL's path and query often hold a
        # secret of the receiver's. No traceparent is sent: our trace ids stay ours.
        where = {"server.address": target.host, "server.port": target.port}
        with tracing.client_span("webhook POST", {"http.request.method": "POST", **where}) as span:
            status = network.post(
                target,
                addresses,
                body,
                headers,
                deadline=deadline,
                max_bytes=int(config.get("WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024)),
                ca_file=config.get("WEBHOOK_CA_FILE"),
            )
            span.set_attribute("http.response.status_code", status)
        if not 200 <= status < 300:
            raise RuntimeError(f"answered {status}")
    except Exception:
        metrics.webhook_delivered(ok=False)
        usage.record(current_tenant().id, webhook_failed=1)
        raise
    metrics.webhook_delivered(ok=True)
    if endpoint.failures:
        db.session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(failures=0)
        )  # committed by the outbox runner's unit of work


@on_give_up("webhook")
def delivery_gave_up(payload: dict[str, Any]) -> None:
    """A delivery ran out of retries: count it; switch the endpoint off after too many."""
    endpoint = db.session.get(WebhookEndpoint, payload["endpoint_id"])
    if endpoint is None:
        return
    endpoint.failures += 1
    if endpoint.failures >= DISABLE_AFTER and endpoint.active:
        endpoint.active = False
        endpoint.disabled_reason = f"{endpoint.failures} deliveries in a row gave up"
        settings = current_tenant().settings
        if settings is not None and settings.contact_email:
            with shop_locale(None):  # the owner: the shop's default language
                subject = _("%(shop)s: a webhook endpoint was switched off", shop=settings.name)
                queue_shop_mail(
                    settings.contact_email,
                    "mail/notice",
                    subject,
                    heading=subject,
                    paragraphs=[
                        _(
                            "Deliveries to %(url)s failed %(num)s times in a row, so it no "
                            "longer receives events. Fix the receiver, then switch it back on "
                            "in the dashboard (Webhooks) and redeliver what it missed.",
                            url=endpoint.url,
                            num=endpoint.failures,
                        )
                    ],
                    items=[],
                    link="",
                    link_label="",
                )
    # committed by the outbox runner's unit of work
