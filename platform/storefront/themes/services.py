"""Theme operations for ``tenantctl theme``: list, check a shop's templates, start an override."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from jinja2 import FileSystemLoader, TemplateError, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError

from ..shopfiles import create_inside, ignored_inside, list_inside, open_inside, stat_inside
from ..tenancy.context import current_tenant, tenant_context
from ..tenancy.registry import context_for
from ..tenancy.services import ShopError, get_shop
from .budget import TemplateBudgetError
from .loader import (
    SHIPPED_THEMES_DIR,
    shipped_themes,
    shop_dir,
    theme_dir,
    without_shop_templates,
)
from .sandbox import FORBIDDEN_NAMES

BASE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BASE_STATIC = BASE_TEMPLATES.parent / "static"
# The owner's dashboard renders with the platform's templates only, in the trusted
# environment, whatever the shop supplies (``platform_templates_only``): checked that way.
PLATFORM_ONLY = ("admin/",)


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
    folder = theme_dir(theme) / "templates"
    if folder.is_dir():
        names.update(FileSystemLoader(str(folder)).list_templates())
    names.update(_own_templates(slug))
    return sorted(names)


def check_templates(slug: str) -> list[TemplateProblem]:
    """Check every template the shop can reach, as the shop renders it.

    Each compiles (sandboxed when the shop supplies templates); the shop's own files are
    read for names and attributes the sandbox refuses, and rendered once with no data
    to catch what breaks a budget (a huge ``range``, a string bomb); branding files exist.
    """

    ctx = context_for(get_shop(slug))
    if ctx.settings is None:
        return [TemplateProblem("tenant.toml", None, ctx.settings_error or "invalid")]
    problems = _branding_problems(slug, ctx.theme, ctx.settings.branding)
    problems.extend(_ignored_files(slug))
    trusted = current_app.jinja_env
    env = trusted.sandbox  # type: ignore[attr-defined]
    own = set(_own_templates(slug))
    trusted.layers.invalidate()  # type: ignore[attr-defined]  # see the files as they are now
    with tenant_context(ctx):
        if not trusted.layers.shop_supplies_templates(ctx):  # type: ignore[attr-defined]
            env = trusted
        for name in reachable_templates(slug, ctx.theme):
            if name.startswith(PLATFORM_ONLY):
                if name in own:
                    message = "never used: the dashboard always uses the platform's templates"
                    problems.append(TemplateProblem(name, None, message))
                with without_shop_templates():
                    _compile(trusted, name, problems)
                continue
            template = _compile(env, name, problems)
            if template is not None and name in own:
                problems.extend(_sandbox_problems(env, slug, name))
                problems.extend(_budget_problems(template, slug, name))
    return problems


def _compile(env: Any, name: str, problems: list[TemplateProblem]) -> Any:
    """The compiled template, or None with its problem added."""
    try:
        return env.get_template(name)
    except TemplateSyntaxError as exc:
        problems.append(TemplateProblem(exc.filename or name, exc.lineno, exc.message or ""))
    except TemplateError as exc:
        problems.append(TemplateProblem(name, None, str(exc)))
    return None


def _own_templates(slug: str) -> list[str]:
    """The shop's template files: regular files reached without following a link."""
    return sorted(list_inside(shop_dir(current_app, slug), "templates"))


def _sandbox_problems(env: Any, slug: str, name: str) -> list[TemplateProblem]:
    """Names and attributes a shop template may not use (they would fail at render)."""
    folder = shop_dir(current_app, slug)
    try:
        with open_inside(folder, f"templates/{name}") as file:
            source = file.read(env.max_template_bytes + 1).decode("utf-8", errors="replace")
    except OSError:
        return [TemplateProblem(name, None, "no longer a regular file in the shop's folder")]
    tree = env.parse(source, name, str(folder / "templates" / name))
    problems = []
    for node in tree.find_all(nodes.Name):
        if node.name in FORBIDDEN_NAMES and node.ctx == "load":
            message = f"uses {node.name!r}, which shop templates cannot reach"
            problems.append(TemplateProblem(name, node.lineno, message))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", "")
        if isinstance(attr, str) and attr.startswith("_"):
            message = f"reads {attr!r}: names starting with _ are off limits"
            problems.append(TemplateProblem(name, node.lineno, message))
    return problems


def _budget_problems(template: Any, slug: str, name: str) -> list[TemplateProblem]:
    """Render the template once with no data: a budget broken even so is a problem."""
    ctx = current_tenant()
    with current_app.test_request_context("/", base_url=f"http://{ctx.primary_host}/"):
        try:
            template.render()
        except TemplateBudgetError as exc:
            return [TemplateProblem(name, None, f"over its budget: {exc}")]
        except SecurityError as exc:
            return [TemplateProblem(name, None, f"not allowed: {exc}")]
        except Exception:  # noqa: BLE001 - without page data many templates fail; fine here
            return []
    return []


def _branding_problems(slug: str, theme: str, branding: Any) -> list[TemplateProblem]:
    """Logo, favicon and stylesheet named in tenant.toml must exist in the shop's assets."""
    problems = []
    folders = [shop_dir(current_app, slug), theme_dir(theme), BASE_STATIC.parent]
    for key in ("logo", "favicon"):
        value = getattr(branding, key, None)
        if not value or "://" in value or value.startswith("/media/"):
            continue  # an address, or an uploaded file in the shop's storage
        relative = value.removeprefix("/static/").lstrip("/")
        if not any(_is_file(folder, f"static/{relative}") for folder in folders):
            problems.append(
                TemplateProblem("tenant.toml", None, f"branding.{key} names {value}, not found")
            )
    return problems


def _ignored_files(slug: str) -> list[TemplateProblem]:
    """Links and other non-regular files in the shop's templates and assets: the platform
    never reads them, which the operator should hear about rather than guess."""
    problems = []
    for sub in ("templates", "static"):
        for name in ignored_inside(shop_dir(current_app, slug), sub):
            where = sub if name == "." else f"{sub}/{name}"
            message = (
                "a link (symbolic or hard) or not a regular file: never read"
                " (copy the file instead)"
            )
            problems.append(TemplateProblem(where, None, message))
    return problems


def _is_file(folder: Path, relative: str) -> bool:
    """Whether the platform would serve ``folder/relative`` (see ``open_static``)."""
    try:
        stat_inside(folder, relative)
    except OSError:
        return False
    return True


def start_override(slug: str, template: str) -> Path:
    """Copy the template the shop now gets into its folder, to edit from there."""

    ctx = context_for(get_shop(slug))
    names = reachable_templates(slug, ctx.theme)
    if template not in names:
        raise ShopError(f"no template {template!r} (e.g. {', '.join(names[:5])}, …)")
    target = shop_dir(current_app, slug) / "templates" / template
    if template in _own_templates(slug):
        raise ShopError(f"{target} already exists: edit it there")
    for folder in (theme_dir(ctx.theme) / "templates", BASE_TEMPLATES):
        source = folder / template
        if source.is_file():
            # Written through the shop's folder without following a link: a theme author's
            # link in place of a folder would otherwise aim this copy at another shop.
            try:
                with create_inside(shop_dir(current_app, slug), f"templates/{template}") as out:
                    out.write(source.read_bytes())
            except FileExistsError:
                raise ShopError(f"{target} already exists: edit it there") from None
            except OSError as exc:
                raise ShopError(f"cannot write {target}: {exc.strerror or exc}") from None
            current_app.jinja_env.layers.invalidate()  # type: ignore[attr-defined]
            return target
    raise ShopError(f"{template} is already the shop's own")
