"""Markdown an owner writes, as HTML no page can be attacked with.

markdown-it-py (CommonMark) renders with raw HTML switched off, then nh3 (ammonia)
keeps only the tags and attributes the rendering produces and only http(s), mailto
and relative links: whatever the text holds — ``<script>``, ``javascript:`` links,
event attributes — never reaches a page as markup.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
}
SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=4096)
def render(text: str) -> Markup:
    """The text as sanitised HTML; kept per text (a product page renders its description
    on every visit: the same text gives the same HTML)."""
    html = _RENDERER.render(text or "")
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
