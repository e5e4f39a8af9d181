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
same ``SECURITY_PASSWORD_SALT`` for them to keep working. An archive is untrusted input:
it is unpacked within limits (``archive``), and only data comes alive (``SKIPPED_TABLES``,
``INERT``): no queued mail, session, key or token of the archive works after an import.
Rows are read a line at a time within ``ARCHIVE_MAX_LINE_BYTES``, and every text value
must fit its column. The archive's domains are claims, pending until DNS proves them; only
the operator's ``--domain`` is trusted.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, String, Table, bindparam, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..json_limits import check_depth
from ..shopfiles import list_inside, open_inside
from ..storage import check_key, content_type_of, current_storage, shop_prefix
from .archive import unpack
from .context import all_tenants
from .models import Domain, Tenant, utcnow
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
from .signals import shop_rows_imported
from .verification import claim_token

FORMAT = "storefront-shop-export"
VERSION = 1
# References without a foreign key (kept on purpose: an order line outlives its product).
PLAIN_REFERENCES = {
    ("order_lines", "product_id"): "products",
    ("order_lines", "variant_id"): "variants",
}

# Columns that go in only with --with-secrets (an import makes new ones anyway).
SECRET_COLUMNS = {("webhook_endpoints", "secret")}

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
    if isinstance(value, bytes):  # a passkey's id and public key
        return base64.b64encode(value).decode()
    return value.isoformat() if isinstance(value, date) else value  # datetimes too


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
            _add_folder(tar, folder, with_secrets)
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
                columns = [
                    c
                    for c in table.c
                    if c.name != "tenant_id"
                    and (with_secrets or (table.name, c.name) not in SECRET_COLUMNS)
                ]
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


def _add_folder(tar: tarfile.TarFile, folder: Path, with_secrets: bool) -> None:
    """The shop's folder as ``folder/…``: regular files only, each read from the file that
    was opened without following a link (a template swapped for a link to another shop's
    ``secrets.toml`` while the export runs is left out, not read)."""
    for relative in sorted(list_inside(folder)):
        if relative.endswith(".tmp") or (relative == SECRETS_FILE and not with_secrets):
            continue
        try:
            file = open_inside(folder, relative)
        except OSError:
            continue  # gone or swapped since it was listed
        with file:
            st = os.fstat(file.fileno())
            info = tarfile.TarInfo(f"folder/{relative}")
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
            if relative == SECRETS_FILE:
                info.mode = 0o600
            tar.addfile(info, file)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# import -----------------------------------------------------------------------------

# An archive may come from anyone (issue 29), so an import brings in data and nothing that
# can act on its own: send, call out, sign someone in or hold off the new shop's work.
# Per table: left out (the reason says why), or brought in dead by ``INERT``. Every other
# table is data (products, orders, accounts with their password hashes, ...) and comes as
# it was. Orders' shopper links need nothing: they are HMACs over the shop's uid, and the
# imported shop has a new one. docs/operators.md ("Data") lists the same.
SKIPPED_TABLES = {
    "plan_counters": "the plan's counters (mails today, stored bytes) start again at zero",
    "outbox": "queued mails, webhook deliveries and jobs would run as the archive wrote them",
    "user_sessions": "signed-in browsers of the installation the archive came from",
    "periodic_runs": "another installation's schedule (it could hold off the shop's checks)",
    # The search index is made from the products: rebuilt after the import (cli.data).
    "search_terms": "the search index, rebuilt from the imported products",
    "search_postings": "the search index, rebuilt from the imported products",
    "search_deletes": "the search index, rebuilt from the imported products",
    "search_stems": "the search index, rebuilt from the imported products",
    "search_state": "the search index's languages, written by that rebuild",
    # The dashboard's figures are made from the orders: rebuilt after the import (cli.data);
    # carried, they would name the archive's account ids, which the import renumbers.
    "sales_days": "daily sales figures, rebuilt from the imported orders",
    "product_sales_days": "daily product figures, rebuilt from the imported orders",
    "customer_totals": "customers' counters, rebuilt from the imported orders",
    # A transfer names a file in the store by its key: taken from an archive, it could
    # name another shop's export. Its files stay with the installation that made them.
    "transfers": "exports and imports of the installation the archive came from",
    # A consent names a cart by a plain id the import renumbers, and would mail; an
    # unsubscription is a digest keyed to the old shop's uid: it matches nobody here.
    "cart_reminders": "shoppers' consents to a reminder about carts of the old shop",
    "cart_reminder_optouts": "digests keyed to the old shop: they match no address here",
    # A passkey signs its holder in: one taken from an archive anyone could have written
    # would open the account to whoever holds its private key. Added again after a move.
    "webauthn": "passkeys (they sign in): their holders add them again",
    # Its links name the shop they were sent from (and its id and inviter are renumbered):
    # the owner invites again.
    "staff_invitations": "pending staff invitations, whose links name the archive's shop",
}


