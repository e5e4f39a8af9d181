"""The shop owner's dashboard (owners and staff only).

Every page works on the bound shop through the same services the CLI and the API call;
the scoping layer keeps another shop's rows out of reach whatever id is typed into a URL.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from babel import dates
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_security import current_user
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from ..accounts.dashboard import init_access, permission, protect
from ..accounts.models import Role, User
from ..accounts.views_model import role_label
from ..addresses.views_model import format_address
from ..catalog import images
from ..catalog import services as catalog
from ..catalog.models import Category, Product
from ..catalog.money import parse_money, shop_currency, shop_money, to_major
from ..catalog.schemas import check_product, field_errors
from ..db import retrying
from ..extensions import db
from ..i18n import babel_locale
from ..i18n.numbers import format_count
from ..listing import MAX_QUERY, page_number
from ..media import ImageError, store_image
from ..orders import lists, reports
from ..orders import services as orders
from ..orders.models import STATUSES, Order
from ..orders.payments import PROVIDERS
from ..orders.refunds import REFUNDABLE
from ..orders.views_model import status_label
from ..plans import PlanLimitReached
from ..reviews.models import PENDING, Review
from ..signup.onboarding import checklist
from ..tenancy import config_edit
from ..tenancy.context import current_tenant
from ..tenancy.secrets import SecretsError, load_secrets, mask
from ..tenancy.services import ShopError, tenants_dir
from ..themes.loader import platform_templates_only
from ..themes.views import readable_on_white_text
from ..transfers.views import streamed_orders_csv
from . import health, product_details
from .branding import refuse_low_contrast
from .charts import branding_preview, sales_chart
from .forms import (
    BrandingForm,
    CategoryEditForm,
    CategoryForm,
    ConfirmForm,
    ProductForm,
    RefundForm,
    SettingsForm,
    StatusForm,
    StockForm,
    translated,
    translation_field,
    translations_of,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
platform_templates_only(bp)
bp.register_blueprint(health.bp)  # under /admin/health, behind the same gate
bp.add_app_template_filter(status_label, "status_label")
bp.add_app_template_filter(role_label, "role_label")


# Every dashboard page: anonymous users log in first; then the permission each route
# declares, from the account's role (customers have none: 403).
protect(bp)  # its nested blueprints (health) too
init_access(bp)


def _page() -> int:
    return page_number(request.args.get("page"))


@bp.route("/")
@permission("dashboard:read")
def index() -> str:
    """Counts, sales, best sellers and the latest orders: read from the figures kept with
    the orders and from indexes, never by counting the order book."""
    customers = select(User.id).where(User.roles.any(Role.name == "customer"))
    counts = {
        "products": _count(select(Product.id)),
        "orders": (reports.orders_placed(), format_count(reports.orders_placed())),
        "pending": _count(select(Order.id).where(Order.status == "pending")),
        "customers": _count(customers),
        # New reviews waiting for the owner's approval (by ix_reviews_state).
        "reviews": _count(select(Review.id).where(Review.status == PENDING)),
    }
    latest = lists.order_window(per_page=5).items
    days = reports.daily_sales(30)
    revenue, count = sum(d.revenue for d in days), sum(d.orders for d in days)
    summary = _(
        "Sales over the last 30 days: %(revenue)s from %(num)s orders.",
        revenue=shop_money(revenue),
        num=format_count(count),
    )
    locale = babel_locale()  # "5 Nov", "Nov 5", "5. Nov.": the day as the reader writes it
    chart = sales_chart(
        days, shop_money, lambda d: dates.format_skeleton("MMMd", d.day, locale=locale), summary
    )
    return render_template(
        "admin/index.html",
        counts=counts,
        latest=latest,
        money=_money,
        chart=chart,
        summary=summary,
        week=sum(d.revenue for d in days[-7:]),
        best=reports.best_sellers(30),
        low=reports.running_low(),
        threshold=int(current_app.config.get("LOW_STOCK_THRESHOLD", 3)),
        health=health.shop_health(),
        confirm=ConfirmForm(),
        onboarding=checklist(),
    )


COUNT_CAP = 1_000  # past this, a count says "1,000+" rather than read on


def _count(stmt: Any) -> tuple[int, str]:
    """A count for the overview (to choose the plural by) and how it reads."""
    found = reports.count_upto(stmt, COUNT_CAP)
    if found > COUNT_CAP:
        return found, _("%(num)s+", num=format_count(COUNT_CAP))
    return found, format_count(found)


def _money(amount: int | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    return shop_money(amount, currency)


# Products ---------------------------------------------------------------------------


@bp.route("/products")
@permission("products")
def products() -> str:
    query = request.args.get("q", "").strip()
    results = catalog.admin_products(page=_page(), query=query or None)
    return render_template("admin/products.html", results=results, q=query, money=_money)


PRODUCT_TEXTS = ("title", "description", "meta_title", "meta_description")
CATEGORY_TEXTS = ("name", "meta_title", "meta_description")


def _product_form(product: Product | None = None) -> ProductForm:
    form: ProductForm = translated(ProductForm, PRODUCT_TEXTS)(obj=None)  # type: ignore[assignment]
    form.categories.choices = [SelectChoice(c.slug, c.name) for c in catalog.all_categories()]
    if product is not None:
        # One stock control on an existing product: the adjustment beside the form, which
        # adds or removes units atomically (a typed total would undo sales meanwhile).
        # Its pictures have their own section too.
        del form.stock
        del form.image
    if product is not None and request.method == "GET":
        currency = shop_currency()
        for name in ("sku", "title", "slug", "description", "image_url", "tax_class"):
            getattr(form, name).data = getattr(product, name)
        for name in ("meta_title", "meta_description"):
            getattr(form, name).data = getattr(product, name)
        form.active.data, form.featured.data = product.active, product.featured
        form.gift_card.data = product.gift_card
        form.price.data = str(to_major(product.price, currency))
        if product.compare_at_price:
            form.compare_at_price.data = str(to_major(product.compare_at_price, currency))
        form.categories.data = [c.slug for c in product.categories]
        for locale, texts in (product.translations or {}).items():
            for name in PRODUCT_TEXTS:
                field = form._fields.get(translation_field(name, locale))
                if field is not None:
                    field.data = texts.get(name, "")
    return form


def _submitted_product(form: ProductForm) -> dict[str, Any] | None:
    """On a valid POST, the form's values for the catalog service; None otherwise.

    Every bad field is flagged at once (money is checked even when another field failed);
    an uploaded image is stored only when everything else is valid.
    """
    if not form.is_submitted():
        return None
    valid = form.validate()
    currency = shop_currency()
    fields: dict[str, Any] = {}
    try:
        fields["price"] = parse_money(form.price.data, currency)
    except ValueError as exc:
        form.price.errors = [*form.price.errors, str(exc)]
    compare = (form.compare_at_price.data or "").strip()
    try:
        fields["compare_at_price"] = parse_money(compare, currency) if compare else None
    except ValueError as exc:
        form.compare_at_price.errors = [*form.compare_at_price.errors, str(exc)]
    if not valid or form.price.errors or form.compare_at_price.errors:
        return None
    fields.update(
        sku=form.sku.data.strip(),
        title=form.title.data.strip(),
        slug=form.slug.data or catalog.slugify(form.title.data),
        description=form.description.data or "",
        active=form.active.data,
        featured=form.featured.data,
        gift_card=form.gift_card.data,
        image_url=form.image_url.data or None,
        tax_class=form.tax_class.data or "standard",
        meta_title=form.meta_title.data or None,
        meta_description=form.meta_description.data or None,
    )
    if "stock" in form:
        fields["stock"] = form.stock.data or 0
    texts = translations_of(form, PRODUCT_TEXTS)
    if texts:
        fields["translations"] = texts
    try:  # the product schema the API and the CSV import use, too
        check_product({**fields, "categories": form.categories.data or []})
    except ValidationError as exc:
        for name, message in field_errors(exc).items():
            field = getattr(form, name.split(".")[0], None)
            if field is not None:
                field.errors = [*field.errors, message]
        return None
    return fields


@bp.route("/products/new", methods=["GET", "POST"])
@permission("products:write")  # a form to write with: nothing to read
def product_new() -> ResponseReturnValue:
    form = _product_form()
    if (fields := _submitted_product(form)) is not None:
        if not form.slug.data:  # made from the title: the first free one
            fields["slug"] = catalog.free_slug(Product, fields["slug"])
        try:
            catalog.check_unique(None, fields["sku"], fields["slug"])
            product = catalog.create_product(
                fields.pop("sku"),
                fields.pop("title"),
                fields.pop("price"),
                categories=form.categories.data,
                **fields,
            )
            if form.image.data:  # its first picture, once everything else is valid
                images.add_image(product, form.image.data.read(images.MAX_BYTES + 1))
            db.session.commit()
        except ImageError as exc:
            db.session.rollback()
            form.image.errors = [*form.image.errors, str(exc)]
        except (catalog.CatalogError, PlanLimitReached) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Created “%(title)s”.", title=product.title), "success")
            return redirect(url_for("admin.product_edit", product_id=product.id))
    return render_template("admin/product_form.html", form=form, product=None)


def _product_or_404(product_id: int) -> Product:
    product = catalog.product_by_id(product_id)
    if product is None:
        abort(404)
    return product


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@permission("products")
def product_edit(product_id: int) -> ResponseReturnValue:
    product = _product_or_404(product_id)
    form = _product_form(product)
    if (fields := _submitted_product(form)) is not None:
        try:
            catalog.update_product(product, categories=form.categories.data, **fields)
            db.session.commit()
        except catalog.CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.product_edit", product_id=product.id))
    return render_template(
        "admin/product_form.html",
        form=form,
        product=product,
        stock_form=StockForm(prefix="stock"),
        money=_money,
        **product_details.sections(product),
    )


@bp.route("/products/<int:product_id>/stock", methods=["POST"])
@permission("products")
def product_stock(product_id: int) -> ResponseReturnValue:
    product = _product_or_404(product_id)
    form = StockForm(prefix="stock")
    if not form.validate_on_submit():
        flash(_("Enter a whole number of units, e.g. 5 or -2."), "error")
    else:
        try:
            delta = form.delta.data
            stock = retrying(lambda: catalog.adjust_stock(product, delta))
            flash(_("Stock is now %(stock)s.", stock=stock), "success")
        except catalog.CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return redirect(url_for("admin.product_edit", product_id=product.id))


@bp.route("/products/<int:product_id>/deactivate", methods=["POST"])
@permission("products")
def product_deactivate(product_id: int) -> ResponseReturnValue:
    product = _product_or_404(product_id)
    if ConfirmForm(prefix="confirm").validate_on_submit():
        catalog.update_product(product, active=not product.active)
        db.session.commit()
        if product.active:
            flash(_("“%(title)s” is visible in the shop again.", title=product.title), "success")
        else:
            flash(_("“%(title)s” is hidden from the shop.", title=product.title), "success")
    return redirect(url_for("admin.product_edit", product_id=product.id))


# Categories -------------------------------------------------------------------------


@bp.route("/categories", methods=["GET", "POST"])
@permission("products")
def categories() -> ResponseReturnValue:
    all_categories = catalog.all_categories()
    form: CategoryForm = translated(CategoryForm, ("name",))()  # type: ignore[assignment]
    form.parent.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(c.slug, c.name) for c in all_categories if c.parent_id is None
    ]
    if form.validate_on_submit():
        slug = form.slug.data or catalog.free_slug(Category, catalog.slugify(form.name.data))
        if any(c.slug == slug for c in all_categories):
            flash(_("A category with the slug “%(slug)s” exists already.", slug=slug), "error")
        else:
            catalog.create_category(
                form.name.data.strip(),
                slug,
                form.parent.data or None,
                translations=translations_of(form, ("name",)),
            )
            db.session.commit()
            flash(_("Added “%(name)s”.", name=form.name.data), "success")
            return redirect(url_for("admin.categories"))
    return render_template(
        "admin/categories.html",
        form=form,
        categories=all_categories,
        confirm=ConfirmForm(prefix="confirm"),
    )


@bp.route("/categories/<slug>", methods=["GET", "POST"])
@permission("products")
def category_edit(slug: str) -> ResponseReturnValue:
    """Rename a category (in every language), move it, order it."""
    try:
        category = catalog.get_category(slug)
    except LookupError:
        abort(404)
    form: CategoryEditForm = translated(CategoryEditForm, CATEGORY_TEXTS)()  # type: ignore[assignment]
    has_children = any(c.parent_id == category.id for c in catalog.all_categories())
    form.parent.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(c.slug, c.name)
        for c in catalog.all_categories()
        if c.parent_id is None and c.id != category.id and not has_children
    ]
    if request.method == "GET":
        form.name.data, form.position.data = category.name, category.position
        form.meta_title.data = category.meta_title or ""
        form.meta_description.data = category.meta_description or ""
        parent = next((c for c in catalog.all_categories() if c.id == category.parent_id), None)
        form.parent.data = parent.slug if parent else ""
        for locale, texts in (category.translations or {}).items():
            for name in CATEGORY_TEXTS:
                field = form._fields.get(translation_field(name, locale))
                if field is not None:
                    field.data = texts.get(name, "")
    if form.validate_on_submit():
        try:
            catalog.update_category(
                category,
                name=form.name.data.strip(),
                parent=form.parent.data or None,
                position=form.position.data,
                translations=translations_of(form, CATEGORY_TEXTS),
                meta_title=form.meta_title.data or None,
                meta_description=form.meta_description.data or None,
            )
            db.session.commit()
        except catalog.CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/category_form.html", form=form, category=category)


@bp.route("/categories/<slug>/delete", methods=["POST"])
@permission("products")
def category_delete(slug: str) -> ResponseReturnValue:
    if ConfirmForm(prefix="confirm").validate_on_submit():
        try:
            catalog.delete_category(slug)
            db.session.commit()
            flash(_("Category deleted; its products stay in the catalog."), "success")
        except LookupError:
            db.session.rollback()
            abort(404)
        except catalog.CatalogError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return redirect(url_for("admin.categories"))


# Orders -----------------------------------------------------------------------------


@bp.route("/orders")
@permission("orders")
def order_list() -> str:
    """Orders newest first, a window at a time; by number, email or status."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, _("Unknown status “%(status)s”.", status=status))
    query = request.args.get("q", "").strip()
    results = lists.order_window(
        status or None,
        query or None,
        older=lists.mark(request.args.get("older")),
        newer=lists.mark(request.args.get("newer")),
    )
    return render_template(
        "admin/orders.html",
        results=results,
        status=status,
        statuses=STATUSES,
        q=query,
        money=_money,
    )


