"""The dashboard's exports and imports: start one, watch it, fetch its file.

Owners and staff only, like the rest of the dashboard. A transfer is looked up through
the scoped session, so another shop's id answers 404 and its file cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from ..accounts.dashboard import can, permission, protect
from ..downloads import attachment, streamed_attachment
from ..extensions import db
from ..orders.csv_export import stream_orders_csv
from ..orders.models import STATUSES
from ..orders.views_model import status_label
from ..tenancy.context import current_tenant
from ..themes.loader import platform_templates_only
from . import services
from .models import DONE, FINISHED, Transfer

bp = Blueprint("admin_transfers", __name__, url_prefix="/admin/transfers")
platform_templates_only(bp)
REFRESH_SECONDS = 2  # how often an unfinished transfer's page reloads itself


class ExportForm(FlaskForm):
    status = SelectField(_l("Orders"))
    submit = SubmitField(_l("Export orders"))


class ImportForm(FlaskForm):
    file = FileField(_l("Catalog CSV"), validators=[FileRequired()])
    submit = SubmitField(_l("Import catalog"))


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict[str, object] | None) -> None:
    """The catalog upload's own size limit, larger than a page's form. Set here because
    Flask runs URL value preprocessors before every before_request function, and
    CSRFProtect's (an app-wide one) reads the body: a limit set in the view comes too
    late, and the app's 10 MB would refuse the file. Every other route keeps 10 MB."""
    if endpoint == "admin_transfers.import_":
        limit = current_app.config.get("TRANSFER_UPLOAD_MAX_BYTES", services.UPLOAD_MAX)
        request.max_content_length = int(limit)


# Exports hold shoppers' addresses (orders:read), imports change the catalog
# (products:write): each route declares which; a transfer of the other kind is refused.
protect(bp)
# Each transfer is an orders export or a catalog import: who may see it.
KIND_NEEDS = {"export": "orders:read", "import": "products:write"}
EITHER = ("orders:read", "products:write")


def _export_form() -> ExportForm:
    form = ExportForm()
    form.status.choices = [
        SelectChoice("", _("All")),
        *(SelectChoice(s, status_label(s)) for s in STATUSES),
    ]
    return form


@bp.route("/")
@permission(read=EITHER)
def index() -> str:
    """The shop's latest transfers and the forms that start one."""
    transfers = services.recent()
    db.session.commit()  # what reap_stale marked
    return render_template(
        "admin/transfers.html",
        transfers=transfers,
        export_form=_export_form(),
        import_form=ImportForm(),
        files_days=_files_days(),
    )


def _files_days() -> int:
    return int(current_app.config.get("TRANSFER_FILES_DAYS", services.FILES_KEPT_DAYS))


@bp.route("/export", methods=["POST"])
@permission("orders:read")
def export() -> ResponseReturnValue:
    """Queue an export of the orders to a file."""
    form = _export_form()
    if not form.validate_on_submit():
        abort(400)
    return _started(lambda: services.start_orders_export(form.status.data or None, _user()))


@bp.route("/import", methods=["POST"])
@permission("products:write")
def import_() -> ResponseReturnValue:
    """Keep the uploaded CSV and queue its import (its size limit: ``_upload_limit``)."""
    form = ImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV file to import."), "error")
        return redirect(url_for(".index"))
    upload = form.file.data
    data = upload.read()
    if services.not_text(data):
        flash(
            _("This is not a CSV file: save the catalog as CSV (UTF-8) and upload that."), "error"
        )
        return redirect(url_for(".index"))
    return _started(lambda: services.start_catalog_import(upload.filename or "", data, _user()))


def _started(start: Callable[[], Transfer]) -> ResponseReturnValue:
    try:
        transfer = start()
    except services.TransferBusy as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db.session.commit()  # then the outbox hands the job on
    return redirect(url_for(".detail", transfer_id=transfer.id))


def _user() -> int | None:
    return getattr(current_user, "id", None)


def _transfer(transfer_id: int) -> Transfer:
    transfer = services.get_transfer(transfer_id)
    db.session.commit()  # what reap_stale marked
    if transfer is None:
        abort(404)
    if not can(KIND_NEEDS.get(transfer.kind, "settings:write")):
        abort(403)
    return transfer


@bp.route("/<int:transfer_id>")
@permission(read=EITHER)
def detail(transfer_id: int) -> str:
    """How far the transfer has come; reloads itself until it has finished."""
    transfer = _transfer(transfer_id)
    return render_template(
        "admin/transfer.html",
        transfer=transfer,
        refresh=REFRESH_SECONDS if transfer.status not in FINISHED else None,
        report=transfer.report or {},
        files_days=_files_days(),
    )


@bp.route("/<int:transfer_id>.json")
@permission(read=EITHER)
def progress(transfer_id: int) -> ResponseReturnValue:
    """The transfer's status and counts, for a script or a small poll."""
    transfer = _transfer(transfer_id)
    return jsonify(
        id=transfer.id,
        kind=transfer.kind,
        status=transfer.status,
        done=transfer.done,
        total=transfer.total,
        download=url_for(".download", transfer_id=transfer.id)
        if transfer.status == DONE and transfer.kind == "export" and transfer.file_key
        else None,
    )


@bp.route("/<int:transfer_id>/download")
@permission(read=EITHER)
def download(transfer_id: int) -> ResponseReturnValue:
    """The finished export, streamed from the shop's storage."""
    transfer = _transfer(transfer_id)
    chunks = services.download(transfer)
    if chunks is None:
        abort(404)
    return attachment(chunks, transfer.filename, "text/csv")


def streamed_orders_csv(status: str | None) -> Response:
    """The dashboard's direct orders export: written while it is sent, a batch at a time,
    so the first bytes leave at once and memory does not grow with the shop."""
    return streamed_attachment(
        lambda: stream_orders_csv(status), f"{current_tenant().slug}-orders.csv", "text/csv"
    )
