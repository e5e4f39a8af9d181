"""A shop's secrets: ``tenants/<slug>/secrets.toml`` (payment keys), never ``tenant.toml``.

The file is written by ``tenantctl secrets set`` with owner-only permissions, read when a
payment needs it, never exported unless asked (``tenantctl export --with-secrets``),
never logged, and shown masked (``mask``) in the dashboard and the CLI.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SECRETS_FILE = "secrets.toml"


class StripeSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    secret_key: str | None = Field(None, pattern=r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,200}$")
    publishable_key: str | None = Field(None, pattern=r"^pk_(test|live)_[A-Za-z0-9]{8,200}$")
    webhook_secret: str | None = Field(None, pattern=r"^whsec_[A-Za-z0-9]{8,200}$")


class ShopSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    stripe: StripeSecrets = StripeSecrets()


class SecretsError(ValueError):
    """The secrets file or a value is not valid; the message never contains a secret."""


def secrets_path(tenants_dir: str | Path, slug: str) -> Path:
    return Path(tenants_dir) / slug / SECRETS_FILE


def load_secrets(tenants_dir: str | Path, slug: str) -> ShopSecrets:
    path = secrets_path(tenants_dir, slug)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ShopSecrets()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise SecretsError(f"{path}: unreadable or not TOML") from None
    try:
        return ShopSecrets.model_validate(data)
    except ValidationError as exc:
        keys = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise SecretsError(f"{path}: invalid value for {keys}") from None


def set_secret(tenants_dir: str | Path, slug: str, key: str, value: str | None) -> None:
    """Set (or, with None, remove) ``section.name``; validated before the file is replaced,
    which is written owner-only (0600)."""
    path = secrets_path(tenants_dir, slug)
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
    section, _, name = key.partition(".")
    if not name:
        raise SecretsError(f"{key}: expected section.name, e.g. stripe.secret_key")
    table = doc.get(section)
    if value is None:
        if table is not None and name in table:
            del table[name]
    else:
        if table is None:
            table = tomlkit.table()
            doc[section] = table
        table[name] = value
    try:
        ShopSecrets.model_validate(tomllib.loads(tomlkit.dumps(doc)))
    except ValidationError:
        raise SecretsError(f"{key}: not a valid value (the value is not shown)") from None
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(tomlkit.dumps(doc))
    os.replace(tmp, path)


def mask(value: str | None) -> str:
    """``sk_test_…4242``: enough to recognise a key, not enough to use it."""
    if not value:
        return ""
    head, separator, _rest = value.rpartition("_")
    prefix = head + "_" if separator and len(head) <= 10 else ""
    return f"{prefix}…{value[-4:]}"