@bp.route("/orders.csv")
@permission("orders")
def orders_csv() -> ResponseReturnValue:
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        abort(400, _("Unknown status “%(status)s”.", status=status))
    return streamed_orders_csv(status)


@bp.route("/orders/<number>", methods=["GET", "POST"])
@permission("orders")
def order_detail(number: str) -> ResponseReturnValue:
    order = orders.get_order(number)
    if order is None:
        abort(404)
    form = StatusForm()
    # Only the moves this order may make are offered; the service refuses the rest anyway.
    moves = (order.status, *orders.allowed_moves(order))
    form.status.choices = [SelectChoice(s, status_label(s)) for s in moves]
    if request.method == "GET":
        form.status.data = order.status
        form.carrier.data = order.carrier
        form.tracking_number.data = order.tracking_number
    if request.method == "POST" and form.status.data not in moves:
        form.status.choices = [SelectChoice(s, status_label(s)) for s in STATUSES]
    if form.validate_on_submit():
        try:
            status, carrier = form.status.data, form.carrier.data
            tracking = form.tracking_number.data
            retrying(
                lambda: orders.set_status(order, status, carrier=carrier, tracking_number=tracking)
            )
        except orders.CheckoutError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("admin.order_detail", number=order.number))
        message = _(
            "Order %(number)s is now “%(status)s”.",
            number=order.number,
            status=status_label(order.status),
        )
        notes = {
            "shipped": _("The shopper has been mailed."),
            "cancelled": _("Its units are back in stock."),
        }
        flash(f"{message} {notes.get(order.status, '')}".strip(), "success")
        return redirect(url_for("admin.order_detail", number=order.number))
    return render_template(
        "admin/order.html",
        order=orders.order_view(order),
        raw=order,
        form=form,
        final=not orders.allowed_moves(order),
        refund_form=_refund_form(order),
        refunds=orders.refunds_of(order),
        refundable=order.status in REFUNDABLE,
        money=_money,
    )


