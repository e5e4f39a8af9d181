"""Reading, verifying, exporting, erasing and pruning a shop's trail. Every function works
on the bound shop (the scoping hook holds each query to it); the caller commits."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update

from ..extensions import db
from ..tenancy.context import current_tenant
from ..tenancy.models import utcnow
from . import chain
from .actor import ACTOR_KINDS
from .models import GENESIS, AuditEntry, AuditHead
from .recorder import erase_pending, record_event

PAGE = 50
BATCH = 500
CHECKPOINT = "audit-checkpoint"  # the type of the entry pruning writes
RESOURCE_MAX = 64


class AuditError(ValueError):
    """A filter or setting the trail cannot take (shown to the user as it is)."""


@dataclass(frozen=True)
class Filters:
    """What the owner narrows the trail to; each is optional."""

    actor_kind: str | None = None
    actor_id: str | None = None
    resource: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def apply(self, stmt: Any) -> Any:
        if self.actor_kind:
            if self.actor_kind not in ACTOR_KINDS:
                raise AuditError(f"unknown actor kind {self.actor_kind!r}")
            stmt = stmt.where(AuditEntry.actor_kind == self.actor_kind)
        if self.actor_id:
            stmt = stmt.where(AuditEntry.actor_id == self.actor_id[:100])
        if self.resource:
            kind = self.resource.strip().lower()[:RESOURCE_MAX]
            if not kind.replace("_", "").replace("-", "").isalnum():
                raise AuditError(f"unknown resource type {self.resource!r}")
            stmt = stmt.where(AuditEntry.resources.contains(f",{kind},", autoescape=True))
        if self.since is not None:
            stmt = stmt.where(AuditEntry.created_at >= self.since)
        if self.until is not None:
            stmt = stmt.where(AuditEntry.created_at < self.until)
        return stmt


@dataclass
class EntryView:
    """An entry as the dashboard, the CLI and the exports show it (values unsealed)."""

    seq: int
    created_at: datetime
    actor_kind: str
    actor_id: str
    actor: Any
    source: str
    request_id: str
    address: Any
    changes: list[dict[str, Any]] = field(default_factory=list)
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "actor_kind": self.actor_kind,
            "actor_id": self.actor_id,
            "actor": self.actor,
            "source": self.source,
            "request_id": self.request_id,
            "address": self.address,
            "changes": self.changes,
            "hash": self.hash,
        }


def view(entry: AuditEntry) -> EntryView:
    try:
        body = json.loads(entry.body)
    except ValueError:
        body = {}
    shown = chain.map_leaves(body, chain.leaf_value)
    return EntryView(
        seq=entry.seq,
        created_at=entry.created_at,
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        actor=shown.get("actor"),
        source=entry.source,
        request_id=entry.request_id,
        address=shown.get("address"),
        changes=list(shown.get("changes") or []),
        hash=entry.hash,
    )


def entries(
    filters: Filters = Filters(), before: int | None = None, limit: int = PAGE
) -> list[AuditEntry]:
    """The newest entries first, from below ``before`` (a ``seq``: the keyset)."""
    stmt = filters.apply(select(AuditEntry))
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(max(1, min(limit, 1000)))
    return list(db.session.scalars(stmt))


COLUMNS = (
    AuditEntry.id,
    AuditEntry.seq,
    AuditEntry.created_at,
    AuditEntry.actor_kind,
    AuditEntry.actor_id,
    AuditEntry.source,
    AuditEntry.request_id,
    AuditEntry.resources,
    AuditEntry.body,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def iter_entries(filters: Filters = Filters(), newest_first: bool = True) -> Iterator[Any]:
    """Every entry matching ``filters`` as rows (not objects the session keeps), read in
    batches: exports and verify walk a trail of any length in bounded memory."""
    mark: int | None = None
    order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq
    while True:
        stmt = filters.apply(select(*COLUMNS))
        if mark is not None:
            stmt = stmt.where(AuditEntry.seq < mark if newest_first else AuditEntry.seq > mark)
        batch = db.session.execute(stmt.order_by(order).limit(BATCH)).all()
        if not batch:
            return
        yield from batch
        mark = batch[-1].seq


# Exports --------------------------------------------------------------------------------

CSV_COLUMNS = ("seq", "created_at", "actor_kind", "actor_id", "actor", "source", "request_id",
               "address", "changes", "hash")  # fmt: skip


def export_json(filters: Filters = Filters()) -> Iterator[str]:
    """A JSON array of the entries, newest first, produced as it is sent."""
    yield "["
    first = True
    for entry in iter_entries(filters):
        yield ("" if first else ",\n") + json.dumps(view(entry).as_dict(), ensure_ascii=False)
        first = False
    yield "]\n"


def export_csv(filters: Filters = Filters()) -> Iterator[str]:
    """CSV, a row per entry (``changes`` as JSON), with spreadsheet formulas defused."""
    from ..csvcells import safe_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in iter_entries(filters):
        row = view(entry).as_dict()
        cells = [
            row[c]
            if not isinstance(row[c], list | dict)
            else json.dumps(row[c], ensure_ascii=False)
            for c in CSV_COLUMNS
        ]
        writer.writerow([safe_cell("" if c is None else str(c)) for c in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# Verify ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    first_seq: int | None = None
    last_seq: int | None = None
    broken_seq: int | None = None
    reason: str = ""
    erased_values: int = 0

    def line(self, slug: str) -> str:
        if self.ok:
            span = f"entries {self.first_seq}..{self.last_seq}" if self.checked else "no entries"
            erased = f", {self.erased_values} erased values" if self.erased_values else ""
            return f"{slug}: ok, {self.checked} entries checked ({span}{erased})"
        return f"{slug}: BROKEN at entry {self.broken_seq}: {self.reason}"


def verify() -> Verdict:
    """Check the bound shop's chain: every entry's hash, its link to the one before, no
    gap in ``seq``, and the head at the last entry. The first kept entry links to the
    genesis, or to what the latest pruning checkpoint says was pruned."""
    start_seq, prev_hash = _anchor()
    head = db.session.execute(select(AuditHead.seq, AuditHead.hash)).first()
    prev_seq = start_seq - 1
    checked = erased = 0
    for entry in iter_entries(newest_first=False):
        if entry.seq != prev_seq + 1:
            if checked == 0:
                reason = (
                    f"the chain starts at entry {entry.seq}: entries from {start_seq} are missing"
                )
                return Verdict(False, checked, broken_seq=entry.seq, reason=reason)
            return Verdict(False, checked, broken_seq=prev_seq + 1, reason="it is missing")
        if entry.prev_hash != prev_hash:
            return Verdict(
                False,
                checked,
                broken_seq=entry.seq,
                reason="it does not link to the entry before it",
            )
        try:
            body = json.loads(entry.body)
        except ValueError:
            return Verdict(False, checked, broken_seq=entry.seq, reason="its body is not JSON")
        if chain.entry_hash(entry.prev_hash, chain.header(entry), body) != entry.hash:
            return Verdict(
                False, checked, broken_seq=entry.seq, reason="its content does not match its hash"
            )
        seen: list[Any] = []
        chain.map_leaves(body, seen.append)
        erased += sum(1 for leaf in seen if chain.is_erased(leaf))
        prev_hash, prev_seq = entry.hash, entry.seq
        checked += 1
    if head is not None and (head.seq != prev_seq or (checked and head.hash != prev_hash)):
        missing = prev_seq + 1
        reason = f"it is missing (the chain's head is at entry {head.seq})"
        return Verdict(False, checked, broken_seq=missing, reason=reason)
    first = start_seq if checked else None
    return Verdict(True, checked, first, prev_seq if checked else None, erased_values=erased)


def _anchor() -> tuple[int, str]:
    """Where the kept chain starts: (seq, previous hash)."""
    checkpoints = select(AuditEntry).where(
        AuditEntry.resources.contains(f",{CHECKPOINT},", autoescape=True)
    )
    latest = db.session.scalar(checkpoints.order_by(AuditEntry.seq.desc()).limit(1))
    if latest is None:
        return 1, GENESIS
    notes = [c.get("note") for c in view(latest).changes if c.get("type") == CHECKPOINT]
    note = notes[0] if notes and isinstance(notes[0], dict) else {}
    try:
        return int(note["first_kept"]), str(note["prev_hash"])
    except (KeyError, TypeError, ValueError):
        return 1, GENESIS


# Erasure --------------------------------------------------------------------------------


def erase_values(values: Iterable[str]) -> int:
    """Erase every stored value naming one of ``values`` (a person's email, name,
    address: privacy erasure) in the bound shop's trail; the hashes stay valid. Returns
    how many entries changed. Entries this transaction writes get the same treatment."""
    needles = sorted({v for v in values if v and v.strip()}, key=len, reverse=True)
    if not needles:
        return 0
    erase_pending(needles)
    changed = 0
    likes = [AuditEntry.body.contains(_json_spelling(n), autoescape=True) for n in needles]
    from sqlalchemy import or_

    after = 0
    while True:
        rows = list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > after, or_(*likes))
                .order_by(AuditEntry.id)
                .limit(BATCH)
            )
        )
        if not rows:
            return changed
        for row in rows:
            body = json.loads(row.body)
            masked = chain.map_leaves(
                body, lambda leaf: chain.erase_leaf(leaf) if chain.matches(leaf, needles) else leaf
            )
            if masked != body:
                # The one write to an entry outside pruning: values become digests, the
                # hash is unchanged (chain.py).
                db.session.execute(
                    update(AuditEntry)
                    .where(AuditEntry.id == row.id)
                    .values(body=chain.canonical(masked))
                )
                changed += 1
        after = rows[-1].id


def _json_spelling(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


# Retention ------------------------------------------------------------------------------


def retention_bounds() -> tuple[int, int]:
    """The operator's bounds on a shop's retention, in days."""
    config = current_app.config
    return int(config.get("AUDIT_RETENTION_MIN_DAYS", 90)), int(
        config.get("AUDIT_RETENTION_MAX_DAYS", 3650)
    )


def retention_days() -> int:
    """The bound shop's retention: its setting, held within the operator's bounds (the
    maximum when it set none)."""
    low, high = retention_bounds()
    settings = current_tenant().settings
    chosen = settings.audit.retention_days if settings is not None else None
    return high if chosen is None else max(low, min(high, chosen))


def prune(now: datetime | None = None, days: int | None = None) -> int:
    """Delete the bound shop's entries older than its retention, and append a checkpoint
    entry naming the first kept entry and the hash it links to, so ``verify`` still
    checks the rest. Returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=days if days is not None else retention_days())
    last_old = db.session.scalar(
        select(AuditEntry.seq)
        .where(AuditEntry.created_at < cutoff)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )
    if last_old is None:
        return 0
    linked = db.session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last_old))
    deleted = db.session.execute(delete(AuditEntry).where(AuditEntry.seq <= last_old))
    gone = deleted.rowcount or 0  # type: ignore[attr-defined]
    record_event(
        CHECKPOINT,
        None,
        first_kept=last_old + 1,
        prev_hash=linked,
        pruned=gone,
        before=cutoff.isoformat(),
    )
    return int(gone)


def head_hash() -> str | None:
    """The bound shop's chain head (``seq:hash``): an operator who notes it elsewhere can
    later tell a rewritten chain from the one they saw."""
    head = db.session.execute(select(AuditHead.seq, AuditHead.hash)).first()
    return f"{head.seq}:{head.hash}" if head is not None else None
