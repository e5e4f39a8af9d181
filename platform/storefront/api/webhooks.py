"""``/api/v1/admin/webhooks``: the shop's webhook endpoints, for an integration that
subscribes itself (Shopify's webhookSubscriptionCreate, Saleor's webhookCreate).

The owner's business, as in the dashboard (an endpoint receives every order): an owner's
login token, or a key the owner made with ``webhooks:read`` / ``webhooks:write``. The
rules are the dashboard's (``webhooks.services``): the URL is checked the same way (https,
a public address, never the platform), at most ``MAX_ENDPOINTS``. The secret is answered
once, when an endpoint is made or its secret renewed; reads never show it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify
from flask_babel import gettext as _
from flask_security import auth_required, permissions_required

from ..extensions import csrf, db
from ..listing import MAX_ID
from ..problems import Conflict
from ..webhooks import services as webhooks
from ..webhooks.models import WebhookEndpoint
from .access import requires_scope
from .contract import LOCATION, envelope, init_contract, link, operation, ref
from .errors import ApiError, body, init_api_errors
from .schemas import Webhook, WebhookIn, WebhookPatch, WebhookWithSecret

bp = Blueprint("api_admin_webhooks", __name__, url_prefix="/api/v1/admin/webhooks")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)

View = Callable[..., Any]


def owner(scope: str) -> Callable[[View], View]:
    """Those whose role allows ``scope`` (the owner's, as in the dashboard), by a
    credential in a header; an API key also needs ``scope`` and acts as the one who made
    it."""

    def decorate(view: View) -> View:
        guarded = auth_required("token")(permissions_required(scope)(view))
        return requires_scope(scope, staff=True)(guarded)  # type: ignore[no-any-return]

    return decorate


def _data(row: WebhookEndpoint) -> dict[str, Any]:
    return Webhook(
        id=row.id,
        url=row.url,
        events=row.event_list,
        active=bool(row.active),
        failures=row.failures or 0,
        disabled_reason=row.disabled_reason or "",
        created_at=(row.created_at.isoformat() + "Z") if row.created_at else "",
    ).model_dump(mode="json")


def _with_secret(row: WebhookEndpoint, status: int) -> tuple[Response, int]:
    data = WebhookWithSecret(**_data(row), secret=row.secret).model_dump(mode="json")
    response = jsonify(data=data)
    response.headers["Location"] = f"/api/v1/admin/webhooks/{row.id}"
    return response, status


def _endpoint(webhook_id: int) -> WebhookEndpoint:
    if 1 <= webhook_id <= MAX_ID:
        try:
            return webhooks.get_endpoint(webhook_id)
        except webhooks.WebhookError:
            pass
    raise ApiError(404, _("No such webhook endpoint."))


def _refused(exc: webhooks.WebhookError) -> ApiError:
    db.session.rollback()
    if isinstance(exc, webhooks.TooManyEndpoints):
        return ApiError(409, str(exc), code=Conflict.WEBHOOK_LIMIT)
    # The events were held to the enum by the schema: what is left is the address.
    return ApiError(422, str(exc), fields={"url": str(exc)})


@bp.get("")
@operation(
    "listWebhooks",
    "admin: webhooks",
    "The shop's webhook endpoints (never their secrets)",
    ok=(200, envelope({"type": "array", "items": ref("Webhook")}), "The endpoints"),
)
@owner("webhooks:read")
def index() -> Response:
    """Every endpoint of the shop, oldest first (at most MAX_ENDPOINTS)."""
    return jsonify(data=[_data(row) for row in webhooks.list_endpoints()])


@bp.post("")
@operation(
    "createWebhook",
    "admin: webhooks",
    "Subscribe an endpoint to events; the answer shows its secret, once",
    ok=(201, envelope(ref("WebhookWithSecret")), "The endpoint, with its secret"),
    description="The URL is held to the dashboard's rules (https, a public "
    "address, never the platform itself: 422 naming url), at most 20 "
    "endpoints (409 webhook_limit). Deliveries are signed as Standard Webhooks "
    "say (webhook-id, webhook-timestamp, webhook-signature) with the secret "
    "answered here, the only time it is shown.",
    body=WebhookIn,
    errors=(409,),
    ok_headers=LOCATION,
    links={"GetWebhook": link("getWebhook", webhook_id="$response.body#/data/id")},
)
@owner("webhooks:write")
def create() -> tuple[Response, int]:
    """Add an endpoint; the answer has its secret, the only time it is shown."""
    data = body(WebhookIn)
    try:
        row = webhooks.add_endpoint(data.url, [str(e) for e in data.events])
        if not data.active:
            webhooks.update_endpoint(row, active=False)
    except webhooks.WebhookError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return _with_secret(row, 201)


@bp.get("/<int:webhook_id>")
@operation(
    "getWebhook",
    "admin: webhooks",
    "One webhook endpoint",
    ok=(200, envelope(ref("Webhook")), "The endpoint"),
)
@owner("webhooks:read")
def show(webhook_id: int) -> Response:
    return jsonify(data=_data(_endpoint(webhook_id)))


@bp.patch("/<int:webhook_id>")
@operation(
    "updateWebhook",
    "admin: webhooks",
    "Change an endpoint's URL, events or whether it is on",
    ok=(200, envelope(ref("Webhook")), "The endpoint"),
    description="Only the fields sent change. A new URL is checked as a new "
    "endpoint's is (422 naming url); active: true switches an endpoint that "
    "failed back on and forgets its failures.",
    body=WebhookPatch,
)
@owner("webhooks:write")
def update(webhook_id: int) -> Response:
    """Change the URL, the events or whether it is on; only the fields sent change."""
    row = _endpoint(webhook_id)
    sent = body(WebhookPatch)
    try:
        webhooks.update_endpoint(
            row,
            url=sent.url,
            events=[str(e) for e in sent.events] if sent.events is not None else None,
            active=sent.active,
        )
    except webhooks.WebhookError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return jsonify(data=_data(row))


@bp.delete("/<int:webhook_id>")
@operation(
    "deleteWebhook",
    "admin: webhooks",
    "Remove an endpoint (what is still queued for it is dropped)",
    ok=(204, None, "Removed"),
)
@owner("webhooks:write")
def delete(webhook_id: int) -> tuple[str, int]:
    """Remove it: deliveries still queued for it are dropped."""
    webhooks.remove_endpoint(_endpoint(webhook_id).id)
    db.session.commit()
    return "", 204


@bp.post("/<int:webhook_id>/secret")
@operation(
    "rotateWebhookSecret",
    "admin: webhooks",
    "A new signing secret for the endpoint, shown once",
    ok=(200, envelope(ref("WebhookWithSecret")), "The endpoint, with its new secret"),
    description="The old secret stops at once: deliveries from now on, retries "
    "included, are signed with the new one.",
    ok_headers=LOCATION,
)
@owner("webhooks:write")
def rotate(webhook_id: int) -> tuple[Response, int]:
    """A new signing secret, answered once; the old one stops at once."""
    row = webhooks.rotate_secret(_endpoint(webhook_id))
    db.session.commit()
    return _with_secret(row, 200)
