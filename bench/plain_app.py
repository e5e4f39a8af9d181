"""The baselines: a single-shop Flask app serving the same product page.

``create_plain_app`` is Flask and Flask-SQLAlchemy only: the same product row, its
categories and its pictures read the way a plain app would (its own models on the same
tables, the shop's id as a constant; categories and pictures joined in one statement,
as the platform's page does), the same page (the markup the platform answers, from one compiled
template), Babel money. No host resolution, no scoping, no themes, no sessions, no
accounts.

``create_stack_app`` adds what one shop would need even alone: a signed session, CSRF
protection, Flask-Login loading the user, Flask-Babel translating the page's labels.
``bench/overhead.py`` compares the platform with both (``BENCH_ROOT`` names the folder
with ``bench.db``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from babel.numbers import format_currency
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKeyConstraint, and_, select
from sqlalchemy.orm import foreign, joinedload, relationship

# The platform's product page for a product without pictures or options (classic
# theme), as it answers it, with the product's values as template variables.
PAGE = """

<!doctype html>
<html lang="en-US">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{ product.title }} · {{ shop_name }}</title>


<link rel="stylesheet" href="/static/css/base.css?v=375036cd32ee">

  <link rel="stylesheet" href="/static/css/theme.css?v=b44fe609ecf3">
  <link rel="stylesheet" href="/branding.css">
  <link rel="stylesheet" href="/static/css/shop.css?v=4f0bc529ec06">


</head>
<body class="theme-classic">
  <a class="skip-link" href="#content">{{ _("Skip to content") }}</a>

  <header class="site-header">
  <div class="container header-inner">
    <a class="brand" href="/">

      <span class="brand-name">{{ shop_name }}</span>
    </a>
    <button type="button" class="nav-toggle" aria-expanded="false" aria-controls="site-nav">{{ _("Menu") }}</button>
<nav class="site-nav" id="site-nav" aria-label="{{ _("Account") }}">
  <form class="search-form" method="get" action="/search" role="search">
    <input type="search" name="q" value="" placeholder="{{ _("Search") }}" aria-label="{{ _("Search products") }}">
  </form>
  <a href="/products">{{ _("Products") }}</a>

  <a href="/cart/" class="cart-link">{{ _("Cart") }}</a>

    <a href="/login">{{ _("Log in") }}</a>
    <a href="/register">{{ _("Register") }}</a>

</nav>

  </div>
</header>
  <main class="container" id="content">



<article class="product-page">
  <div class="gallery" data-gallery>
    <div class="gallery-main">

      <picture>
    <img src="{{ image }}" alt="" width="400" height="300" class="product-image" fetchpriority="high">
  </picture>
    </div>

  </div>
  <div class="product-info">
    <h1>{{ product.title }}</h1>
    <p class="price" data-price>
      <span class="price-now">{{ price }}</span>

      <s class="price-was" hidden></s>
    </p>

    <p class="stock" data-stock data-in="{{ _("In stock") }}" data-out="{{ _("Sold out") }}">{{ _("In stock") if product.stock > 0 else _("Sold out") }}</p>

    <form method="post" action="/cart/add" class="add-to-cart">
      <input type="hidden" name="product_id" value="{{ product.id }}">


      <label>{{ _("Quantity") }} <input type="number" name="quantity" value="1" min="1" max="{{ [product.stock, 99]|min }}"></label>
      <button type="submit" class="button button-primary" data-add>{{ _("Add to cart") }}</button>
    </form>

    <div class="description"><p>{{ description }}</p>
</div>
    <p class="sku"><span data-sku>{{ _("SKU %(sku)s", sku=product.sku) }}</span>{% if categories %} · {{ categories|join(", ") }}{% endif %}</p>
  </div>
</article>

  </main>
  <footer class="site-footer">
  <div class="container">
    <p>{{ shop_name }}</p>
  </div>
</footer>
  <script src="/static/js/main.js?v=06d33ed38d2e" defer></script>

</body>
</html>"""


def _models(db: SQLAlchemy) -> Any:
    class Category(db.Model):  # type: ignore[name-defined]
        __tablename__ = "categories"
        __table_args__ = {"extend_existing": True}
        id = db.Column(db.Integer, primary_key=True)
        tenant_id = db.Column(db.Integer)
        name = db.Column(db.String(200))

    links = db.Table(
        "product_categories",
        db.Column("tenant_id", db.Integer, primary_key=True),
        db.Column("product_id", db.Integer, primary_key=True),
        db.Column("category_id", db.Integer, primary_key=True),
        ForeignKeyConstraint(["product_id"], ["products.id"]),
        ForeignKeyConstraint(["category_id"], ["categories.id"]),
    )

    class Image(db.Model):  # type: ignore[name-defined]
        __tablename__ = "product_images"
        id = db.Column(db.Integer, primary_key=True)
        product_id = db.Column(db.Integer, db.ForeignKey("products.id"))
        key = db.Column(db.String(64))
        position = db.Column(db.Integer)

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
        categories = relationship(Category, secondary=links, lazy="select")
        images = relationship(
            Image,
            primaryjoin=lambda: and_(foreign(Image.product_id) == Product.id),
            order_by=lambda: Image.position,
            lazy="select",
        )

    return Product


def create_plain_app(root: Path, stack: bool = False) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{root / 'bench.db'}"
    )
    app.config["SECRET_KEY"] = "bench-secret-key-" + "x" * 32
    db = SQLAlchemy(app)
    Product = _models(db)
    gettext: Any = lambda text, **values: text % values if values else text  # noqa: E731
    if stack:
        gettext = _stack(app)
    page = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be

    @app.route("/p/<slug>")
    def product(slug: str) -> str:
        row = db.session.scalar(
            select(Product)
            .where(Product.tenant_id == 1, Product.slug == slug, Product.active.is_(True))
            .options(joinedload(Product.categories), joinedload(Product.images))
        )
        if row is None:
            abort(404)
        price = format_currency(row.price / 100, "USD", locale="en_US")
        return page.render(
            product=row,
            price=price,
            description=row.description,
            categories=[c.name for c in row.categories],
            image=f"/p/{row.slug}/image.svg",
            shop_name="Shop s00001",
            _=gettext,
        )

    return app


def _stack(app: Flask) -> Any:
    """Session, CSRF, Flask-Login and Flask-Babel, as one shop's own app would have them."""
    from flask_babel import Babel, gettext
    from flask_login import LoginManager
    from flask_wtf import CSRFProtect

    Babel(app, locale_selector=lambda: "en_US")
    CSRFProtect(app)
    logins = LoginManager(app)
    logins.user_loader(lambda user_id: None)  # an anonymous visitor: no lookup

    @app.before_request
    def load_user() -> None:
        from flask_login import current_user

        _ = current_user.is_authenticated  # loads the user, as every page's header does

    return gettext


def create_hello_app() -> Flask:
    """Flask's "hello": the floor for a page answered from a cache."""
    hello = Flask("hello")

    @hello.route("/", defaults={"path": ""})
    @hello.route("/<path:path>")
    def index(path: str) -> str:
        return "Hello, World!"

    return hello


app = create_plain_app(Path(os.environ.get("BENCH_ROOT", ".")))
stack_app = create_plain_app(Path(os.environ.get("BENCH_ROOT", ".")), stack=True)
hello_app = create_hello_app()
