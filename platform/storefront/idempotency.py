"""An idempotency key names one request: sent again with that request, it answers what
the first one made; sent with another request, it is refused.

What the key's first request asked is kept as a fingerprint next to what it made (an
order, a refund): SHA-256 of the method, the path and the JSON body in one canonical
spelling (keys sorted, no spaces), so a retry that spells the same body differently is
still the same request. A key reused for another body is the client's mistake; answering
it with the first request's result would tell the client its new request succeeded. It
is refused instead (the API's 422 ``idempotency_key_reused``), as Stripe does and the
IETF's Idempotency-Key draft (draft-ietf-httpapi-idempotency-key-header) asks.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class KeyReused(ValueError):
    """The idempotency key was first sent with another request."""


def fingerprint(method: str, path: str, body: Any) -> str:
    """What a request asks, in 64 hex digits: the same for the same method, path and JSON
    body however the body is spelled (key order, spaces, escapes)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def check_same_request(stored: str | None, sent: str | None) -> None:
    """Raise ``KeyReused`` when a key's first request (``stored``) was not this one.

    Either side unknown passes: a record made before fingerprints were kept, or by a
    form (whose key is rendered with it and cannot be reused for another body).
    """
    if stored is not None and sent is not None and stored != sent:
        raise KeyReused("the idempotency key was first sent with another request")
