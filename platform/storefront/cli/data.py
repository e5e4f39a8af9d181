"""Shop data commands: export, import, delete."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn

from ..catalog import search
from ..extensions import db
from ..orders import aggregates
from ..tenancy import deletion, transfer
from ..tenancy.context import tenant_context
from ..tenancy.verification import expected_records
from .common import app_context, err_console, fail, ok


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import")(import_)
    app.command("delete")(delete)


@contextmanager
def _progress(label: str) -> Iterator[transfer.Progress]:
    with Progress(
        TextColumn(f"{label} [bold]{{task.description}}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield update


def _default_path(slug: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(f"{slug}-{stamp}.tar.gz")


def export(
    slug: str,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Archive path (.tar.gz).")
    ] = None,
    with_secrets: Annotated[
        bool, typer.Option("--with-secrets", help="Include secrets.toml (payment keys).")
    ] = False,
) -> None:
    """Write one archive with the shop's folder and every row it owns (its secrets only
    with --with-secrets)."""
    target = output or _default_path(slug)
    with app_context(), _progress("exporting") as progress:
        manifest = transfer.export_shop(slug, target, progress, with_secrets=with_secrets)
    rows = sum(manifest["tables"].values())
    ok(f"exported {slug}: {rows} rows in {len(manifest['tables'])} tables -> {target}")


def import_(
    archive: Annotated[Path, typer.Argument(help="An archive written by `tenantctl export`.")],
    as_slug: Annotated[
        str | None, typer.Option("--as", help="Import under this slug instead.")
    ] = None,
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain",
            help="Domains to serve at once, instead of the archived ones (you vouch for "
            "them); repeat.",
        ),
    ] = None,
) -> None:
    """Restore an export as a new shop (new ids, references kept); all or nothing. Only
    data comes alive: queued mails are dropped, keys revoked, sessions and tokens dead.
    Without --domain, the archive's domains come in pending: an archive may name any
    domain, so each serves only once its DNS records prove it (the records are printed;
    then `tenantctl domain verify`), and an unproven one yields to its real owner."""
    if not archive.is_file():
        fail(f"{archive}: no such file")
    with app_context(), _progress("importing") as progress:
        tenant = transfer.import_shop(archive, as_slug, domain, progress)
        slug = tenant.slug
        with tenant_context(tenant):  # the index and figures are made here, not carried
            search.reindex_shop()
            aggregates.rebuild()
            db.session.commit()
        hosts = ", ".join(d.hostname for d in tenant.domains)
        pending = [(d.hostname, expected_records(d)) for d in tenant.domains if not d.serves]
    ok(f"imported {slug} at {hosts}")
    for hostname, records in pending:
        ok(f"{hostname} is pending. Create these records, then run")
        ok(f"  tenantctl domain verify {slug} {hostname}")
        for record in records:
            ok(f"  {record.kind:5} {record.name}  {record.value}")


def delete(
    slug: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (for scripts).")] = False,
    no_export: Annotated[bool, typer.Option("--no-export", help="Skip the safety export.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where the safety export goes.")
    ] = None,
) -> None:
    """Delete a shop, its rows and its folder; writes an export first unless --no-export."""
    with app_context():
        transfer.get_shop(slug)  # a clear error for an unknown shop, before any question
        if not yes:
            typed = typer.prompt(f"This deletes shop {slug!r} and all its data. Type its slug")
            if typed.strip() != slug:
                fail("not deleted: the slug did not match")
        if not no_export:
            target = output or _default_path(slug)
            with _progress("exporting") as progress:
                transfer.export_shop(slug, target, progress)
            ok(f"export written to {target}")
        deletion.delete_shop(slug)
    ok(f"deleted shop {slug}")
