"""Search that forgives: "Anvils", "anvl" and "ANVIL" all find the anvils, in any of the
shop's languages, best matches first.

Every word of the query must match a word of the product — exactly, as the start of a
word ("rock" → "Rocket"), in the singular ("anvils" → "anvil") or within a typo budget
(one edit for words of four to seven letters, two beyond; rapidfuzz's Levenshtein
distance, in C) — in its title (any language), SKU, categories or, weighted lower, its
description. The shop's active products are scored in-process from one query of their
texts; see docs/decisions.md for why this beats the databases' full-text indexes here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from sqlalchemy import select

from ..extensions import db
from ..listing import MAX_QUERY
from .models import Category, Product, product_categories

MAX_WORDS = 8
DESCRIPTION_WEIGHT = 0.6
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-case words without accents: "Crème Brûlée" -> ["creme", "brulee"]."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return _WORD.findall(plain)


def _budget(word: str) -> int:
    return 0 if len(word) <= 3 else 1 if len(word) <= 7 else 2


def _singular(word: str) -> str:
    for ending in ("ies", "es", "s"):
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


def word_score(wanted: str, word: str) -> float:
    """How well ``word`` (from a product) answers ``wanted`` (from the query): 0 to 1."""
    if word == wanted:
        return 1.0
    if len(wanted) >= 2 and word.startswith(wanted):
        return 0.9
    if _singular(word) == _singular(wanted):
        return 0.9
    budget = _budget(wanted)
    if budget:
        distance = Levenshtein.distance(wanted, word, score_cutoff=budget)
        if distance <= budget:
            return 0.8 - 0.1 * distance
        prefix = word[: len(wanted)]
        if len(wanted) >= 4 and Levenshtein.distance(wanted, prefix, score_cutoff=1) <= 1:
            return 0.6
    return 0.0


@dataclass(frozen=True)
class Doc:
    id: int
    main: tuple[str, ...]  # title (all languages), SKU, categories
    extra: tuple[str, ...]  # description (all languages)


def _best(wanted: str, candidates: Iterable[str]) -> float:
    best = 0.0
    for word in candidates:
        score = word_score(wanted, word)
        if score > best:
            best = score
            if best == 1.0:
                break
    return best


def score(query_words: list[str], doc: Doc) -> float:
    """The product's relevance: every query word must match (else 0); exact title words
    count most."""
    total = 0.0
    for wanted in query_words:
        main = _best(wanted, doc.main)
        extra = _best(wanted, doc.extra) * DESCRIPTION_WEIGHT if main < 1.0 else 0.0
        best = max(main, extra)
        if best == 0.0:
            return 0.0
        total += best
    return total / len(query_words)


def _docs() -> list[Doc]:
    """The bound shop's active products as search documents: two statements."""
    names: dict[int, list[str]] = {}
    links = product_categories.c
    rows = db.session.execute(
        select(links.product_id, Category.name, Category.translations).join(
            Category,
            (Category.id == links.category_id) & (Category.tenant_id == links.tenant_id),
        )
    )
    for product_id, name, translations in rows:
        texts = [name, *((t or {}).get("name", "") for t in (translations or {}).values())]
        names.setdefault(product_id, []).extend(texts)
    docs = []
    products = db.session.execute(
        select(
            Product.id, Product.title, Product.sku, Product.description, Product.translations
        ).where(Product.active.is_(True))
    )
    for product_id, title, sku, description, translations in products:
        other = (translations or {}).values()
        main = [title, sku, *(t.get("title", "") for t in other), *names.get(product_id, [])]
        extra = [description or "", *(t.get("description", "") for t in other)]
        docs.append(
            Doc(
                product_id,
                tuple(dict.fromkeys(w for text in main for w in words(text))),
                tuple(dict.fromkeys(w for text in extra for w in words(text))),
            )
        )
    return docs


def ranked_ids(query: str) -> list[int]:
    """The ids of the active products matching ``query``, best first (then newest)."""
    wanted = list(dict.fromkeys(words(query[:MAX_QUERY])))[:MAX_WORDS]
    if not wanted:
        return []
    scored = [(score(wanted, doc), doc.id) for doc in _docs()]
    return [pid for value, pid in sorted(scored, key=lambda s: (-s[0], -s[1])) if value > 0]
