"""Starting, running and reading transfers (see the package's docstring).

Rules, chosen so that one shop can neither hold every worker nor leave a half-known state:

- one unfinished transfer per shop (the ``busy`` unique key): a second one is refused
  with a message saying so, never queued behind the first;
- a background import writes each batch of about a thousand rows together with its
  progress and report as one unit of work (``db.unit_of_work``, run again whole when it
  loses a write race): a job that dies leaves every batch before it written and the
  report saying through which line; refused rows are skipped and listed with reasons;
- a transfer whose heartbeat (``updated_at``, moved at every batch) stops for
  ``TRANSFER_STALE_SECONDS`` is marked failed the next time the shop starts one, looks at
  it, or its job is offered again, so a killed worker never blocks the shop for good.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..catalog import csv_io
from ..db import unit_of_work
from ..extensions import db
from ..i18n import active_locale, shop_locale
from ..orders.csv_export import batch_query, stream_orders_csv
from ..orders.models import STATUSES
from ..outbox import enqueue
from ..outbox.services import handler
from ..storage import PRIVATE, current_storage, shop_prefix
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from .models import DONE, EXPORT, FAILED, IMPORT, QUEUED, RUNNING, Transfer

log = logging.getLogger(__name__)

KIND = "transfer"  # the outbox rows that run them
UPLOAD_MAX = 64 * 1024 * 1024  # bytes of an uploaded catalog (TRANSFER_UPLOAD_MAX_BYTES)
STALE_SECONDS = 300  # a running transfer silent this long has died (TRANSFER_STALE_SECONDS)
KEPT = 20  # transfers listed on the page
MESSAGE_MAX = 4000  # characters of a failure kept on the transfer (its column is TEXT)
FILES_KEPT_DAYS = 7  # a file kept after its transfer finished (TRANSFER_FILES_DAYS)
EXPIRED = "expired"  # the message of a finished transfer whose file is gone


class TransferBusy(Exception):
    """The shop already has an export or import queued or running."""


def busy_message() -> str:
    return _(
        "An export or import is already running for this shop. "
        "Wait for it to finish, then start the next one."
    )


def start_orders_export(status: str | None, user_id: int | None) -> Transfer:
    """Queue an export of the bound shop's orders (``status``: only those) to a file."""
    if status and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    name = f"{current_tenant().slug}-orders{'-' + status if status else ''}.csv"
    return _start(EXPORT, "orders", {"status": status}, name, user_id)


def start_catalog_import(filename: str, data: bytes, user_id: int | None) -> Transfer:
    """Keep the uploaded CSV in the shop's storage and queue its import."""
    # The report's reasons are written in the language of whoever started the import.
    params = {"locale": str(active_locale() or "")}
    transfer = _start(IMPORT, "catalog", params, _plain_name(filename), user_id)
    transfer.file_key = _key(transfer, "upload.csv")
    current_storage().put(transfer.file_key, data, "text/csv")
    return transfer


# How the usual files that are not CSV begin: zip (and so xlsx, ods), gzip, PDF, the
# old Excel format, images.
BINARY_MAGIC = (
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"%PDF",
    b"\xd0\xcf\x11\xe0",
    b"\x89PNG",
    b"\xff\xd8\xff",
)


def not_text(data: bytes) -> bool:
    """Whether an upload is plainly no CSV: a known binary format, or a NUL byte in its
    first line (the header). A NUL further down refuses only its own row."""
    first_line = data[:4096].split(b"\n", 1)[0]
    return data.startswith(BINARY_MAGIC) or b"\x00" in first_line


def _start(
    kind: str, subject: str, params: dict[str, Any], filename: str, user_id: int | None
) -> Transfer:
    """A queued transfer and the outbox row that runs it, in the caller's transaction
    (the caller commits); TransferBusy when the shop has one unfinished."""
    reap_stale()
    if db.session.scalar(select(Transfer.id).where(Transfer.busy == 1)) is not None:
        raise TransferBusy(busy_message())
    transfer = Transfer(
        kind=kind, subject=subject, params=params, filename=filename, requested_by=user_id
    )
    db.session.add(transfer)
    try:
        db.session.flush()
    except IntegrityError:  # another request started one a moment ago
        db.session.rollback()
        raise TransferBusy(busy_message()) from None
    enqueue(KIND, {"id": transfer.id}, dedupe_key=f"{KIND}:{transfer.id}")
    return transfer


