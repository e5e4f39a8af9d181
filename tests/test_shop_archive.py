"""A shop archive cannot act (issue 29): `tenantctl import` of a hostile archive.

An archive may come from anyone. Importing one brings in data only: its queued mails and
webhooks never run, its sessions, API keys and login, reset and confirmation tokens are
dead, a mail always goes out from the shop's configured sender, and every member is read
within a size and an expansion-ratio limit, so a compression bomb or a path that climbs
out is refused in one line with nothing half-written.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import random
import tarfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storefront.accounts.models import ApiKey, User, UserSession
from storefront.content.models import Page
from storefront.extensions import db
from storefront.outbox.models import OutboxMessage
from storefront.outbox.services import enqueue_mail, run_due
from storefront.tenancy import tenant_context
from storefront.tenancy.context import all_tenants
from storefront.tenancy.models import Domain, Tenant
from storefront.tenancy.registry import context_for
from storefront.tenancy.verification import claim_token
from storefront.webhooks.models import WebhookEndpoint
from tests.fixtures.factories import csrf_from, host, link_in, login, tenant_folder
from tests.test_domain_verification import publish, zone  # noqa: F401 (a fixture)

SENDER = "Acme <shop@acme.example.com>"
FORGED = "Your Bank <security@bank.example>"
MIB = 1024 * 1024


@pytest.fixture
def acme(app, make_shop, make_user):
    shop = make_shop(
        "acme",
        domains=("acme.test",),
        settings=f'name = "Acme"\n[mail]\nsender = "{SENDER}"\n',
    )
    make_user(shop, "owner@example.com", roles=["owner"])
    return shop


def export(runner, tmp_path: Path, slug: str = "acme") -> Path:
    archive = tmp_path / f"{slug}.tar.gz"
    result = runner.invoke(["export", slug, "-o", str(archive)])
    assert result.exit_code == 0, result.output
    return archive


def rewrite(
    source: Path,
    target: Path,
    replace: dict[str, bytes] | None = None,
    add: list[tuple[tarfile.TarInfo, bytes | None]] = (),  # type: ignore[assignment]
) -> Path:
    """A copy of an archive with some members' data replaced and members added first."""
    replace = replace or {}
    with tarfile.open(source) as src, tarfile.open(target, "w:gz") as dst:
        for info, data in add:
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name in replace:
                data = replace[member.name]
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def reset_mail(app, shop, email: str, outbox: list[Any]) -> Any:
    client = app.test_client()
    page = client.get("/reset", headers=host(shop))
    client.post(
        "/reset", headers=host(shop), data={"email": email, "csrf_token": csrf_from(page.text)}
    )
    return outbox[-1]


def nothing_half_written(app, slug: str) -> None:
    tenants = tenant_folder(app, slug).parent
    assert not tenant_folder(app, slug).exists()
    assert not [p.name for p in tenants.iterdir() if p.name.startswith(".import")]
    with app.app_context():
        assert db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is None


