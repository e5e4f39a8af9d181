"""An owner saves new colours and sees them on the very next page, in a real browser with
its real HTTP cache (the old stylesheet URL was kept five minutes); an unreadable pair is
refused with the ratio and a shade that passes."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def shop_url(slug: str, port: str, path: str = "/") -> str:
    return f"http://{slug}.localhost:{port}{path}"


def header_colour(page) -> str:
    return page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")


def test_an_owner_saves_colours_and_the_next_page_shows_them(browser, live_server, screenshots):
    port = live_server.port
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(shop_url("acme", port, "/login"))
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    page.goto(shop_url("acme", port, "/"))
    assert header_colour(page) == "rgb(154, 52, 18)"  # the demo's #9a3412, now in the cache

    page.goto(shop_url("acme", port, "/admin/settings"))
    look = "form[action$='/settings/branding']"
    page.fill(f"{look} input[name=brand-text_color]", "#aaaaaa")
    page.click(f"{look} [type=submit]")
    page.wait_for_load_state()
    error = page.locator(f"{look}").inner_text()
    assert re.search(r"contrast of 2\.3:1.*Nearest shade that passes: #[0-9a-f]{6}", error, re.S)

    page.fill(f"{look} input[name=brand-text_color]", "#1c1917")
    page.fill(f"{look} input[name=brand-primary_color]", "#1d4ed8")
    page.click(f"{look} [type=submit]")
    page.wait_for_load_state()
    assert "saved" in page.locator(".flash").inner_text()

    page.goto(shop_url("acme", port, "/"))
    assert header_colour(page) == "rgb(29, 78, 216)"
    page.screenshot(path=screenshots / "acme-new-colours.png")
    context.close()
