"""``tenantctl theme``: the shipped themes and a shop's template overrides."""

from __future__ import annotations

import typer

from ..themes import services
from .common import JSON_OPTION, app_context, emit, fail, ok

app = typer.Typer(
    help="List themes, check a shop's templates, start an override.", no_args_is_help=True
)


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List the shipped themes."""
    with app_context():
        rows = [vars(t) for t in services.list_themes()]
    emit(rows, as_json, ["name", "title", "description"], title="Themes")


@app.command("check")
def check(slug: str) -> None:
    """Compile every template the shop can reach; exit 1 on any error (file and line)."""
    with app_context():
        problems = services.check_templates(slug)
    if problems:
        for problem in problems:
            typer.echo(f"{problem}", err=True)
        fail(f"{len(problems)} template problem(s) in {slug}")
    ok(f"{slug}: every template compiles")


@app.command("override")
def override(slug: str, template: str) -> None:
    """Copy TEMPLATE (e.g. index.html) into the shop's folder to customise it."""
    with app_context():
        path = services.start_override(slug, template)
    ok(
        f"copied to {path}; edit it there (it renders sandboxed), then run "
        f"`tenantctl cache clear {slug}` to serve it"
    )
