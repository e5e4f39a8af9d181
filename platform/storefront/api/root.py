"""``/api/``: which shop answers, and who is signed in."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_security import auth_required, current_user

from ..tenancy.context import current_tenant
from .access import init_access, public, requires_scope

bp = Blueprint("api_root", __name__, url_prefix="/api")
init_access(bp)


@bp.route("/")
@public
def api_index() -> Response:
    """The shop this host belongs to."""
    return jsonify(status="success", shop=current_tenant().slug)


@bp.route("/me")
@requires_scope("account:read")
@auth_required("token", "session")
def me() -> Response:
    """The signed-in account, by session or by token."""
    return jsonify(email=current_user.email, shop=current_tenant().slug)