def _kill_api_key(row: dict[str, Any]) -> None:
    row["revoked_at"] = row.get("revoked_at") or utcnow()  # the owner makes new keys


def _stop_webhook(row: dict[str, Any]) -> None:
    row["active"] = False  # the owner checks the address and turns it on again
    row["disabled_reason"] = "imported: check the address, then turn it on"
    # The archive's is known to its holder; a new one as webhooks.models.new_secret makes.
    row["secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _new_identity(row: dict[str, Any]) -> None:
    # Flask-Security's session id, remember cookie, login tokens and reset and
    # confirmation links all carry the uniquifier: a new one makes every one of them dead.
    row["fs_uniquifier"] = uuid.uuid4().hex
    row["fs_token_uniquifier"] = uuid.uuid4().hex  # what API login tokens carry


def _new_cart_token(row: dict[str, Any]) -> None:
    row["token"] = secrets.token_urlsafe(32)  # a guest's cart is opened by its token


def _forget_gift_card_code(row: dict[str, Any]) -> None:
    # A code waiting for its mail, sealed under the archive's installation key: the mail is
    # not imported (outbox), and no archive may hand this one a code to send.
    row["sealed_code"] = None


INERT: dict[str, Callable[[dict[str, Any]], None]] = {
    "api_keys": _kill_api_key,
    "webhook_endpoints": _stop_webhook,
    "users": _new_identity,
    "carts": _new_cart_token,
    # Balances and ledgers come as they were; codes are keyed digests over the shop's uid
    # and the installation's SECRET_KEY (orders.giftcards.codes), so an imported copy's
    # cards answer to no code: the owner issues new cards for the balances.
    "gift_cards": _forget_gift_card_code,
}
# Plain data, imported as it was. Every shop table is in exactly one of the three
# (tests/test_shop_archive.py checks it): a new table needs a decision.
DATA_TABLES = frozenset(
    {
        "categories",
        "products",
        "product_categories",
        "product_images",
        "variants",
        "pages",
        "roles",
        "roles_users",
        "cart_items",
        "order_counters",
        "orders",
        "order_lines",
        "refunds",
        "payment_events",  # which provider events were handled: they can only refuse
        "discount_codes",
        "discount_redemptions",
        "saved_addresses",  # shoppers' address books, tied to their imported accounts
        "redirects",  # moved addresses: an imported shop keeps answering its old links
        "seo_settings",  # the owner's robots.txt
        "cart_reminder_settings",  # the owner's switch and delay
        "cart_reminder_days",  # what reminders brought back, per day
        "product_pairs",  # products bought together (their ids follow the products')
        # The audit trail and its head: the chain's hashes cover neither row ids nor the
        # shop's id, so the imported trail verifies and goes on from where it was.
        "audit_entries",
        "audit_heads",
        "gift_card_movements",  # the cards' ledgers
        "reviews",  # shoppers' reviews, tied to their imported orders and accounts
        "review_settings",  # whether new reviews publish at once
        # The home page's sections: validated again whenever a page reads them; their
        # product and category ids follow the import's (home.receivers).
        "home_sections",
        "newsletter_signups",  # addresses shoppers left for the shop's newsletter
    }
)
MANIFEST_MAX = 4 * 1024 * 1024
# The longest honest line: a page, whose Markdown body the dashboard takes up to 50,000
# characters, in the shop's language and ten translations, 3 bytes a character in CJK
# scripts (~1.7 MB; a product's 20,000-character descriptions come to less). Each line is
# read within this (``ARCHIVE_MAX_LINE_BYTES``), never whole whatever its length.
LINE_MAX = 4 * 1024 * 1024
# A ``Text`` value (a page's body, a product's description, an order's note): four times
# the longest the dashboard takes (``ARCHIVE_MAX_TEXT_CHARS``). ``String(n)`` takes n.
TEXT_MAX = 200_000


def read_manifest(path: Path, source: str) -> dict[str, Any]:
    """The unpacked archive's manifest, checked against this platform's format and schema."""
    try:
        manifest = json.loads(path.read_bytes()) if path.stat().st_size <= MANIFEST_MAX else None
    except (OSError, ValueError):
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
    shop = manifest.get("shop")
    if not isinstance(shop, dict) or not isinstance(manifest.get("domains"), list):
        raise ShopError(f"{source}: manifest.json lacks the shop or its domains")
    name, reason = shop.get("name"), shop.get("suspended_reason")
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= 200
        or shop.get("status", "active") not in ("active", "suspended")
        or not isinstance(reason, str | None)
    ):
        raise ShopError(f"{source}: manifest.json describes the shop wrongly (name, status)")
    return manifest