def one_line_refusal(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


# nothing queued in an archive runs; From is the shop's --------------------------------


def test_queued_mails_of_a_hostile_archive_never_go_out_and_later_mail_is_the_shops(
    app, runner, acme, tmp_path, outbox
):
    archive = export(runner, tmp_path)
    queued = [
        {
            "id": 900 + n,
            "kind": "mail",
            "dedupe_key": f"phish:{n}",
            "payload": json.dumps(
                {
                    "to": f"victim{n}@example.com",
                    "subject": "Verify your account",
                    "body": "Log in at http://evil.example/",
                    "from": FORGED,
                }
            ),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": "2000-01-01T00:00:00",
            "last_error": "",
            "created_at": "2000-01-01T00:00:00",
            "done_at": None,
        }
        for n in range(3)
    ]
    queued.append(
        {
            **queued[0],
            "id": 999,
            "kind": "webhook",
            "dedupe_key": "webhook:1:evt",
            "payload": json.dumps({"url": "http://127.0.0.1:9/", "body": "{}"}),
        }
    )
    hostile = rewrite(
        archive,
        tmp_path / "hostile.tar.gz",
        replace={"data/outbox.jsonl": "\n".join(map(json.dumps, queued)).encode()},
    )
    result = runner.invoke(["import", str(hostile), "--as", "copy", "--domain", "copy.test"])
    assert result.exit_code == 0, result.output

    ran = runner.invoke(["outbox", "run"])
    assert ran.exit_code == 0, ran.output
    assert not [m for m in outbox if any("victim" in to for to in m.to)]
    copy = context_for_app(app, "copy")
    with app.app_context(), tenant_context(copy):
        assert db.session.scalars(select(OutboxMessage)).all() == []

    mail = reset_mail(app, copy, "owner@example.com", outbox)
    assert mail.to == ["owner@example.com"] and mail.from_email == SENDER


def test_a_stored_row_never_chooses_the_sender(app, acme, outbox):
    with app.app_context(), tenant_context(context_for_app(app, "acme")):
        row = enqueue_mail("someone@example.com", "Hello", "Body")
        row.payload = json.dumps({**json.loads(row.payload), "from": FORGED})
        db.session.commit()
        run_due()
    assert [(m.to, m.from_email) for m in outbox] == [(["someone@example.com"], SENDER)]


def context_for_app(app, slug: str):
    with app.app_context():
        return context_for(slug)


# sessions, keys and tokens come in dead ---------------------------------------------------


def test_sessions_keys_and_tokens_in_an_archive_are_dead_after_import(
    app, runner, acme, tmp_path, outbox
):
    browser = app.test_client()
    assert login(browser, acme, "owner@example.com", remember=True).status_code == 302
    assert browser.get("/account", headers=host(acme)).status_code == 200
    made = runner.invoke(["user", "token", "acme", "owner@example.com"])
    assert made.exit_code == 0, made.output
    bearer = {**host(acme), "Authorization": f"Bearer {made.output.strip()}"}
    assert app.test_client().get("/api/v1/admin/orders", headers=bearer).status_code == 200
    with app.app_context(), tenant_context(acme):
        owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        login_token = owner.get_auth_token()
        uniquifier = owner.fs_uniquifier
        db.session.add(WebhookEndpoint(url="https://hooks.example/in", events="order.created"))
        db.session.commit()
    token_headers = {**host(acme), "Authentication-Token": login_token}
    assert app.test_client().get("/api/v1/admin/orders", headers=token_headers).status_code == 200
    reset_path = link_in(reset_mail(app, acme, "owner@example.com", outbox))
    reset_path = reset_path.removeprefix("http://acme.test")
    assert app.test_client().get(reset_path, headers=host(acme)).status_code == 200

    archive = export(runner, tmp_path)
    assert runner.invoke(["delete", "acme", "--yes", "--no-export"]).exit_code == 0
    # A restore: same slug, and the same domain, named by the operator.
    result = runner.invoke(["import", str(archive), "--domain", "acme.test"])
    assert result.exit_code == 0, result.output
    shop = context_for_app(app, "acme")

    assert browser.get("/account", headers=host(shop)).status_code == 302  # to the login
    assert app.test_client().get("/api/v1/admin/orders", headers=bearer).status_code == 401
    refused = app.test_client().get("/api/v1/admin/orders", headers=token_headers)
    assert refused.status_code == 401
    assert app.test_client().get(reset_path, headers=host(shop)).status_code != 200
    with app.app_context(), tenant_context(shop):
        assert db.session.scalars(select(UserSession)).all() == []
        (key,) = db.session.scalars(select(ApiKey)).all()
        assert key.revoked_at is not None
        (endpoint,) = db.session.scalars(select(WebhookEndpoint)).all()
        assert not endpoint.active and "imported" in endpoint.disabled_reason
        owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        assert owner.fs_uniquifier != uniquifier
    # The data came along: the owner signs in with the password they had.
    assert login(app.test_client(), shop, "owner@example.com").status_code == 302


def test_an_export_leaves_webhook_secrets_out_unless_asked(app, runner, acme, tmp_path):
    with app.app_context(), tenant_context(acme):
        db.session.add(WebhookEndpoint(url="https://hooks.example/in", events="order.created"))
        db.session.commit()
    with tarfile.open(export(runner, tmp_path)) as tar:
        (row,) = map(json.loads, tar.extractfile("data/webhook_endpoints.jsonl").readlines())
    assert "secret" not in row


# every member within a size and a ratio limit ---------------------------------------------


class Zeros:
    """``size`` zero bytes, handed out a chunk at a time (never held whole)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        n = min(size if size > 0 else MIB, self.left, MIB)
        self.left -= n
        return bytes(n)


def manifest(slug: str) -> bytes:
    """A valid manifest, so an import gets past it to the members (as the red team's did)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storefront.config import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return json.dumps(
        {
            "format": "storefront-shop-export",
            "version": 1,
            "schema": sorted(ScriptDirectory.from_config(config).get_heads()),
            "shop": {"slug": slug, "name": slug, "status": "active"},
            "domains": [{"hostname": f"{slug}.test", "primary": True}],
            "tables": {},
        }
    ).encode()


def zero_bomb(path: Path, size: int, name: str = "data/orders.jsonl") -> Path:
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        head = tarfile.TarInfo("manifest.json")
        data = manifest("bomb")
        head.size = len(data)
        tar.addfile(head, io.BytesIO(data))
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, Zeros(size))  # streamed through the compressor
    return path


