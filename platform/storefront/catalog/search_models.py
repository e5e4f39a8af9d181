"""The search index's tables: per shop, a vocabulary and its postings.

``search_terms`` holds every word the shop's active products use, with how many
products use it (``df``); ``search_postings`` which products, and how strongly (the
field's weight); ``search_deletes`` each word with one letter left out (typos become
indexed lookups, SymSpell-style); ``search_stems`` each word's stems in the shop's
languages. Every key leads with ``tenant_id`` and every row is ``TenantScoped``: a
query with no shop bound fails, and one shop never reads another's words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Integer, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ..db import Identifier
from ..extensions import Model
from ..tenancy.scoping import TenantScoped
from .search_text import MAX_TERM

# SQLite keeps these rows in their primary key's B-tree (no rowid beside it): half the
# size, and a term's postings are read in one range.
_COMPACT = {"sqlite_with_rowid": False}


class _IndexRow(TenantScoped):
    """Index rows have no id of their own: their key is what they say."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (*cls.__scoped_args__, _COMPACT)


class SearchTerm(Model, _IndexRow):
    __tablename__ = "search_terms"
    __scoped_args__ = (PrimaryKeyConstraint("tenant_id", "term"),)

    term: Mapped[str] = mapped_column(Identifier(MAX_TERM))
    df: Mapped[int] = mapped_column(Integer, default=0)  # active products using it

    def __repr__(self) -> str:
        return f"<SearchTerm {self.term} {self.df}>"


class SearchPosting(Model, _IndexRow):
    __tablename__ = "search_postings"
    # A product's postings, to replace them when it changes.
    # Best first within a term (weight, then newest): a common word's best products are
    # the first rows of its range. The second index finds a product's postings.
    __scoped_args__ = (
        PrimaryKeyConstraint("tenant_id", "term", "weight", "product_id"),
        Index("ix_search_postings_product", "tenant_id", "product_id", "term"),
    )

    term: Mapped[str] = mapped_column(Identifier(MAX_TERM))
    weight: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<SearchPosting {self.term} {self.product_id}>"


class SearchDelete(Model, _IndexRow):
    __tablename__ = "search_deletes"
    __scoped_args__ = (PrimaryKeyConstraint("tenant_id", "variant", "term"),)

    variant: Mapped[str] = mapped_column(Identifier(MAX_TERM))
    term: Mapped[str] = mapped_column(Identifier(MAX_TERM))

    def __repr__(self) -> str:
        return f"<SearchDelete {self.variant} {self.term}>"


class SearchStem(Model, _IndexRow):
    __tablename__ = "search_stems"
    __scoped_args__ = (PrimaryKeyConstraint("tenant_id", "stem", "term"),)

    stem: Mapped[str] = mapped_column(Identifier(MAX_TERM))
    term: Mapped[str] = mapped_column(Identifier(MAX_TERM))

    def __repr__(self) -> str:
        return f"<SearchStem {self.stem} {self.term}>"


class SearchState(Model, _IndexRow):
    """The languages the shop's index was stemmed in: a search that finds the shop
    speaking others queues a rebuild (``catalog.search``), so adding German to a shop's
    ``locales`` makes "Zelte" find "Zelt" without an operator's ``search reindex``."""

    __tablename__ = "search_state"
    __scoped_args__ = (PrimaryKeyConstraint("tenant_id"),)

    languages: Mapped[str] = mapped_column(String(120), default="")

    def __repr__(self) -> str:
        return f"<SearchState {self.languages}>"
