"""The API's ``Idempotency-Key``: a write that must happen once (a checkout, a refund)
names itself with a key; a retry with the same key and the same request answers the
first result with ``Idempotent-Replayed: true``; the same key with another request is a
422 ``idempotency_key_reused`` (see ``storefront.idempotency``)."""

from __future__ import annotations

import re

from flask import Response, request
from flask_babel import gettext as _

from ..extensions import db
from ..idempotency import KeyReused, fingerprint
from ..problems import api_error

KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
REUSED = "idempotency_key_reused"


def sent_key() -> str | None:
    """The request's Idempotency-Key, or None when it sent none (or one of another shape)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    return key if KEY.fullmatch(key) else None


def request_fingerprint() -> str:
    """What this request asks: its method, path and JSON body (canonical)."""
    return fingerprint(request.method, request.path, request.get_json(silent=True))


def replayed(response: Response) -> Response:
    """Mark an answer given again for a key's earlier request."""
    response.headers["Idempotent-Replayed"] = "true"
    return response


def key_reused(_exc: KeyReused | None = None) -> Response:
    """The 422 for a key first sent with another request: nothing of it is kept."""
    db.session.rollback()
    return api_error(
        422,
        _(
            "This Idempotency-Key was first sent with another request: use a new key for a "
            "new request, and the same key only to retry the same request."
        ),
        REUSED,
    )
