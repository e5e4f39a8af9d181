"""The home page's sections: add, order, edit, hide, delete, with a live preview, per
language. The preview renders the storefront's home page with an unsaved draft (nothing
is written), as shoppers would get it: through the shop's own template files too, in the
sandbox that renders them on the storefront (the rest of the dashboard never uses them),
in a frame of the dashboard only."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import select

from ..accounts.dashboard import permission, protect
from ..catalog.models import Product
from ..catalog.services import all_categories, featured_products
from ..extensions import db
from ..home import receivers  # noqa: F401 - archives' sections follow their renumbered rows
from ..home import services as home
from ..home.schemas import MAX_PRODUCTS, MAX_SECTIONS
from ..i18n import language_name, localized, shop_locale, shop_locales_of_bound
from ..media import ImageError, store_image
from ..themes.loader import platform_templates_only, with_shop_templates
from .forms import ConfirmForm, HomeSectionForm

bp = Blueprint("admin_home", __name__, url_prefix="/admin/home")
platform_templates_only(bp)
protect(bp)  # a session, then the permission each route declares

# Per kind: the form's fields for what every language shares, then for its texts.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "image_banner": (("image", "remove_image", "link"), ("heading", "text", "button", "alt")),
    "featured_products": (("products",), ("heading",)),
    "featured_category": (("category", "limit"), ("heading",)),
    "rich_text": ((), ("heading", "body")),
    "image_with_text": (
        ("image", "remove_image", "image_side", "link"),
        ("heading", "body", "button", "alt"),
    ),
    "newsletter": ((), ("heading", "text")),
}
KIND_NAMES = {
    "image_banner": _l("Image banner"),
    "featured_products": _l("Featured products"),
    "featured_category": _l("Featured category"),
    "rich_text": _l("Rich text"),
    "image_with_text": _l("Image with text"),
    "newsletter": _l("Newsletter sign-up"),
}
# A setting's name in ``home.schemas`` -> the form field that holds it.
FORM_FIELD = {"product_ids": "products", "category_id": "category"}


def _lang() -> str:
    """The language being edited: ``?lang=`` (or the form's), one of the shop's."""
    locales = shop_locales_of_bound()
    wanted = request.values.get("lang", "")
    return wanted if wanted in locales else locales[0]


def _languages(lang: str) -> list[tuple[str, str, bool]]:
    """(locale, its name in the reader's language, whether it is the one edited)."""
    return [(loc, language_name(loc), loc == lang) for loc in shop_locales_of_bound()]


def _section(section_id: int) -> home.HomeSection:
    section = home.get_section(section_id)
    if section is None:
        abort(404)
    return section


@bp.route("/")
@permission("content")
def index() -> str:
    """The sections in order, what can be added, and the page as shoppers see it."""
    lang = _lang()
    return render_template(
        "admin/home.html",
        sections=home.all_sections(),
        kinds=[(kind, KIND_NAMES[kind]) for kind in home.offered()],
        kind_names=KIND_NAMES,
        lang=lang,
        edit_languages=_languages(lang),
        full=len(home.all_sections()) >= MAX_SECTIONS,
        confirm=ConfirmForm(prefix="confirm"),
        signups=home.signup_count(),
        headings={s.id: home.texts_in(s, lang).get("heading", "") for s in home.all_sections()},
    )


@bp.route("/add", methods=["POST"])
@permission("content")
def add() -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    try:
        section = home.add_section(request.form.get("kind", ""))
    except home.SectionError:
        flash(
            _("Choose one of the sections your theme offers (at most %(num)s).", num=MAX_SECTIONS),
            "error",
        )
        return redirect(url_for("admin_home.index", lang=_lang()))
    db.session.commit()
    flash(_("Section added. Write its texts, then save."), "success")
    return redirect(url_for("admin_home.edit", section_id=section.id, lang=_lang()))


@bp.route("/<int:section_id>/move", methods=["POST"])
@permission("content")
def move(section_id: int) -> ResponseReturnValue:
    section = _section(section_id)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    home.move_section(section, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    flash(_("Section moved."), "success")
    return redirect(url_for("admin_home.index", lang=_lang()))


@bp.route("/<int:section_id>/hide", methods=["POST"])
@permission("content")
def hide(section_id: int) -> ResponseReturnValue:
    section = _section(section_id)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    hidden = request.form.get("hidden") == "1"
    home.set_hidden(section, hidden)
    db.session.commit()
    flash(_("Section hidden.") if hidden else _("Section shown."), "success")
    return redirect(url_for("admin_home.index", lang=_lang()))


@bp.route("/<int:section_id>/delete", methods=["POST"])
@permission("content")
def delete(section_id: int) -> ResponseReturnValue:
    section = _section(section_id)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    home.delete_section(section)
    db.session.commit()
    flash(_("Section deleted."), "success")
    return redirect(url_for("admin_home.index", lang=_lang()))


def _form(section: home.HomeSection, lang: str) -> HomeSectionForm:
    form = HomeSectionForm()
    form.category.choices = [("", _("Choose a category"))] + [
        (str(c.id), localized(c.translations, "name", c.name)) for c in all_categories()
    ]
    if request.method == "GET":
        settings = section.settings or {}
        form.link.data = settings.get("link") or ""
        form.image_side.data = settings.get("image_side") or "left"
        form.limit.data = settings.get("limit") or 4
        form.category.data = str(settings.get("category_id") or "")
        form.products.data = ", ".join(_skus(settings.get("product_ids") or []))
        for name, value in home.texts_in(section, lang).items():
            if name in form._fields:
                form._fields[name].data = value
    return form


def _skus(ids: list[Any]) -> list[str]:
    wanted = [i for i in ids if isinstance(i, int)][:MAX_PRODUCTS]
    found = dict(
        db.session.execute(select(Product.id, Product.sku).where(Product.id.in_(wanted))).all()
    )
    return [found[i] for i in wanted if i in found]


def _draft(
    section: home.HomeSection, form: HomeSectionForm
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The form's values as the section's settings and texts; None (errors on the form)
    when a value cannot be one."""
    shared_fields, text_fields = FIELDS[section.kind]
    settings: dict[str, Any] = {}
    if "image" in shared_fields:
        settings["image"] = (
            None if form.remove_image.data else (section.settings or {}).get("image")
        )
    if "link" in shared_fields:
        settings["link"] = form.link.data or None
    if "image_side" in shared_fields:
        settings["image_side"] = form.image_side.data
    if "products" in shared_fields:
        skus = [s.strip() for s in (form.products.data or "").split(",") if s.strip()]
        if len(skus) > MAX_PRODUCTS:
            form.products.errors = [_("At most %(num)s products.", num=MAX_PRODUCTS)]
            return None
        found = dict(
            db.session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all()
        )
        unknown = [s for s in skus if s not in found]
        if unknown:
            form.products.errors = [_("No product has the SKU %(sku)s.", sku=unknown[0][:60])]
            return None
        settings["product_ids"] = [found[s] for s in skus]
    if "category" in shared_fields:
        chosen = form.category.data or ""
        settings["category_id"] = int(chosen) if chosen.isdigit() and len(chosen) < 10 else None
        settings["limit"] = form.limit.data or 4
    texts = {name: form._fields[name].data or "" for name in text_fields}
    try:
        home.check_draft(section.kind, settings, texts)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            field = form._fields.get(FORM_FIELD.get(name, name))
            if field is not None:
                field.errors = [*field.errors, _message(name)]
        return None
    return settings, texts


def _message(name: str) -> str:
    if name == "link":
        return _("Use a page of your shop (starting with /) or an address starting with https://.")
    return _("This value cannot be used here.")


@bp.route("/<int:section_id>", methods=["GET", "POST"])
@permission("content")
def edit(section_id: int) -> ResponseReturnValue:
    """One section's fields in one language, beside the preview."""
    section = _section(section_id)
    lang = _lang()
    form = _form(section, lang)
    if form.validate_on_submit():
        draft = _draft(section, form)
        if draft is not None:
            settings, texts = draft
            try:
                if "image" in FIELDS[section.kind][0] and form.image.data:
                    master = store_image(form.image.data.read(), folder="img", max_side=1600)
                    settings["image"] = master.master_key
                home.save_section(section, lang, settings, texts)
                db.session.commit()
            except ImageError as exc:
                db.session.rollback()
                form.image.errors = [*form.image.errors, str(exc)]
            else:
                flash(_("Section saved."), "success")
                return redirect(url_for("admin_home.edit", section_id=section.id, lang=lang))
    return render_template(
        "admin/home_section.html",
        section=section,
        form=form,
        fields=FIELDS[section.kind][0] + FIELDS[section.kind][1],
        kind_name=KIND_NAMES.get(section.kind, section.kind),
        lang=lang,
        edit_languages=_languages(lang),
        default_lang=shop_locales_of_bound()[0],
    )


@bp.route("/preview", methods=["GET", "POST"])
@permission("content")
def preview() -> Response:
    """The home page as shoppers would see it in ``lang``: saved, or with the posted
    draft of one section in place of the saved one (nothing is written)."""
    lang = _lang()
    draft = None
    if request.method == "POST":
        section = _section(request.form.get("section_id", type=int) or 0)
        form = _form(section, lang)
        if not form.validate_on_submit():
            abort(400)
        values = _draft(section, form)
        if values is None:
            abort(422)
        draft = home.Draft(section.id, *values)
    # The storefront's page as shoppers get it: the shop's own templates (sandboxed) too.
    with shop_locale(lang), with_shop_templates():
        html = render_template(
            "index.html",
            featured=featured_products(),
            home_sections=home.page_sections(draft),
            preview=True,
        )
    response = make_response(html)
    # Framed by the dashboard's own pages only (every other page refuses any frame).
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = current_app.extensions["storefront.csp"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
