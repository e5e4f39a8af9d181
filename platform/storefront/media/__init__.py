"""A shop's files in the platform's store (``storefront.storage``), and their URLs.

Every key here is relative to the bound shop's prefix (``shops/<uid>/``): a shop can
only ever name, store or be served its own objects, whatever a request or a row says.
Files are served by the app at ``/media/<key>`` on the shop's own domain (so pages keep
a ``'self'``-only content policy, and one URL scheme serves the folder and S3 backends
alike), with year-long immutable caching: keys are content-addressed and never reused.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, request

from .. import plans
from ..storage import (
    PRIVATE,
    StorageError,
    check_key,
    content_type_of,
    current_storage,
    shop_prefix,
)
from ..tenancy.context import current_tenant
from .images import ImageError, Master, make_master, renditions

__all__ = [
    "ImageError",
    "Master",
    "StorageError",
    "bp",
    "media_url",
    "shop_objects",
    "store",
    "store_image",
    "derive",
    "fetch",
]

URL_PREFIX = "/media/"
LONG_CACHE = 365 * 24 * 3600

bp = Blueprint("media", __name__)


def _full(key: str) -> str:
    return shop_prefix(current_tenant().uid) + check_key(key)


def store(key: str, data: bytes) -> None:
    """Put one object of the bound shop (its type follows from the key's suffix)."""
    current_storage().put(_full(key), data, content_type_of(key))


def fetch(key: str) -> bytes | None:
    """One object of the bound shop, or None."""
    found = current_storage().get(_full(key))
    return found.data if found else None


def store_image(data: bytes, folder: str = "img", max_side: int | None = None) -> Master:
    """Check and store an uploaded image's master for the bound shop (ImageError when it
    is not an image we keep); renditions come later (``derive``)."""
    master, encoded = make_master(data, folder, **({"max_side": max_side} if max_side else {}))
    if fetch(master.master_key) is None:  # keys are content: a picture kept is counted once
        plans.charge_storage(len(encoded))  # the plan's storage_bytes, before it is stored
    store(master.master_key, encoded)
    return master


def master_size(key: str) -> int:
    """The bytes of the master stored under ``key`` (a ``Master.key``); 0 if none: what
    the plan's ``storage_bytes`` counted for it."""
    for fallback in ("jpg", "png"):
        data = fetch(f"{key}/master.{fallback}")
        if data is not None:
            return len(data)
    return 0


def derive(master: Master, made: dict[str, dict[str, bytes]] | None = None) -> None:
    """Store every rendition of a stored master (a job runs this after the upload).

    ``made`` keeps renditions by master key for pictures drawn again and again (the demo
    shops, provisioned per browser test): the same key is the same picture."""
    found = made.get(master.key) if made is not None else None
    if found is None:
        data = fetch(master.master_key)
        if data is None:
            raise LookupError(f"master {master.master_key} is gone")
        found = renditions(data, master)
        if made is not None:
            made[master.key] = found
    for key, encoded in found.items():
        store(key, encoded)


def media_url(key: str) -> str:
    """Where a page finds one of the shop's objects (on the shop's own domain)."""
    return URL_PREFIX + key


def shop_objects(uid: str) -> Iterator[str]:
    """The keys (relative to the shop's prefix) of every object of shop ``uid``."""
    prefix = shop_prefix(uid)
    for key in current_storage().keys(prefix):
        yield key[len(prefix) :]


@bp.route("/media/<path:key>")
def serve(key: str) -> Response:
    """One of the bound shop's files; any key outside its prefix cannot even be named,
    and its private ones (exports, uploads) are not media."""
    if key.startswith(PRIVATE):
        abort(404)
    try:
        full = _full(key)
    except ValueError:
        abort(404)
    found = current_storage().get(full)  # StorageError: 503 with Retry-After (errors.py)
    if found is None:
        abort(404)
    response = Response(found.data, mimetype=found.content_type)
    response.set_etag(found.etag)
    response.cache_control.public = True
    response.cache_control.max_age = LONG_CACHE
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.make_conditional(request)
    return response
