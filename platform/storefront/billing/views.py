"""The platform's Stripe webhook: ``POST /_billing/stripe/webhook``, on any host (no
shop is bound: the event names its shop, ``events.handle`` finds and checks it)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..audit.actor import PAYMENT, acting_as
from ..db import unit_of_work
from ..extensions import csrf
from ..problems import api_error
from . import events, stripe_api

bp = Blueprint("billing", __name__)
log = logging.getLogger(__name__)
WEBHOOK_PATH = "/_billing/stripe/webhook"


@bp.route(WEBHOOK_PATH, methods=["POST"])
@csrf.exempt
def stripe_webhook() -> ResponseReturnValue:
    """Stripe's signed events about the shops' subscriptions: each applied once, to its
    own shop; a refused one is recorded and answered 200 (a retry would not change it)."""
    body = request.get_data()
    try:
        event = stripe_api.verify(body, request.headers.get("Stripe-Signature", ""))
    except ValueError as exc:
        log.warning("billing webhook refused: %s", exc)
        return api_error(400, "The signature does not match.")
    name = event.get("id") if isinstance(event, dict) else None
    try:
        with acting_as(
            PAYMENT, f"stripe:{name if isinstance(name, str) else '?'}", source="payment"
        ):
            outcome = unit_of_work(lambda: events.handle(event))
    except events.MalformedEvent as exc:
        log.warning("billing event unreadable: %s", exc)
        return api_error(400, "The event is not shaped like a Stripe event.")
    log.info("billing event %r: %s", name, outcome)
    return jsonify(received=True, outcome=outcome)
