"""A shop's files are opened so that no link leads out of its folder, at the moment they
are opened: the attack swaps a file for a link *after* the platform listed and trusted it.

In production a shop's template list is trusted until its cache generation changes, and
each template is opened when a worker first compiles it (or compiles it again after the
LRU dropped it); an asset is served on every request. So each test first lets the
platform see the honest file, then swaps it (or a folder on its path) for a symlink to
another shop's ``secrets.toml`` or a file outside, for a FIFO or for a folder, and asks
again.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.fixtures.factories import host, tenant_folder

pytestmark = pytest.mark.settings(ENVIRONMENT="production")

SECRET = "sk_test_GLOBEXPRIVATE0123456789"
OUTSIDE = "OUTSIDE THE SHOP: TOP SECRET"
BASE_SHOP_CSS = "A shop adds its own rules"  # the base layer's css/shop.css


def write(app, slug: str, relative: str, text: str) -> Path:
    path = tenant_folder(app, slug) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def shops(app, make_shop, tmp_path):
    """acme (the attacker, with its own templates and assets) and globex (with keys)."""
    acme, globex = make_shop("acme"), make_shop("globex")
    write(app, "globex", "secrets.toml", f'[stripe]\nsecret_key = "{SECRET}"\n')
    write(
        app,
        "acme",
        "templates/index.html",
        '{% extends "@theme/index.html" %}{% block featured %}<p>ACME INDEX</p>{% endblock %}',
    )
    write(app, "acme", "templates/cart/cart.html", "<p>ACME CART</p>")
    write(app, "acme", "static/css/shop.css", "/* acme own */")
    write(app, "acme", "static/css/theme.css", "/* acme theme */")
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("cart.html", "shop.css", "theme.css", "secret.txt"):
        (outside / name).write_text(OUTSIDE)
    return acme, globex, outside


def targets(app, outside: Path) -> dict[str, Path]:
    return {
        "another shop's secrets.toml": tenant_folder(app, "globex") / "secrets.toml",
        "a file outside": outside / "secret.txt",
    }


def swap_for_link(path: Path, target: Path) -> None:
    """Replace ``path`` (a file or a folder) by a symlink to ``target``, atomically."""
    link = path.with_name(f".{path.name}.swap")
    link.symlink_to(target)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    os.replace(link, path)


def assert_no_leak(response) -> None:
    assert SECRET not in response.text
    assert OUTSIDE not in response.text
    assert response.status_code != 500


def test_the_app_runs_as_in_production(app):
    assert app.config["ENVIRONMENT"] == "production"
    assert not app.jinja_env.auto_reload
    assert not app.jinja_env.layers.live  # the template list is trusted, as the attack needs


@pytest.mark.parametrize(
    "target", ["another shop's secrets.toml", "a file outside", "/proc/self/environ"]
)
def test_a_listed_template_swapped_for_a_link_is_never_compiled(app, shops, target):
    acme, _globex, outside = shops
    client = app.test_client()
    assert "ACME INDEX" in client.get("/", headers=host(acme)).text  # list read and trusted
    environ = Path("/proc/self/environ")
    aimed = environ if target == str(environ) else targets(app, outside)[target]
    swap_for_link(tenant_folder(app, "acme") / "templates/cart/cart.html", aimed)
    response = client.get("/cart/", headers=host(acme))  # first compiled now
    assert_no_leak(response)
    for variable in environ.read_bytes().split(b"\0")[:5]:
        assert variable.decode(errors="replace") not in response.text
    assert response.status_code == 503  # the shop's error page, drawn without its templates


def test_a_folder_of_listed_templates_swapped_for_a_link_is_never_followed(app, shops):
    acme, _globex, outside = shops
    client = app.test_client()
    assert "ACME INDEX" in client.get("/", headers=host(acme)).text
    swap_for_link(tenant_folder(app, "acme") / "templates/cart", outside)
    response = client.get("/cart/", headers=host(acme))
    assert_no_leak(response)
    assert response.status_code == 503


def test_a_compiled_template_swapped_then_evicted_is_not_read_again_through_the_link(app, shops):
    """The LRU dropped the compiled override (or another worker compiles it): the file is
    opened again, and the link is refused then too."""
    acme, _globex, outside = shops
    client = app.test_client()
    assert "ACME CART" in client.get("/cart/", headers=host(acme)).text
    swap_for_link(tenant_folder(app, "acme") / "templates/cart/cart.html", outside / "cart.html")
    app.jinja_env.cache.clear()
    response = client.get("/cart/", headers=host(acme))
    assert_no_leak(response)
    assert response.status_code == 503


def _get_within(client, path: str, headers: dict[str, str], seconds: float = 20.0):
    """The response, from a thread: a read that blocks (a FIFO) fails the test, not hangs it."""
    answer: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: answer.update(response=client.get(path, headers=headers)), daemon=True
    )
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{path} hung on a file that is not a regular file"
    return answer["response"]


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_listed_template_replaced_by_a_fifo_or_a_folder_fails_cleanly(app, shops, kind):
    acme, _globex, _outside = shops
    client = app.test_client()
    assert "ACME INDEX" in client.get("/", headers=host(acme)).text
    path = tenant_folder(app, "acme") / "templates/cart/cart.html"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    response = _get_within(client, "/cart/", host(acme))
    assert response.status_code == 503
    assert "ACME CART" not in response.text


@pytest.mark.settings(TEMPLATES_AUTO_RELOAD=True)
def test_in_development_a_template_swapped_for_a_link_gives_the_themes_own(app, shops):
    """Development reads the list on every lookup: a link is not listed, the theme's
    template answers; an edit of an honest file still shows at once."""
    acme, _globex, outside = shops
    client = app.test_client()
    assert "ACME CART" in client.get("/cart/", headers=host(acme)).text
    swap_for_link(tenant_folder(app, "acme") / "templates/cart/cart.html", outside / "cart.html")
    response = client.get("/cart/", headers=host(acme))
    assert_no_leak(response)
    assert response.status_code == 200
    assert "ACME CART" not in response.text
    index = tenant_folder(app, "acme") / "templates/index.html"
    index.write_text("<p>ACME INDEX EDITED</p>")
    os.utime(index, (index.stat().st_atime + 10, index.stat().st_mtime + 10))
    assert "ACME INDEX EDITED" in client.get("/", headers=host(acme)).text


@pytest.mark.parametrize("target", ["another shop's secrets.toml", "a file outside"])
def test_an_asset_served_once_then_swapped_for_a_link_is_not_served(app, shops, target):
    acme, _globex, outside = shops
    client = app.test_client()
    page = client.get("/", headers=host(acme)).text  # fingerprints listed and kept
    assert "/static/css/shop.css?v=" in page
    versioned = page.split('href="/static/css/shop.css?v=')[1].split('"')[0]
    assert "acme own" in client.get("/static/css/shop.css", headers=host(acme)).text
    static = tenant_folder(app, "acme") / "static/css"
    swap_for_link(static / "shop.css", targets(app, outside)[target])
    swap_for_link(static / "theme.css", targets(app, outside)[target])
    for path in ("/static/css/shop.css", f"/static/css/shop.css?v={versioned}"):
        response = client.get(path, headers=host(acme))
        assert_no_leak(response)
        assert BASE_SHOP_CSS in response.text  # the link refused, the base file answers
    theme_css = client.get("/static/css/theme.css", headers=host(acme))
    assert_no_leak(theme_css)
    assert "Classic" in theme_css.text  # the link refused, the theme's file answers


def test_an_asset_folder_swapped_for_a_link_is_not_followed(app, shops):
    acme, _globex, outside = shops
    client = app.test_client()
    assert "acme own" in client.get("/static/css/shop.css", headers=host(acme)).text
    swap_for_link(tenant_folder(app, "acme") / "static/css", outside)
    response = client.get("/static/css/shop.css", headers=host(acme))
    assert_no_leak(response)
    assert BASE_SHOP_CSS in response.text
    assert OUTSIDE not in client.get("/", headers=host(acme)).text


def test_an_asset_is_streamed_from_the_file_that_was_opened(app, shops, monkeypatch):
    """Swapped between the moment it is opened and the moment it is sent: what goes out
    is the file that was checked, not whatever the path names by then."""
    from storefront.themes import views

    acme, _globex, outside = shops
    real_open = views.open_static

    def open_then_swap(filename):
        opened = real_open(filename)
        swap_for_link(tenant_folder(app, "acme") / "static" / filename, outside / "shop.css")
        return opened

    monkeypatch.setattr(views, "open_static", open_then_swap)
    response = app.test_client().get("/static/css/shop.css", headers=host(acme))
    assert response.status_code == 200
    assert response.text == "/* acme own */"


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_asset_replaced_by_a_fifo_or_a_folder_is_not_served(app, shops, kind):
    acme, _globex, _outside = shops
    client = app.test_client()
    assert "acme own" in client.get("/static/css/shop.css", headers=host(acme)).text
    path = tenant_folder(app, "acme") / "static/css/shop.css"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    response = _get_within(client, "/static/css/shop.css", host(acme))
    assert response.status_code == 200
    assert BASE_SHOP_CSS in response.text  # not the shop's: the base layer's placeholder


def test_theme_override_never_writes_through_a_link(app, runner, shops):
    """``tenantctl theme override`` copies into the shop's folder: a folder there that is
    a link to another shop's templates must not aim the copy at that shop."""
    _acme, _globex, _outside = shops
    victim = tenant_folder(app, "globex") / "templates"
    victim.mkdir(parents=True, exist_ok=True)
    (tenant_folder(app, "acme") / "templates/layout_sections").symlink_to(victim)
    result = runner.invoke(["theme", "override", "acme", "layout_sections/footer.html"])
    assert result.exit_code == 1, result.output
    assert not (victim / "footer.html").exists()


