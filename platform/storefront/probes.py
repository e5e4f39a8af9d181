"""The platform's own routes: liveness and readiness probes, answered on any host."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select, text

from . import metrics
from .extensions import cache, db
from .metrics import usage
from .outbox.models import DEAD, PENDING, SENDING, OutboxMessage
from .tenancy.context import all_tenants
from .tenancy.hosts import InvalidHost, normalize_host
from .tenancy.models import Tenant, utcnow
from .tenancy.request_hooks import is_platform_site

log = logging.getLogger(__name__)

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
    if tenant is None and is_platform_site(host):
        return "", 200  # the sign-up pages' own domain (sign-up on)
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


@bp.route("/_metrics")
def metrics_page() -> Response:
    """Prometheus metrics, for this machine (loopback, nothing relayed) or for whoever
    shows ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets the 404 of an
    address that does not exist."""
    if not (_metrics_token_shown() or _from_this_machine()):
        abort(404)
    body = metrics.exposition([OutboxCollector(), ShopsCollector()])
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _metrics_token_shown() -> bool:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if not token or scheme.lower() != "bearer" or not value:
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


class OutboxCollector:
    """The outbox's backlog at scrape time: two index range reads (status leads the
    index). Left out of the scrape when the database does not answer."""

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        try:
            with all_tenants():
                counts = dict(
                    db.session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.status.in_((PENDING, SENDING, DEAD)))
                        .group_by(OutboxMessage.status)
                    ).all()
                )
                oldest = db.session.scalar(
                    select(func.min(OutboxMessage.next_attempt_at)).where(
                        OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now
                    )
                )
        except Exception as exc:  # noqa: BLE001 - the database is down: no outbox figures
            _rollback()
            log.warning("metrics: outbox figures left out (%s)", type(exc).__name__)
            return
        depth = GaugeMetricFamily(
            "storefront_outbox_depth",
            "Outbox rows by status (done rows not counted).",
            labels=["status"],
        )
        for status in (PENDING, SENDING, DEAD):
            depth.add_metric([status], float(counts.get(status, 0)))
        yield depth
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "storefront_outbox_oldest_age_seconds",
            "How long the longest-waiting due pending row has been due.",
            value=max(age, 0.0),
        )


class ShopsCollector:
    """Active shops, and the busiest ten of the last minutes by name (usage.busiest):
    a bounded set of label values whatever the size of the fleet."""

    def collect(self) -> Iterator[Metric]:
        names: dict[int, str] = {}
        try:
            yield GaugeMetricFamily(
                "storefront_shops_active",
                "Shops whose status is active.",
                value=float(
                    db.session.scalar(
                        select(func.count()).select_from(Tenant).where(Tenant.status == "active")
                    )
                    or 0
                ),
            )
            database_up = True
        except Exception as exc:  # noqa: BLE001 - the database is down: left out
            _rollback()
            log.warning("metrics: shop count left out (%s)", type(exc).__name__)
            database_up = False
        try:
            loads = usage.busiest(10)
        except Exception as exc:  # noqa: BLE001 - Redis is down: no per-shop figures
            log.warning("metrics: per-shop figures left out (%s)", type(exc).__name__)
            return
        if loads and database_up:
            try:
                ids = [load.shop_id for load in loads]
                names = dict(
                    db.session.execute(
                        select(Tenant.id, Tenant.slug).where(Tenant.id.in_(ids))
                    ).all()
                )
            except Exception:  # noqa: BLE001 - named by id then
                _rollback()
        families = {
            "requests_per_minute": GaugeMetricFamily(
                "storefront_shop_requests_per_minute",
                "Requests per minute over the last 5 minutes, busiest 10 shops.",
                labels=["shop"],
            ),
            "busy_seconds_per_minute": GaugeMetricFamily(
                "storefront_shop_busy_seconds_per_minute",
                "Worker seconds per minute over the last 5 minutes, busiest 10 shops.",
                labels=["shop"],
            ),
            "errors_per_minute": GaugeMetricFamily(
                "storefront_shop_errors_per_minute",
                "5xx answers per minute over the last 5 minutes, busiest 10 shops.",
                labels=["shop"],
            ),
            "busy_share": GaugeMetricFamily(
                "storefront_shop_busy_share",
                "Share (0..1) of all worker seconds of the last 5 minutes, busiest 10 shops.",
                labels=["shop"],
            ),
        }
        for load in loads:
            shop = names.get(load.shop_id) or f"#{load.shop_id}"
            for field, family in families.items():
                family.add_metric([shop], float(getattr(load, field)))
        yield from families.values()


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback failed", exc_info=True)
