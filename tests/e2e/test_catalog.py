"""Pictures and variants in a real browser: an owner uploads pictures and sets sizes; a
shopper on a desktop and on a phone picks a size and colour (price, stock and picture
follow), buys it, and the order names it."""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.e2e


def shop_url(slug: str, port: str, path: str = "/") -> str:
    return f"http://{slug}.localhost:{port}{path}"


def _photo(path, colour: str) -> None:
    image = Image.new("RGB", (1600, 1200), colour)
    ImageDraw.Draw(image).ellipse((500, 300, 1100, 900), fill="#ffffff")
    image.save(path, "JPEG", quality=90)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_shopper_picks_a_size_and_colour_and_the_order_names_it(
    browser, live_server, screenshots, viewport
):
    size = {"desktop": (1280, 900), "phone": (390, 844)}[viewport]
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        locale="en-GB",
        is_mobile=viewport == "phone",
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    port = live_server.port
    page.goto(shop_url("globex", port, "/en/p/sturmjacke"))
    # The picture the browser chose is one of the renditions, in a modern format.
    page.evaluate("() => document.querySelector('.gallery-main img').decode()")
    chosen = page.evaluate("document.querySelector('.gallery-main img').currentSrc")
    assert re.search(r"/media/img/\w+/\d+\.(avif|webp)$", chosen), chosen
    assert page.locator("fieldset.option-picker legend").all_inner_texts() == ["Size", "Colour"]

    page.click("label.option-value:has-text('Blue')")
    page.click("label.option-value:has-text('M')")
    assert page.inner_text("[data-sku]") == "SKU GLX-JKT-STORM-M-BLAU"
    blue = page.evaluate("document.querySelector('.gallery-main img').currentSrc")
    assert blue != chosen  # the blue jacket's picture
    # Sold out with the colour chosen: XL is struck through, and Add to cart is off.
    assert "unavailable" in page.get_attribute("label.option-value:has-text('XL')", "class")
    page.click("label.option-value:has-text('XL')")
    assert page.is_disabled("[data-add]") and page.inner_text("[data-stock]") == "Sold out"
    page.click("label.option-value:has-text('M')")
    if viewport == "desktop":
        page.screenshot(path=screenshots / "globex-variants.png", full_page=True)
    page.click("[data-add]")
    page.wait_for_url(re.compile(r".*/cart/$"))
    assert "M / Blue" in page.locator("main").inner_text()

    page.goto(shop_url("globex", port, "/en/checkout"))
    for field, value in {"email": f"{viewport}@example.com", "name": "Jo Shopper",
                         "address": "Hauptstraße 1", "postal_code": "10115",
                         "city": "Berlin"}.items():  # fmt: skip
        page.fill(f"input[name={field}]", value)
    page.click("main form.form [type=submit]")
    page.wait_for_url(re.compile(r".*/orders/GLOBEX-\d+.*"))
    order = page.locator("main").inner_text()
    assert (
        "Storm Shell Jacket" in order and "(M / Blue)" in order and "GLX-JKT-STORM-M-BLAU" in order
    )
    assert not errors, errors
    context.close()


def test_an_owner_uploads_pictures_and_gives_a_product_sizes(
    browser, live_server, screenshots, tmp_path
):
    port = live_server.port
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(shop_url("acme", port, "/login"))
    page.fill("input[name=email]", "owner@acme.example.com")
    page.fill("input[name=password]", "demo-password")
    page.click("form.form [type=submit]")
    page.wait_for_load_state()
    page.goto(shop_url("acme", port, "/admin/products?q=Giant+Magnet"))
    page.click("text=Giant Magnet")
    page.wait_for_load_state()
    edit = page.url
    photos = []
    for name, colour in (("front.jpg", "#b91c1c"), ("side.jpg", "#1d4ed8")):
        _photo(tmp_path / name, colour)
        photos.append(str(tmp_path / name))
    page.set_input_files("#pictures-upload", photos)
    page.click("form:has(#pictures-upload) button")
    page.wait_for_load_state()
    assert "2 pictures added." in page.locator(".flash").inner_text()
    assert page.locator(".admin-picture").count() == 3  # the demo's drawing and the two
    first = page.locator(".admin-picture").nth(1)
    first.locator("input[name=alt]").fill("The magnet from the front")
    first.locator("button[value=describe]").click()
    page.wait_for_load_state()
    page.locator(".admin-picture").nth(1).locator("button[value=earlier]").click()
    page.wait_for_load_state()

    page.fill("#option-1-name", "Strength")
    page.fill("#option-1-values", "Strong, Stronger")
    page.fill("#option-1-name-fr_FR", "Puissance")
    page.fill("#option-1-values-fr_FR", "Forte, Plus forte")
    page.click("form.option-form button")
    page.wait_for_load_state()
    assert "Options saved. 2 variants added." in page.locator(".flash").inner_text()
    price = page.locator("input[name$='-price']").nth(1)
    price.fill("59.00")
    page.click("#variants-form button.button-primary")
    page.wait_for_load_state()
    assert "Variants saved." in page.locator(".flash").inner_text()
    page.locator("#pictures").scroll_into_view_if_needed()  # the pictures load lazily
    page.evaluate(
        "() => Promise.all([...document.querySelectorAll('.admin-picture img')]"
        ".map(i => i.decode().catch(() => null)))"
    )
    page.screenshot(path=screenshots / "acme-dashboard-product.png", full_page=True)
    assert page.url.startswith(edit)

    shopper = context.browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    shop = shopper.new_page()
    shop.goto(shop_url("acme", port, "/fr/p/giant-magnet"))
    assert shop.locator("fieldset.option-picker legend").inner_text() == "Puissance"
    assert shop.locator("img[alt='The magnet from the front']").count() >= 1
    shop.click("label.option-value:has-text('Plus forte')")
    assert "59,00" in shop.inner_text("[data-price] .price-now")
    listing = shop_url("acme", port, "/fr/products")
    card = shop.locator(".product-card", has_text="Aimant géant")
    # The uploads' renditions are made by a job after the upload: the master until then.
    for _ in range(100):
        shop.goto(listing)
        if card.locator("source[type='image/avif']").count() == 1:
            break
        time.sleep(0.2)
    assert "À partir de" in card.inner_text()
    assert card.locator("source[type='image/avif']").count() == 1
    shopper.close()
    context.close()


def test_pictures_are_served_with_long_caching(live_server):
    import httpx

    port = live_server.port
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": f"acme.localhost:{port}"}
    ) as http:
        html = http.get("/p/classic-anvil-50-lb").text
        src = re.search(r'<img src="(/media/[^"]+)"', html).group(1)
        answer = http.get(src)
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(answer.content)).format in ("JPEG", "PNG")