def test_theme_check_reads_no_template_through_a_link(app, runner, shops):
    acme, _globex, outside = shops
    broken = outside / "broken.html"
    broken.write_text("{% if %}" + OUTSIDE)
    (tenant_folder(app, "acme") / "templates/broken.html").symlink_to(broken)
    for command in (["theme", "check", "acme"], ["check", "acme"]):
        result = runner.invoke(command)
        assert OUTSIDE not in result.output
        assert "{% if %}" not in result.output  # never compiled: not a template of the shop
        assert result.exit_code == 1, result.output  # but the operator hears of the link
        assert (
            "templates/broken.html: a link (symbolic or hard) or not a regular file"
            in result.output
        )


@pytest.mark.settings(TEMPLATE_MAX_FILE_BYTES=1024)
def test_a_template_larger_than_the_limit_is_refused_as_read(app, shops):
    """The size is checked on the file read, not on a path stat'ed beforehand."""
    acme, _globex, _outside = shops
    write(app, "acme", "templates/cart/cart.html", "<p>ACME CART</p>" + "x" * 2048)
    response = app.test_client().get("/cart/", headers=host(acme))
    assert response.status_code == 403
    assert "ACME CART" not in response.text


def test_an_export_reads_no_file_swapped_for_a_link_while_it_runs(app, runner, shops, tmp_path):
    """``tenantctl export`` lists the shop's folder, then reads each file: one swapped for
    a link to another shop's ``secrets.toml`` in between is left out, not read."""
    import tarfile

    from storefront.tenancy import transfer

    real_list = transfer.list_inside

    def list_then_swap(*args, **kwargs):
        names = real_list(*args, **kwargs)
        folder = tenant_folder(app, "acme")
        swap_for_link(
            folder / "templates/index.html", tenant_folder(app, "globex") / "secrets.toml"
        )
        return names

    archive = tmp_path / "acme.tar.gz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transfer, "list_inside", list_then_swap)
        result = runner.invoke(["export", "acme", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        contents = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert SECRET.encode() not in contents
    assert "folder/templates/index.html" not in names
    assert "folder/templates/cart/cart.html" in names  # the honest files travel


def swap_for_hard_link(path: Path, target: Path) -> None:
    """Replace the file ``path`` by a second name of ``target``: ``O_NOFOLLOW`` cannot see
    it, ``fstat`` says "a regular file"."""
    link = path.with_name(f".{path.name}.swap")
    os.link(target, link)
    os.replace(link, path)


@pytest.mark.parametrize("target", ["another shop's secrets.toml", "a file outside"])
def test_a_template_or_asset_swapped_for_a_hard_link_is_never_read(app, shops, target):
    """The red team's second round: a hard link to another shop's ``secrets.toml``
    printed its Stripe keys in every footer and served them as ``css/shop.css``."""
    acme, _globex, outside = shops
    client = app.test_client()
    assert "ACME INDEX" in client.get("/", headers=host(acme)).text  # list read and trusted
    assert "acme own" in client.get("/static/css/shop.css", headers=host(acme)).text
    folder = tenant_folder(app, "acme")
    aimed = targets(app, outside)[target]
    swap_for_hard_link(folder / "templates/cart/cart.html", aimed)
    swap_for_hard_link(folder / "static/css/shop.css", aimed)
    page = client.get("/cart/", headers=host(acme))
    assert_no_leak(page)
    assert page.status_code == 503
    asset = client.get("/static/css/shop.css", headers=host(acme))
    assert_no_leak(asset)
    assert BASE_SHOP_CSS in asset.text  # the second name refused, the base file answers


def test_export_and_check_leave_out_a_hard_link(app, runner, shops, tmp_path):
    import tarfile

    acme, _globex, _outside = shops
    secrets = tenant_folder(app, "globex") / "secrets.toml"
    os.link(secrets, tenant_folder(app, "acme") / "static/css/notes.css")
    archive = tmp_path / "acme.tar.gz"
    result = runner.invoke(["export", "acme", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        assert "folder/static/css/notes.css" not in tar.getnames()
        contents = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert SECRET.encode() not in contents
    result = runner.invoke(["check", "acme"])
    assert result.exit_code == 1, result.output
    assert "static/css/notes.css" in result.output
    assert SECRET not in result.output
