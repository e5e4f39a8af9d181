"""The shop owner's dashboard (owners and staff only)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_security import auth_required, roles_accepted

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@auth_required()
@roles_accepted("owner", "staff")
def _staff_only() -> None:
    """Every dashboard page: anonymous users log in first, customers get 403."""


@bp.route("/")
def index() -> str:
    """The dashboard's home."""
    return render_template("admin/index.html")
