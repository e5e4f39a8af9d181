"""Structured logs: every line JSON (text in development) with its shop and request id;
one access line per request (cached pages, the resolver's answers and errors too), with
credentials redacted; jobs and tenantctl say the shop and the request that caused them;
errors to Sentry tagged and scrubbed, through a local transport."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.extensions import csrf, db
from storefront.logs import log_context, log_format, make_handler, redact, redact_query
from storefront.tenancy.context import tenant_context
from tests.fixtures.factories import host, login


class Lines:
    """What the platform's handler writes, in the app's configured format."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def text(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text()]

    def access(self) -> list[dict[str, Any]]:
        return [line for line in self.json() if line["logger"] == "storefront.access"]

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@pytest.fixture
def lines(app: Flask) -> Iterator[Lines]:
    stream = io.StringIO()
    handler = make_handler(app.config, stream)
    root = logging.getLogger("storefront")
    root.addHandler(handler)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)


def add_route(app: Flask, rule: str, view: Any) -> None:
    app.add_url_rule(rule, view.__name__, view)


def said(message: str, *args: Any) -> None:
    logging.getLogger("storefront.test").info(message, *args)


def test_every_line_is_json_with_its_shop_request_id_and_user(
    app, client, make_shop, make_user, lines
):
    acme = make_shop("acme")
    make_user(acme, "ada@example.com")

    def log_something() -> str:
        said("hello from %s", "a view")
        return "ok"

    add_route(app, "/_test/log", log_something)
    assert client.get("/_test/log", headers={**host(acme), "X-Request-ID": "rid-1"}).text == "ok"
    (mine,) = [line for line in lines.json() if line["logger"] == "storefront.test"]
    assert mine["message"] == "hello from a view"
    assert mine["level"] == "INFO" and mine["time"].endswith("+00:00")
    assert mine["shop"] == "acme" and mine["request_id"] == "rid-1"
    assert "user_id" not in mine  # nobody signed in

    assert login(client, acme, "ada@example.com").status_code == 302
    with app.app_context(), tenant_context(acme):
        ada = db.session.scalar(select(User.id).where(User.email == "ada@example.com"))
    lines.clear()
    assert client.get("/account", headers=host(acme)).status_code == 200
    (access,) = lines.access()
    assert access["user_id"] == ada and access["shop"] == "acme"
    every = lines.json()  # each line of the request: the same shop and request id
    assert {(line["shop"], line["request_id"]) for line in every} == {
        ("acme", access["request_id"])
    }


def test_lines_outside_requests_carry_what_is_bound(app, lines):
    said("before anything")
    with log_context(shop="acme", request_id="rid-bound"):
        said("inside")
    said("after")
    before, inside, after = lines.json()
    assert (before["shop"], before["request_id"]) == (None, None)
    assert (inside["shop"], inside["request_id"]) == ("acme", "rid-bound")
    assert (after["shop"], after["request_id"]) == (None, None)


# The access line --------------------------------------------------------------------


def test_a_page_has_one_access_line(app, client, make_shop, product, lines):
    acme = make_shop("acme")
    product(acme, "anvil")
    assert client.get("/p/anvil?ref=home", headers=host(acme)).status_code == 200
    (line,) = lines.access()
    assert line["method"] == "GET" and line["path"] == "/p/anvil?ref=home"
    assert line["route"] == "/p/<slug>" and line["status"] == 200 and line["level"] == "INFO"
    assert line["shop"] == "acme" and len(line["request_id"]) == 32
    assert isinstance(line["duration_ms"], float) and line["sql"] >= 1
    assert "page_cache" not in line and "user_id" not in line


def test_a_page_from_the_page_cache_has_its_line_too(app, client, make_shop, product, lines):
    acme = make_shop("acme")
    product(acme, "anvil")
    assert client.get("/p/anvil", headers=host(acme)).status_code == 200
    lines.clear()
    again = client.get("/p/anvil", headers={**host(acme), "X-Request-ID": "rid-cached"})
    assert again.status_code == 200 and again.headers["X-Request-ID"] == "rid-cached"
    (line,) = lines.access()
    assert line["page_cache"] == "hit" and line["status"] == 200
    assert line["shop"] == "acme" and line["request_id"] == "rid-cached"
    assert line["path"] == "/p/anvil" and line["route"] is None and line["sql"] == 0


