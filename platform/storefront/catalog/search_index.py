"""The search index kept in the platform's database, as products change.

A product's terms (``search_text.product_terms``) become its postings; the words'
vocabulary rows count how many products use them (``df``), and a word new to the shop
gets its one-letter deletions and its stems. ``index_products`` brings given products'
rows up to date (a product gone or inactive loses its postings); ``rebuild`` writes a
shop's whole index in batches. Both run on the session's connection, inside the
caller's transaction, and name the shop in every statement (they run below the ORM's
scoping hook, like ``bulk``).

Words no product uses any more keep their vocabulary row at ``df = 0`` (queries skip
them): removing them would race with a product adding the word again; a rebuild drops
them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Insert, bindparam, delete, insert, select, true
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..extensions import db
from .models import Category, Product, Variant, product_categories
from .search_models import SearchDelete, SearchPosting, SearchState, SearchStem, SearchTerm
from .search_text import index_deletions, is_wordlike, product_terms, stems

BATCH = 500  # products read, and rows written, per statement
Progress = Callable[[int], None]

_postings: Any = SearchPosting.__table__
_terms: Any = SearchTerm.__table__
_deletes: Any = SearchDelete.__table__
_stems: Any = SearchStem.__table__
_state: Any = SearchState.__table__
_POSTING = ("term", "weight", "product_id", "tenant_id")  # a posting row's columns
_TERM = ("tenant_id", "term", "df")  # a vocabulary row's


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_ignoring_duplicates(connection: Connection, table: Any) -> Any:
    """An INSERT that leaves a row another transaction wrote first as it is."""
    word = "OR IGNORE" if connection.dialect.name == "sqlite" else "IGNORE"
    return insert(table).prefix_with(word)


def documents(connection: Connection, tenant: int, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """The terms of the shop's active products among ``ids``: three statements."""
    products = connection.execute(
        select(
            Product.id, Product.title, Product.sku, Product.description, Product.translations
        ).where(Product.tenant_id == tenant, Product.id.in_(ids), Product.active == true())
    ).all()
    if not products:
        return {}
    found = [row[0] for row in products]
    main: dict[int, list[str]] = {pid: [] for pid in found}
    links = product_categories.c
    for pid, name, translations in connection.execute(
        select(links.product_id, Category.name, Category.translations)
        .join(
            Category,
            (Category.id == links.category_id) & (Category.tenant_id == links.tenant_id),
        )
        .where(links.tenant_id == tenant, links.product_id.in_(found))
    ):
        main[pid] += [name, *((t or {}).get("name", "") for t in (translations or {}).values())]
    for pid, sku in connection.execute(
        select(Variant.product_id, Variant.sku).where(
            Variant.tenant_id == tenant, Variant.product_id.in_(found)
        )
    ):
        main[pid].append(sku)
    docs = {}
    for pid, title, sku, description, translations in products:
        other = list((translations or {}).values())
        texts = [title, sku, *(t.get("title", "") for t in other), *main[pid]]
        extra = [description or "", *(t.get("description", "") for t in other)]
        docs[pid] = product_terms(texts, extra)
    return docs


def index_products(tenant: int, ids: Iterable[int], langs: Sequence[str]) -> None:
    """Bring these products' postings (and the vocabulary's counts) up to date."""
    connection = db.session.connection()
    for batch in _chunks(sorted(set(ids)), BATCH):
        new = documents(connection, tenant, batch)
        old: dict[int, dict[str, int]] = {pid: {} for pid in batch}
        for pid, term, weight in connection.execute(
            select(_postings.c.product_id, _postings.c.term, _postings.c.weight).where(
                _postings.c.tenant_id == tenant, _postings.c.product_id.in_(batch)
            )
        ):
            old[pid][term] = weight
        gone: list[tuple[Any, ...]] = []
        added: list[tuple[Any, ...]] = []
        counts = Counter[str]()
        for pid in batch:
            before, after = old[pid], new.get(pid, {})
            for term, weight in before.items():
                if after.get(term) != weight:
                    gone.append((tenant, term, weight, pid))
                if term not in after:
                    counts[term] -= 1
            for term, weight in after.items():
                if before.get(term) != weight:
                    added.append((term, weight, pid, tenant))
                if term not in before:
                    counts[term] += 1
        _write_postings(connection, gone, added)
        _count(connection, tenant, counts, langs)


def _write_postings(
    connection: Connection, gone: list[tuple[Any, ...]], added: list[tuple[Any, ...]]
) -> None:
    c = _postings.c
    drop = delete(_postings).where(
        c.tenant_id == bindparam("t"),
        c.term == bindparam("k"),
        c.weight == bindparam("w"),
        c.product_id == bindparam("p"),
    )
    _executemany(connection, drop, ("t", "k", "w", "p"), gone)
    _executemany(connection, insert(_postings), _POSTING, added)


def _count(connection: Connection, tenant: int, counts: Counter[str], langs: Sequence[str]) -> None:
    """Move the words' product counts, by one upsert: a word new to the shop joins the
    vocabulary with its count (and gets its deletions and stems), a known one has its
    count moved. An upsert, not an UPDATE per word, because PyMySQL sends an
    ``executemany`` of an UPDATE as one statement per row and of an INSERT as a few.
    Rows are touched in the words' order, so two writers never wait on each other in a
    circle."""
    changed = sorted(term for term, n in counts.items() if n)
    if not changed:
        return
    arriving = [term for term in changed if counts[term] > 0]
    known: set[str] = set()
    for terms in _chunks(arriving, BATCH):
        known.update(
            connection.scalars(
                select(_terms.c.term).where(_terms.c.tenant_id == tenant, _terms.c.term.in_(terms))
            )
        )
    rows = [(tenant, term, counts[term]) for term in changed]
    _executemany(connection, _adding_counts(connection), _TERM, rows)
    _add_variants(connection, tenant, [t for t in arriving if t not in known], langs, ignore=True)


