"""One rule for a person's email address, wherever one is typed: registration (the page
and the API), checkout (the page and the API), accounts made with ``tenantctl``.

Before, the API's checkout took any ``x@y.z`` shape while registration and the checkout
page used email_validator: an address the API placed an order for (``ada@shop.test``)
could not open an account. The rule is email_validator's, once: RFC 5322/6531 syntax,
internationalised domains through IDNA, the lengths mail allows; no DNS lookup (it works
offline and takes no time a caller could measure); and special-use names refused
(RFC 6761 and 6762: ``.test``, ``.localhost``, ``.invalid``, ``.local``, ``.onion``,
``.arpa``), where no mail can arrive, so no order confirmation or account mail is sent
into nothing. A shop's own contact and sender addresses (``tenant.toml``, the settings
page) follow the operator's rules instead: ``hello@acme.localhost`` is the demo's.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    """Not an address mail can be sent to; the message says why (in English)."""


def checked_email(address: str) -> str:
    """``address`` in its normal spelling (domain lower-cased, Unicode normalised), or
    ``InvalidEmail``."""
    try:
        return str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
