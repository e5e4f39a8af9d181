"""identifiers compare exactly and timestamps keep their microseconds, on MySQL/MariaDB too

SQLite compares text byte for byte and keeps a datetime's microseconds in its text.
MariaDB's default collation ignored case, accents and trailing spaces (``x``, ``X`` and
``x `` were one SKU; ``/p/CLASSIC-ANVIL`` found the product) and ``DATETIME`` dropped the
microseconds. Here, on MySQL/MariaDB only: SKUs, slugs, order numbers and discount codes
get the utf8mb4 collation that compares bytes and pads nothing (MariaDB
``utf8mb4_nopad_bin``, MySQL 8 ``utf8mb4_0900_bin``), every timestamp ``DATETIME(6)``
(storefront.db's Identifier and Timestamp). Trailing spaces of identifiers already stored
are trimmed first: the old collation ignored them, so two rows cannot collide, and a value
stays reachable as people type it (their input is stripped now).

Nothing changes on SQLite. A downgrade fails (duplicate key) if rows made since differ
only in case or accents: rename one of them first.

Revision ID: 5c56edbf0ab1
Revises: 5b8e2f4c7a19
Create Date: 2026-12-07 16:40:00.000000

"""

from alembic import op

revision = "5c56edbf0ab1"
down_revision = "5b8e2f4c7a19"
branch_labels = None
depends_on = None

# (table, column, VARCHAR length): every identifier column, all NOT NULL.
IDENTIFIERS = [
    ("categories", "slug", 120),
    ("discount_codes", "code", 40),
    ("orders", "number", 32),
    ("pages", "slug", 120),
    ("products", "sku", 64),
    ("products", "slug", 120),
    ("variants", "sku", 64),
]

# table: [(column, nullable)]: every timestamp column.
TIMESTAMPS = {
    "api_keys": [
        ("created_at", False),
        ("expires_at", True),
        ("last_used_at", True),
        ("revoked_at", True),
    ],
    "carts": [("updated_at", False)],
    "discount_codes": [("starts_at", True), ("ends_at", True), ("created_at", False)],
    "discount_redemptions": [("created_at", False)],
    "domains": [("last_checked_at", True), ("failing_since", True), ("created_at", False)],
    "orders": [("restocked_at", True), ("created_at", False), ("updated_at", False)],
    "outbox": [("next_attempt_at", False), ("created_at", False), ("done_at", True)],
    "pages": [("updated_at", False)],
    "payment_events": [("created_at", False)],
    "periodic_runs": [("ran_at", False)],
    "product_images": [("created_at", False)],
    "products": [("created_at", False), ("updated_at", True)],
    "refunds": [("created_at", False)],
    "saved_addresses": [("created_at", False)],
    "tenants": [("created_at", False)],
    "user_sessions": [("created_at", False)],
    "users": [("confirmed_at", True), ("created_at", False)],
    "variants": [("updated_at", True)],
    "webhook_endpoints": [("created_at", False)],
}


def _on_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _alter(exact: bool) -> None:
    """One ALTER TABLE per table (one rebuild), every changed column in it."""
    bind = op.get_bind()
    collation = "utf8mb4_nopad_bin" if bind.dialect.is_mariadb else "utf8mb4_0900_bin"
    changes: dict[str, list[str]] = {}
    for table, column, length in IDENTIFIERS:
        # Without COLLATE the column takes its table's default again, as it was made.
        collate = f" CHARACTER SET utf8mb4 COLLATE {collation}" if exact else ""
        changes.setdefault(table, []).append(
            f"MODIFY `{column}` VARCHAR({length}){collate} NOT NULL"
        )
    for table, columns in TIMESTAMPS.items():
        kind = "DATETIME(6)" if exact else "DATETIME"
        for column, nullable in columns:
            changes.setdefault(table, []).append(
                f"MODIFY `{column}` {kind} {'NULL' if nullable else 'NOT NULL'}"
            )
    for table, clauses in sorted(changes.items()):
        op.execute(f"ALTER TABLE `{table}` " + ", ".join(clauses))


def upgrade():
    if not _on_mysql():
        return
    for table, column, _length in IDENTIFIERS:
        trimmed = f"RTRIM(`{column}`)"
        op.execute(
            f"UPDATE `{table}` SET `{column}` = {trimmed} "
            f"WHERE CHAR_LENGTH(`{column}`) <> CHAR_LENGTH({trimmed})"
        )
    _alter(exact=True)


def downgrade():
    if not _on_mysql():
        return
    _alter(exact=False)