def test_credentials_in_the_query_string_are_redacted(app, client, make_shop, make_user, lines):
    from storefront.accounts import tokens

    acme = make_shop("acme")
    make_user(acme, "staff@example.com", roles=["staff"])
    with app.app_context(), tenant_context(acme):
        staff = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        secret = tokens.create_key(staff, "tests").secret
        db.session.commit()
    query = f"per_page=5&api_key={secret}&access_token=tok-123&Token=abc&q={secret}"
    answer = client.get(
        f"/api/v1/products?{query}",
        headers={**host(acme), "Authorization": f"Bearer {secret}", "Cookie": "session=s3cr3t"},
    )
    assert answer.status_code == 200
    (line,) = lines.access()
    assert line["path"] == (
        "/api/v1/products?per_page=5&api_key=REDACTED&access_token=REDACTED&Token=REDACTED"
        "&q=sf_REDACTED"
    )
    assert line["route"] == "/api/v1/products" and line["status"] == 200
    assert isinstance(line["api_key_id"], int)
    output = lines.stream.getvalue()
    for leaked in (secret, secret[3:], "tok-123", "s3cr3t", "Bearer", "Authorization", "Cookie"):
        assert leaked not in output


def test_not_found_answers_have_their_line(app, client, make_shop, lines):
    acme = make_shop("acme")
    assert client.get("/nothing-here", headers=host(acme)).status_code == 404
    assert client.get("/", headers={"Host": "unknown.test"}).status_code == 404
    at_shop, unknown = lines.access()
    assert (at_shop["status"], at_shop["shop"], at_shop["route"]) == (404, "acme", None)
    assert (unknown["status"], unknown["shop"], unknown["path"]) == (404, None, "/")
    assert at_shop["request_id"] != unknown["request_id"]


@pytest.mark.settings(PROPAGATE_EXCEPTIONS=False)
def test_an_error_has_its_line_and_its_message_is_redacted(app, client, make_shop, lines):
    acme = make_shop("acme")
    secret = "sf_" + "k" * 43

    def broken() -> str:
        said("calling out with Authorization: Bearer %s", secret)
        raise RuntimeError(f"the key {secret} did not work")

    add_route(app, "/_test/broken", broken)
    answer = client.get("/_test/broken?token=abc", headers=host(acme))
    assert answer.status_code == 500
    access = lines.access()[-1]
    assert access["status"] == 500 and access["level"] == "WARNING"
    assert access["route"] == "/_test/broken" and access["path"] == "/_test/broken?token=REDACTED"
    assert access["shop"] == "acme"
    output = lines.stream.getvalue()
    assert secret not in output and "k" * 43 not in output
    (called,) = [line for line in lines.json() if line["logger"] == "storefront.test"]
    assert called["message"] == "calling out with Authorization: Bearer REDACTED"
    errors = [line for line in lines.json() if "exception" in line]
    assert errors and "RuntimeError: the key sf_REDACTED did not work" in errors[0]["exception"]


def test_an_error_that_propagates_still_has_its_line(app, client, make_shop, lines):
    acme = make_shop("acme")

    def broken() -> str:
        raise RuntimeError("boom")

    add_route(app, "/_test/boom", broken)
    with pytest.raises(RuntimeError):
        client.get("/_test/boom", headers=host(acme))
    (line,) = lines.access()
    assert line["status"] == 500 and line["shop"] == "acme"


@pytest.mark.settings(ACCESS_LOG=False)
def test_the_access_line_can_be_switched_off(app, client, make_shop, lines):
    acme = make_shop("acme")
    assert client.get("/", headers=host(acme)).status_code == 200
    assert lines.access() == []


