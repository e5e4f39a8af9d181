"""A search through the database's index, at a cost bounded whatever the catalog's size.

Each query word finds its candidate words in the shop's vocabulary by indexed lookups
only: the word and the words it begins (a range of the vocabulary's key), the words
that share a stem with it in one of the shop's languages, and the words within its typo
budget (their one-letter deletions meet the query's; rapidfuzz then measures the
distance). At most ``MAX_CANDIDATES`` per word, best first.

Then the word whose candidates the fewest products use is read first: its best
postings (by field, then newest), at most ``limit`` products. Each other word keeps
only those of them it also matches (lookups by product id). Products beyond the limit
are never read: the answer says it was capped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from ..extensions import db
from .search_models import SearchDelete, SearchPosting, SearchStem, SearchTerm
from .search_text import MAIN, budget, is_wordlike, query_deletions, stems

MAX_CANDIDATES = 40  # vocabulary words per query word
# Vocabulary words of each later word looked up among the first word's products: each is
# one index seek per product (1,000 products x 10 words), so only the best ten.
MAX_LATER_CANDIDATES = 10
PREFIX_SCAN = 200  # vocabulary rows a prefix reads (the most used of them are kept)
MAX_LOOKUPS = 4000  # rows the deletion and stem lookups return, all words together
EXACT, NEAR = 1.0, 0.9  # the word itself; a word it begins, or one with its stem


@dataclass(frozen=True)
class Hits:
    """Matching products' ids, best first; ``capped``: more matched than were read."""

    ids: list[int]
    capped: bool = False


@dataclass
class Word:
    text: str
    candidates: dict[str, float]  # vocabulary word -> how well it answers (0 to 1)
    df: dict[str, int]  # vocabulary word -> products using it

    @property
    def cost(self) -> int:
        return sum(self.df.get(term, 0) for term in self.candidates)


def find(tenant: int, query_words: Sequence[str], langs: Sequence[str], limit: int) -> Hits:
    """The shop's active products matching every one of ``query_words``, best first (then
    newest), at most ``limit`` of them."""
    connection = db.session.connection()
    found = _candidates(connection, tenant, query_words, langs)
    if not found or any(not w.candidates for w in found):
        return Hits([])
    found.sort(key=lambda w: w.cost)
    first, rest = found[0], found[1:]
    scores, capped = _best_postings(connection, tenant, first, limit)
    for word in rest:
        if not scores:
            break
        scores = _also(connection, tenant, word, scores)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))
    return Hits([pid for pid, _score in ranked], capped)


# The statements, built once: each execution only binds its values (the shop's id
# among them: every statement names the shop it reads).
_terms: Any = SearchTerm.__table__.c
_postings: Any = SearchPosting.__table__.c
_SHOP: Any = bindparam("shop")
_PREFIX = (
    select(_terms.term, _terms.df)
    .where(
        _terms.tenant_id == _SHOP,
        _terms.term >= bindparam("low"),
        _terms.term < bindparam("high"),
        _terms.df > 0,
    )
    .order_by(_terms.term)
    .limit(PREFIX_SCAN)
)
_COUNTS = select(_terms.term, _terms.df).where(
    _terms.tenant_id == _SHOP, _terms.term.in_(bindparam("terms", expanding=True)), _terms.df > 0
)
_STEMS = (
    select(SearchStem.__table__.c.stem, SearchStem.__table__.c.term)
    .where(
        SearchStem.__table__.c.tenant_id == _SHOP,
        SearchStem.__table__.c.stem.in_(bindparam("keys", expanding=True)),
    )
    .limit(MAX_LOOKUPS)
)
_DELETES = (
    select(SearchDelete.__table__.c.variant, SearchDelete.__table__.c.term)
    .where(
        SearchDelete.__table__.c.tenant_id == _SHOP,
        SearchDelete.__table__.c.variant.in_(bindparam("keys", expanding=True)),
    )
    .limit(MAX_LOOKUPS)
)
# One word's postings, best first: a range of the primary key read in order.
_BEST_OF_TERM = (
    select(_postings.product_id, _postings.term, _postings.weight)
    .where(_postings.tenant_id == _SHOP, _postings.term == bindparam("term"))
    .order_by(_postings.weight.desc(), _postings.product_id.desc())
    .limit(bindparam("limit"))
)
# Several rarer words' postings, all of them (their counts add up to less than the limit).
_ALL_OF_TERMS = select(_postings.product_id, _postings.term, _postings.weight).where(
    _postings.tenant_id == _SHOP, _postings.term.in_(bindparam("terms", expanding=True))
)
# Which of these products these words reach: by the (shop, product, term) index.
_OF_PRODUCTS = select(_postings.product_id, _postings.term, _postings.weight).where(
    _postings.tenant_id == _SHOP,
    _postings.product_id.in_(bindparam("ids", expanding=True)),
    _postings.term.in_(bindparam("terms", expanding=True)),
)


