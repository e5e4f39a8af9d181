"""An owner's new colours show on the very next page, and unreadable pairs are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storefront.tenancy.contrast import (
    contrast_problems,
    contrast_ratio,
    nearest_passing,
)
from storefront.tenancy.settings import parse_settings
from tests.fixtures.factories import csrf_from, host, login, tenant_folder

OWNER = "owner@example.com"
COLOURS = {
    "brand-primary_color": "#1f4e79",
    "brand-accent_color": "#e8590c",
    "brand-background_color": "#ffffff",
    "brand-text_color": "#1d1d1f",
    "brand-font_family": "Georgia, 'Times New Roman', serif",
    "brand-heading_font": "Georgia, 'Times New Roman', serif",
}


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme")
    make_user(acme, OWNER, roles=["owner"])
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    return client


def stylesheet_url(page: str) -> str:
    return re.search(r'<link rel="stylesheet" href="(/branding\.css[^"]*)"', page).group(1)


def save_look(client, shop, **colours: str):
    page = client.get("/admin/settings", headers=host(shop)).text
    data = {**COLOURS, **{f"brand-{k}": v for k, v in colours.items()}}
    return client.post(
        "/admin/settings/branding",
        data={"brand-csrf_token": csrf_from(page), **data},
        headers=host(shop),
    )


def test_saved_colours_show_on_the_owners_next_page(owner, shop):
    """The owner's browser kept the old stylesheet for five minutes: the page linked one
    URL for every colour. Now the link changes with the colours, and the old link is
    revalidated rather than kept, so nothing stale survives a save."""
    before = stylesheet_url(owner.get("/", headers=host(shop)).text)
    assert "?v=" in before
    first = owner.get(before, headers=host(shop))
    assert "immutable" in first.headers["Cache-Control"]
    assert "max-age=31536000" in first.headers["Cache-Control"]

    saved = save_look(owner, shop, primary_color="#7b1fa2")
    assert saved.status_code == 302, saved.text[:500]

    after = stylesheet_url(owner.get("/", headers=host(shop)).text)
    assert after != before
    css = owner.get(after, headers=host(shop))
    assert "--color-primary: #7b1fa2;" in css.text
    assert "immutable" in css.headers["Cache-Control"]
    # The old URL (an old tab, a worker that has not yet seen the change) answers the new
    # colours and is never kept: it no longer names what it serves.
    stale = owner.get(before, headers=host(shop))
    assert "#7b1fa2" in stale.text
    assert "no-cache" in stale.headers["Cache-Control"]
    assert "immutable" not in stale.headers["Cache-Control"]
    bare = owner.get("/branding.css", headers=host(shop))
    assert "no-cache" in bare.headers["Cache-Control"]


def test_the_url_stays_the_same_when_the_colours_do(owner, shop):
    """Saving other settings bumps the shop's generation; the stylesheet keeps its URL (and
    the shopper's cached copy) because its text did not change."""
    assert save_look(owner, shop).status_code == 302
    before = stylesheet_url(owner.get("/", headers=host(shop)).text)
    assert save_look(owner, shop).status_code == 302
    assert stylesheet_url(owner.get("/", headers=host(shop)).text) == before


def test_a_low_contrast_pair_is_refused_with_the_ratio_and_a_passing_shade(app, owner, shop):
    toml = tenant_folder(app, "acme") / "tenant.toml"
    before = toml.read_text()
    refused = save_look(owner, shop, text_color="#aaaaaa")
    assert refused.status_code == 422
    message = re.search(r"Text colour on Background has a contrast of ([^ ]+):1.*?(#[0-9a-f]{6})",
                        refused.text, re.S)  # fmt: skip
    assert message, refused.text
    assert message.group(1) == "2.3"  # 2.32:1, rounded down
    shade = message.group(2)
    assert contrast_ratio(shade, "#ffffff") >= 4.5
    assert toml.read_text() == before  # nothing saved


def test_the_ratio_follows_the_locale(app, make_shop, make_user):
    shop = make_shop("laden", settings='name = "Laden"\nlocale = "fr_FR"\n')
    make_user(shop, OWNER, roles=["owner"])
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    refused = save_look(client, shop, primary_color="#ffb74d")
    assert refused.status_code == 422
    assert "1,7:1" in refused.text  # 1.73:1, and not "1.7:1"


def test_a_pair_that_got_readable_is_not_blamed_for_the_other(owner, shop):
    """A background change that breaks the text suggests a background shade."""
    refused = save_look(owner, shop, background_color="#555555")
    assert refused.status_code == 422
    assert re.search(r"Text colour on Background has a contrast of [0-9.]+:1", refused.text)
    shade = re.search(r"Nearest shade that passes: (#[0-9a-f]{6})", refused.text).group(1)
    assert contrast_ratio("#1d1d1f", shade) >= 4.5


def test_tenantctl_refuses_the_same_in_one_line(app, runner, shop):
    toml = tenant_folder(app, "acme") / "tenant.toml"
    before = toml.read_text()
    result = runner.invoke(["config", "set", "acme", "branding.primary_color", '"#ff8800"'])
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "primary_color on background_color" in line and "2.3:1" in line
    suggested = re.search(r"nearest passing primary_color: (#[0-9a-f]{6})", line).group(1)
    assert contrast_ratio(suggested, "#ffffff") >= 4.5
    assert toml.read_text() == before
    ok = runner.invoke(["config", "set", "acme", "branding.primary_color", f'"{suggested}"'])
    assert ok.exit_code == 0, ok.output


def test_the_ratio_and_the_nearest_shade():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # Just below the line: a nudge darker, not a jump to black.
    assert nearest_passing("#777777", "#ffffff") in {"#767676", "#757575"}
    # On the one grey where both a lighter and a darker shade pass, the nearer one.
    assert nearest_passing("#404040", "#767676") == "#040404"
    assert nearest_passing("#c0c0c0", "#767676") == "#fefefe"
    # On a dark grey no darker shade passes: the lighter one, however far.
    assert contrast_ratio(nearest_passing("#202020", "#595959"), "#595959") >= 4.5


DEMO = Path(__file__).resolve().parent.parent / "tenants"


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_the_demo_shops_colours_pass(slug):
    path = DEMO / slug / "tenant.toml"
    settings = parse_settings(path.read_text(encoding="utf-8"), str(path))
    assert contrast_problems(settings.branding, settings.theme) == []


def test_a_shops_own_template_links_the_versioned_stylesheet(app, owner, shop):
    """A shop's own layout (sandboxed) gets ``branding_url()`` too."""
    page = tenant_folder(app, "acme") / "templates" / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text('<link rel="stylesheet" href="{{ branding_url() }}">')
    home = owner.get("/", headers=host(shop)).text
    assert re.search(r'href="/branding\.css\?v=[0-9a-f]{16}"', home), home
