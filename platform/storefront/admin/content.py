"""Pages the owner writes (shipping, returns, about, legal): list, write, delete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ..accounts.dashboard import permission, protect
from ..catalog.services import free_slug, slugify
from ..content import services as content
from ..extensions import db
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm, PageForm, translated, translation_field, translations_of

bp = Blueprint("admin_pages", __name__, url_prefix="/admin/pages")
platform_templates_only(bp)
TEXTS = ("title", "body", "meta_title", "meta_description")


protect(bp)  # a session, then the permission each route declares


@bp.route("/")
@permission("content")
def index() -> str:
    return render_template(
        "admin/pages.html", pages=content.all_pages(), confirm=ConfirmForm(prefix="confirm")
    )


def _form(page: content.Page | None) -> PageForm:
    form: PageForm = translated(PageForm, TEXTS)()  # type: ignore[assignment]
    if page is not None and request.method == "GET":
        form.title.data, form.slug.data = page.title, page.slug
        form.body.data, form.published.data = page.body, page.published
        form.meta_title.data = page.meta_title or ""
        form.meta_description.data = page.meta_description or ""
        for locale, texts in (page.translations or {}).items():
            for name in TEXTS:
                field = form._fields.get(translation_field(name, locale))
                if field is not None:
                    field.data = texts.get(name, "")
    return form


def _save(page: content.Page | None) -> ResponseReturnValue:
    form = _form(page)
    if form.validate_on_submit():
        try:
            saved = content.save_page(
                page,
                title=form.title.data.strip(),
                slug=(form.slug.data or "").strip() or _made_slug(page, form.title.data),
                body=form.body.data or "",
                published=bool(form.published.data),
                meta_title=form.meta_title.data or None,
                meta_description=form.meta_description.data or None,
                translations=translations_of(form, TEXTS),
            )
            db.session.commit()
        except content.PageError as exc:
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, str(exc)]
        else:
            flash(_("Page saved: /pages/%(slug)s", slug=saved.slug), "success")
            return redirect(url_for("admin_pages.edit", page_id=saved.id))
    return render_template("admin/page_form.html", form=form, page=page)


def _made_slug(page: content.Page | None, title: str) -> str:
    """A new page's slug from its title is the first free one; an edited page's is its
    title's (a clash is the form's error)."""
    return slugify(title) if page else free_slug(content.Page, slugify(title))


@bp.route("/new", methods=["GET", "POST"])
@permission("content:write")  # a form to write with: nothing to read
def new() -> ResponseReturnValue:
    return _save(None)


@bp.route("/<int:page_id>", methods=["GET", "POST"])
@permission("content")
def edit(page_id: int) -> ResponseReturnValue:
    page = content.get_page(page_id)
    if page is None:
        abort(404)
    return _save(page)


@bp.route("/<int:page_id>/delete", methods=["POST"])
@permission("content")
def delete(page_id: int) -> ResponseReturnValue:
    page = content.get_page(page_id)
    if page is None:
        abort(404)
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    content.delete_page(page)
    db.session.commit()
    flash(_("Page deleted."), "success")
    return redirect(url_for("admin_pages.index"))
