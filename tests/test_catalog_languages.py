"""A catalog CSV from a shop with more languages imports into one with fewer."""

from __future__ import annotations

from sqlalchemy import select

from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.tenancy import tenant_context
from storefront.tenancy.registry import context_for

ACME = 'name = "Acme"\nlocales = ["en_US", "fr_FR"]\n'  # the demo's Acme: English and French


def test_an_english_and_french_catalog_imports_into_a_german_only_shop(
    app, runner, make_shop, tmp_path
):
    acme = make_shop("acme", settings=ACME)
    make_shop("laden", settings='name = "Laden"\nlocales = ["de_DE"]\n')
    with app.app_context(), tenant_context(acme):
        tent = catalog.create_product(
            "T-1", "Tent", 1999, stock=3, translations={"fr": {"title": "Tente"}}
        )
        from storefront.catalog import variants

        shirt = catalog.create_product("S-1", "Shirt", 1500, stock=0)
        variants.set_options(
            shirt,
            [variants.OptionIn("Size", ("M", "L"), {"fr_FR": ("Taille", ("M", "G"))})],
        )
        db.session.commit()
        assert tent.translations == {"fr_FR": {"title": "Tente"}}
    exported = tmp_path / "acme.csv"
    assert runner.invoke(["catalog", "export", "acme", "--output", str(exported)]).exit_code == 0
    assert "title:fr" in exported.read_text().splitlines()[0]

    result = runner.invoke(["catalog", "import", "laden", str(exported)])

    assert result.exit_code == 0, result.output
    assert "unknown column" not in result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.output
    assert "title:fr" in warnings[0] and "values:fr" in warnings[0]
    assert "2 products created" in result.output
    with app.app_context(), tenant_context(context_for("laden")):
        made = {p.sku: p for p in db.session.scalars(select(Product))}
        assert set(made) == {"T-1", "S-1"}
        assert made["T-1"].title == "Tent" and not made["T-1"].translations
        assert [o["values"] for o in made["S-1"].options] == [["M", "L"]]


def test_the_round_trip_back_into_the_shop_with_more_languages_keeps_its_translations(
    app, runner, make_shop, tmp_path
):
    acme = make_shop("acme", settings=ACME)
    make_shop("solo", settings='name = "Solo"\nlocales = ["en_US"]\n')
    with app.app_context(), tenant_context(acme):
        catalog.create_product("T-1", "Tent", 1999, translations={"fr": {"title": "Tente"}})
        db.session.commit()
    there = tmp_path / "acme.csv"
    runner.invoke(["catalog", "export", "acme", "--output", str(there)])
    assert runner.invoke(["catalog", "import", "solo", str(there)]).exit_code == 0
    back = tmp_path / "solo.csv"
    runner.invoke(["catalog", "export", "solo", "--output", str(back)])
    assert "title:fr" not in back.read_text()

    result = runner.invoke(["catalog", "import", "acme", str(back)])

    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output
    with app.app_context(), tenant_context(context_for("acme")):
        tent = db.session.scalar(select(Product).where(Product.sku == "T-1"))
        assert tent.translations == {"fr_FR": {"title": "Tente"}}  # no column, kept


def test_a_misspelt_column_is_still_refused(app, runner, make_shop, tmp_path):
    make_shop("solo", settings='name = "Solo"\nlocales = ["en_US"]\n')
    path = tmp_path / "p.csv"
    path.write_text("sku,title,price,title:zz-nope\nA,Anvil,1.00,x\n")
    result = runner.invoke(["catalog", "import", "solo", str(path)])
    assert result.exit_code == 1
    assert "unknown column(s): title:zz-nope" in result.output
