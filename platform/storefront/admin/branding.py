"""The look form's contrast rule: a colour pair below WCAG AA is refused, translated."""

from __future__ import annotations

from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _

from ..tenancy.contrast import contrast_problems
from .forms import BrandingForm

COLOURS = ("primary_color", "accent_color", "background_color", "text_color")


def refuse_low_contrast(form: BrandingForm, saved: Any, theme: str) -> bool:
    """Put an error on each colour field whose new value leaves a pair below 4.5:1 (the
    ratio in the locale's numbers, and the nearest shade that passes); True if any did."""
    typed = saved.model_copy(update={name: getattr(form, name).data for name in COLOURS})
    problems = contrast_problems(typed, theme, previous=saved)
    for problem in problems:
        field = getattr(form, problem.changed)
        field.errors = [
            *field.errors,
            _(
                "%(foreground)s on %(background)s has a contrast of %(ratio)s:1; text needs "
                "at least 4.5:1 to stay readable (WCAG AA). Nearest shade that passes: "
                "%(shade)s.",
                foreground=_name(form, problem.foreground),
                background=_name(form, problem.background),
                # Rounded down: a pair at 4.47:1 must not read "4.5:1" and still be refused.
                ratio=format_decimal(int(problem.ratio * 10) / 10, format="0.0"),
                shade=problem.suggestion,
            ),
        ]
    return bool(problems)


def _name(form: BrandingForm, colour: str) -> str:
    if colour.startswith("#"):
        return _("White text")
    return str(getattr(form, colour).label.text)