def _adding_counts(connection: Connection) -> Any:
    """An INSERT of vocabulary rows that adds its ``df`` to a row already there."""
    if connection.dialect.name == "sqlite":
        lite = sqlite_insert(_terms)
        return lite.on_conflict_do_update(
            index_elements=["tenant_id", "term"], set_={"df": _terms.c.df + lite.excluded.df}
        )
    my = mysql_insert(_terms)
    return my.on_duplicate_key_update(df=_terms.c.df + my.inserted.df)


def _add_words(
    connection: Connection,
    tenant: int,
    words: Sequence[str],
    langs: Sequence[str],
    df: dict[str, int],
) -> None:
    """Vocabulary rows for ``words`` (``df`` from the map), with their deletions and stems."""
    rows = [(tenant, word, df.get(word, 0)) for word in words]
    _executemany(connection, insert(_terms), _TERM, rows)
    _add_variants(connection, tenant, words, langs)


def _add_variants(
    connection: Connection,
    tenant: int,
    words: Iterable[str],
    langs: Sequence[str],
    ignore: bool = False,
) -> None:
    """The deletions and stems of vocabulary words (``ignore``: leaving the rows another
    transaction wrote first)."""
    statement: Callable[[Any], Any] = (
        (lambda table: _insert_ignoring_duplicates(connection, table)) if ignore else insert
    )
    variants, stemmed = [], []
    for word in words:
        if is_wordlike(word):
            variants += [(tenant, v, word) for v in index_deletions(word)]
            stemmed += [(tenant, s, word) for s in stems(word, langs)]
    for table, columns, rows in (
        (_deletes, ("tenant_id", "variant", "term"), variants),
        (_stems, ("tenant_id", "stem", "term"), stemmed),
    ):
        _executemany(connection, statement(table), columns, rows)


def _executemany(
    connection: Connection, statement: Any, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``executemany`` straight to the driver, ``BATCH * 4`` rows a call, each row a tuple
    in the order of ``names`` (an insert's columns, else the statement's bound
    parameters): a rebuild writes millions of rows, an import's batch tens of thousands,
    and SQLAlchemy's handling of each row's parameters would be most of their time. The
    statement is SQLAlchemy's own, compiled once for the dialect; every value these
    tables take (text, integers) goes to the driver as it is."""
    if not rows:
        return
    keys = list(names) if isinstance(statement, Insert) else None
    compiled = statement.compile(dialect=connection.dialect, column_keys=keys)
    order = [names.index(key) for key in compiled.positiontup or names]
    for chunk in _chunks(rows, BATCH * 4):
        if compiled.positiontup is None:  # named parameters (PyMySQL's pyformat)
            params: list[Any] = [dict(zip(names, row, strict=True)) for row in chunk]
        elif order == list(range(len(names))):  # the rows are in the statement's order
            params = list(chunk)
        else:
            params = [tuple(row[i] for i in order) for row in chunk]
        connection.exec_driver_sql(str(compiled), params)


def rebuild(
    tenant: int,
    langs: Sequence[str],
    batch: int,
    progress: Progress | None = None,
    connection: Connection | None = None,
) -> int:
    """Write the shop's whole index anew, ``batch`` products at a time (on ``connection``,
    the session's by default; the migration passes its own); returns how many active
    products it holds."""
    connection = connection or db.session.connection()
    for table in (_postings, _deletes, _stems, _terms):
        connection.execute(delete(table).where(table.c.tenant_id == tenant))
    counts: Counter[str] = Counter()
    done, after = 0, 0
    while True:
        ids = list(
            connection.scalars(
                select(Product.id)
                .where(Product.tenant_id == tenant, Product.id > after, Product.active == true())
                .order_by(Product.id)
                .limit(batch)
            )
        )
        if not ids:
            break
        after = ids[-1]
        rows = []
        for pid, terms in documents(connection, tenant, ids).items():
            counts.update(terms.keys())
            rows += [(t, w, pid, tenant) for t, w in terms.items()]
        _executemany(connection, insert(_postings), _POSTING, rows)
        done += len(ids)
        if progress:
            progress(done)
    _add_words(connection, tenant, sorted(counts), langs, df=counts)
    return done


def languages_key(langs: Sequence[str]) -> str:
    """How ``search_state`` writes a set of Snowball languages: ``english,german``."""
    return ",".join(sorted(set(langs)))[:120]


def built_languages(connection: Connection, tenant: int) -> str | None:
    """The languages the shop's index was last built in; None before any record."""
    return connection.scalar(select(_state.c.languages).where(_state.c.tenant_id == tenant))


def record_languages(connection: Connection, tenant: int, langs: Sequence[str]) -> None:
    """Note that the shop's index is now stemmed in ``langs``."""
    connection.execute(delete(_state).where(_state.c.tenant_id == tenant))
    connection.execute(insert(_state).values(tenant_id=tenant, languages=languages_key(langs)))