def test_redaction_rules():
    key = "sf_" + "A" * 43
    assert redact(f"got {key}.") == "got sf_REDACTED."
    assert redact("whsec_abcdefgh1234 sk_live_abcdefghij") == "whsec_REDACTED sk_live_REDACTED"
    assert redact("/reset/InRva2VuIg.aBcDeFgH") == "/reset/REDACTED"
    assert (
        redact("a dedupe_key=abc and password=hunter2") == "a dedupe_key=abc and password=REDACTED"
    )
    assert redact("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig") == "REDACTED"
    assert (
        redact_query("a=1&Api%5FKey=x&b=2&secret=") == "a=1&Api%5FKey=REDACTED&b=2&secret=REDACTED"
    )
    assert redact_query("q=anvil&page=2") == "q=anvil&page=2"


# Jobs and tenantctl ---------------------------------------------------------------------


def test_a_job_logs_the_request_that_queued_it(app, client, make_shop, lines):
    from storefront.outbox import services as outbox

    acme = make_shop("acme")

    def noted(payload: dict[str, Any]) -> None:
        said("job ran for %s", payload["what"])

    def queue() -> str:
        outbox.enqueue("test.noted", {"what": "anvil"})
        db.session.commit()
        return "queued"

    outbox.handler("test.noted")(noted)
    add_route(app, "/_test/queue", queue)
    try:
        answer = client.get("/_test/queue", headers={**host(acme), "X-Request-ID": "rid-queued"})
        assert answer.text == "queued"
        with app.app_context():
            outbox.run_due()  # a no-op when the request already delivered it
    finally:
        outbox.HANDLERS.pop("test.noted", None)
    (ran,) = [line for line in lines.json() if line["message"] == "job ran for anvil"]
    assert ran["request_id"] == "rid-queued" and ran["shop"] == "acme"
    assert ran["job"] == "test.noted" and isinstance(ran["job_id"], int)


def test_a_job_run_later_by_a_worker_logs_the_request_too(app, make_shop, lines):
    from storefront.outbox import services as outbox

    acme = make_shop("acme")
    outbox.handler("test.later")(lambda payload: said("later"))
    try:
        with app.test_request_context(), tenant_context(acme):
            g.request_id = "rid-earlier"
            row = outbox.enqueue("test.later", {})
            db.session.commit()
            row_id = row.id
        with app.app_context():  # what a worker thread has: no request, no shop bound
            assert outbox.deliver([row_id]) == 1
    finally:
        outbox.HANDLERS.pop("test.later", None)
    (later,) = [line for line in lines.json() if line["message"] == "later"]
    assert (later["shop"], later["request_id"], later["job_id"]) == ("acme", "rid-earlier", row_id)


def test_a_periodic_task_logs_its_shop_and_name(app, make_shop, lines, monkeypatch):
    from storefront.jobs import periodic

    make_shop("acme")

    def failing() -> None:
        said("checking")
        raise RuntimeError("broken")

    task = periodic.Task("test-task", 3_600, failing)
    monkeypatch.setattr("storefront.jobs.periodic.TASKS", (task,))
    with app.app_context():
        assert periodic.run_periodic(10 * 3_600 - 1) == 0
    checking, failed = [line for line in lines.json() if line["logger"] != "storefront.access"]
    assert checking["message"] == "checking" and failed["level"] == "ERROR"
    for line in (checking, failed):
        assert line["shop"] == "acme" and line["job"] == "periodic:test-task"
    assert "RuntimeError: broken" in failed["exception"]


