"""The storefront's pages, the boilerplate's API blueprint, and the platform probes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from flask_security import auth_required, current_user
from sqlalchemy import text

from ..caching import shop_cached
from ..catalog.services import featured_products
from ..extensions import cache, db
from ..tenancy.context import current_tenant

pages_bp = Blueprint("pages", __name__)
api_bp = Blueprint("api_root", __name__)
platform_bp = Blueprint("platform", __name__)


@pages_bp.route("/")
@shop_cached()
def index() -> str:
    """The shop's home page."""

    return render_template("index.html", featured=featured_products())


@api_bp.route("/")
def api_index() -> Response:
    """The boilerplate's API answer, now per shop."""
    return jsonify(status="success", shop=current_tenant().slug)


@api_bp.route("/me")
@auth_required("token", "session")
def me() -> Response:
    """The signed-in shopper, by session or by ``Authentication-Token`` header."""
    return jsonify(email=current_user.email, shop=current_tenant().slug)


@platform_bp.route("/_health")
def health() -> Response:
    """Liveness: the process answers. Nothing else is revealed."""
    return jsonify(status="ok")


@platform_bp.route("/_ready")
def ready() -> tuple[Response, int]:
    """Readiness: the database and the cache answer."""
    checks = {"database": _check_database(), "cache": _check_cache()}
    ok = all(checks.values())
    return jsonify(
        status="ok" if ok else "unavailable",
        checks={k: "ok" if v else "down" for k, v in checks.items()},
    ), (200 if ok else 503)


def _check_database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        db.session.rollback()
        return False


def _check_cache() -> bool:
    try:
        cache.set("platform:ready", "1", timeout=5)
        return cache.get("platform:ready") == "1"
    except Exception:  # noqa: BLE001
        return False
