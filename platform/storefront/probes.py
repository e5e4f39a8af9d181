"""The platform's own routes: liveness and readiness probes, answered on any host."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from .extensions import cache, db
from .tenancy.hosts import InvalidHost, normalize_host

bp = Blueprint("platform", __name__)


@bp.route("/_health")
def health() -> Response:
    """Liveness: the process answers. Nothing else is revealed."""
    return jsonify(status="ok")


@bp.route("/_tls/ask")
def tls_ask() -> tuple[str, int]:
    """Caddy's on-demand TLS asks whether to get a certificate for ``?domain=``: 200 only
    for a verified (or trusted) domain of an active shop, 404 for anything else (unknown,
    pending, lapsed, an IP, a malformed name), 403 unless asked from this machine. One
    in-memory lookup after the host resolver's own normalisation: no DNS, no network."""
    if not _from_this_machine():
        return "", 403
    try:
        host = normalize_host(request.args.get("domain", ""), allow_ip=False)
    except InvalidHost:
        return "", 404
    if not host:
        return "", 404
    record = current_app.extensions["storefront.registry"].lookup(host)
    tenant = record.tenant
    return ("", 200) if tenant is not None and tenant.status == "active" else ("", 404)


def _from_this_machine() -> bool:
    """The socket's peer is loopback and nothing relayed the request (a proxy in front of
    the app adds X-Forwarded-For): the public can never reach this through the proxy."""
    environ = request.environ
    peer = environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or environ.get(
        "REMOTE_ADDR", ""
    )
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False
    return loopback and "X-Forwarded-For" not in request.headers


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
