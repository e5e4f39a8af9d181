"""The baseline: a plain single-shop Flask app serving the same product page.

Same database row, read the way a plain Flask app would (a Flask-SQLAlchemy model and an
ORM query), an equivalent page (layout, header, navigation, product, footer) compiled
once, Babel money; no host resolution, no scoping, no themes, no sessions, no accounts.
``BENCH_ROOT`` names the benchmark's folder (``bench.db`` inside).
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.numbers import format_currency
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ product.title }} · {{ shop_name }}</title>
<link rel="stylesheet" href="/static/css/base.css"><link rel="stylesheet" href="/static/css/theme.css">
</head><body>
<header class="site-header"><div class="container header-inner">
<a class="brand" href="/"><span class="brand-name">{{ shop_name }}</span></a>
<nav class="site-nav"><form class="search-form" action="/search"><input type="search" name="q"></form>
<a href="/products">Products</a><a href="/cart/">Cart</a><a href="/login">Log in</a></nav>
</div></header>
<main class="container"><article class="product-page">
<img src="/p/{{ product.slug }}/image.svg" alt="{{ product.title }}" width="400" height="300">
<div><h1>{{ product.title }}</h1><p class="price">{{ price }}</p>
<p>{{ "In stock" if product.stock > 0 else "Sold out" }}</p>
<form method="post" action="/cart/add"><input type="hidden" name="product_id" value="{{ product.id }}">
<input type="number" name="quantity" value="1"><button type="submit">Add to cart</button></form>
<div class="description">{{ product.description }}</div><p class="sku">SKU {{ product.sku }}</p></div>
</article></main>
<footer class="site-footer"><div class="container"><p>{{ shop_name }}</p></div></footer>
</body></html>"""


def create_plain_app(root: Path) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{root / 'bench.db'}"
    )
    db = SQLAlchemy(app)
    page = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    class Product(db.Model):  # type: ignore[name-defined]
        __tablename__ = "products"
        id = db.Column(db.Integer, primary_key=True)
        tenant_id = db.Column(db.Integer)
        sku = db.Column(db.String(64))
        slug = db.Column(db.String(120))
        title = db.Column(db.String(200))
        description = db.Column(db.Text)
        price = db.Column(db.Integer)
        stock = db.Column(db.Integer)
        active = db.Column(db.Boolean)

    @app.route("/p/<slug>")
    def product(slug: str) -> str:
        row = db.session.scalar(
            select(Product).where(
                Product.tenant_id == 1, Product.slug == slug, Product.active.is_(True)
            )
        )
        if row is None:
            abort(404)
        price = format_currency(row.price / 100, "USD", locale="en_US")
        return page.render(product=row, price=price, shop_name="Shop s00001")

    return app


app = create_plain_app(Path(os.environ.get("BENCH_ROOT", ".")))
