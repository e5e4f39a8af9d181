"""Schemathesis against /api/v1 in-process (WSGI): every phase (examples, coverage,
fuzzing, stateful through the document's links) and every check, as an anonymous
visitor, as a shopper and as staff with an API key. No failure is allowed: a 500, a
status or header the document does not list, an answer off its schema, a request the
document allows that the server refuses (or the reverse), a method answered with 404."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from storefront.extensions import db
from storefront.tenancy import tenant_context
from tests.fixtures.factories import host
from tests.fixtures.stripe_fake import fake_stripe

# About 7,000 cases over the three runs by default; STOREFRONT_FUZZ_EXAMPLES raises it.
EXAMPLES = int(os.environ.get("STOREFRONT_FUZZ_EXAMPLES", "25"))


@pytest.fixture(params=["acme", "globex"])
def shop(request, app, demo_tenants):
    """Each demo shop as `make demo` provisions it: its own templates (sandboxed), its
    catalog, languages and payment methods (Acme's cards through the local fake Stripe,
    Globex's cash on delivery)."""
    from storefront.demo import provision_demo
    from storefront.tenancy.registry import context_for

    app.config["STRIPE_API_BASE"] = fake_stripe().base
    with app.app_context():
        for _ in provision_demo():
            pass
        db.session.remove()
        return context_for(request.param)


def _credentials(app, shop, make_user, role: str) -> dict[str, str]:
    from sqlalchemy import select

    from storefront.accounts import tokens
    from storefront.accounts.models import User

    if role == "anonymous":
        return {}
    email = f"{role}@example.com"
    # The owner: the staff routes and the owner's own (webhooks) are all fuzzed.
    make_user(shop, email, roles=["owner"] if role == "staff" else ["customer"])
    with app.app_context(), tenant_context(shop):
        user = db.session.scalar(select(User).where(User.email == email))
        if role == "staff":
            scopes = [*tokens.STAFF_SCOPES, "webhooks:read", "webhooks:write"]
            secret = tokens.create_key(user, "fuzz", scopes=scopes).secret
            db.session.commit()
            return {"Authorization": f"Bearer {secret}"}
        return {"Authentication-Token": user.get_auth_token()}


@pytest.fixture(autouse=True)
def _webhook_receivers_offline(monkeypatch):
    """The fuzzer subscribes endpoints at made-up hosts: every name resolves to one
    documentation address (the URL rules are tests/test_api_webhooks.py's business) and
    no delivery leaves the process."""
    import ipaddress

    from storefront.webhooks import network

    monkeypatch.setattr(
        network, "resolve", lambda *args, **kwargs: [ipaddress.ip_address("192.0.2.1")]
    )
    monkeypatch.setattr(network, "post", lambda *args, **kwargs: 204)


@pytest.fixture(autouse=True)
def _in_process_probes(monkeypatch):
    """Schemathesis 4.32's ignored_auth probe hands socket settings (max_redirects, …) to
    its WSGI transport, which passes them on to Werkzeug's test client and fails: drop
    them there, as the transport does for its own calls."""
    from schemathesis.transport import wsgi

    send = wsgi.WSGITransport.send

    def send_in_process(self, case, *, session=None, **kwargs):
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(wsgi.WSGITransport, "send", send_in_process)


# Requests a schema cannot tell apart from good ones, refused for what the shop holds them
# to (an address in a reserved domain, a password it finds weak, a reset token that is no
# longer good, a webhook URL on a private network): the API says which field (422).
REFUSED_BY_RULES = (
    "register",
    "checkout",
    "requestPasswordReset",
    "resetPassword",
    "createWebhook",
    "updateWebhook",
    "uploadProductImage",  # bytes a schema calls binary are not a picture until they decode
    "addAddress",  # an address its country's rules refuse (a postal code, a missing state)
    "changeAddress",
    "issueGiftCard",  # a recipient's address in a reserved domain
    "createProductReview",  # a review with more web addresses than a review may hold (spam)
    # An Idempotency-Key the run already sent with another body (the same refund key for
    # another amount): refused, key_reused, as the IETF idempotency-key draft has it.
    "refundOrder",
)


def _run(app, headers: dict[str, str], role: str) -> tuple[list[str], int]:
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": True}},
            "suppress-health-check": ["all"],
            # Rules a schema cannot hold: an address in a reserved domain (.test), which
            # registration and checkout both refuse (storefront.emails), a password the
            # shop finds too weak. The API says which field and why (422).
            # 412 answers a well-formed write whose If-Match names an older state.
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {
                    "expected-statuses": ["2XX", "3XX", "401", "403", "404", "409", "412", "429"]
                },
            },
            "operations": [
                {
                    "include-operation-id": operation,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [
                                "2XX",
                                "401",
                                "403",
                                "404",
                                "409",
                                "412",
                                "422",
                                "429",
                            ]
                        }
                    },
                }
                for operation in REFUSED_BY_RULES
            ]
            # Logging out ends the shopper's token: the rest of the run would be a guest's.
            + ([{"include-operation-id": "logout", "enabled": False}] if role == "shopper" else []),
        }
    )
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=config, headers=headers
    )
    schema.config.update(headers=headers, continue_on_failure=True)
    problems: list[str] = []
    cases = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            problems.extend(_failures(event))
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            problems.append(f"fatal: {event.exception!r}")
    return problems, cases


def _status(event: Any, case_id: str) -> int | None:
    interaction = event.recorder.interactions.get(case_id)
    response = getattr(interaction, "response", None)
    return getattr(response, "status_code", None)


def _failures(event: Any) -> list[str]:
    found = []
    for case_id, nodes in event.recorder.checks.items():
        for node in nodes:
            if node.status == Status.FAILURE and node.failure_info is not None:
                case = event.recorder.cases[case_id].value
                failure = node.failure_info.failure
                found.append(
                    f"{case.operation.label} [{node.name}] {failure.title}: "
                    f"{(failure.message or '')[:400]} query={case.query} "
                    f"if-match={(case.headers or {}).get('If-Match')} "
                    f"idempotency-key={(case.headers or {}).get('Idempotency-Key')} "
                    f"status={_status(event, case_id)} "
                    f"body={str(case.body)[:500]}"
                    f"  e.g. {case.formatted_path}"[:600]
                )
    return found


@pytest.mark.parametrize("role", ["anonymous", "shopper", "staff"])
def test_the_api_holds_its_contract(app, shop, make_user, role):
    headers = {**host(shop), **_credentials(app, shop, make_user, role)}
    problems, cases = _run(app, headers, role)
    print(f"{role}: {cases} cases")  # noqa: T201 - shown with -s
    assert cases >= 1000, cases
    kinds = {problem.split("  e.g. ")[0]: problem for problem in problems}
    assert not kinds, "\n".join(sorted(kinds.values()))
