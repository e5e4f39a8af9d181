"""a per-shop search index

Four tables, every key led by the shop: the vocabulary (``search_terms``, with how many
products use each word), the postings (``search_postings``, best first within a word),
and the words' one-letter deletions and stems. Existing shops are indexed here, each
in batches of products (tokens and stems are made in Python, a batch at a time; the
writer is the app's own ``search_index.rebuild``, so the index is what the app keeps).

Revision ID: a30e1f0c5e01
Revises: 5c56edbf0ab1
Create Date: 2026-12-07 17:50:00.000000

"""

import tomllib
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

from storefront.db import Identifier

revision = "a30e1f0c5e01"
down_revision = "5c56edbf0ab1"
branch_labels = None
depends_on = None

BATCH = 2000


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("term", Identifier(64), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("search_terms"),
        sa.PrimaryKeyConstraint("tenant_id", "term", name="pk_search_terms"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_postings",
        sa.Column("term", Identifier(64), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("search_postings"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "term", "weight", "product_id", name="pk_search_postings"
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_search_postings_product", "search_postings", ["tenant_id", "product_id", "term"]
    )
    op.create_table(
        "search_deletes",
        sa.Column("variant", Identifier(64), nullable=False),
        sa.Column("term", Identifier(64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("search_deletes"),
        sa.PrimaryKeyConstraint("tenant_id", "variant", "term", name="pk_search_deletes"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_stems",
        sa.Column("stem", Identifier(64), nullable=False),
        sa.Column("term", Identifier(64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _tenant_fk("search_stems"),
        sa.PrimaryKeyConstraint("tenant_id", "stem", "term", name="pk_search_stems"),
        sqlite_with_rowid=False,
    )
    _index_existing_shops()


def _index_existing_shops() -> None:
    """Each shop's active products, ``BATCH`` at a time, stemmed in its languages."""
    from storefront.catalog.search_index import rebuild
    from storefront.catalog.search_text import languages

    connection = op.get_bind()
    shops = connection.execute(sa.text("SELECT id, slug FROM tenants ORDER BY id")).all()
    for tenant, slug in shops:
        rebuild(tenant, languages(_locales(slug)), BATCH, connection=connection)


def _locales(slug: str) -> list[str]:
    """The locales the shop's ``tenant.toml`` names (none if it cannot be read: the
    index then stems in English, and ``tenantctl search reindex`` redoes it)."""
    path = Path(current_app.config["TENANTS_DIR"]) / slug / "tenant.toml"
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    locales = settings.get("locales") or [settings.get("locale") or ""]
    return [str(loc) for loc in locales if loc]


def downgrade() -> None:
    op.drop_index("ix_search_postings_product", table_name="search_postings")
    for table in ("search_stems", "search_deletes", "search_postings", "search_terms"):
        op.drop_table(table)
