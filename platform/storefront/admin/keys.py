"""The owner's API keys: list, create (the key is shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from flask_security import auth_required, roles_accepted

from ..accounts import tokens
from ..extensions import db
from ..themes.loader import platform_templates_only
from .forms import ApiKeyForm, ConfirmForm

bp = Blueprint("admin_keys", __name__, url_prefix="/admin/api-keys")
platform_templates_only(bp)


@bp.before_request
@auth_required("session")
@roles_accepted("owner")
def _owner_only() -> None:
    """Keys act as staff accounts: only the owner manages them."""


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    form = ApiKeyForm()
    created = None
    if form.validate_on_submit():
        try:
            new = tokens.create_key(current_user, form.name.data, form.days.data)
        except tokens.TokenError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            created = new.secret
            form = ApiKeyForm(formdata=None)
    keys = [(key, tokens.key_status(key)) for key in tokens.list_keys()]
    return render_template(
        "admin/api_keys.html",
        form=form,
        keys=keys,
        created=created,
        confirm=ConfirmForm(),
        key_status=key_status_label,
    )


def key_status_label(status: str) -> str:
    labels = {"active": _("active"), "revoked": _("revoked"), "expired": _("expired")}
    return labels.get(status, status)


@bp.route("/<int:key_id>/revoke", methods=["POST"])
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
