"""Export a shop to one archive, import it here or elsewhere, delete a shop.

The archive (``.tar.gz``, format ``storefront-shop-export`` version 1) holds:

- ``manifest.json``: format, version, schema revision, shop slug/name/status, its domains
  and the row count of every table;
- ``folder/``: the shop's instance folder (``tenant.toml``, templates, static files);
- ``data/<table>.jsonl``: every row the shop owns, one JSON object per line, without
  ``tenant_id``; datetimes as ISO 8601 strings;
- ``media/<key>``: the shop's files in the platform's storage (pictures, logos), by their
  key under the shop's prefix (rows name them by that key, so they travel unchanged).

Import gives every row a new id and rewrites every reference (composite foreign keys and
the plain references listed in ``PLAIN_REFERENCES``), so one archive can be imported twice
under two slugs. Password hashes travel as they are: the target installation needs the
same ``SECURITY_PASSWORD_SALT`` for them to keep working.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import DateTime, Table, bindparam, func, insert, select

from ..extensions import db
from ..storage import check_key, content_type_of, current_storage, shop_prefix
from .context import all_tenants
from .models import Domain, Tenant
from .registry import bump_generation
from .scoping import PLATFORM_TABLES
from .secrets import SECRETS_FILE
from .services import (
    ShopError,
    check_domains_free,
    get_shop,
    normalize_domains,
    tenants_dir,
    validate_slug,
)

FORMAT = "storefront-shop-export"
VERSION = 1
# References without a foreign key (kept on purpose: an order line outlives its product).
PLAIN_REFERENCES = {
    ("order_lines", "product_id"): "products",
    ("order_lines", "variant_id"): "variants",
}

Progress = Callable[[str, int, int], None]  # (what, done, total)


def _quiet(what: str, done: int, total: int) -> None:
    return None


def shop_tables() -> list[Table]:
    """Every shop-owned table, parents before children."""
    return [
        t for t in db.metadata.sorted_tables if "tenant_id" in t.c and t.name not in PLATFORM_TABLES
    ]


def _schema_heads() -> list[str]:
    from alembic.script import ScriptDirectory
    from flask import current_app

    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return sorted(ScriptDirectory.from_config(config).get_heads())


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# export -----------------------------------------------------------------------------


def export_shop(
    slug: str, out: Path, progress: Progress = _quiet, with_secrets: bool = False
) -> dict[str, Any]:
    """Write the shop's archive to ``out`` (atomically); returns the manifest. The shop's
    ``secrets.toml`` (payment keys) goes in only when asked."""
    tenant = get_shop(slug)
    folder = tenants_dir() / slug
    tables = shop_tables()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": _schema_heads(),
        "shop": {
            "slug": tenant.slug,
            "name": tenant.name,
            "status": tenant.status,
            "suspended_reason": tenant.suspended_reason,
        },
        "domains": [
            {"hostname": d.hostname, "primary": d.is_primary}
            for d in sorted(tenant.domains, key=lambda d: not d.is_primary)
        ],
        "tables": {},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp_name, "w:gz") as tar, all_tenants():
            if folder.is_dir():
                keep = _no_links if with_secrets else _no_links_no_secrets
                tar.add(folder, arcname="folder", filter=keep)
            media = 0
            for key in current_storage().keys(shop_prefix(tenant.uid)):
                found = current_storage().get(key)
                if found is not None:
                    relative = key.removeprefix(shop_prefix(tenant.uid))
                    _add_bytes(tar, f"media/{relative}", found.data)
                    media += 1
            manifest["media"] = media
            for index, table in enumerate(tables):
                progress(table.name, index, len(tables))
                columns = [c for c in table.c if c.name != "tenant_id"]
                rows = db.session.execute(
                    select(*columns)
                    .where(table.c.tenant_id == tenant.id)
                    .order_by(*table.primary_key.columns)
                ).mappings()
                lines = [
                    json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False)
                    for row in rows
                ]
                manifest["tables"][table.name] = len(lines)
                _add_bytes(tar, f"data/{table.name}.jsonl", "\n".join(lines).encode())
            progress("done", len(tables), len(tables))
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return manifest


def _no_links(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return info if info.isfile() or info.isdir() else None


def _no_links_no_secrets(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.name == f"folder/{SECRETS_FILE}" or info.name.endswith(".tmp"):
        return None
    return _no_links(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# import -----------------------------------------------------------------------------


def read_manifest(tar: tarfile.TarFile, source: str) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
        manifest = json.loads(member.read()) if member else None
    except (KeyError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ShopError(f"{source} is not a storefront shop export (no valid manifest.json)")
    if manifest.get("version") != VERSION:
        raise ShopError(
            f"{source} is format version {manifest.get('version')}; this platform reads {VERSION}"
        )
    if manifest.get("schema") != _schema_heads():
        raise ShopError(
            f"{source} was exported at schema {manifest.get('schema')}, this platform is at "
            f"{_schema_heads()}: run `tenantctl db upgrade` on the older side first"
        )
    return manifest


def import_shop(
    archive: Path,
    new_slug: str | None = None,
    domains: list[str] | None = None,
    progress: Progress = _quiet,
) -> Tenant:
    """Restore an export as a new shop: all or nothing (no rows, no folder on failure)."""
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise ShopError(f"cannot read {archive}: {exc}") from None
    with tar:
        manifest = read_manifest(tar, str(archive))
        slug = validate_slug(new_slug or manifest["shop"]["slug"])
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise ShopError(f"shop {slug!r} already exists (import it --as another slug)")
        hosts = normalize_domains(domains or [d["hostname"] for d in manifest["domains"]])
        if not hosts:
            raise ShopError("the shop needs at least one domain (--domain HOST)")
        try:
            check_domains_free(hosts)
        except ShopError as exc:
            # A copy of a live shop: say how to import it beside the original.
            raise ShopError(
                f"{exc}; import it under other domains with --domain HOST "
                f"(and --as another slug if {slug!r} is taken)"
            ) from None
        folder = tenants_dir() / slug
        if folder.exists():
            raise ShopError(f"{folder} already exists; move it away or import --as another slug")
        data = {t.name: _rows(tar, t.name) for t in shop_tables()}
        staging = Path(tempfile.mkdtemp(prefix=f".import-{slug}.", dir=tenants_dir()))
        prefix: str | None = None
        try:
            _extract_folder(tar, staging)
            tenant = _insert_rows(manifest, slug, hosts, data, progress)
            prefix = shop_prefix(tenant.uid)
            _store_media(tar, prefix)
            staging.rename(folder)
            try:
                db.session.commit()
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        except BaseException:
            db.session.rollback()
            shutil.rmtree(staging, ignore_errors=True)
            if prefix is not None:
                current_storage().delete_prefix(prefix)
            raise
    return tenant


def _store_media(tar: tarfile.TarFile, prefix: str) -> None:
    """Put the archive's ``media/`` files under the new shop's prefix (keys checked)."""
    for member in tar.getmembers():
        if not member.name.startswith("media/"):
            continue
        if not member.isfile():
            raise ShopError(f"archive entry {member.name} is not a plain file")
        try:
            key = check_key(member.name.removeprefix("media/"))
        except ValueError:
            raise ShopError(f"unsafe path in archive: {member.name}") from None
        source = tar.extractfile(member)
        data = source.read() if source else b""
        current_storage().put(prefix + key, data, content_type_of(key))


def _rows(tar: tarfile.TarFile, table: str) -> list[dict[str, Any]]:
    try:
        member = tar.extractfile(f"data/{table}.jsonl")
    except KeyError:
        return []
    text = member.read().decode() if member else ""
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ShopError(f"data/{table}.jsonl is damaged: {exc}") from None


def _extract_folder(tar: tarfile.TarFile, target: Path) -> None:
    """Extract ``folder/`` only: plain files and folders, nothing outside the target."""
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if not path.parts or path.parts[0] != "folder" or len(path.parts) == 1:
            continue
        relative = PurePosixPath(*path.parts[1:])
        if relative.is_absolute() or ".." in relative.parts:
            raise ShopError(f"unsafe path in archive: {member.name}")
        destination = target / relative
        if member.isdir():
            destination.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            destination.write_bytes(source.read() if source else b"")
        else:
            raise ShopError(f"archive entry {member.name} is not a plain file")


def _insert_rows(
    manifest: dict[str, Any],
    slug: str,
    hosts: list[str],
    data: dict[str, list[dict[str, Any]]],
    progress: Progress,
) -> Tenant:
    shop = manifest["shop"]
    tenant = Tenant(
        slug=slug,
        name=shop["name"],
        status=shop.get("status", "active"),
        suspended_reason=shop.get("suspended_reason"),
    )
    tenant.domains = [Domain(hostname=h, is_primary=(i == 0)) for i, h in enumerate(hosts)]
    db.session.add(tenant)
    db.session.flush()
    new_ids: dict[str, dict[int, int]] = {}
    total = sum(len(rows) for rows in data.values())
    done = 0
    connection = db.session.connection()
    with all_tenants():
        for table in shop_tables():
            rows = [_decode(table, row) for row in data[table.name]]
            new_ids[table.name] = _insert_table(connection, table, tenant.id, rows, new_ids)
            done += len(rows)
            progress(table.name, done, total)
    progress("done", total, total)
    bump_generation()
    return tenant


BATCH = 1000


def _insert_table(
    connection: Any,
    table: Table,
    tenant_id: int,
    rows: list[dict[str, Any]],
    new_ids: dict[str, dict[int, int]],
) -> dict[int, int]:
    """Insert one table's rows in batches (``executemany`` with ``RETURNING`` the new ids,
    in the rows' order); references are rewritten first, references within the table
    itself in a second pass, once every row has its new id. Returns old id -> new id."""
    references = _references(table)
    surrogate = _has_surrogate_id(table)
    if table.name == "users":
        _free_uniquifiers(table, rows)
    old_ids: list[Any] = []
    later: list[tuple[int, str, int]] = []  # (row, column, old id of a row of this table)
    for index, row in enumerate(rows):
        old_ids.append(row.pop("id", None) if surrogate else None)
        for column, target in references.items():
            if row.get(column) is None:
                continue
            if target == table.name:
                later.append((index, column, row[column]))
                row[column] = None
                continue
            mapped = new_ids.get(target, {}).get(row[column])
            if mapped is None and (table.name, column) not in PLAIN_REFERENCES:
                raise ShopError(
                    f"{table.name}.{column}={row[column]} points at a missing "
                    f"{target} row: the archive is inconsistent"
                )
            row[column] = mapped
        row["tenant_id"] = tenant_id
    ids: dict[int, int] = {}
    for indexes in _by_shape(rows):
        for start in range(0, len(indexes), BATCH):
            chunk = indexes[start : start + BATCH]
            batch = [rows[i] for i in chunk]
            if not surrogate:
                connection.execute(insert(table), batch)
                continue
            if connection.dialect.name == "sqlite":
                # SQLite cannot return ids in the rows' order from one statement (SQLAlchemy
                # would send a statement per row); it has one writer, and this transaction
                # is it (it inserted the shop already), so the next ids are ours to give.
                first = (connection.scalar(select(func.max(table.c.id))) or 0) + 1
                made = list(range(first, first + len(batch)))
                connection.execute(
                    insert(table),
                    [{**row, "id": new_id} for row, new_id in zip(batch, made, strict=True)],
                )
            else:
                returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                made = [found[0] for found in connection.execute(returning, batch)]
            for index, new_id in zip(chunk, made, strict=True):
                ids[old_ids[index]] = new_id
    if later:  # a row pointing at another row of the same table (a subcategory)
        for column in {name for _index, name, _old in later}:
            moves = [
                {"b_id": ids[old_ids[index]], "b_to": ids.get(old)}
                for index, name, old in later
                if name == column
            ]
            statement = (
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values({column: bindparam("b_to")})
            )
            connection.execute(statement, moves)
    return ids


def _by_shape(rows: list[dict[str, Any]]) -> list[list[int]]:
    """Row indexes grouped by their set of columns (``executemany`` wants one shape)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(tuple(sorted(row)), []).append(index)
    return list(groups.values())


