"""The overview's sales chart: server-rendered SVG (no script, no library to load),
readable by screen readers (a summary as its label, each bar with its own title)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from ..i18n.numbers import format_count
from ..orders.reports import Day

WIDTH, HEIGHT, PAD_TOP, PAD_BOTTOM = 720, 180, 12, 24


def sales_chart(
    days: Sequence[Day], money: Callable[[int], str], day_label: Callable[[Day], str], summary: str
) -> Markup:
    if not days:
        return Markup("")
    top = max(d.revenue for d in days) or 1
    step = WIDTH / len(days)
    bar = max(step * 0.7, 1)
    usable = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<svg class="sales-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="none">'
    ]
    for index, day in enumerate(days):
        height = usable * day.revenue / top
        x = index * step + (step - bar) / 2
        y = PAD_TOP + usable - height
        text = escape(f"{day_label(day)}: {money(day.revenue)} ({format_count(day.orders)})")
        kind = "bar" if day.revenue else "bar bar-empty"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(height, 1):.1f}" '
            f'class="{kind}"><title>{text}</title></rect>'
        )
    for index in (0, len(days) // 2, len(days) - 1):
        x = index * step + step / 2
        anchor = "start" if index == 0 else "end" if index == len(days) - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
            f"{escape(day_label(days[index]))}</text>"
        )
    parts.append(f'<text x="0" y="10" class="chart-max">{escape(money(top))}</text></svg>')
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped text only


def branding_preview(
    name: str, primary: str, accent: str, background: str, text: str, labels: tuple[str, str]
) -> Markup:
    """A miniature of the shop in the chosen colours: header, text, a button. SVG paints
    with attributes, so the page's Content-Security-Policy (no inline styles) holds."""
    title, sample, button = escape(name), escape(labels[0]), escape(labels[1])
    primary_c, accent_c, background_c, text_c = (
        escape(c) for c in (primary, accent, background, text)
    )
    return Markup(  # noqa: S704 - colours are validated #rrggbb, texts escaped
        f'<svg class="branding-preview" viewBox="0 0 360 150" role="img" aria-label="{title}">'
        f'<rect width="360" height="150" fill="{background_c}" stroke="#ccc"/>'
        f'<rect width="360" height="36" fill="{primary_c}"/>'
        f'<text x="14" y="24" fill="#fff" font-size="15" font-weight="700">{title}</text>'
        f'<text x="14" y="68" fill="{text_c}" font-size="13">{sample}</text>'
        f'<rect x="14" y="92" width="120" height="34" rx="5" fill="{accent_c}"/>'
        f'<text x="74" y="114" fill="#fff" font-size="13" text-anchor="middle">{button}</text>'
        "</svg>"
    )