def import_shop(
    archive: Path,
    new_slug: str | None = None,
    domains: list[str] | None = None,
    progress: Progress = _quiet,
) -> Tenant:
    """Restore an export as a new shop: all or nothing (no rows, no folder on failure).

    The archive is unpacked within limits into a private folder first (``archive``);
    only data comes alive (see ``SKIPPED_TABLES`` and ``INERT``)."""
    root = tenants_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import.", dir=root))
    prefix: str | None = None
    try:
        progress("unpacking", 0, 1)
        unpack(archive, staging)
        manifest = read_manifest(staging / "manifest.json", str(archive))
        slug = validate_slug(new_slug or str(manifest["shop"].get("slug")))
        if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise ShopError(f"shop {slug!r} already exists (import it --as another slug)")
        archived = [str(d.get("hostname")) for d in manifest["domains"] if isinstance(d, dict)]
        # The operator's --domain is vouched for; the archive's domains are anyone's claims.
        hosts = normalize_domains(domains or archived)
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
        folder = root / slug
        if folder.exists():
            raise ShopError(f"{folder} already exists; move it away or import --as another slug")
        tenant = _insert_rows(manifest, slug, hosts, bool(domains), staging / "data", progress)
        prefix = shop_prefix(tenant.uid)
        _store_media(staging / "media", prefix)
        unpacked = staging / "folder"
        if not unpacked.is_dir():
            unpacked.mkdir()
        unpacked.rename(folder)
        try:
            db.session.commit()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    except BaseException:
        db.session.rollback()
        if prefix is not None:
            current_storage().delete_prefix(prefix)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tenant


def _store_media(media: Path, prefix: str) -> None:
    """Put the archive's ``media/`` files under the new shop's prefix (keys checked)."""
    if not media.is_dir():
        return
    for path in sorted(media.rglob("*")):
        if path.is_dir():
            continue
        name = path.relative_to(media).as_posix()
        try:
            key = check_key(name)
        except ValueError:
            raise ShopError(f"unsafe path in archive: media/{name}") from None
        current_storage().put(prefix + key, path.read_bytes(), content_type_of(key))


class _Misfit(ValueError):
    """A value the column would not hold (too long, or not text for a text column)."""


def _rows(data: Path, table: Table) -> Iterator[dict[str, Any]]:
    """One table's rows, read a line at a time within ``ARCHIVE_MAX_LINE_BYTES`` (an
    archive's table may be large, and one line of it huge), checked against the nesting
    limit before they are parsed, decoded, and made inert where ``INERT`` says so."""
    path = data / f"{table.name}.jsonl"
    if table.name in SKIPPED_TABLES or not path.is_file():
        return
    member = f"data/{table.name}.jsonl"
    inert = INERT.get(table.name)
    config = current_app.config
    limit = int(config.get("ARCHIVE_MAX_LINE_BYTES", LINE_MAX))
    text_max = int(config.get("ARCHIVE_MAX_TEXT_CHARS", TEXT_MAX))
    number = 0
    with path.open("rb") as lines:
        while raw := lines.readline(limit + 1):  # at most one byte past the limit
            number += 1
            if len(raw.rstrip(b"\r\n")) > limit:
                raise ShopError(
                    f"{member} line {number} is longer than {limit:,} bytes "
                    "(ARCHIVE_MAX_LINE_BYTES)"
                )
            try:
                text = raw.decode()
                if not text.strip():
                    continue
                check_depth(text)  # json.loads recurses once per level
                row = json.loads(text)
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
                row = _decode(table, row, text_max)
            except _Misfit as exc:
                raise ShopError(f"{member} does not fit at line {number}: {exc}") from None
            except (ValueError, TypeError) as exc:  # JSON, depth, UTF-8 and date errors alike
                raise ShopError(f"{member} is damaged at line {number}: {exc}") from None
            if inert is not None:
                inert(row)
            yield row