def _free_uniquifiers(users: Table, rows: list[dict[str, Any]]) -> None:
    """Keep each user's uniquifier unless another account already has it (one query)."""
    wanted = [row["fs_uniquifier"] for row in rows if row.get("fs_uniquifier")]
    taken: set[str] = set()
    if wanted:
        found = select(users.c.fs_uniquifier).where(users.c.fs_uniquifier.in_(wanted))
        taken = set(db.session.scalars(found))
    for row in rows:
        value = row.get("fs_uniquifier")
        if not value or value in taken:
            row["fs_uniquifier"] = uuid.uuid4().hex
        taken.add(row["fs_uniquifier"])


def self_references(table: Table) -> list[str]:
    return [col for col, target in _references(table).items() if target == table.name]


def delete_rows(table: Table, where: Any) -> None:
    """Delete rows children-first within a self-referencing table (MariaDB checks each
    row's foreign keys as it goes, so a parent may not go before its children)."""
    for column in self_references(table):
        db.session.execute(table.delete().where(where, table.c[column].is_not(None)))
    db.session.execute(table.delete().where(where))


def _has_surrogate_id(table: Table) -> bool:
    return "id" in table.c and [c.name for c in table.primary_key.columns] == ["id"]


def _references(table: Table) -> dict[str, str]:
    """Column -> referenced shop table, for composite FKs and the known plain references."""
    found: dict[str, str] = {}
    for fk in table.foreign_key_constraints:
        target = fk.referred_table.name
        if target in PLATFORM_TABLES:
            continue
        for fk_column in fk.columns:
            if fk_column.name != "tenant_id":
                found[fk_column.name] = target
    for (name, column), target in PLAIN_REFERENCES.items():
        if name == table.name:
            found[column] = target
    return found


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    decoded = {}
    for key, value in row.items():
        if key not in table.c or key == "tenant_id":
            continue  # a column this platform no longer has (schema check guards this)
        if value is not None and isinstance(table.c[key].type, DateTime):
            value = datetime.fromisoformat(value).replace(tzinfo=None)
        decoded[key] = value
    return decoded
