"""WCAG 2.1 contrast of a shop's colour pairs, and the nearest shade that passes.

The WCAG formula is a dozen lines and fixed by the standard; the small packages that wrap
it (``wcag-contrast-ratio``) are unmaintained, and none suggests a passing shade, which
is the part the owner needs. So it is written here, next to the one rule that uses it.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Any

AA_NORMAL_TEXT = 4.5

# The branding colours the shipped stylesheets put one on the other (static/css/base.css,
# themes/shipped/*/static/css/theme.css). Buttons and badges are left out: their white text
# sits on the "-strong" shade, which branding.css darkens until it passes.
PAIRS: tuple[tuple[str, str], ...] = (
    ("text_color", "background_color"),  # body text; minimal's buttons invert it
    ("primary_color", "background_color"),  # links, prices, outlined buttons
)
# A theme's own pairs ("#ffffff": the theme's fixed white).
THEME_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "classic": (("#ffffff", "primary_color"),),  # the header bar's white text and links
}


@dataclass(frozen=True)
class ContrastProblem:
    """A pair below AA: which colours, their ratio, and a shade of ``changed`` that passes."""

    foreground: str  # a Branding field name, or a fixed colour like "#ffffff"
    background: str
    ratio: float
    changed: str  # the field whose shade is suggested
    suggestion: str


def _rgb(colour: str) -> tuple[float, float, float]:
    hex_part = colour.lstrip("#")
    if len(hex_part) in (3, 4):
        hex_part = "".join(c * 2 for c in hex_part)
    r, g, b = (int(hex_part[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rgb`` / ``#rrggbb`` (an alpha part is ignored)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours, 1.0 to 21.0, whichever is lighter."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def nearest_passing(colour: str, against: str, minimum: float = AA_NORMAL_TEXT) -> str:
    """The shade of ``colour`` (same hue and saturation, HLS lightness moved as little as
    possible, lighter or darker) whose contrast with ``against`` is at least ``minimum``.
    Black or white when no shade of the hue passes."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    candidates: list[tuple[float, str]] = []
    for direction in (-1, 1):
        for step in range(1, 1001):
            shifted = lightness + direction * step / 1000
            if not 0 <= shifted <= 1:
                break
            shade = _hex(colorsys.hls_to_rgb(hue, shifted, saturation))
            if contrast_ratio(shade, against) >= minimum:
                candidates.append((step, shade))
                break
    if candidates:
        return min(candidates)[1]
    return max(("#000000", "#ffffff"), key=lambda c: contrast_ratio(c, against))


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _value(branding: Any, name: str) -> str:
    return name if name.startswith("#") else str(getattr(branding, name))


def contrast_problems(
    branding: Any, theme: str, previous: Any | None = None
) -> list[ContrastProblem]:
    """The pairs of ``branding`` (a ``Branding``) below WCAG AA in ``theme``.

    With ``previous`` (the branding before an edit), only pairs with a colour that changed
    count: a shop saved before this rule keeps working until its colours are edited. The
    suggested shade is of the colour that changed (the foreground when both did).
    """
    problems = []
    for fg, bg in PAIRS + THEME_PAIRS.get(theme, ()):
        fg_value, bg_value = _value(branding, fg), _value(branding, bg)
        ratio = contrast_ratio(fg_value, bg_value)
        if ratio >= AA_NORMAL_TEXT:
            continue
        fg_changed = not fg.startswith("#") and (
            previous is None or _value(previous, fg).lower() != fg_value.lower()
        )
        bg_changed = previous is None or _value(previous, bg).lower() != bg_value.lower()
        if not (fg_changed or bg_changed):
            continue
        changed, other = (fg, bg_value) if fg_changed else (bg, fg_value)
        suggestion = nearest_passing(_value(branding, changed), other)
        problems.append(ContrastProblem(fg, bg, ratio, changed, suggestion))
    return problems