def _refund_form(order: Order, form: RefundForm | None = None) -> RefundForm:
    form = form or RefundForm(prefix="refund", formdata=None)
    if not form.refund_key.data:
        form.refund_key.data = secrets.token_urlsafe(18)
    if not form.amount.data:
        left = order.total - orders.refunded_total(order)
        form.amount.data = str(to_major(max(left, 0), order.currency))
    return form


@bp.route("/orders/<number>/refund", methods=["POST"])
@permission("orders")
def order_refund(number: str) -> ResponseReturnValue:
    order = orders.get_order(number)
    if order is None:
        abort(404)
    form = RefundForm(prefix="refund")
    if not form.validate_on_submit():
        flash(_("Give an amount and a reason for the refund."), "error")
        return redirect(url_for("admin.order_detail", number=number))
    try:
        amount = parse_money(form.amount.data, order.currency)
        reason, restock = form.reason.data, form.restock.data
        key = (form.refund_key.data or secrets.token_urlsafe(18))[:64]
        retrying(
            lambda: orders.refund(
                order,
                amount,
                reason,
                key=key,
                restock=restock,
                to_gift_card=bool(form.to_gift_card.data),
                actor=current_user.email,
            )
        )
    except (orders.RefundError, orders.CheckoutError, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    except IntegrityError:  # the same form, racing itself: the other submission counts
        db.session.rollback()
    else:
        flash(_("Refunded %(amount)s.", amount=shop_money(amount, order.currency)), "success")
    return redirect(url_for("admin.order_detail", number=number))


# Customers --------------------------------------------------------------------------


@bp.route("/customers")
@permission("customers")
def customers() -> str:
    """Shoppers with an account, then guests, each newest first a window at a time, with
    their orders and spending from the counters kept with the orders."""
    query = request.args.get("q", "").strip()
    accounts_stmt = select(User).where(User.roles.any(Role.name == "customer"))
    keys: tuple[Any, ...] = (User.id,)  # newest first
    if query:  # the beginning of an address: alphabetical, as the index finds them
        accounts_stmt = accounts_stmt.where(lists.prefix(User.email, query[:MAX_QUERY]))
        keys = (User.email, User.id)
    results = lists.window(
        accounts_stmt,
        keys,
        User.id,
        older=lists.mark(request.args.get("older")),
        newer=lists.mark(request.args.get("newer")),
        ascending=bool(query),
    )
    guests = lists.guest_window(
        query or None,
        older=lists.mark(request.args.get("guests_older")),
        newer=lists.mark(request.args.get("guests_newer")),
    )
    totals = lists.totals_of([user.id for user in results.items])
    return render_template(
        "admin/customers.html",
        results=results,
        guests=guests,
        totals=totals,
        q=query,
        money=_money,
    )


@bp.route("/customers/<int:user_id>")
@permission("customers")
def customer(user_id: int) -> str:
    """One customer: their figures, their orders a window at a time, guest orders with
    their address."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    placed = lists.orders_of_window(
        user.id,
        older=lists.mark(request.args.get("older")),
        newer=lists.mark(request.args.get("newer")),
    )
    # Orders placed as a guest with the same address, not (yet) joined to the account.
    guest = lists.guest_orders_of(user.email)
    totals = lists.totals_of([user.id]).get(user.id)
    # As each country prints them ("Phoenix, AZ 85001"), each address once (of those shown).
    shown = [*placed.items, *guest]
    addresses = list(dict.fromkeys(tuple(format_address(o)) for o in shown))
    return render_template(
        "admin/customer.html",
        customer=user,
        placed=placed,
        orders=[orders.order_view(o) for o in placed.items],
        guest_orders=[orders.order_view(o) for o in guest],
        count=totals.orders if totals else 0,
        spent=shop_money(totals.spent if totals else 0),
        addresses=addresses,
    )


# Settings ---------------------------------------------------------------------------

SETTINGS_KEYS = {
    "name": "name",
    "contact_email": "contact_email",
    "footer_text": "branding.footer_text",
    "banner_text": "branding.banner_text",
}
SETTINGS_TEXTS = ("banner_text", "footer_text")  # the shop's own texts, per language


@bp.route("/settings", methods=["GET", "POST"])
@permission("settings")
def settings() -> ResponseReturnValue:
    """What an owner may change here; everything else is the operator's tenant.toml.

    The footer text is the shop's own text: one field per language the shop speaks.
    """
    ctx = current_tenant()
    form: SettingsForm = translated(SettingsForm, SETTINGS_TEXTS)()  # type: ignore[assignment]
    if request.method == "GET" and ctx.settings is not None:
        form.name.data = ctx.settings.name
        form.contact_email.data = ctx.settings.contact_email or ""
        form.footer_text.data = ctx.settings.branding.footer_text
        form.banner_text.data = ctx.settings.branding.banner_text
        form.guest_data_days.data = ctx.settings.privacy.guest_data_days
        form.inactive_account_days.data = ctx.settings.privacy.inactive_account_days
        form.staff_second_factor.data = ctx.settings.security.staff_second_factor
        for locale, own in ctx.settings.content.items():
            for name in SETTINGS_TEXTS:
                field = form._fields.get(translation_field(name, locale))
                if field is not None:
                    field.data = getattr(own, name) or ""
    if form.validate_on_submit():
        changes = {
            key: (getattr(form, field).data or "").strip() or None
            for field, key in SETTINGS_KEYS.items()
        }
        for locale, texts in translations_of(form, SETTINGS_TEXTS).items():
            for name in SETTINGS_TEXTS:
                changes[f"content.{locale}.{name}"] = texts.get(name) or None
        changes["privacy.guest_data_days"] = form.guest_data_days.data
        changes["privacy.inactive_account_days"] = form.inactive_account_days.data
        changes["security.staff_second_factor"] = True if form.staff_second_factor.data else None
        try:
            config_edit.update_values(ctx.slug, changes)
        except ShopError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html",
        form=form,
        payments=_payment_summary(ctx.slug),
        **_branding_page(_branding_form()),
    )


def _branding_form(formdata: bool = False) -> BrandingForm:
    form = BrandingForm(prefix="brand") if formdata else BrandingForm(prefix="brand", formdata=None)
    settings = current_tenant().settings
    if settings is None:
        return form
    b = settings.branding
    for field in (form.font_family, form.heading_font):
        current = b.font_family if field is form.font_family else (b.heading_font or b.font_family)
        if current not in {choice.value for choice in field.choices}:  # type: ignore[union-attr]
            field.choices = [SelectChoice(current, current), *field.choices]  # type: ignore[misc]
    if not formdata:
        form.primary_color.data, form.accent_color.data = b.primary_color, b.accent_color
        form.background_color.data, form.text_color.data = b.background_color, b.text_color
        form.font_family.data = b.font_family
        form.heading_font.data = b.heading_font or b.font_family
    return form


def _branding_page(form: BrandingForm) -> dict[str, Any]:
    """The look form and a miniature of the shop in its colours."""
    name = current_tenant().name
    colour = {  # what the form holds (a refused submission previews what was typed)
        field: (getattr(form, field).data or "#000000")
        for field in ("primary_color", "accent_color", "background_color", "text_color")
    }
    preview = branding_preview(
        name,
        colour["primary_color"],
        readable_on_white_text(colour["accent_color"])
        if re.fullmatch(r"#[0-9a-fA-F]{6}", colour["accent_color"])
        else colour["accent_color"],
        colour["background_color"],
        colour["text_color"],
        (_("Your products, your words."), _("Add to cart")),
    )
    return {"branding": form, "preview": preview}


@bp.route("/settings/branding", methods=["POST"])
@permission("settings")
def branding() -> ResponseReturnValue:
    """Logo, colours and fonts, saved into tenant.toml's [branding]."""
    ctx = current_tenant()
    form = _branding_form(formdata=True)
    saved = ctx.settings.branding if ctx.settings else None
    if form.validate_on_submit() and not (
        saved is not None and refuse_low_contrast(form, saved, ctx.theme)
    ):
        changes: dict[str, Any] = {
            f"branding.{name}": getattr(form, name).data.lower()
            for name in ("primary_color", "accent_color", "background_color", "text_color")
        }
        changes["branding.font_family"] = form.font_family.data
        changes["branding.heading_font"] = form.heading_font.data
        try:
            if form.logo.data:
                logo = store_image(form.logo.data.read(), folder="branding", max_side=800)
                changes["branding.logo"] = f"/media/{logo.master_key}"
            config_edit.update_values(ctx.slug, changes)
        except (ImageError, ShopError) as exc:
            form.logo.errors = [*form.logo.errors, str(exc).split(": ", 2)[-1]]
        else:
            flash(_("The shop's look is saved."), "success")
            return redirect(url_for("admin.settings"))
    settings_form: SettingsForm = translated(SettingsForm, SETTINGS_TEXTS)(formdata=None)  # type: ignore[assignment]
    return render_template(
        "admin/settings.html",
        form=settings_form,
        payments=_payment_summary(ctx.slug),
        **_branding_page(form),
    ), 422


def _payment_summary(slug: str) -> list[tuple[str, str]]:
    """The shop's payment methods and, for Stripe, its keys masked (set by the operator)."""
    settings = current_tenant().settings
    methods = settings.payment.methods if settings else []
    rows = [(str(PROVIDERS[m].label), "") for m in methods if m in PROVIDERS]
    if "stripe" in methods:
        try:
            keys = load_secrets(tenants_dir(), slug).stripe
        except SecretsError:
            keys = None
        for label, value in (
            (_("Stripe secret key"), keys.secret_key if keys else None),
            (_("Stripe webhook secret"), keys.webhook_secret if keys else None),
        ):
            rows.append((label, mask(value) or _("not set")))
    return rows
