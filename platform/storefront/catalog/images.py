"""Product images uploaded from the dashboard, stored in the shop's own static folder.

Files land in ``tenants/<slug>/static/uploads/`` under a content hash, so the layered
``/static`` route serves them with the shop's other assets and an export carries them.
Only real images are kept: the first bytes must match the declared type.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from ..tenancy.context import current_tenant
from ..themes.loader import shop_dir

MAX_BYTES = 5 * 1024 * 1024
SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}


class ImageError(ValueError):
    """The upload is not an image we keep; the message says why."""


def save_upload(upload: FileStorage) -> str:
    """Store the upload for the bound shop; return the URL path it is served at."""
    data = upload.read(MAX_BYTES + 1)
    if not data:
        raise ImageError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImageError(_("The image is larger than %(num)s MB.", num=MAX_BYTES // (1024 * 1024)))
    kind = next(
        (k for k, sigs in SIGNATURES.items() if any(data.startswith(s) for s in sigs)), None
    )
    if kind is None or (kind == "webp" and data[8:12] != b"WEBP"):
        raise ImageError(_("Only PNG, JPEG, GIF or WebP images can be uploaded."))
    name = f"{hashlib.sha256(data).hexdigest()[:20]}.{kind}"
    folder = shop_dir(current_app, current_tenant().slug) / "static" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder / name)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return f"/static/uploads/{name}"