def _plain_name(filename: str) -> str:
    """The upload's name as shown on the page (never used as a path)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "catalog.csv"


def _key(transfer: Transfer, name: str) -> str:
    """Where a transfer's file lives: the shop's private area, under a name nobody can
    guess (the download checks the shop and the staff anyway)."""
    token = secrets.token_hex(8)
    return f"{shop_prefix(current_tenant().uid)}{PRIVATE}transfers/{transfer.id}-{token}/{name}"


def recent() -> list[Transfer]:
    """The shop's latest transfers, newest first."""
    reap_stale()
    stmt = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(KEPT)
    return list(db.session.scalars(stmt))


def get_transfer(transfer_id: int) -> Transfer | None:
    """One of the bound shop's transfers (another shop's id finds nothing)."""
    reap_stale()
    return db.session.get(Transfer, transfer_id)


def download(transfer: Transfer) -> Iterator[bytes] | None:
    """The finished export's bytes, a chunk at a time; None when there is no file."""
    if transfer.kind != EXPORT or transfer.status != DONE or not transfer.file_key:
        return None
    # Only ever a file in this shop's private area, whatever the row says.
    if not transfer.file_key.startswith(shop_prefix(current_tenant().uid) + PRIVATE):
        return None
    return current_storage().stream(transfer.file_key)


