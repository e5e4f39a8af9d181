"""Reading a shop archive without trusting it: bounded, streaming, into a private folder.

An archive handed to ``tenantctl import`` may come from anyone. It is read in one pass,
gzip decompressed here (not by ``tarfile``) so every byte is counted as it comes out:

- a member may expand to at most ``ARCHIVE_MAX_MEMBER_BYTES``, and all of them together
  (headers included) to ``ARCHIVE_MAX_BYTES``;
- a member, and the stream as a whole, may expand at most ``ARCHIVE_MAX_RATIO`` times
  its compressed size (measured while decompressing, past the first MiB: a few small
  files compress well for good reasons);
- at most ``ARCHIVE_MAX_MEMBERS`` members; tar's own metadata headers (long names, pax)
  at most 64 KiB each, since ``tarfile`` reads those whole;
- names are plain relative paths under the archive's layout (no ``..``, no absolute
  path, no backslash, no name twice), and members are regular files or folders only
  (no links, devices or pipes).

The declared sizes of a header or the gzip trailer are never used to decide: a bomb is
refused when its output passes a limit, with at most one chunk (64 KiB) in memory.
Members land in a fresh folder made for the import; nothing is written anywhere else.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Self

from flask import current_app

from .secrets import SECRETS_FILE
from .services import ShopError

CHUNK = 64 * 1024
MIB = 1024 * 1024
RATIO_FLOOR = MIB  # below this much output, a member's ratio says nothing
# The whole stream's ratio, a backstop for what is not a member's data (headers, padding);
# later than a member's, so a bomb inside a member is refused naming the member.
STREAM_RATIO_FLOOR = 16 * MIB
HEADER_MAX = 64 * 1024  # a long name or pax header; tarfile reads these whole
TOP_LEVEL = {"manifest.json", "folder", "data", "media"}
# tar's metadata members: tarfile reads their data into memory before we see the member.
_META_TYPES = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME}
_META_TYPES |= {tarfile.GNUTYPE_LONGLINK, tarfile.SOLARIS_XHDTYPE}


class ArchiveRefused(ShopError):
    """The archive breaks a limit or holds something an import never writes."""


@dataclass(frozen=True)
class Limits:
    member_bytes: int = 1024 * MIB
    total_bytes: int = 8 * 1024 * MIB
    ratio: float = 100.0
    members: int = 200_000

    @classmethod
    def from_config(cls) -> Limits:
        """The platform's limits (``ARCHIVE_MAX_*``), these defaults where unset."""
        config = current_app.config
        return cls(
            member_bytes=int(config.get("ARCHIVE_MAX_MEMBER_BYTES", cls.member_bytes)),
            total_bytes=int(config.get("ARCHIVE_MAX_BYTES", cls.total_bytes)),
            ratio=float(config.get("ARCHIVE_MAX_RATIO", cls.ratio)),
            members=int(config.get("ARCHIVE_MAX_MEMBERS", cls.members)),
        )


def _size(n: float) -> str:
    return f"{n / MIB:.0f} MiB" if n >= MIB else f"{n:.0f} bytes"


class _Inflater:
    """The archive's gzip stream, decompressed on demand and counted both ways."""

    def __init__(self, raw: BinaryIO, limits: Limits) -> None:
        self.raw = raw
        self.limits = limits
        self.compressed = 0  # bytes of the file consumed
        self.produced = 0  # bytes of tar stream handed out
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed input not yet consumed
        self._fed = False  # the current gzip member has begun
        self._done = False

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else min(size, CHUNK * 4)
        out = b""
        while not out and not self._done:
            if not self._pending:
                self._pending = self.raw.read(CHUNK)
                if not self._pending:
                    if self._fed:
                        raise ArchiveRefused("the archive ends in the middle of its data")
                    self._done = True
                    break
            before = len(self._pending)
            self._fed = True
            try:
                out = self._inflate.decompress(self._pending, size)
            except zlib.error as exc:
                raise ArchiveRefused(f"damaged compressed data ({exc})") from None
            if self._inflate.eof:
                # Concatenated gzip members are one stream; anything else after it is not.
                self._pending = self._inflate.unused_data
                self._inflate = zlib.decompressobj(wbits=31)
                self._fed = False
                if self._pending.strip(b"\0") and not self._pending.startswith(b"\x1f\x8b"):
                    raise ArchiveRefused("unexpected data after the compressed stream")
                if not self._pending.strip(b"\0"):
                    self._pending = b""
            else:
                self._pending = self._inflate.unconsumed_tail
            self.compressed += before - len(self._pending)
        self.produced += len(out)
        if self.produced > self.limits.total_bytes:
            raise ArchiveRefused(
                f"the archive expands beyond {_size(self.limits.total_bytes)} (ARCHIVE_MAX_BYTES)"
            )
        if self.produced > STREAM_RATIO_FLOOR and self.produced > self.limits.ratio * max(
            self.compressed, 1
        ):
            raise ArchiveRefused(
                f"the archive expands more than {self.limits.ratio:g} times its size "
                "(ARCHIVE_MAX_RATIO): a compression bomb?"
            )
        return out


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses a metadata header before ``tarfile`` reads its data into memory."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _META_TYPES and info.size > HEADER_MAX:
            raise ArchiveRefused(f"a tar header of {_size(info.size)} (at most 64 KiB)")
        return info