def test_tenantctl_logs_the_command_and_its_shop(app, runner, make_shop, lines):
    make_shop("acme")
    result = runner.invoke(["rename", "acme", "Acme & Sons"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in lines.json() if line["logger"] == "storefront.cli"]
    assert line["command"] == "rename" and line["shop"] == "acme"
    assert line["request_id"].startswith("cli-")
    assert "{" not in result.output  # log lines go to the process's stderr, not the output


# Formats -------------------------------------------------------------------------------


def test_the_format_follows_the_environment_unless_set():
    assert log_format({"ENVIRONMENT": "production"}) == "json"
    assert log_format({"ENVIRONMENT": "development"}) == "text"
    assert log_format({"ENVIRONMENT": "development", "LOG_FORMAT": "JSON"}) == "json"
    assert log_format({"ENVIRONMENT": "production", "LOG_FORMAT": "text"}) == "text"


@pytest.mark.settings(ENVIRONMENT="development", SHOP_PAGE_CACHE=False)
def test_development_reads_as_text(app, client, make_shop, lines):
    acme = make_shop("acme")
    assert client.get("/", headers={**host(acme), "X-Request-ID": "rid-text"}).status_code == 200
    (line,) = [t for t in lines.text() if "storefront.access" in t]
    assert " INFO [acme rid-text] storefront.access: GET / 200 " in line
    assert not line.startswith("{")


def test_a_bad_format_is_a_one_line_configuration_error(app_config):
    from storefront import create_app
    from storefront.config import ConfigError

    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({**app_config, "LOG_FORMAT": "xml"})


# Errors to Sentry -----------------------------------------------------------------------


class Envelopes:
    """A Sentry transport that keeps what it is given: no network."""

    sent: list[Any] = []


def _transport() -> type:
    from sentry_sdk.transport import Transport

    class Captured(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            Envelopes.sent.append(envelope)

    return Captured


@pytest.fixture
def sentry_events(app_config: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    import sentry_sdk

    Envelopes.sent = []
    app_config.update(
        SENTRY_DSN="https://public@sentry.invalid/1",
        SENTRY_TRANSPORT=_transport(),
        SENTRY_RELEASE="storefront@test",
        PROPAGATE_EXCEPTIONS=False,
    )
    events: list[dict[str, Any]] = []
    try:
        yield events
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # the process reports nothing more


def events_sent() -> list[dict[str, Any]]:
    import sentry_sdk

    sentry_sdk.flush()
    return [
        item.payload.json
        for envelope in Envelopes.sent
        for item in envelope.items
        if item.type == "event"
    ]


def test_errors_go_to_sentry_tagged_and_without_personal_data(
    sentry_events, app, client, make_shop, make_user
):
    def broken() -> str:
        raise RuntimeError("could not mail ada@example.com with key sf_" + "z" * 43)

    app.add_url_rule("/_test/broken", "broken", csrf.exempt(broken), methods=["POST"])
    acme = make_shop("acme")
    make_user(acme, "ada@example.com")
    assert login(client, acme, "ada@example.com").status_code == 302
    answer = client.post(
        "/_test/broken?email=ada@example.com&api_key=sf_" + "q" * 43,
        data={"email": "ada@example.com", "address": "Main St 1", "password": "hunter2"},
        headers={**host(acme), "X-Request-ID": "rid-error", "X-Forwarded-For": "203.0.113.9"},
    )
    assert answer.status_code == 500
    events = events_sent()
    assert events, "no event reached the transport"
    for event in events:
        assert event["tags"]["shop"] == "acme" and event["tags"]["request_id"] == "rid-error"
        assert event["environment"] == "testing" and event["release"] == "storefront@test"
        assert "user" not in event
        request = event.get("request", {})
        assert "data" not in request and "cookies" not in request and "env" not in request
        headers = {name.lower(): value for name, value in request.get("headers", {}).items()}
        assert "cookie" not in headers and "authorization" not in headers
        text = json.dumps(event)
        for personal in (
            "ada@example.com",
            "Main St 1",
            "hunter2",
            "203.0.113.9",
            "z" * 43,
            "q" * 43,
        ):
            assert personal not in text
    (crash,) = [e for e in events if e.get("exception")]
    (value,) = crash["exception"]["values"]
    assert value["type"] == "RuntimeError"
    assert value["value"] == "could not mail REDACTED with key sf_REDACTED"


def test_without_a_dsn_sentry_is_not_even_imported(app_config, tmp_path):
    import subprocess
    import sys

    config = {k: v for k, v in app_config.items() if isinstance(v, str | int | float | bool)}
    script = (
        "import json, os, sys\n"
        "os.environ.pop('SENTRY_DSN', None)\n"
        "from storefront import create_app\n"
        f"app = create_app(json.loads({json.dumps(json.dumps(config))}))\n"
        "print('storefront.sentry' in app.extensions, 'sentry_sdk' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["False", "False"]
