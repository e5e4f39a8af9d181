"""The sandbox shop templates run in: a curated context and an attribute allow-list.

Jinja's ``SandboxedEnvironment`` blocks underscore attributes, but a plain object graph
still leads to secrets without one (``security.app.config``, ``form.meta.csrf_secret``,
``user.query.session``). So shop templates get only plain values, the platform's view
objects (``SafeView``) and a few helpers; everything else in the context is dropped,
and attribute access is limited to what each allowed type is meant to show.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2.environment import TemplateModule
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, TemplateReference
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from markupsafe import Markup
from wtforms import Form
from wtforms.fields import Field
from wtforms.fields.core import Label

from .loader import LayeredEnvironment

SCALARS = (str, int, float, bool, type(None), Decimal, date, datetime, Markup)
FIELD_ATTRS = frozenset(
    {
        "label",
        "errors",
        "data",
        "id",
        "name",
        "type",
        "flags",
        "description",
        "short_name",
        "checked",
        "choices",
        "render_kw",
    }
)
LABEL_ATTRS = frozenset({"text", "field_id"})
FORM_ATTRS = frozenset({"errors", "hidden_tag", "form_errors"})


# Jinja's own runtime objects: macros, loops, imported macro modules, super(), namespaces.
JINJA_RUNTIME = (
    TemplateModule,
    LoopContext,
    Macro,
    BlockReference,
    TemplateReference,
    Cycler,
    Joiner,
    Namespace,
)


class SafeView:
    """Marker base for the read-only view objects the platform hands to templates."""


def helper(fn: Any) -> Any:
    """Mark a function as safe to call from a shop template."""
    fn.__storefront_helper__ = True
    return fn


def is_safe_value(value: Any, depth: int = 0) -> bool:
    if isinstance(value, (*SCALARS, SafeView, Form, Field, *JINJA_RUNTIME)):
        return True
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        return all(is_safe_value(item, depth + 1) for item in value)
    if depth < 3 and isinstance(value, dict):
        return all(isinstance(k, str) and is_safe_value(v, depth + 1) for k, v in value.items())
    return callable(value) and getattr(value, "__storefront_helper__", False)


class CuratedContext(Context):
    """A template context that keeps only safe values, however the template is reached."""

    def __init__(
        self, environment: Any, parent: dict[str, Any], name: Any, blocks: Any, globals: Any = None
    ) -> None:  # noqa: A002 - Jinja's signature
        parent = {k: v for k, v in parent.items() if is_safe_value(v)}
        for key, value in environment.globals.items():
            parent.setdefault(key, value)
        super().__init__(environment, parent, name, blocks, globals)


class ShopSandbox(LayeredEnvironment, SandboxedEnvironment):
    """The environment shop overrides (and what they extend or include) compile in."""

    sandboxed = True
    context_class = CuratedContext

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, (SafeView, *JINJA_RUNTIME)):
            return True
        if isinstance(obj, Form):
            return attr in FORM_ATTRS or attr in obj._fields
        if isinstance(obj, Field):
            return attr in FIELD_ATTRS
        if isinstance(obj, Label):
            return attr in LABEL_ATTRS
        return isinstance(obj, (*SCALARS, list, tuple, dict, set, frozenset))
