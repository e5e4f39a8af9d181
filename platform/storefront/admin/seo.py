"""Search engines, for the owner: the shop's robots.txt and its redirects."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.dashboard import permission, protect
from ..extensions import db
from ..seo import services as seo
from ..seo.models import PATH_MAX
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm

bp = Blueprint("admin_seo", __name__, url_prefix="/admin/seo")
platform_templates_only(bp)


class RobotsForm(FlaskForm):
    robots_txt = TextAreaField(_l("robots.txt"), validators=[Length(max=seo.ROBOTS_MAX)])
    save = SubmitField(_l("Save robots.txt"))


class RedirectForm(FlaskForm):
    old_path = StringField(_l("Old path"), validators=[DataRequired(), Length(max=PATH_MAX)])
    new_path = StringField(_l("New path"), validators=[DataRequired(), Length(max=PATH_MAX)])
    add = SubmitField(_l("Add redirect"))


protect(bp)  # a session, then the permission each route declares


def _page(robots: RobotsForm, adding: RedirectForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "admin/seo.html",
        robots=robots,
        adding=adding,
        redirects=seo.all_redirects(),
        confirm=ConfirmForm(prefix="confirm"),
        default_robots=seo.default_robots("…/sitemap.xml"),
        limit=seo.max_redirects(),
    ), status


@bp.route("/")
@permission("settings")
def index() -> ResponseReturnValue:
    robots = RobotsForm(prefix="robots")
    robots.robots_txt.data = seo.own_robots() or ""
    return _page(robots, RedirectForm(prefix="redirect"))


@bp.route("/robots", methods=["POST"])
@permission("settings")
def robots() -> ResponseReturnValue:
    form = RobotsForm(prefix="robots")
    if not form.validate_on_submit():
        return _page(form, RedirectForm(prefix="redirect"), 400)
    try:
        seo.set_robots(form.robots_txt.data)
    except seo.RedirectError as exc:
        form.robots_txt.errors = [*form.robots_txt.errors, str(exc)]
        return _page(form, RedirectForm(prefix="redirect"), 400)
    db.session.commit()
    flash(_("robots.txt saved."), "success")
    return redirect(url_for("admin_seo.index"))


@bp.route("/redirects", methods=["POST"])
@permission("settings")
def add_redirect() -> ResponseReturnValue:
    form = RedirectForm(prefix="redirect")
    robots = RobotsForm(prefix="robots", formdata=None)
    robots.robots_txt.data = seo.own_robots() or ""
    if not form.validate_on_submit():
        return _page(robots, form, 400)
    try:
        seo.add_redirect(form.old_path.data, form.new_path.data)
    except seo.RedirectError as exc:
        db.session.rollback()
        form.old_path.errors = [*form.old_path.errors, str(exc)]
        return _page(robots, form, 400)
    db.session.commit()
    flash(_("Redirect added."), "success")
    return redirect(url_for("admin_seo.index"))


@bp.route("/redirects/<int:redirect_id>/delete", methods=["POST"])
@permission("settings")
def delete_redirect(redirect_id: int) -> ResponseReturnValue:
    if not ConfirmForm(prefix="confirm").validate_on_submit():
        abort(400)
    if not seo.delete_redirect(redirect_id):
        abort(404)
    db.session.commit()
    flash(_("Redirect deleted."), "success")
    return redirect(url_for("admin_seo.index"))
