"""Images a shop uploads: decoded and re-encoded by Pillow, never served as sent.

An upload is decoded by Pillow with only the five raster formats shops need enabled
(PNG, JPEG, GIF, WebP, AVIF: no EPS that would start Ghostscript, no SVG that could carry
script), bounded in pixels before any decoding, turned upright from its EXIF orientation
and written again without metadata (no camera serial, no GPS position): the *master*.
Renditions for ``srcset`` are made from the master later, by a job (``derive``): AVIF and
WebP for the browsers that take them, and the master's own format (JPEG, or PNG where the
picture has transparency) for the rest, at every width of ``WIDTHS`` up to its own.

Keys are relative to the shop's prefix and content-addressed, so a file never changes
under its name: ``img/<hash>/master.jpg``, ``img/<hash>/640.avif``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024  # the request limit (MAX_CONTENT_LENGTH) is the same
MAX_PIXELS = 40_000_000  # 40 MP: a camera's full frame; more is a decompression bomb
MAX_SIDE = 2400  # the master is at most this wide or high
WIDTHS = (160, 320, 640, 960, 1280, 1600)
MODERN = ("avif", "webp")
DECODERS = ("PNG", "JPEG", "GIF", "WEBP", "AVIF")
ENCODE: dict[str, tuple[str, dict[str, Any]]] = {
    "avif": ("AVIF", {"quality": 55, "speed": 8}),
    "webp": ("WEBP", {"quality": 80, "method": 4}),
    "jpg": ("JPEG", {"quality": 84, "optimize": True, "progressive": True}),
    "png": ("PNG", {"optimize": True}),
}


class ImageError(ValueError):
    """The upload is not an image we keep; the message says why (in the reader's words)."""


@dataclass(frozen=True)
class Master:
    """A stored master image: where it is and what it is."""

    key: str  # "img/<hash>": the folder of the master and its renditions
    width: int
    height: int
    fallback: str  # "jpg" or "png": the master's format, and the renditions' fallback

    @property
    def master_key(self) -> str:
        return f"{self.key}/master.{self.fallback}"


def rendition_key(key: str, width: int, fmt: str) -> str:
    return f"{key}/{width}.{fmt}"


def widths_for(width: int) -> tuple[int, ...]:
    """The rendition widths a master of ``width`` pixels gets (never enlarged)."""
    return tuple(w for w in WIDTHS if w < width) + (min(width, WIDTHS[-1]),)


def decode(data: bytes) -> Image.Image:
    """The upload as a Pillow image, upright and in RGB(A); ImageError if it is not one
    of the accepted formats, is too large, or is broken."""
    if not data:
        raise ImageError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise ImageError(_("The image is larger than %(num)s MB.", num=MAX_BYTES // 2**20))
    try:
        image: Image.Image = Image.open(io.BytesIO(data), formats=DECODERS)
        width, height = image.size  # from the header, before anything is decoded
        if width * height > MAX_PIXELS:
            raise ImageError(
                _(
                    "The image has too many pixels (%(width)s × %(height)s).",
                    width=width,
                    height=height,
                )
            )
        image.seek(0)  # an animation keeps its first frame
        image.load()
        image = ImageOps.exif_transpose(image)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,  # what Pillow raises for some broken files
        EOFError,
    ) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(_("Only PNG, JPEG, GIF, WebP or AVIF images can be uploaded.")) from None
    alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if alpha else "RGB")


def encode(image: Image.Image, fmt: str) -> bytes:
    name, options = ENCODE[fmt]
    if fmt == "jpg" and image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, name, **options)
    return out.getvalue()


def make_master(data: bytes, folder: str = "img", max_side: int = MAX_SIDE) -> tuple[Master, bytes]:
    """The master for an upload and its bytes (to store under ``master.master_key``)."""
    image = decode(data)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    fallback = "png" if image.mode == "RGBA" else "jpg"
    digest = hashlib.sha256(data).hexdigest()[:24]
    master = Master(f"{folder}/{digest}", image.width, image.height, fallback)
    return master, encode(image, fallback)


def renditions(master_bytes: bytes, master: Master) -> dict[str, bytes]:
    """Every rendition of a master: ``{key: bytes}`` (the job stores them)."""
    image = decode(master_bytes)
    made: dict[str, bytes] = {}
    for width in widths_for(master.width):
        sized = image
        if width < image.width:
            height = max(1, round(image.height * width / image.width))
            sized = image.resize((width, height), Image.Resampling.LANCZOS)
        for fmt in (*MODERN, master.fallback):
            made[rendition_key(master.key, width, fmt)] = encode(sized, fmt)
    return made