def check_name(name: str) -> PurePosixPath:
    """The member's path if an import may write it; ArchiveRefused otherwise."""
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\0" in name
        or path.is_absolute()
        or ".." in path.parts
        or not path.parts
        or path.parts[0] not in TOP_LEVEL
    ):
        raise ArchiveRefused(f"unsafe or unexpected name in the archive: {name[:200]!r}")
    return path


def unpack(archive: Path, target: Path, limits: Limits | None = None) -> int:
    """Unpack ``archive`` into the empty folder ``target`` within the limits; returns the
    number of members. Raises ArchiveRefused (one line: what was wrong) or ShopError."""
    limits = limits or Limits.from_config()
    try:
        raw = archive.open("rb")
    except OSError as exc:
        raise ShopError(f"cannot read {archive}: {exc.strerror or exc}") from None
    with raw:
        if raw.read(2) != b"\x1f\x8b":
            raise ShopError(f"cannot read {archive}: not a .tar.gz archive")
        raw.seek(0)
        stream = _Inflater(raw, limits)
        try:
            return _unpack(stream, target, limits)
        except ArchiveRefused as exc:
            raise ArchiveRefused(f"refused {archive.name}: {exc}") from None
        except (tarfile.TarError, EOFError, UnicodeError) as exc:
            raise ShopError(f"cannot read {archive}: {exc}") from None
        except OSError as exc:
            raise ShopError(f"cannot unpack {archive}: {exc.strerror or exc}") from None


def _unpack(stream: _Inflater, target: Path, limits: Limits) -> int:
    # The stub wants a full file object; a stream ("r|") only ever calls read().
    tar = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115 - closed below
        fileobj=stream,
        mode="r|",
        tarinfo=_BoundedTarInfo,
        bufsize=CHUNK,
    )
    seen: set[str] = set()
    try:
        while (info := tar.next()) is not None:
            tar.members.clear()  # a stream keeps every header otherwise
            if len(seen) >= limits.members:
                raise ArchiveRefused(f"more than {limits.members} members (ARCHIVE_MAX_MEMBERS)")
            path = check_name(info.name)
            key = str(path)
            if key in seen:
                raise ArchiveRefused(f"{key} appears twice")
            seen.add(key)
            destination = target.joinpath(*path.parts)
            if info.isdir():
                destination.mkdir(parents=True, exist_ok=True)
            elif info.isfile():
                destination.parent.mkdir(parents=True, exist_ok=True)
                _copy_member(tar, info, destination, stream, limits)
            else:
                raise ArchiveRefused(f"{key} is a link or a special file, not a plain file")
    finally:
        tar.close()
    return len(seen)


def _copy_member(
    tar: tarfile.TarFile,
    info: tarfile.TarInfo,
    destination: Path,
    stream: _Inflater,
    limits: Limits,
) -> None:
    """Copy one member in chunks, counting what decompression yields for it."""
    source = tar.extractfile(info)
    if source is None:  # pragma: no cover - isfile() members always have data
        return
    start = stream.compressed
    written = 0
    # O_EXCL|O_NOFOLLOW: the folder is fresh, but never write through anything found there.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    mode = 0o600 if destination.name == SECRETS_FILE else 0o666  # less the umask
    with os.fdopen(os.open(destination, flags, mode), "wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > limits.member_bytes:
                raise ArchiveRefused(
                    f"{info.name} expands beyond {_size(limits.member_bytes)} "
                    "(ARCHIVE_MAX_MEMBER_BYTES)"
                )
            used = stream.compressed - start
            if written > RATIO_FLOOR and written > limits.ratio * max(used, 1):
                raise ArchiveRefused(
                    f"{info.name} expands more than {limits.ratio:g} times its compressed "
                    "size (ARCHIVE_MAX_RATIO): a compression bomb?"
                )
            out.write(chunk)
