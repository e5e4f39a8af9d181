"""The owner's API access: keys (list, create with scopes, shown once; revoke) and the
sites whose pages may call the API from a browser (CORS)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import tokens
from ..accounts.dashboard import permission, protect
from ..extensions import db
from ..tenancy import config_edit
from ..tenancy.context import current_tenant
from ..tenancy.services import ShopError
from ..tenancy.settings import ORIGIN
from ..themes.loader import platform_templates_only
from .forms import SCOPE_LABELS, ApiKeyForm, ConfirmForm, CorsForm

bp = Blueprint("admin_keys", __name__, url_prefix="/admin/api-keys")
platform_templates_only(bp)

# What a new key's form starts with: reading the shop's data. Writing, and shopping as
# the key's owner, are ticked on purpose, for the integration that needs them.
FIRST_TICKED = tuple(scope for scope in tokens.STAFF_SCOPES if scope.endswith(":read"))


protect(bp)  # a session, then the permission each route declares


@bp.route("/", methods=["GET", "POST"])
@permission("keys")
def index() -> ResponseReturnValue:
    form = ApiKeyForm()
    created = None
    if form.validate_on_submit():
        try:
            new = tokens.create_key(
                current_user, form.name.data, form.days.data, scopes=form.scopes.data or []
            )
        except tokens.TokenError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            created = new.secret
            form = ApiKeyForm(formdata=None)
    if not form.is_submitted() or created:
        form.scopes.data = list(FIRST_TICKED)
    return _page(form, _cors_form(), created)


def _page(form: ApiKeyForm, cors: CorsForm, created: str | None = None) -> str:
    keys = [(key, tokens.key_status(key)) for key in tokens.list_keys()]
    return render_template(
        "admin/api_keys.html",
        form=form,
        keys=keys,
        created=created,
        confirm=ConfirmForm(),
        cors=cors,
        key_status=key_status_label,
        scope_labels=scope_labels,
    )


def scope_labels(scopes: list[str] | None) -> str:
    chosen = list(tokens.STAFF_SCOPES) if scopes is None else scopes
    return ", ".join(str(SCOPE_LABELS.get(scope, scope)) for scope in chosen)


def _cors_form() -> CorsForm:
    form = CorsForm(prefix="cors", formdata=None)
    settings = current_tenant().settings
    form.origins.data = "\n".join(settings.api.cors_origins) if settings else ""
    return form


@bp.route("/origins", methods=["POST"])
@permission("keys")
def origins() -> ResponseReturnValue:
    """The sites whose pages may call the API (tenant.toml ``[api] cors_origins``)."""
    form = CorsForm(prefix="cors")
    if not form.validate_on_submit():
        abort(400)
    wanted = [line.strip().lower().rstrip("/") for line in (form.origins.data or "").splitlines()]
    wanted = list(dict.fromkeys(line for line in wanted if line))
    wrong = [line for line in wanted if not re.fullmatch(ORIGIN, line)]
    problem = None
    if wrong:
        problem = _(
            "“%(site)s” is not a site address: write it as https://www.example.com (no path).",
            site=wrong[0],
        )
    elif len(wanted) > 20:
        problem = _("At most 20 sites.")
    else:
        try:
            config_edit.update_values(current_tenant().slug, {"api.cors_origins": wanted})
        except ShopError as exc:
            problem = str(exc).split(": ", 2)[-1]
    if problem:  # the page again, with what was typed: nothing is lost
        form.origins.errors = [problem]
        fresh = ApiKeyForm(formdata=None)
        fresh.scopes.data = list(FIRST_TICKED)
        return _page(fresh, form), 422
    flash(_("Sites saved."), "success")
    return redirect("/admin/api-keys/")


def key_status_label(status: str) -> str:
    labels = {"active": _("active"), "revoked": _("revoked"), "expired": _("expired")}
    return labels.get(status, status)


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@permission("keys")
def revoke(key_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        key = tokens.revoke_key(key_id)
    except tokens.TokenError:
        abort(404)
    db.session.commit()
    flash(
        _("Key “%(name)s” (%(prefix)s…) is revoked.", name=key.name, prefix=key.prefix), "success"
    )
    return redirect("/admin/api-keys/")
