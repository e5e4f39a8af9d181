"""Product pictures end to end, on both storage backends (a local folder, and an
S3-compatible server on loopback): uploaded in the dashboard or through the API, decoded
and stored again by Pillow, renditions made by a job, served on the shop's own domain
with long caching, shown with srcset. Whatever a shop uploads is hostile: it can never
reach another shop's files, the host's, or a browser as anything but an image."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from storefront.catalog import images
from storefront.catalog import services as catalog
from storefront.catalog.models import ProductImage
from storefront.extensions import db
from storefront.storage import FolderStorage, S3Storage, check_key, current_storage
from storefront.tenancy import tenant_context
from tests.fixtures.factories import csrf_from, host, login, picture
from tests.fixtures.s3 import s3_config

OWNER = "owner@example.com"


@pytest.fixture(params=["folder", "s3"])
def app_config(app_config, request):
    """Every test here runs on both backends."""
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        app_config.update(s3_config(server, server.new_bucket()))
    return app_config


@pytest.fixture
def shop(make_shop, make_user):
    acme = make_shop("acme", settings='name = "Acme"\nlocales = ["en_US", "de_DE"]\n')
    make_user(acme, OWNER, roles=["owner"])
    return acme


@pytest.fixture
def owner(app, shop):
    client = app.test_client()
    assert login(client, shop, OWNER).status_code == 302
    return client


def new_product(app, shop, sku="ANV", title="Anvil"):
    with app.app_context(), tenant_context(shop):
        product = catalog.create_product(sku, title, 1900, stock=3)
        db.session.commit()
        return product.id


def upload(owner, shop, product_id, *files):
    edit = f"/admin/products/{product_id}"
    token = csrf_from(owner.get(edit, headers=host(shop)).text)
    return owner.post(
        f"{edit}/pictures",
        data={
            "confirm-csrf_token": token,
            "pictures": [(io.BytesIO(data), name) for name, data in files],
        },
        headers=host(shop),
        content_type="multipart/form-data",
    )


def stored(app, shop):
    with app.app_context(), tenant_context(shop):
        return [
            (row.key, row.width, row.height, row.fallback, row.widths, row.position)
            for row in db.session.scalars(select(ProductImage).order_by(ProductImage.position))
        ]


def test_pictures_are_stored_derived_served_and_offered_in_every_format(app, owner, shop, client):
    product_id = new_product(app, shop)
    answer = upload(
        owner,
        shop,
        product_id,
        ("front.png", picture(1000, 750)),
        ("side.jpg", picture(400, 300, "JPEG")),
    )
    assert "2 pictures added." in owner.get(answer.location, headers=host(shop)).text
    (front, side) = stored(app, shop)
    # The job has run after the response: renditions at every width up to the picture's.
    assert front[1:5] == (1000, 750, "png", [160, 320, 640, 960, 1000])
    assert side[1:5] == (400, 300, "jpg", [160, 320, 400])

    page = client.get("/p/anvil", headers=host(shop)).text
    assert f'<source type="image/avif" srcset="/media/{front[0]}/160.avif 160w' in page
    assert f'/media/{front[0]}/1000.webp 1000w"' in page
    assert re.search(rf'<img src="/media/{front[0]}/1000.png" srcset="[^"]+" sizes=', page)
    assert 'width="1000" height="750"' in page and 'class="gallery-thumb' in page
    listing = client.get("/products", headers=host(shop)).text
    assert f"/media/{front[0]}/320.avif 320w" in listing and 'loading="lazy"' in listing

    for suffix, kind in (
        ("640.avif", "image/avif"),
        ("640.webp", "image/webp"),
        ("640.png", "image/png"),
        ("master.png", "image/png"),
    ):
        served = client.get(f"/media/{front[0]}/{suffix}", headers=host(shop))
        assert served.status_code == 200 and served.mimetype == kind
        assert Image.open(io.BytesIO(served.data)).width == (640 if "640" in suffix else 1000)
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        again = client.get(
            f"/media/{front[0]}/{suffix}",
            headers={**host(shop), "If-None-Match": served.headers["ETag"]},
        )
        assert again.status_code == 304
    # A logged-in owner gets the same cacheable file (pictures are nobody's secret).
    as_owner = owner.get(f"/media/{front[0]}/640.webp", headers=host(shop))
    assert "immutable" in as_owner.headers["Cache-Control"]


def test_a_shop_reaches_only_its_own_files(app, owner, shop, client, make_shop):
    product_id = new_product(app, shop)
    upload(owner, shop, product_id, ("a.png", picture(300, 200)))
    ((key, *_),) = stored(app, shop)
    globex = make_shop("globex")
    assert client.get(f"/media/{key}/master.png", headers=host(shop)).status_code == 200
    # The same key at another shop names that shop's (absent) file, not Acme's.
    assert client.get(f"/media/{key}/master.png", headers=host(globex)).status_code == 404
    with app.app_context(), tenant_context(shop):
        uid = shop.uid
    for path in (
        f"/media/shops/{uid}/{key}/master.png",  # another shop's full key: still prefixed
        f"/media/../shops/{uid}/{key}/master.png",
        f"/media/{key}/../../../{key}/master.png",
        "/media/%2e%2e/%2e%2e/secret_key",
        "/media/..%2f..%2fsecret_key",
        f"/media/{key}/master.png%00.html",
        "/media//etc/passwd",
        "/media/" + "a/" * 300 + "x.png",
    ):
        for at in (globex, shop):  # 308: Werkzeug merges "//" (to a path that is a 404)
            answer = client.get(path, headers=host(at), follow_redirects=True)
            assert answer.status_code == 404, path
    # No shop bound: nothing is served at all.
    assert (
        client.get(f"/media/{key}/master.png", headers={"Host": "nowhere.test"}).status_code == 404
    )


def test_keys_are_plain_relative_paths():
    for good in ("shops/ab12/img/3f/640.avif", "a", "a.b-c_d/e"):
        assert check_key(good) == good
    for bad in (
        "",
        "/abs",
        "a/../b",
        "..",
        "a//b",
        "a/./b",
        ".hidden",
        "a\\b",
        "a b",
        "a\x00b",
        "é",
        "a/" * 300,
    ):
        with pytest.raises(ValueError, match="not a storage key"):
            check_key(bad)


def hostile_files() -> dict[str, tuple[bytes, str]]:
    polyglot = picture(200, 150) + b"<html><script>alert(document.cookie)</script></html>"
    huge = io.BytesIO()
    Image.new("1", (7000, 7000)).save(huge, "PNG")  # 49 megapixels in a few kilobytes
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(x) run\n"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
    return {
        "polyglot.png": (polyglot, "added"),
        "bomb.png": (huge.getvalue(), "The image has too many pixels (7000 × 7000)."),
        "ghostscript.eps": (eps, "Only PNG, JPEG, GIF, WebP or AVIF images can be uploaded."),
        "script.svg": (svg, "Only PNG, JPEG, GIF, WebP or AVIF images can be uploaded."),
        "truncated.png": (picture(200, 150)[:100], "Only PNG, JPEG, GIF, WebP or AVIF"),
        "empty.png": (b"", "empty.png: The file is empty."),
        "large.png": (b"\x89PNG" + b"0" * 60_000, "The image is larger than"),
    }


@pytest.mark.parametrize("name", list(hostile_files()))
def test_hostile_uploads_are_refused_with_the_reason_or_disarmed(
    app, owner, shop, name, monkeypatch
):
    from storefront.media import images as media_images

    # Over the size limit: the limit made small (a 10 MB body would only test Werkzeug).
    monkeypatch.setattr(media_images, "MAX_BYTES", 50_000)
    data, expected = hostile_files()[name]
    product_id = new_product(app, shop)
    answer = upload(owner, shop, product_id, (name, data))
    page = owner.get(answer.location, headers=host(shop)).text
    assert expected in page, page[page.find("flash") : page.find("flash") + 400]
    rows = stored(app, shop)
    if name != "polyglot.png":
        assert rows == []
        return
    ((key, *_),) = rows
    served = owner.get(f"/media/{key}/master.png", headers=host(shop)).data
    assert b"<script" not in served and b"<html" not in served  # re-encoded, not stored


def test_camera_metadata_is_dropped_and_the_picture_turned_upright(app, owner, shop):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam 3000"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to view
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPSInfo
    photo = io.BytesIO()
    Image.new("RGB", (400, 200), "#336699").save(photo, "JPEG", exif=exif)
    product_id = new_product(app, shop)
    upload(owner, shop, product_id, ("photo.jpg", photo.getvalue()))
    ((key, width, height, *_),) = stored(app, shop)
    assert (width, height) == (200, 400)  # upright
    master = owner.get(f"/media/{key}/master.jpg", headers=host(shop)).data
    assert b"SpyCam" not in master and not Image.open(io.BytesIO(master)).getexif()


def test_an_animation_keeps_its_first_frame(app, owner, shop):
    frames = [Image.new("RGB", (120, 90), colour) for colour in ("#ff0000", "#00ff00")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    product_id = new_product(app, shop)
    upload(owner, shop, product_id, ("spin.gif", gif.getvalue()))
    ((key, *_),) = stored(app, shop)
    master = Image.open(io.BytesIO(owner.get(f"/media/{key}/master.jpg", headers=host(shop)).data))
    assert master.getpixel((10, 10))[0] > 200  # red: the first frame


def test_owners_describe_order_and_remove_pictures_and_unused_files_go(app, owner, shop, client):
    product_id = new_product(app, shop)
    upload(
        owner,
        shop,
        product_id,
        ("a.png", picture(300, 200, colour="#aa0000")),
        ("b.png", picture(300, 200, colour="#00aa00")),
    )
    (first, second) = stored(app, shop)
    with app.app_context(), tenant_context(shop):
        ids = [i.id for i in catalog.product_by_id(product_id).images]
    edit = f"/admin/products/{product_id}"
    token = csrf_from(owner.get(edit, headers=host(shop)).text)

    def act(image_id, **data):
        return owner.post(
            f"{edit}/pictures/{image_id}",
            headers=host(shop),
            data={"confirm-csrf_token": token, **data},
        )

    act(ids[1], action="earlier")
    assert [row[0] for row in stored(app, shop)] == [second[0], first[0]]
    act(ids[1], action="describe", alt="A green anvil", **{"alt-de_DE": "Ein grüner Amboss"})
    assert 'alt="A green anvil"' in client.get("/p/anvil", headers=host(shop)).text
    assert 'alt="Ein grüner Amboss"' in client.get("/de/p/anvil", headers=host(shop)).text
    act(ids[0], action="remove")
    assert [row[0] for row in stored(app, shop)] == [second[0]]
    # The removed picture's files are gone (a job, after the commit); the other's stay.
    assert client.get(f"/media/{first[0]}/master.png", headers=host(shop)).status_code == 404
    assert client.get(f"/media/{second[0]}/160.webp", headers=host(shop)).status_code == 200
    # Deleting the product lets go of the rest.
    with app.app_context(), tenant_context(shop):
        catalog.delete_product(catalog.product_by_id(product_id))
        db.session.commit()
    from storefront.outbox import run_due

    with app.app_context():
        run_due()
    assert client.get(f"/media/{second[0]}/160.webp", headers=host(shop)).status_code == 404


def test_a_picture_shared_by_two_products_stays_while_one_uses_it(app, owner, shop, client):
    same = picture(300, 200)
    first, second = new_product(app, shop), new_product(app, shop, "ROPE", "Rope")
    upload(owner, shop, first, ("a.png", same))
    upload(owner, shop, second, ("a.png", same))
    with app.app_context(), tenant_context(shop):
        image = catalog.product_by_id(first).images[0]
        key = image.key
        images.remove_image(catalog.product_by_id(first), image)
        db.session.commit()
    from storefront.outbox import run_due

    with app.app_context():
        run_due()
    assert client.get(f"/media/{key}/master.png", headers=host(shop)).status_code == 200


def test_staff_upload_and_remove_pictures_through_the_api(app, shop, make_user, client):
    from storefront.accounts import tokens
    from storefront.accounts.models import User

    product_id = new_product(app, shop)
    make_user(shop, "erp@example.com", roles=["staff"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == "erp@example.com"))
        key = tokens.create_key(user, "erp").secret
        db.session.commit()
    staff = {**host(shop), "Authorization": f"Bearer {key}"}
    base = f"/api/v1/admin/products/{product_id}/images"
    made = client.post(
        f"{base}?alt=Front",
        data=picture(800, 600, "JPEG"),
        headers=staff,
        content_type="image/jpeg",
    )
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"] == f"/api/v1/admin/products/{product_id}"
    (image,) = made.get_json()["data"]["images"]
    assert image["alt"] == "Front" and (image["width"], image["height"]) == (800, 600)
    public = client.get("/api/v1/products/anvil", headers=host(shop)).get_json()["data"]
    (shown,) = public["images"]
    assert shown["url"].startswith("http://acme.test/media/img/")
    assert {r["type"] for r in shown["renditions"]} == {"image/avif", "image/webp", "image/jpeg"}
    assert public["image"] == shown["url"]
    assert (
        client.get(
            shown["renditions"][0]["url"].removeprefix("http://acme.test"), headers=host(shop)
        ).status_code
        == 200
    )
    for body, kind, status in (
        (b"<?php", "image/png", 422),
        (b"{}", "application/json", 415),
        (b"x", "text/plain", 415),
        (b"x", "multipart/form-data", 415),
    ):
        answer = client.post(base, data=body, headers=staff, content_type=kind)
        assert answer.status_code == status, (kind, answer.get_json())
    assert client.delete(f"{base}/{image['id']}", headers=staff).status_code == 204
    assert client.delete(f"{base}/{image['id']}", headers=staff).status_code == 404
    anonymous = client.post(base, data=picture(), headers=host(shop), content_type="image/png")
    assert anonymous.status_code == 401


def test_the_backend_is_the_configured_one(app, request):
    with app.app_context():
        backend = current_storage()
    expected = S3Storage if "s3" in request.node.callspec.id else FolderStorage
    assert isinstance(backend, expected)


def test_export_import_and_delete_carry_the_shops_files(app, owner, shop, client, tmp_path):
    from storefront.ops import orphan_files
    from storefront.tenancy.deletion import delete_shop
    from storefront.tenancy.registry import context_for
    from storefront.tenancy.transfer import export_shop, import_shop

    product_id = new_product(app, shop)
    upload(owner, shop, product_id, ("a.png", picture(300, 200)))
    ((key, *_),) = stored(app, shop)
    archive = tmp_path / "acme.tar.gz"
    with app.app_context():
        manifest = export_shop("acme", archive)
        assert manifest["media"] == 7  # the master, and 160 and 300 wide in three formats
        copy = import_shop(archive, "acme-copy", ["copy.test"])
        copy_ctx = context_for("acme-copy")
        assert copy.uid != shop.uid
    # The copy serves its own files from its own prefix.
    served = client.get(f"/media/{key}/300.avif", headers=host(copy_ctx))
    assert served.status_code == 200 and served.mimetype == "image/avif"
    assert f"/media/{key}/300.webp 300w" in client.get("/p/anvil", headers=host(copy_ctx)).text
    with app.app_context():
        delete_shop("acme")
        assert orphan_files() == []
        with tenant_context(copy_ctx):
            assert current_storage().get(f"shops/{copy_ctx.uid}/{key}/master.png") is not None
        assert list(current_storage().keys(f"shops/{shop.uid}/")) == []
    assert client.get(f"/media/{key}/master.png", headers=host(copy_ctx)).status_code == 200


def test_doctor_checks_the_store_and_clears_files_of_vanished_shops(app, runner):
    with app.app_context():
        current_storage().put("shops/gone1234/img/x/master.png", picture(), "image/png")
    found = runner.invoke(["doctor", "--json"])
    import json

    (storage,) = [f for f in json.loads(found.stdout) if f["name"] == "file storage"]
    assert not storage["ok"] and "1 deleted shop" in storage["detail"]
    assert "--purge-orphan-files" in storage["fix"]
    purged = runner.invoke(["doctor", "--purge-orphan-files", "--json"])
    assert "deleted 1 files of deleted shops" in purged.output
    with app.app_context():
        assert current_storage().children("shops/") == []


def test_a_store_that_does_not_answer_costs_the_upload_not_the_shop(app_config, make_shop):
    """The object store is down: pages still render, a picture answers 503 (Retry-After),
    an upload says so and leaves no row behind."""
    import socket

    from storefront import create_app
    from storefront.storage import StorageError

    shop = make_shop("acme")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = {
        "STORAGE_URL": "s3://nowhere/x",
        "S3_ENDPOINT_URL": dead,
        "S3_TIMEOUT": 0.5,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "x",
        "S3_SECRET_ACCESS_KEY": "x",
    }
    app = create_app({**app_config, **down})
    with app.app_context(), tenant_context(shop):
        product = catalog.create_product("ANV", "Anvil", 100, stock=1)
        db.session.commit()
        with pytest.raises(StorageError, match="unreachable"):
            images.add_image(product, picture())
        db.session.rollback()
        assert catalog.product_by_sku("ANV").images == []
    client = app.test_client()
    assert client.get("/p/anvil", headers=host(shop)).status_code == 200
    missing = client.get("/media/img/abc/master.png", headers=host(shop))
    assert missing.status_code == 503 and missing.headers["Retry-After"] == "60"
    with app.app_context():
        app.extensions["sqlalchemy"].engines[None].dispose()
