"""Files a shop supplies, opened so that no link can lead out of the shop's folder.

Theme authors write ``tenants/<slug>/templates/`` and ``static/``; what they put there is
hostile. Checking a path and opening it later is a race: a template listed when a worker
first saw the shop can be swapped for a symlink (to another shop's ``secrets.toml``, to
``/proc/self/environ``) before the worker compiles it. So a shop's file is never opened
by path. The shop's folder (the operator's, the root here) is opened once; below it every
component is opened relative to its parent's descriptor with ``O_NOFOLLOW``, and only a
regular file is handed back, checked with ``fstat`` on the descriptor actually opened.
Whatever is answered is about that descriptor: the caller reads it, serves it or stats it,
and never opens the path again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# What open(2) answers for a link under O_NOFOLLOW (ELOOP; EMLINK on FreeBSD).
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)


class RefusedFile(OSError):
    """Not a plain name below the folder, a link, or not a regular file."""


def parts_of(relative: str) -> list[str]:
    """The components of a relative path; RefusedFile for ``..``, ``.``, empty parts
    (absolute paths, ``//``) and NUL."""
    parts = relative.split("/")
    if not relative or "\x00" in relative or any(p in ("", ".", "..") for p in parts):
        raise RefusedFile(f"not a plain relative path: {relative[:80]!r}")
    return parts


def _open_dir(root: str | Path, parts: list[str], *, create: bool = False) -> int:
    """A descriptor of ``root/parts…``, each part a real directory (never a link)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except NotADirectoryError:
                raise RefusedFile(f"{part!r} is a link or not a folder") from None
            except OSError as exc:
                if exc.errno in _LINK_ERRORS:
                    raise RefusedFile(f"{part!r} is a link") from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_inside(root: str | Path, relative: str) -> BinaryIO:
    """``root/relative`` opened for reading, with no link followed below ``root`` and
    only if it is a regular file; OSError (FileNotFoundError, RefusedFile…) otherwise."""
    *folders, name = parts_of(relative)
    parent = _open_dir(root, folders)
    try:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in _LINK_ERRORS:
                raise RefusedFile(f"{name!r} is a link") from None
            raise
    finally:
        os.close(parent)
    try:
        if not _plain(os.fstat(fd)):
            raise RefusedFile(f"{name!r} is not a regular file, or has another name (a hard link)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _plain(info: os.stat_result) -> bool:
    """A regular file with one name. ``O_NOFOLLOW`` cannot see a hard link: a second name
    for another shop's ``secrets.toml`` is as regular a file as any, so a file that has
    another name anywhere is refused (the platform never links a shop's files)."""
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def stat_inside(root: str | Path, relative: str) -> os.stat_result:
    """The ``fstat`` of what ``open_inside`` would open."""
    with open_inside(root, relative) as file:
        return os.fstat(file.fileno())


def create_inside(root: str | Path, relative: str) -> BinaryIO:
    """A new file ``root/relative`` for writing (folders made as needed), never through a
    link and never over an existing file (FileExistsError)."""
    *folders, name = parts_of(relative)
    parent = _open_dir(root, folders, create=True)
    try:
        fd = os.open(name, _CREATE_FLAGS, 0o644, dir_fd=parent)
    finally:
        os.close(parent)
    return os.fdopen(fd, "wb")


def list_inside(root: str | Path, relative: str = "") -> list[str]:
    """Every regular file below ``root/relative`` (``root`` itself when empty; paths
    relative to it, ``/``-separated), never through a link; nothing when the folder is
    missing or is a link."""
    try:
        top = _open_dir(root, parts_of(relative) if relative else [])
    except OSError:
        return []
    names = []
    try:
        for dirpath, _dirs, files, dirfd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            for filename in files:
                try:
                    info = os.stat(filename, dir_fd=dirfd, follow_symlinks=False)
                except OSError:
                    continue
                if _plain(info):
                    names.append(os.path.normpath(os.path.join(dirpath, filename)))
    finally:
        os.close(top)
    return names


def ignored_inside(root: str | Path, relative: str) -> list[str]:
    """What ``list_inside`` leaves out below ``root/relative``: links (hard links too),
    FIFOs, sockets and devices (``"."`` when the folder itself is one of them), for
    ``tenantctl check``."""
    try:
        if not stat.S_ISDIR(os.lstat(Path(root) / relative).st_mode):
            return ["."]
        top = _open_dir(root, parts_of(relative))
    except FileNotFoundError:
        return []
    except OSError:
        return ["."]
    ignored = []
    try:
        for dirpath, dirs, files, dirfd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            for name in (*dirs, *files):
                try:
                    info = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                except OSError:
                    continue
                if not (_plain(info) or stat.S_ISDIR(info.st_mode)):
                    ignored.append(os.path.normpath(os.path.join(dirpath, name)))
    finally:
        os.close(top)
    return sorted(ignored)