@pytest.fixture(scope="module")
def big_bomb(tmp_path_factory) -> Path:
    """A 600 MB member compressed to about 600 KB (as the red team's)."""
    path = zero_bomb(tmp_path_factory.mktemp("bomb") / "bomb.tar.gz", 600 * 1000 * 1000)
    assert path.stat().st_size < 2 * MIB
    return path


@pytest.mark.parametrize(
    "limit",
    [
        pytest.param("ARCHIVE_MAX_RATIO", id="by-ratio"),
        # With the ratio out of the way, the member's size stops it all the same.
        pytest.param(
            "ARCHIVE_MAX_MEMBER_BYTES",
            id="by-size",
            marks=pytest.mark.settings(ARCHIVE_MAX_RATIO=1e9, ARCHIVE_MAX_MEMBER_BYTES=32 * MIB),
        ),
    ],
)
def test_a_600_mb_member_compressed_small_is_refused_quickly_in_bounded_memory(
    app, runner, big_bomb, limit
):
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = runner.invoke(["import", str(big_bomb)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"
    line = one_line_refusal(result)
    assert "data/orders.jsonl" in line and limit in line
    assert time.monotonic() - started < 30  # generous: it stops at the first MiBs
    nothing_half_written(app, "bomb")


def test_a_ratio_bomb_below_the_size_limit_is_refused(app, runner, tmp_path):
    bomb = zero_bomb(tmp_path / "ratio.tar.gz", 20 * MIB, name="media/logo.png")
    line = one_line_refusal(runner.invoke(["import", str(bomb)]))
    assert "media/logo.png" in line and "ARCHIVE_MAX_RATIO" in line
    nothing_half_written(app, "bomb")


def test_a_huge_tar_header_is_refused_before_it_is_read(app, runner, acme, tmp_path):
    info = tarfile.TarInfo("folder/templates/x.html")
    info.pax_headers = {"comment": "x" * (2 * MIB)}
    data = b"hello"
    info.size = len(data)
    hostile = rewrite(export(runner, tmp_path), tmp_path / "pax.tar.gz", add=[(info, data)])
    line = one_line_refusal(
        runner.invoke(["import", str(hostile), "--as", "pax", "--domain", "pax.test"])
    )
    assert "tar header" in line
    nothing_half_written(app, "pax")


@pytest.mark.settings(ARCHIVE_MAX_MEMBERS=50)
def test_too_many_members_are_refused(app, runner, acme, tmp_path):
    many = []
    for n in range(60):
        info = tarfile.TarInfo(f"folder/static/{n}.txt")
        info.size = 1
        many.append((info, b"x"))
    hostile = rewrite(export(runner, tmp_path), tmp_path / "many.tar.gz", add=many)
    line = one_line_refusal(
        runner.invoke(["import", str(hostile), "--as", "many", "--domain", "many.test"])
    )
    assert "ARCHIVE_MAX_MEMBERS" in line
    nothing_half_written(app, "many")


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> Any:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    data = b"owned" if kind == tarfile.REGTYPE else None
    info.size = len(data) if data else 0
    return info, data


@pytest.mark.parametrize(
    ("info", "data"),
    [
        pytest.param(*_member("../escaped.txt"), id="dot-dot"),
        pytest.param(*_member("folder/../../escaped.txt"), id="dot-dot-inside"),
        pytest.param(*_member("media/../../escaped.txt"), id="media-dot-dot"),
        pytest.param(*_member("/tmp/escaped.txt"), id="absolute"),
        pytest.param(*_member("folder\\..\\..\\escaped.txt"), id="backslash"),
        pytest.param(*_member("escaped.txt"), id="outside-the-layout"),
        pytest.param(
            *_member("folder/templates/index.html", tarfile.SYMTYPE, "/etc/passwd"), id="symlink"
        ),
        pytest.param(
            *_member("folder/secrets.toml", tarfile.LNKTYPE, "/etc/passwd"), id="hardlink"
        ),
        pytest.param(*_member("folder/fifo", tarfile.FIFOTYPE), id="fifo"),
        pytest.param(*_member("manifest.json"), id="twice"),
    ],
)
def test_unsafe_member_names_and_kinds_are_refused(app, runner, acme, tmp_path, info, data):
    hostile = rewrite(export(runner, tmp_path), tmp_path / "evil.tar.gz", add=[(info, data)])
    result = runner.invoke(["import", str(hostile), "--as", "evil", "--domain", "evil.test"])
    one_line_refusal(result)
    nothing_half_written(app, "evil")
    tenants = tenant_folder(app, "evil").parent
    assert not (tenants.parent / "escaped.txt").exists()
    assert not (tenants / "escaped.txt").exists()
    assert not Path("/tmp/escaped.txt").exists()


def test_a_truncated_or_foreign_file_is_one_line(app, runner, acme, tmp_path):
    archive = export(runner, tmp_path)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    one_line_refusal(runner.invoke(["import", str(cut), "--as", "cut", "--domain", "cut.test"]))
    nothing_half_written(app, "cut")
    plain = tmp_path / "plain.tar"
    with tarfile.open(plain, "w") as tar:
        tar.add(tenant_folder(app, "acme"), arcname="folder")
    line = one_line_refusal(runner.invoke(["import", str(plain), "--as", "p", "--domain", "p.t"]))
    assert "not a .tar.gz" in line
    with app.app_context(), all_tenants():
        assert db.session.scalar(select(Tenant.id).where(Tenant.slug == "cut")) is None


@pytest.mark.parametrize(
    ("member", "data", "expected"),
    [
        ("data/users.jsonl", b'{"id": 1, "email": null}', "data/users.jsonl does not fit"),
        ("data/categories.jsonl", b'{"id": [1], "slug": "x"}', "categories.jsonl does not fit"),
        ("data/pages.jsonl", b'{"id": 1}\n[1, 2]', "pages.jsonl is damaged at line 2"),
        ("data/users.jsonl", b'{"id": 1, "created_at": 7}', "users.jsonl is damaged at line 1"),
        ("manifest.json", b'{"format": "storefront-shop-export"}', "format version None"),
        # Nested past the parser's recursion (it printed a 61-line RecursionError).
        (
            "data/pages.jsonl",
            b"[" * 200_000 + b"]" * 200_000,
            "pages.jsonl is damaged at line 1: JSON nested",
        ),
        (
            "data/pages.jsonl",
            b'{"id": 1}\n' + b'{"a": ' * 40 + b"1" + b"}" * 40,
            "damaged at line 2: JSON nested",
        ),
        # Every value fits its column: String(n) its n, Text ARCHIVE_MAX_TEXT_CHARS.
        (
            "data/pages.jsonl",
            b'{"id": 1, "slug": "a", "title": "%s"}' % (b"t" * 201),
            "pages.jsonl does not fit at line 1: title holds 201 characters, at most 200",
        ),
        (
            "data/pages.jsonl",
            b'{"id": 1, "slug": "a", "title": "A", "body": "%s"}' % (b"b" * 200_001),
            "does not fit at line 1: body holds 200,001 characters, at most 200,000",
        ),
        (
            "data/pages.jsonl",
            b'{"id": 1, "slug": "a", "title": {"x": 1}}',
            "pages.jsonl does not fit at line 1: title is not text",
        ),
    ],
)
def test_rows_the_schema_refuses_are_one_line_and_leave_nothing(
    app, runner, acme, tmp_path, member, data, expected
):
    hostile = rewrite(export(runner, tmp_path), tmp_path / "bad.tar.gz", replace={member: data})
    result = runner.invoke(["import", str(hostile), "--as", "bad", "--domain", "bad.test"])
    assert expected in one_line_refusal(result)
    nothing_half_written(app, "bad")


def test_every_shop_table_is_data_skipped_or_made_inert_on_import(app):
    from storefront.tenancy.transfer import DATA_TABLES, INERT, SKIPPED_TABLES, shop_tables

    with app.app_context():
        tables = {t.name for t in shop_tables()}
    kinds = [DATA_TABLES, set(SKIPPED_TABLES), set(INERT)]
    assert tables == set().union(*kinds), "decide what an import does with a new table"
    assert sum(len(kind) for kind in kinds) == len(tables)  # each in one kind only


# one line, one value: each within its limit, read a line at a time --------------------


class HugeTitleRow:
    """One JSON line of a page whose title is ``size`` bytes of 4 KB blocks (80 random
    base64 characters, then ``a``s: ~55:1, as the red team's), handed out as read (a
    block or two in memory, never the line)."""

    BLOCK = 4096

    def __init__(self, size: int) -> None:
        head = b'{"id": 1, "slug": "big", "published": true, "title": "'
        tail = b'"}\n'
        blocks = size // self.BLOCK
        self.size = len(head) + blocks * self.BLOCK + len(tail)
        self.parts = itertools.chain([head], map(self._block, range(blocks)), [tail])
        self.random = random.Random(29)
        self.buffer = b""

    def _block(self, _: int) -> bytes:
        noise = base64.b64encode(self.random.randbytes(60))  # 80 characters
        return noise + b"a" * (self.BLOCK - len(noise))

    def read(self, size: int = -1) -> bytes:
        while len(self.buffer) < size and (part := next(self.parts, None)) is not None:
            self.buffer += part
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out


@pytest.fixture(scope="module")
def huge_row(tmp_path_factory) -> Path:
    """A 400 MB line in data/pages.jsonl, about 7 MB compressed: below the ratio and
    member limits, so unpacking lets it through (as it let the red team's)."""
    path = tmp_path_factory.mktemp("row") / "row.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        head = tarfile.TarInfo("manifest.json")
        data = manifest("row")
        head.size = len(data)
        tar.addfile(head, io.BytesIO(data))
        row = HugeTitleRow(400 * 1000 * 1000)
        info = tarfile.TarInfo("data/pages.jsonl")
        info.size = row.size
        tar.addfile(info, row)  # streamed through the compressor
    assert path.stat().st_size < 400 * 1000 * 1000 / 40
    return path


def test_a_400_mb_row_is_refused_at_its_line_in_bounded_memory(app, runner, huge_row):
    tracemalloc.start()
    try:
        result = runner.invoke(["import", str(huge_row)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    line = one_line_refusal(result)
    assert "data/pages.jsonl line 1" in line and "ARCHIVE_MAX_LINE_BYTES" in line
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"
    nothing_half_written(app, "row")


def test_the_largest_honest_row_comes_in(app, runner, acme, tmp_path):
    # A page in eleven languages whose body fills the column on every database (MariaDB's
    # TEXT holds 65,535 bytes: 21,000 characters of a 3-byte script), ~700 KB on one
    # line, under ARCHIVE_MAX_LINE_BYTES.
    chars = random.Random(7).choices([chr(c) for c in range(0x4E00, 0x9FFF)], k=21_000)
    body = "".join(chars)  # as varied as prose: it compresses as little
    page = {
        "id": 1,
        "slug": "about",
        "title": "題" * 200,
        "body": body,
        "published": True,
        "translations": {f"l{n}": {"title": "題", "body": body} for n in range(10)},
    }
    line = json.dumps(page, ensure_ascii=False).encode()
    assert len(line) > 650_000
    archive = rewrite(
        export(runner, tmp_path), tmp_path / "long.tar.gz", replace={"data/pages.jsonl": line}
    )
    result = runner.invoke(["import", str(archive), "--as", "long", "--domain", "long.test"])
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_context(context_for_app(app, "long")):
        (stored,) = db.session.scalars(select(Page)).all()
        assert stored.body == body and len(stored.translations) == 10


# an archive's domains are claims, not facts ---------------------------------------------

VICTIM = "shop.victim-bank.example"


def claiming(runner, tmp_path: Path, hostname: str) -> Path:
    """Acme's archive, renamed to 'squat', whose manifest names someone else's domain."""
    archive = export(runner, tmp_path)
    with tarfile.open(archive) as tar:
        meta = json.load(tar.extractfile("manifest.json"))
    meta["shop"]["slug"] = "squat"
    meta["domains"] = [{"hostname": hostname, "primary": True}]
    return rewrite(
        archive, tmp_path / "squat.tar.gz", replace={"manifest.json": json.dumps(meta).encode()}
    )


def test_an_archives_domains_come_in_pending_and_yield_to_their_owner(
    app,
    runner,
    acme,
    make_shop,
    tmp_path,
    zone,  # noqa: F811 (the imported fixture)
):
    result = runner.invoke(["import", str(claiming(runner, tmp_path, VICTIM))])
    assert result.exit_code == 0, result.output
    assert f"{VICTIM} is pending" in result.output
    assert f"_storefront-verify.{VICTIM}" in result.output
    with app.app_context():
        domain = db.session.scalar(select(Domain).where(Domain.hostname == VICTIM))
        assert (domain.status, domain.trusted, domain.is_primary) == ("pending", False, True)
        squat_token = domain.verify_token
    client = app.test_client()
    assert client.get("/_tls/ask", query_string={"domain": VICTIM}).status_code == 404
    assert client.get("/", headers={"Host": VICTIM}).status_code == 404
    # Its holder cannot prove it (its records are the bank's) ...
    assert runner.invoke(["domain", "verify", "squat", VICTIM]).exit_code == 1
    # ... and the bank takes it back with its own proof.
    bank = make_shop("bank")
    with app.app_context():
        bank_token = claim_token(bank.uid, VICTIM)
    assert bank_token != squat_token
    publish(zone, app, VICTIM, token=bank_token)
    taken = runner.invoke(["domain", "add", "bank", VICTIM])
    assert taken.exit_code == 0 and "now serves bank" in taken.output, taken.output
    assert client.get("/_tls/ask", query_string={"domain": VICTIM}).status_code == 200
    with app.app_context():
        (row,) = db.session.scalars(select(Domain).where(Domain.hostname == VICTIM)).all()
        assert row.tenant.slug == "bank"


def test_only_the_operators_domains_are_trusted_on_import(app, runner, acme, tmp_path):
    assert "pending" in runner.invoke(["import", "--help"]).output
    archive = claiming(runner, tmp_path, VICTIM)
    result = runner.invoke(["import", str(archive), "--domain", "squat.test"])
    assert result.exit_code == 0 and "pending" not in result.output, result.output
    with app.app_context():
        hosts = db.session.execute(
            select(Domain.hostname, Domain.status, Domain.trusted)
            .join(Tenant)
            .where(Tenant.slug == "squat")
        ).all()
    assert [tuple(h) for h in hosts] == [("squat.test", "verified", True)]
    assert (
        app.test_client().get("/_tls/ask", query_string={"domain": "squat.test"}).status_code == 200
    )
