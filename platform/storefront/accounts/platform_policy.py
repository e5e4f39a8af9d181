"""The operator's platform-wide sign-in policy (``tenantctl security``): whether every
shop's owners and staff must have a second factor, whatever their shops' settings.

It lives in a small TOML file in the instance folder (``SECURITY_POLICY_FILE`` moves it),
like the plans file, so an operator turns it on with one command and no restart: every
worker notices the file's change within a second. ``STAFF_SECOND_FACTOR_REQUIRED = True``
in the platform's config requires it too (and the file cannot turn that off).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import tomlkit
from flask import current_app

POLICY_FILE = "security.toml"
CHECK_INTERVAL = 1.0  # seconds a worker trusts what it read before looking again
KEY = "staff_second_factor"


class PolicyError(ValueError):
    """A policy file that cannot be read (an operator's typo): one line, never a 500."""


def policy_path() -> Path:
    """``SECURITY_POLICY_FILE`` if set, else ``security.toml`` in the instance folder."""
    configured = current_app.config.get("SECURITY_POLICY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / POLICY_FILE


def _read(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: unreadable ({exc})") from None
    value = data.get(KEY, False)
    if not isinstance(value, bool):
        raise PolicyError(f"{path}: {KEY} must be true or false")
    return value


_lock = threading.Lock()
_known: dict[Path, tuple[tuple[int, int] | None, bool, float]] = {}


def _file_requires(path: Path) -> bool:
    now = time.monotonic()
    known = _known.get(path)
    if known is not None and now - known[2] < CHECK_INTERVAL:
        return known[1]
    try:
        stat = os.stat(path)
        stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        stamp = None
    if known is not None and known[0] == stamp:
        value = known[1]
    else:
        try:
            value = _read(path)
        except PolicyError:
            # A broken file keeps the last good answer, and fails closed when there was none.
            value = known[1] if known is not None else True
    with _lock:
        _known[path] = (stamp, value, now)
    return value


def staff_second_factor_required() -> bool:
    """Whether the operator requires a second factor of every shop's staff."""
    if current_app.config.get("STAFF_SECOND_FACTOR_REQUIRED"):
        return True
    return _file_requires(policy_path())


def set_staff_second_factor(required: bool) -> None:
    """Write the operator's choice (atomically, keeping the file's comments)."""
    path = policy_path()
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
        doc.add(
            tomlkit.comment(
                "The platform's sign-in policy: tenantctl security (docs/operators.md)."
            )
        )
    except Exception as exc:  # noqa: BLE001 - tomlkit raises several parse error types
        raise PolicyError(f"{path}: invalid TOML: {exc}") from None
    doc[KEY] = required
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".security.", suffix=".toml", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(doc))
    os.replace(tmp, path)
    with _lock:
        _known.pop(path, None)
