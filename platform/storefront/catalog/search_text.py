"""What search makes of text: words, their stems in the shop's languages, their
one-letter deletions, and a product's terms with the weight of the field they come from.

Pure functions: the index (``search_index``) stores what they return, the query
(``search``) looks up what they return for the shopper's words, so both sides agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]
from babel import Locale, UnknownLocaleError

MAX_TERM = 64  # characters of a word the index keeps (the column's width)
MAX_TERMS = 400  # distinct terms of one product: a novel as a description stays bounded
MAIN, EXTRA = 10, 6  # weights: title, SKU, categories; description (six tenths as much)
TYPO_MIN = 3  # vocabulary words shorter than this get no deletions (no typo reaches them)
TYPO_MAX = 32  # nor longer ones (part numbers, URLs): typos are for words
TWO_EDITS, TYPO_TWO_MAX = 8, 16  # words whose two-letter deletions are kept too
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Locales whose language Babel names otherwise than Snowball does.
_SNOWBALL_NAMES = {"nb": "norwegian", "nn": "norwegian", "no": "norwegian"}
_ALGORITHMS = frozenset(snowballstemmer.algorithms())


def words(text: str) -> list[str]:
    """Lower-case words without accents: "Crème Brûlée" -> ["creme", "brulee"]."""
    if (text or "").isascii():  # no accents to take off: most SKUs and English text
        plain = (text or "").casefold()
    else:
        plain = unicodedata.normalize("NFKD", text)
        plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    return [w[:MAX_TERM] for w in _WORD.findall(plain)]


def budget(word: str) -> int:
    """Edits a query word may be off by: none up to three letters, one to seven, two beyond."""
    return 0 if len(word) <= 3 else 1 if len(word) < TWO_EDITS else 2


def is_wordlike(term: str) -> bool:
    """Words get typos and stems; numbers and part numbers ("x200") match as written."""
    return TYPO_MIN <= len(term) <= TYPO_MAX and not any(c.isdigit() for c in term)


@lru_cache(maxsize=64)
def snowball_language(locale: str) -> str | None:
    """The Snowball algorithm for a locale ("de_CH" -> "german"), None if it has none."""
    code = locale.replace("-", "_").split("_")[0].lower()
    if code in _SNOWBALL_NAMES:
        return _SNOWBALL_NAMES[code]
    try:
        name = Locale.parse(code).english_name or ""
    except (UnknownLocaleError, ValueError):
        return None
    name = name.lower()
    return name if name in _ALGORITHMS else None


def languages(locales: Iterable[str]) -> tuple[str, ...]:
    """The Snowball languages of a shop's locales, English always among them (SKUs,
    brand names and most shops' second language are English)."""
    found = dict.fromkeys(filter(None, (snowball_language(loc) for loc in locales)))
    found.setdefault("english")
    return tuple(found)


_STEMMERS: dict[str, object] = {}


def stems(term: str, langs: Iterable[str]) -> set[str]:
    """The term's stems in each language, those that differ from it."""
    if not is_wordlike(term):
        return set()
    found = set()
    for lang in langs:
        stemmer = _STEMMERS.get(lang)
        if stemmer is None:
            stemmer = _STEMMERS[lang] = snowballstemmer.stemmer(lang)
        stem = stemmer.stemWord(term)  # type: ignore[attr-defined]
        if stem and stem != term:
            found.add(stem[:MAX_TERM])
    return found


def deletions(term: str) -> set[str]:
    """The term with one letter left out, each way (SymSpell's deletes, distance one)."""
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def index_deletions(term: str) -> set[str]:
    """What the deletion table holds for a vocabulary word: its one-letter deletions, and
    for a word of ``TWO_EDITS`` to ``TYPO_TWO_MAX`` letters its two-letter ones too (a
    query two letters short of it, "kupelzel" for "kuppelzelt", meets it there)."""
    found = deletions(term)
    if TWO_EDITS <= len(term) <= TYPO_TWO_MAX:
        found |= {d2 for d1 in found for d2 in deletions(d1)}
    return found


def query_deletions(word: str) -> set[str]:
    """What a query word is looked up by in the deletion table: itself and its deletes,
    and for two edits their deletes too: with the table's, every word within the budget
    shares one of them (SymSpell)."""
    found = {word} | deletions(word)
    if budget(word) >= 2:
        found |= {d2 for d1 in deletions(word) for d2 in deletions(d1)}
    return {d for d in found if d}


def product_terms(
    main: Iterable[str], extra: Iterable[str], limit: int = MAX_TERMS
) -> dict[str, int]:
    """A product's terms and weights: ``main`` texts (title in every language, SKUs,
    category names) weigh ``MAIN``, ``extra`` ones (descriptions) ``EXTRA``; a word in
    both weighs as its best field."""
    found: dict[str, int] = {}
    for weight, texts in ((MAIN, main), (EXTRA, extra)):
        for text in texts:
            for word in words(text):
                if word not in found and len(found) < limit:
                    found[word] = weight
    return found