def _candidates(
    connection: Connection, tenant: int, query_words: Sequence[str], langs: Sequence[str]
) -> list[Word]:
    """Each query word's vocabulary candidates: a statement per word for its prefix
    range, then one each for stems and deletions and one for the counts of what they
    found."""
    words = {w: Word(w, {}, {}) for w in query_words}
    for text, word in words.items():
        if len(text) < 2:  # a single letter matches itself only
            continue
        rows = connection.execute(
            _PREFIX, {"shop": tenant, "low": text, "high": text + "\U0010ffff"}
        ).all()
        kept = sorted(rows, key=lambda row: (row[0] != text, -row[1]))[:MAX_CANDIDATES]
        for term, df in kept:
            word.candidates[term] = EXACT if term == text else NEAR
            word.df[term] = df
    stems_of = {w: stems(w, langs) for w in words}
    variants = {w: query_deletions(w) if budget(w) and is_wordlike(w) else set() for w in words}
    wanted_stems = set().union(*stems_of.values(), words)
    wanted_variants = set().union(*variants.values())
    by_stem: dict[str, set[str]] = {}
    for key, term in connection.execute(_STEMS, {"shop": tenant, "keys": sorted(wanted_stems)}):
        by_stem.setdefault(key, set()).add(term)
    by_variant: dict[str, set[str]] = {}
    if wanted_variants:
        keys = sorted(wanted_variants)
        for key, term in connection.execute(_DELETES, {"shop": tenant, "keys": keys}):
            by_variant.setdefault(key, set()).add(term)
    more = wanted_stems | wanted_variants
    for found in (*by_stem.values(), *by_variant.values()):
        more |= found
    counts: dict[str, int] = dict(
        connection.execute(_COUNTS, {"shop": tenant, "terms": sorted(more)}).all()
    )
    for text, word in words.items():
        near: dict[str, float] = {}
        for stem in stems_of[text] | {text}:
            for term in by_stem.get(stem, set()) | ({stem} if stem != text else set()):
                near[term] = NEAR
        allowed = budget(text)
        if allowed and is_wordlike(text):
            typos = {t for v in variants[text] for t in by_variant.get(v, ())} | variants[text]
            for term in typos:
                distance = Levenshtein.distance(text, term, score_cutoff=allowed)
                if distance <= allowed:
                    near.setdefault(term, 0.8 - 0.1 * distance)
        for term, quality in near.items():
            if term in counts and quality > word.candidates.get(term, 0.0):
                word.candidates[term] = quality
                word.df[term] = counts[term]
        if text in counts:
            word.candidates[text], word.df[text] = EXACT, counts[text]
        best = sorted(word.candidates, key=lambda t: (-word.candidates[t], -word.df.get(t, 0)))
        word.candidates = {t: word.candidates[t] for t in best[:MAX_CANDIDATES] if t in word.df}
    return list(words.values())


def _best_postings(
    connection: Connection, tenant: int, word: Word, limit: int
) -> tuple[dict[int, float], bool]:
    """The first word's best ``limit`` products (by how well and where each matches, then
    newest), and whether more match. Its candidates are taken best first until their
    products reach ``limit``: those used less than ``limit`` times are read whole in one
    statement, and the one that crosses the limit (if any) only for its first ``limit``
    postings, in the order of its key. Two statements, ``2 * limit`` rows at most."""
    small: list[str] = []
    large: str | None = None
    ranked = sorted(word.candidates, key=lambda t: (-word.candidates[t], word.df[t]))
    total = 0
    for term in ranked:
        if total >= limit:
            break
        total += word.df[term]
        if word.df[term] > limit:
            large = term
            break
        small.append(term)
    unread = len(small) + (large is not None) < len(ranked)
    rows: list[Any] = []
    if small:
        rows += connection.execute(_ALL_OF_TERMS, {"shop": tenant, "terms": small}).all()
    if large is not None:
        params = {"shop": tenant, "term": large, "limit": limit}
        rows += connection.execute(_BEST_OF_TERM, params).all()
    scores: dict[int, float] = {}
    for pid, term, weight in rows:
        score = word.candidates[term] * weight / MAIN
        if score > scores.get(pid, 0.0):
            scores[pid] = score
    capped = unread or large is not None or len(scores) > limit
    if len(scores) > limit:
        scores = dict(sorted(scores.items(), key=lambda item: (-item[1], -item[0]))[:limit])
    return scores, capped


def _also(
    connection: Connection, tenant: int, word: Word, scores: dict[int, float]
) -> dict[int, float]:
    """Those of ``scores``' products that ``word`` matches too (by its best candidates),
    its score added."""
    best: dict[int, float] = {}
    ranked = sorted(word.candidates, key=lambda t: (-word.candidates[t], -word.df[t]))
    terms = sorted(ranked[:MAX_LATER_CANDIDATES])
    params = {"shop": tenant, "ids": sorted(scores), "terms": terms}
    for pid, term, weight in connection.execute(_OF_PRODUCTS, params):
        score = word.candidates[term] * weight / MAIN
        if score > best.get(pid, 0.0):
            best[pid] = score
    return {pid: scores[pid] + score for pid, score in best.items()}