def _insert_rows(
    manifest: dict[str, Any],
    slug: str,
    hosts: list[str],
    trusted: bool,
    data: Path,
    progress: Progress,
) -> Tenant:
    shop = manifest["shop"]
    tenant = Tenant(
        slug=slug,
        name=shop["name"],
        status=shop.get("status", "active"),
        suspended_reason=shop.get("suspended_reason"),
    )
    db.session.add(tenant)
    db.session.flush()  # the shop's uid, which a claim's token is made from
    tenant.domains = [_domain(tenant, h, i == 0, trusted) for i, h in enumerate(hosts)]
    db.session.flush()
    new_ids: dict[str, dict[int, int]] = {}
    counts = manifest.get("tables")  # for the progress bar only
    total = sum(n for n in counts.values() if isinstance(n, int)) if isinstance(counts, dict) else 0
    done = 0
    connection = db.session.connection()
    with all_tenants():
        for table in shop_tables():
            try:
                new_ids[table.name], count = _insert_table(
                    connection, table, tenant.id, _rows(data, table), new_ids
                )
            except TypeError as exc:  # an id or a reference that is not a plain value
                raise ShopError(f"data/{table.name}.jsonl does not fit: {exc}") from None
            except SQLAlchemyError as exc:  # a row this platform's schema refuses
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
                raise ShopError(f"data/{table.name}.jsonl does not fit: {reason}") from None
            done += count
            progress(table.name, done, max(total, done))
        shop_rows_imported.send(tenant, connection=connection, new_ids=new_ids)
    progress("done", done, done)
    bump_generation()
    return tenant


def _domain(tenant: Tenant, hostname: str, primary: bool, trusted: bool) -> Domain:
    """A domain named by the operator (``--domain``) serves at once, as when a shop is
    created. One named by the archive is a claim like any new one (``verification``):
    pending, served by nothing (no page, no certificate) until its DNS records prove it,
    and yielding to a shop that proves it, or to any shop after ``DOMAIN_CLAIM_HOURS``.
    It stays primary if it was: it serves the shop once proven, and until then nothing."""
    if trusted:
        return Domain(hostname=hostname, is_primary=primary, status="verified", trusted=True)
    return Domain(
        hostname=hostname,
        is_primary=primary,
        status="pending",
        trusted=False,
        verify_token=claim_token(tenant.uid, hostname),
    )


BATCH = 1000


def _insert_table(
    connection: Any,
    table: Table,
    tenant_id: int,
    rows: Iterable[dict[str, Any]],
    new_ids: dict[str, dict[int, int]],
) -> tuple[dict[int, int], int]:
    """Insert one table's rows, ``BATCH`` at a time as they are read (``executemany``
    with ``RETURNING`` the new ids, in the rows' order); references are rewritten first,
    references within the table itself in a second pass, once every row has its new id.
    Returns old id -> new id, and how many rows went in."""
    references = _references(table)
    surrogate = _has_surrogate_id(table)
    ids: dict[int, int] = {}
    later: list[tuple[Any, str, Any]] = []  # (row's old id, column, old id it points at)
    count = 0
    for chunk in _batches(rows):
        old_ids: list[Any] = []
        for row in chunk:
            old_ids.append(row.pop("id", None) if surrogate else None)
            for column, target in references.items():
                if row.get(column) is None:
                    continue
                if target == table.name:
                    later.append((old_ids[-1], column, row[column]))
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
        count += len(chunk)
        for indexes in _by_shape(chunk):
            batch = [chunk[i] for i in indexes]
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
            for index, new_id in zip(indexes, made, strict=True):
                ids[old_ids[index]] = new_id
    if later:  # a row pointing at another row of the same table (a subcategory)
        for column in {name for _row, name, _old in later}:
            moves = [
                {"b_id": ids[row], "b_to": ids.get(old)}
                for row, name, old in later
                if name == column and row in ids
            ]
            statement = (
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values({column: bindparam("b_to")})
            )
            connection.execute(statement, moves)
    return ids, count


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _by_shape(rows: list[dict[str, Any]]) -> list[list[int]]:
    """Row indexes grouped by their set of columns (``executemany`` wants one shape)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(tuple(sorted(row)), []).append(index)
    return list(groups.values())


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


def _decode(table: Table, row: dict[str, Any], text_max: int) -> dict[str, Any]:
    """The row's values for this platform's columns: datetimes parsed, text checked
    against its column's length (``String(n)``; ``text_max`` for ``Text``)."""
    decoded = {}
    for key, value in row.items():
        if key not in table.c or key == "tenant_id":
            continue  # a column this platform no longer has (schema check guards this)
        kind = table.c[key].type
        if value is not None and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value).replace(tzinfo=None)
        elif value is not None and isinstance(kind, String):  # Text is a String too
            if not isinstance(value, str):
                raise _Misfit(f"{key} is not text")
            longest = kind.length or text_max
            if len(value) > longest:
                raise _Misfit(f"{key} holds {len(value):,} characters, at most {longest:,}")
        decoded[key] = value
    return decoded