def reap_stale() -> int:
    """Mark failed the shop's running transfers whose heartbeat stopped (their job died)."""
    seconds = float(current_app.config.get("TRANSFER_STALE_SECONDS", STALE_SECONDS))
    result = db.session.execute(
        update(Transfer)
        .where(
            Transfer.status == RUNNING, Transfer.updated_at < utcnow() - timedelta(seconds=seconds)
        )
        .values(status=FAILED, busy=None, finished_at=utcnow(), message="stopped")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def expire_files(limit: int | None = 200, days: float | None = None) -> int:
    """Delete the files of the bound shop's transfers that finished more than ``days``
    (``TRANSFER_FILES_DAYS``) ago (an export holds customers' names and addresses; an
    upload, the whole catalog); the rows stay, saying the file is gone. Run daily per
    shop by the periodic jobs, ``limit`` rows a run, the oldest first; an erasure passes
    ``days=0`` and no limit (every finished export may hold the person)."""
    if days is None:
        days = float(current_app.config.get("TRANSFER_FILES_DAYS", FILES_KEPT_DAYS))
    rows = db.session.scalars(
        select(Transfer)
        .where(
            Transfer.busy.is_(None),
            Transfer.file_key.is_not(None),
            Transfer.finished_at <= utcnow() - timedelta(days=days),
        )
        .order_by(Transfer.finished_at, Transfer.id)
        .limit(limit)
    ).all()
    storage, area = current_storage(), shop_prefix(current_tenant().uid) + PRIVATE
    for transfer in rows:
        key = transfer.file_key or ""
        folder = key.rsplit("/", 1)[0] + "/"
        # Only ever a folder of this shop's private area, whatever the row says.
        if key.startswith(area + "transfers/") and folder != area + "transfers/":
            storage.delete_prefix(folder)
        transfer.file_key = None
        if transfer.status == DONE:
            transfer.message = EXPIRED
    return len(rows)


# Running ------------------------------------------------------------------------------


@handler(KIND, background=True, batches=True)  # its own units: one per batch
def _run_row(payload: dict[str, Any]) -> None:
    run_transfer(int(payload["id"]))


def run_transfer(transfer_id: int) -> None:
    """Run one queued transfer of the bound shop to its end (done or failed). Offered
    again (a redelivered message), it only marks a dead run failed. Never raises: the
    outcome is the transfer's status, and a retry would repeat half of an import."""
    claimed = unit_of_work(lambda: _claim(transfer_id))
    if claimed != 1:
        unit_of_work(reap_stale)
        return
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        return
    locale = (transfer.params or {}).get("locale")
    try:
        with shop_locale(locale):
            if transfer.kind == EXPORT:
                _export_orders(transfer)
            else:
                _import_catalog(transfer)
    except Exception as exc:
        db.session.rollback()
        with shop_locale(locale):
            message = _failure(exc)
        if isinstance(exc, csv_io.ImportError_):  # a bad file: expected, one line
            log.warning(
                "transfer %s of shop %s refused: %s",
                transfer_id,
                current_tenant().slug,
                message.replace("\n", " | ")[:500],
            )
        else:
            log.exception("transfer %s of shop %s failed", transfer_id, current_tenant().slug)
        _fail(transfer_id, message)


def _claim(transfer_id: int) -> int:
    """Queued -> running; 1 when this run took it, 0 when it is not queued (any more)."""
    return int(
        db.session.execute(
            update(Transfer)
            .where(Transfer.id == transfer_id, Transfer.status == QUEUED)
            .values(status=RUNNING, started_at=utcnow(), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    )


def _fail(transfer_id: int, message: str) -> None:
    """Mark the transfer failed, whatever happens: if writing its message fails too, a
    second write with none frees the shop (never left busy until it goes stale)."""
    try:
        _finish(transfer_id, FAILED, message=message)
    except Exception:
        db.session.rollback()  # (its unit of work rolled back already, if it began one)
        log.exception("transfer %s: its failure could not be recorded", transfer_id)
        _finish(transfer_id, FAILED, message="error")


def _failure(exc: Exception) -> str:
    """What the page shows of a failure: the import's own problems (at most 20, the
    whole kept to MESSAGE_MAX characters), the class of anything else (details go to
    the log, not to the shop)."""
    if isinstance(exc, csv_io.ImportError_):
        text = "\n".join(exc.problems[:20])
        return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"
    return "error"


def _progress(transfer_id: int, **values: Any) -> None:
    """Record progress in the current transaction (a batch's, with its rows)."""
    db.session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


def _beat(transfer_id: int, **values: Any) -> None:
    """Record progress as its own unit of work: the page sees it, the heartbeat moves."""
    unit_of_work(lambda: _progress(transfer_id, **values))


def _finish(transfer_id: int, status: str, **values: Any) -> None:
    _beat(transfer_id, status=status, busy=None, finished_at=utcnow(), **values)


def _export_orders(transfer: Transfer) -> None:
    """Write the orders to a temporary file a batch at a time, then into storage."""
    transfer_id, status = transfer.id, (transfer.params or {}).get("status")
    query = batch_query(status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    _beat(transfer_id, total=total)
    key = _key(transfer, transfer.filename)
    with tempfile.TemporaryDirectory(prefix="storefront-export-") as folder:
        path = Path(folder) / "orders.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            for chunk in stream_orders_csv(status, progress=lambda n: _beat(transfer_id, done=n)):
                out.write(chunk)
        current_storage().put_file(key, path, "text/csv")
    _finish(transfer_id, DONE, file_key=key, done=total)


def _import_catalog(transfer: Transfer) -> None:
    """Import the uploaded CSV a batch at a time, each batch and the report as it stands
    after it one unit of work (run again whole if it loses a write race)."""
    transfer_id = transfer.id
    found = current_storage().get(transfer.file_key or "")
    if found is None:
        raise csv_io.ImportError_([_("the uploaded file is gone")])
    data = found.data
    # Rows below the header, as lines count them (a quoted cell may span lines: the
    # total is then a little high until the import ends and sets it).
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    _beat(transfer_id, total=max(lines - 1, 0))
    warnings: list[str] = []
    csv_io.check_plan(_lines(data))  # a file past the plan: refused before a batch lands

    def batch_done(report: csv_io.ImportReport) -> None:  # inside the batch's unit
        _progress(transfer_id, done=report.rows, report=_report(report, warnings))

    report = csv_io.import_csv(
        _lines(data), warn=warnings.append, batch_done=batch_done, each_batch=unit_of_work
    )
    _finish(
        transfer_id, DONE, done=report.rows, total=report.rows, report=_report(report, warnings)
    )


def _lines(data: bytes) -> Iterator[str]:
    """The file's lines as text. Bytes that are not UTF-8 read as U+FFFD, and the reader
    refuses each row holding one, by its line, instead of the whole file."""
    text = data.decode("utf-8-sig", errors="replace")
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _report(report: csv_io.ImportReport, warnings: list[str]) -> dict[str, Any]:
    return {
        "created": report.created,
        "updated": report.updated,
        "rows": report.rows,
        "through": report.through,
        "refused_count": report.refused_count,
        "refused": report.refused,
        "unread": report.unread,
        "warnings": warnings,
    }
