"""The search index: kept as products change (every way they change), forgiving in the
shop's languages, bounded (a capped answer says so), per shop, and fair to neighbours."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from storefront.catalog import search, services, variants
from storefront.catalog.search_models import SearchPosting, SearchTerm
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.context import TenantNotBound
from storefront.tenancy.registry import context_for
from tests.fixtures.factories import host

GERMAN_FRENCH = 'name = "Laden"\nlocale = "de_DE"\nlocales = ["de_DE", "fr_FR"]\n'


def found(app, shop, query: str) -> list[str]:
    """The titles a search finds, best first."""
    with app.app_context(), tenant_context(shop):
        ids = search.ranked_ids(query)
        return [services.product_by_id(pid).title for pid in ids]


def titles(html: str) -> list[str]:
    return re.findall(r'class="product-title"[^>]*>(?:<a[^>]*>)?([^<]+)<', html)


@pytest.fixture
def shop(app, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        services.create_category("Tools")
        services.create_product(
            "AN-1", "Classic Anvil", 1000, categories=["tools"], description="Forged steel"
        )
        services.create_product("RK-7", "Rocket Skates", 2000, description="Fast wheels")
        db.session.commit()
    return shop


def edit(app, shop, which: str, **fields) -> None:
    with app.app_context(), tenant_context(shop):
        services.update_product(services.product_by_sku(which), **fields)
        db.session.commit()


def test_a_created_product_is_found_by_title_sku_category_and_description(app, shop):
    assert found(app, shop, "anvil") == ["Classic Anvil"]
    assert found(app, shop, "AN-1") == ["Classic Anvil"]
    assert found(app, shop, "tools") == ["Classic Anvil"]
    assert found(app, shop, "steel") == ["Classic Anvil"]
    assert found(app, shop, "forged anvil") == ["Classic Anvil"]
    assert found(app, shop, "anvil wheels") == []  # every word must match


def test_an_edit_moves_the_product_from_its_old_words_to_its_new(app, shop):
    edit(app, shop, "AN-1", title="Heavy Hammer", description="")
    assert found(app, shop, "anvil") == []
    assert found(app, shop, "steel") == []
    assert found(app, shop, "hammer") == ["Heavy Hammer"]
    edit(app, shop, "AN-1", sku="HM-9")
    assert found(app, shop, "HM-9") == ["Heavy Hammer"]
    assert found(app, shop, "AN-1") == []


def test_a_stock_change_leaves_the_index_alone(app, shop):
    with app.app_context(), tenant_context(shop):
        before = db.session.scalars(select(SearchPosting.term).order_by(SearchPosting.term)).all()
        product = services.product_by_sku("AN-1")
        services.adjust_stock(product, 5)
        services.update_product(product, stock=9, price=1500)
        db.session.commit()
        after = db.session.scalars(select(SearchPosting.term).order_by(SearchPosting.term)).all()
    assert before == after


def test_a_translation_is_found_and_stemmed_in_its_language(app, make_shop):
    shop = make_shop("laden", settings=GERMAN_FRENCH)
    with app.app_context(), tenant_context(shop):
        services.create_product("Z-1", "Kuppelzelt", 9900)
        db.session.commit()
    assert found(app, shop, "enclume") == []
    edit(app, shop, "Z-1", translations={"fr": {"title": "Tente dôme", "description": "légère"}})
    assert found(app, shop, "tente") == ["Kuppelzelt"]
    assert found(app, shop, "tentes") == ["Kuppelzelt"]  # French plural, by its stem
    assert found(app, shop, "legere") == ["Kuppelzelt"]  # accents folded
    assert found(app, shop, "Kuppelzelte") == ["Kuppelzelt"]  # German plural, by its stem
    edit(app, shop, "Z-1", translations={"fr": {"title": ""}})
    assert found(app, shop, "tente") == []


def test_german_and_french_word_forms_meet_at_their_stems(app, make_shop):
    shop = make_shop("laden", settings=GERMAN_FRENCH)
    with app.app_context(), tenant_context(shop):
        services.create_product("Z-1", "Zelte für Familien", 9900)
        services.create_product("C-1", "Chaise pliante", 2900)
        db.session.commit()
    assert found(app, shop, "zelt") == ["Zelte für Familien"]
    assert found(app, shop, "familie") == ["Zelte für Familien"]
    assert found(app, shop, "chaises pliantes") == ["Chaise pliante"]


def test_deactivated_products_leave_and_come_back(app, shop):
    edit(app, shop, "AN-1", active=False)
    assert found(app, shop, "anvil") == []
    edit(app, shop, "AN-1", active=True)
    assert found(app, shop, "anvil") == ["Classic Anvil"]


def test_a_deleted_product_leaves_no_postings_and_its_words_no_count(app, shop):
    with app.app_context(), tenant_context(shop):
        pid = services.product_by_sku("AN-1").id
        services.delete_product(services.product_by_sku("AN-1"))
        db.session.commit()
        left = db.session.scalar(
            select(func.count()).select_from(SearchPosting).where(SearchPosting.product_id == pid)
        )
        anvil = db.session.scalar(select(SearchTerm.df).where(SearchTerm.term == "anvil"))
    assert left == 0 and anvil == 0
    assert found(app, shop, "anvil") == []


def test_variant_skus_are_found(app, shop):
    with app.app_context(), tenant_context(shop):
        product = services.product_by_sku("RK-7")
        variants.set_options(product, [variants.OptionIn("Size", ("S", "M"))])
        variants.update_variant(product, product.variants[1], sku="RK-7-MEDIUM")
        db.session.commit()
    assert found(app, shop, "RK-7-MEDIUM") == ["Rocket Skates"]
    assert found(app, shop, "medium") == ["Rocket Skates"]


def test_category_rename_translation_assignment_and_removal(app, make_shop):
    shop = make_shop("laden", settings=GERMAN_FRENCH)
    with app.app_context(), tenant_context(shop):
        services.create_category("Werkzeug", slug="tools")
        services.create_category("Garten", slug="garden")
        services.create_product("A-1", "Amboss", 1000, categories=["tools"])
        db.session.commit()
    assert found(app, shop, "werkzeug") == ["Amboss"]
    with app.app_context(), tenant_context(shop):
        category = services.get_category("tools")
        services.update_category(
            category, name="Schmiede", parent=None, position=0,
            translations={"fr": {"name": "Forge"}},
        )  # fmt: skip
        db.session.commit()
    assert found(app, shop, "werkzeug") == []
    assert found(app, shop, "schmiede") == ["Amboss"]
    assert found(app, shop, "forge") == ["Amboss"]
    edit(app, shop, "A-1", categories=["garden"])
    assert found(app, shop, "forge") == []
    assert found(app, shop, "garten") == ["Amboss"]
    with app.app_context(), tenant_context(shop):
        services.delete_category("garden")
        db.session.commit()
    assert found(app, shop, "garten") == []


def test_a_big_categorys_rename_and_deletion_are_indexed_by_a_job(app, make_shop):
    """A category of 200,000 products cannot be re-indexed inside the request that
    renames it: past SEARCH_INLINE_CATEGORY_PRODUCTS its products go to a job, which
    brings the index up to date batch by batch after the commit."""
    from storefront.outbox import deliver_committed
    from storefront.outbox.models import OutboxMessage

    app.config["SEARCH_INLINE_CATEGORY_PRODUCTS"] = 2
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        services.create_category("Tools")
        for i in range(5):
            services.create_product(f"T-{i}", f"Thing {i}", 100, categories=["tools"])
        db.session.commit()
        deliver_committed()
    assert len(found(app, shop, "tools")) == 5
    with app.app_context(), tenant_context(shop):
        services.update_category(
            services.get_category("tools"), name="Forge", parent=None, position=0
        )
        db.session.commit()
        kinds = db.session.scalars(select(OutboxMessage.kind)).all()
        assert search.REINDEX_JOB in kinds
    assert len(found(app, shop, "tools")) == 5  # until the job has run
    with app.app_context():
        deliver_committed()  # here it runs at once; a worker's would run it in the background
    assert len(found(app, shop, "forge")) == 5 and found(app, shop, "tools") == []
    with app.app_context(), tenant_context(shop):
        services.delete_category("tools")
        db.session.commit()
        deliver_committed()
    assert found(app, shop, "forge") == []
    assert len(found(app, shop, "thing")) == 5


def test_a_csv_import_is_indexed_in_its_transaction(app, shop, runner, tmp_path):
    sheet = tmp_path / "catalog.csv"
    sheet.write_text(
        "sku,title,price,stock,description,categories\n"
        "IM-1,Imported Lantern,12.00,3,Bright light,tools\n"
        "AN-1,Classic Anvil Deluxe,15.00,1,Forged steel,tools\n"
    )
    result = runner.invoke(["catalog", "import", "acme", str(sheet)])
    assert result.exit_code == 0, result.output
    assert found(app, shop, "lantern") == ["Imported Lantern"]
    assert found(app, shop, "deluxe") == ["Classic Anvil Deluxe"]
    assert found(app, shop, "bright tools") == ["Imported Lantern"]


def test_typos_prefixes_and_case(app, shop):
    assert found(app, shop, "anvl") == ["Classic Anvil"]  # one edit in four to seven letters
    assert found(app, shop, "ANVILS") == ["Classic Anvil"]
    assert found(app, shop, "rock") == ["Rocket Skates"]  # the start of a word
    assert found(app, shop, "rockt skates") == ["Rocket Skates"]
    with app.app_context(), tenant_context(shop):
        services.create_product("KZ-1", "Kuppelzelt Deluxe", 1000)
        db.session.commit()
    assert found(app, shop, "kupelzel") == ["Kuppelzelt Deluxe"]  # two edits beyond seven
    assert found(app, shop, "kappalzalt") == []  # three are too many
    assert found(app, shop, "anv") == ["Classic Anvil"]  # a prefix, not a typo
    assert found(app, shop, "anvx") == []  # a three-letter word has no typo budget to spare


def test_title_matches_rank_before_description_ones_then_newest(app, shop):
    with app.app_context(), tenant_context(shop):
        services.create_product("ST-1", "Steel Bucket", 500)
        services.create_product("ST-2", "Steel Rope", 500)
        db.session.commit()
    assert found(app, shop, "steel") == ["Steel Rope", "Steel Bucket", "Classic Anvil"]


@pytest.mark.settings(SEARCH_MAX_RESULTS=3, SHOP_PAGE_CACHE=False)
def test_a_capped_search_says_so(app, client, make_shop):
    shop = make_shop("acme")
    with app.app_context(), tenant_context(shop):
        for i in range(6):
            services.create_product(f"L-{i}", f"Lamp {i}", 100)
        services.create_product("L-X", "Lantern", 100)
        db.session.commit()
        hits = search.find("lamp")
    assert len(hits.ids) == 3 and hits.capped
    page = client.get("/search?q=lamp", headers=host(shop)).text
    assert titles(page) == ["Lamp 5", "Lamp 4", "Lamp 3"]
    assert "Showing the best 3 matches" in page
    narrow = client.get("/search?q=lantern", headers=host(shop)).text
    assert "Showing the best" not in narrow and titles(narrow) == ["Lantern"]


def test_one_shops_search_never_finds_or_counts_anothers(app, client, make_shop):
    acme, globex = make_shop("acme"), make_shop("globex")
    for shop, count in ((acme, 2), (globex, 5)):
        with app.app_context(), tenant_context(shop):
            for i in range(count):
                services.create_product(f"T-{i}", f"{shop.slug.title()} Tent {i}", 100)
            db.session.commit()
    assert sorted(found(app, acme, "tent")) == ["Acme Tent 0", "Acme Tent 1"]
    assert found(app, acme, "globex") == [] and found(app, acme, "globx") == []
    with app.app_context(), tenant_context(acme):
        assert db.session.scalar(select(SearchTerm.df).where(SearchTerm.term == "tent")) == 2
    api = client.get("/api/v1/products?q=tent", headers=host(acme)).json
    assert api["meta"]["total"] == 2
    assert all(p["title"].startswith("Acme") for p in api["data"])


def test_the_index_cannot_be_read_with_no_shop_bound(app, shop):
    with app.app_context():
        with pytest.raises(TenantNotBound):
            db.session.execute(select(SearchPosting.product_id)).all()
        with pytest.raises(TenantNotBound):
            search.ranked_ids("anvil")


def test_a_rebuild_writes_what_the_changes_kept(app, shop, runner):
    with app.app_context(), tenant_context(shop):
        edit_product = services.product_by_sku("RK-7")
        services.update_product(edit_product, title="Rocket Sled")
        db.session.commit()
        kept = _index()
        assert search.reindex_shop(batch=1) == 2
        db.session.commit()
        assert _index() == kept
    result = runner.invoke(["search", "reindex", "acme"])
    assert result.exit_code == 0, result.output
    assert "2 active products" in result.output
    assert found(app, shop, "sled") == ["Rocket Sled"]


def _index():
    postings = db.session.execute(
        select(SearchPosting.term, SearchPosting.weight, SearchPosting.product_id).order_by(
            SearchPosting.term, SearchPosting.product_id
        )
    ).all()
    terms = dict(
        db.session.execute(select(SearchTerm.term, SearchTerm.df).where(SearchTerm.df > 0)).all()
    )
    return postings, terms


@pytest.mark.parametrize("query", ["%", "_", "a" * 500, "ñ" * 80, "\U0001f680 rocket", "x" * 64])
def test_hostile_queries_answer_plainly(app, client, shop, query):
    answer = client.get("/search", query_string={"q": query}, headers=host(shop))
    assert answer.status_code == 200


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, SEARCH_RATE_LIMIT="2 per minute", SHOP_PAGE_CACHE=False
)
def test_a_flood_of_searches_is_told_to_wait_in_the_shops_look(app, client, make_shop):
    shop = make_shop("laden", settings=GERMAN_FRENCH)
    other = make_shop("acme")
    for _ in range(2):
        assert client.get("/search?q=zelt", headers=host(shop)).status_code == 200
    refused = client.get("/search?q=zelt", headers=host(shop))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Laden" in refused.text  # the shop's own page, not a bare error
    assert client.get("/products", headers=host(shop)).status_code == 200  # browsing goes on
    assert client.get("/search?q=zelt", headers=host(other)).status_code == 200  # a neighbour
    api = client.get("/api/v1/products?q=zelt", headers=host(shop))
    assert api.status_code == 429 and api.json["error"]["code"] == "rate_limited"
    assert int(api.headers["Retry-After"]) >= 1


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    SEARCH_RATE_LIMIT="100 per minute",
    SEARCH_RATE_LIMIT_SHOP="3 per minute",
    SHOP_PAGE_CACHE=False,
)
def test_a_shop_wide_flood_from_many_addresses_is_bounded_too(app, client, make_shop):
    shop = make_shop("acme")
    answers = [
        client.get(
            f"/search?q=x{i}", headers=host(shop), environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]


def test_an_imported_shop_archive_is_searchable_under_its_new_ids(app, shop, runner, tmp_path):
    archive = tmp_path / "acme.tar.gz"
    assert runner.invoke(["export", "acme", "-o", str(archive)]).exit_code == 0
    result = runner.invoke(["import", str(archive), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        copy = context_for("copy")
    assert found(app, copy, "anvl") == ["Classic Anvil"]
    assert found(app, copy, "tools") == ["Classic Anvil"]
    assert found(app, shop, "anvil") == ["Classic Anvil"]  # the original keeps its own


def test_a_shop_that_learns_a_language_has_its_index_rebuilt_within_the_hour(app, make_shop):
    """German added to an English shop's locales: the hourly task finds the index
    stemmed in English only and rebuilds it, so "Häuser" finds the "Haus"."""
    from storefront.catalog.search_index import built_languages
    from storefront.jobs.periodic import TASKS

    shop = make_shop("laden", settings='name = "Laden"\nlocale = "en_US"\n')
    with app.app_context(), tenant_context(shop):
        services.create_product("H-1", "Haus", 1000)
        db.session.commit()
        assert built_languages(db.session.connection(), shop.id) is None
        assert search.follow_languages() is False  # the first run records today's
        db.session.commit()
        assert built_languages(db.session.connection(), shop.id) == "english"
    assert found(app, shop, "häuser") == []

    from storefront.tenancy.registry import bump_generation
    from tests.fixtures.factories import tenant_folder

    with app.app_context():
        (tenant_folder(app, "laden") / "tenant.toml").write_text(
            'name = "Laden"\nlocale = "en_US"\nlocales = ["en_US", "de_DE"]\n', encoding="utf-8"
        )
        bump_generation()
        shop = context_for("laden")
    with app.app_context(), tenant_context(shop):
        assert search.follow_languages() is True
        db.session.commit()
        assert built_languages(db.session.connection(), shop.id) == "english,german"
        assert search.follow_languages() is False  # nothing changed since
    assert found(app, shop, "häuser") == ["Haus"]
    assert any(task.name == "search-languages" for task in TASKS)
