"""The platform's own routes: liveness and readiness probes, answered on any host."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from .extensions import cache, db

bp = Blueprint("platform", __name__)


@bp.route("/_health")
def health() -> Response:
    """Liveness: the process answers. Nothing else is revealed."""
    return jsonify(status="ok")


@bp.route("/_ready")
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
    except Exception:  # any failure means "not ready"  # noqa: BLE001
        db.session.rollback()
        return False


def _check_cache() -> bool:
    try:
        cache.set("platform:ready", "1", timeout=5)
        return cache.get("platform:ready") == "1"
    except Exception:  # any failure means "not ready"  # noqa: BLE001
        return False
