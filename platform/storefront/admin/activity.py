"""The shop's activity: its audit trail, newest first, filtered by who, what and when,
exported as CSV or JSON (streamed), and its retention (within the platform's bounds)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug import Response
from wtforms import IntegerField
from wtforms.validators import Optional

from ..accounts.dashboard import permission, protect
from ..audit import services as audit
from ..audit.actor import ACTOR_KINDS
from ..audit.chain import ERASED, MASKED
from ..audit.recorder import SKIPPED_TABLES
from ..extensions import db
from ..tenancy import config_edit
from ..tenancy.context import current_tenant, tenant_context
from ..tenancy.services import ShopError
from ..themes.loader import platform_templates_only

bp = Blueprint("admin_activity", __name__, url_prefix="/admin/activity")
platform_templates_only(bp)

ACTOR_LABELS = {
    "user": _l("Account"),
    "api_key": _l("API key"),
    "operator": _l("Platform operator"),
    "system": _l("System"),
    "payment": _l("Payment provider"),
    "guest": _l("Visitor (not signed in)"),
}
SOURCE_LABELS = {
    "dashboard": _l("Dashboard"),
    "api": _l("API"),
    "storefront": _l("Shop"),
    "cli": _l("Command line"),
    "job": _l("Background job"),
    "payment": _l("Payment event"),
    "system": _l("System"),
}
OP_LABELS = {
    "insert": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "update-where": _l("changed"),
    "delete-where": _l("deleted"),
    "event": _l("event"),
}


FILTER_ARGS = ("actor", "who", "resource", "since", "until")  # what the page's links keep


class RetentionForm(FlaskForm):
    days = IntegerField(_l("Keep entries for (days)"), validators=[Optional()])


# The trail shows every account's doings and addresses: audit:read (the owner's).
protect(bp)  # a session, then the permission each route declares


def _filters() -> tuple[audit.Filters, str | None]:
    """The filters in the query string, or what is wrong with them."""
    args = request.args
    kind = args.get("actor") or None
    if kind is not None and kind not in ACTOR_KINDS:
        return audit.Filters(), _("Unknown kind of actor.")
    resource = (args.get("resource") or "").strip().lower() or None
    if resource is not None and (
        len(resource) > audit.RESOURCE_MAX
        or not resource.replace("_", "").replace("-", "").isalnum()
    ):
        return audit.Filters(), _("Unknown kind of record.")
    try:
        since = _day(args.get("since"))
        until = _day(args.get("until"))
        end = until + timedelta(days=1) if until else None  # the whole last day
    except (ValueError, OverflowError):
        return audit.Filters(), _("Write dates as YYYY-MM-DD.")
    if since and until and until < since:
        return audit.Filters(), _("The end date is before the start date.")
    actor_id = (args.get("who") or "").strip()[:100] or None
    return audit.Filters(
        actor_kind=kind,
        actor_id=actor_id,
        resource=resource,
        since=since,
        until=end,
    ), None


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%d")


def _keyset() -> int | None:
    raw = request.args.get("older", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort(400, _("Unknown page."))
    return int(raw)


@bp.route("/")
@permission("audit")
def index() -> ResponseReturnValue:
    """The trail, newest first, a page at a time (by keyset: ``older`` is an entry's
    number), filtered by kind of actor, account or key, kind of record and dates."""
    filters, problem = _filters()
    before = _keyset()
    rows = [] if problem else audit.entries(filters, before=before, limit=audit.PAGE + 1)
    older = rows[audit.PAGE - 1].seq if len(rows) > audit.PAGE else None
    entries = [audit.view(e) for e in rows[: audit.PAGE]]
    low, high = audit.retention_bounds()
    form = RetentionForm(formdata=None)
    settings = current_tenant().settings
    form.days.data = settings.audit.retention_days if settings else None
    status = 400 if problem else 200
    return render_template(
        "admin/activity.html",
        entries=entries,
        older=older,
        problem=problem,
        args={k: v for k, v in request.args.items() if k in FILTER_ARGS and v},
        actor_kinds=[(k, ACTOR_LABELS[k]) for k in ACTOR_KINDS],
        resource_types=_resource_types(),
        actor_label=lambda kind: ACTOR_LABELS.get(kind, kind),
        source_label=lambda source: SOURCE_LABELS.get(source, source),
        op_label=lambda op: OP_LABELS.get(op, op),
        shown=_shown,
        form=form,
        low=low,
        high=high,
        kept=audit.retention_days(),
    ), status


def _resource_types() -> list[str]:
    return sorted(
        t.name
        for t in db.metadata.sorted_tables
        if "tenant_id" in t.c and t.name not in SKIPPED_TABLES
    ) + ["settings", "tenants"]


def _shown(value: Any) -> str:
    """A stored value as the page shows it."""
    if value is None:
        return "—"
    if value == ERASED:
        return _("(erased)")
    if value == MASKED:
        return _("(secret, not shown)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


@bp.route("/export.<fmt>")
@permission("audit")
def export(fmt: str) -> ResponseReturnValue:
    """The trail (with the page's filters) as CSV or JSON, written while it is sent."""
    if fmt not in ("csv", "json"):
        abort(404)
    filters, problem = _filters()
    if problem:
        abort(400, problem)
    shop = current_tenant()

    def body() -> Iterator[str]:
        with tenant_context(shop):  # read after the view returned: bind the shop again
            yield from audit.export_csv(filters) if fmt == "csv" else audit.export_json(filters)

    mimetype = "text/csv" if fmt == "csv" else "application/json"
    response = Response(stream_with_context(body()), mimetype=mimetype)
    stamp = datetime.utcnow().strftime("%Y%m%d")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{shop.slug}-activity-{stamp}.{fmt}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/retention", methods=["POST"])
@permission("audit")
def retention() -> ResponseReturnValue:
    """How long the shop keeps its trail (empty: as long as the platform allows)."""
    form = RetentionForm()
    if not form.validate_on_submit():
        abort(400)
    low, high = audit.retention_bounds()
    days = form.days.data
    if days is not None and not low <= days <= high:
        flash(
            _("Choose between %(low)s and %(high)s days, or leave it empty.", low=low, high=high),
            "error",
        )
        return redirect(url_for("admin_activity.index")), 303
    try:
        config_edit.update_values(current_tenant().slug, {"audit.retention_days": days})
    except ShopError as exc:
        flash(str(exc).split(": ", 2)[-1], "error")
        return redirect(url_for("admin_activity.index")), 303
    flash(_("Retention saved."), "success")
    return redirect(url_for("admin_activity.index")), 303
