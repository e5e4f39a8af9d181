"""Theme operations for ``tenantctl theme``: list, check a shop's templates, start an override."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from jinja2 import FileSystemLoader, TemplateError, TemplateSyntaxError

from ..tenancy.context import tenant_context
from ..tenancy.services import ShopError, get_shop
from .loader import SHIPPED_THEMES_DIR, shipped_themes, shop_dir, theme_dir

BASE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class ThemeInfo:
    name: str
    title: str
    description: str


@dataclass(frozen=True)
class TemplateProblem:
    template: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.template}:{self.line}" if self.line else self.template
        return f"{where}: {self.message}"


def list_themes() -> list[ThemeInfo]:
    themes = []
    for name in shipped_themes():
        meta = tomllib.loads((SHIPPED_THEMES_DIR / name / "theme.toml").read_text())
        themes.append(ThemeInfo(name, meta.get("name", name), meta.get("description", "")))
    return themes


def reachable_templates(slug: str, theme: str) -> list[str]:
    """Every template name a shop can render: base, its theme's and its own."""
    names: set[str] = set(FileSystemLoader(str(BASE_TEMPLATES)).list_templates())
    for folder in (theme_dir(theme) / "templates", shop_dir(current_app, slug) / "templates"):
        if folder.is_dir():
            names.update(FileSystemLoader(str(folder)).list_templates())
    return sorted(names)


def check_templates(slug: str) -> list[TemplateProblem]:
    """Compile every template the shop can reach, as the shop; report errors with lines."""
    from ..tenancy.registry import context_for

    ctx = context_for(get_shop(slug))
    if ctx.settings is None:
        return [TemplateProblem("tenant.toml", None, ctx.settings_error or "invalid")]
    problems = []
    env = current_app.jinja_env
    with tenant_context(ctx):
        for name in reachable_templates(slug, ctx.theme):
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:
                problems.append(
                    TemplateProblem(exc.filename or name, exc.lineno, exc.message or "")
                )
            except TemplateError as exc:
                problems.append(TemplateProblem(name, None, str(exc)))
    return problems


def start_override(slug: str, template: str) -> Path:
    """Copy the template the shop now gets into its folder, to edit from there."""
    from ..tenancy.registry import context_for

    ctx = context_for(get_shop(slug))
    names = reachable_templates(slug, ctx.theme)
    if template not in names:
        raise ShopError(f"no template {template!r} (e.g. {', '.join(names[:5])}, …)")
    target = shop_dir(current_app, slug) / "templates" / template
    if target.exists():
        raise ShopError(f"{target} already exists: edit it there")
    for folder in (theme_dir(ctx.theme) / "templates", BASE_TEMPLATES):
        source = folder / template
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            current_app.jinja_env.layers.invalidate()  # type: ignore[attr-defined]
            return target
    raise ShopError(f"{template} is already the shop's own")
