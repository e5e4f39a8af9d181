"""Gift card codes: random, shown once, stored as a keyed digest and their last four.

A code is 16 characters from a 32-letter alphabet without look-alikes (80 random bits),
written in groups of four. The database keeps ``HMAC-SHA256(key, shop uid + code)`` with
a key derived from the installation's SECRET_KEY: a copy of the database alone gives no
usable code, and the same code at another shop is another digest. Lookups are by the
digest. Until a card's mail goes out, the code is kept sealed (Fernet, another derived
key) on the card, and cleared once it is sent (docs/security.md).

Guessing is limited per client and per shop: each lookup of a well-formed code that
matches no card counts, and over ``GIFT_CARD_GUESS_LIMIT`` (per client) or
``GIFT_CARD_GUESS_LIMIT_SHOP`` (the shop's clients together) every lookup is refused
until the window passes, the right code too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from ...extensions import limiter
from ...tenancy.context import current_tenant

log = logging.getLogger(__name__)

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
LENGTH = 16
WELL_FORMED = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
DEFAULT_GUESS_LIMIT = "10 per hour"
DEFAULT_GUESS_LIMIT_SHOP = "300 per hour"


def new_code() -> str:
    """A fresh random code, as shown: ``7KQ2-…`` (four groups of four)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return display(raw)


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: str) -> str:
    """What a shopper typed, as the code it means: case, spaces and dashes do not count."""
    return re.sub(r"[\s\-]", "", (text or "")[:64]).upper()


def well_formed(code: str) -> bool:
    return bool(WELL_FORMED.fullmatch(code))


def _key(purpose: bytes) -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def digest(code: str) -> str:
    """The stored form of ``code`` (normalised) at the bound shop."""
    message = f"{current_tenant().uid}:{normalize(code)}".encode()
    return hmac.new(_key(b"gift-card-codes"), message, hashlib.sha256).hexdigest()


def last4(code: str) -> str:
    return normalize(code)[-4:]


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key(b"gift-card-mail")))


def seal(code: str) -> str:
    return _fernet().encrypt(code.encode()).decode()


def unseal(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):  # SECRET_KEY changed since: nothing to send
        return None


# Guessing -----------------------------------------------------------------------------


class TooManyGuesses(Exception):
    """Over a guessing limit: come back in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"gift card guessing limit reached, retry in {retry_after} s")
        self.retry_after = retry_after


def _client() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"ip:{get_remote_address()}"


def _checks() -> list[tuple[str, tuple[str, ...]]]:
    config = current_app.config
    shop, prefix = current_tenant().uid, config.get("RATELIMIT_KEY_PREFIX", "")
    return [
        (
            str(config.get("GIFT_CARD_GUESS_LIMIT", DEFAULT_GUESS_LIMIT)),
            (prefix, "gift-card", shop, _client()),
        ),
        (
            str(config.get("GIFT_CARD_GUESS_LIMIT_SHOP", DEFAULT_GUESS_LIMIT_SHOP)),
            (prefix, "gift-card-shop", shop),
        ),
    ]


def _enabled() -> bool:
    config = current_app.config
    return bool(config.get("GIFT_CARD_GUESS_LIMIT_ENABLED", config.get("RATELIMIT_ENABLED", True)))


def check_guessing() -> None:
    """``TooManyGuesses`` while this client or this shop is over its limit of wrong codes.
    A store that cannot be reached lets lookups through (as the login limits do)."""
    if not _enabled():
        return
    strategy = limiter.limiter
    for text, keys in _checks():
        item = parse(text)
        try:
            if not strategy.test(item, *keys):
                reset_at = strategy.get_window_stats(item, *keys)[0]
                raise TooManyGuesses(max(1, math.ceil(reset_at - time.time())))
        except TooManyGuesses:
            raise
        except Exception:  # the limits' store is down: serve
            log.warning("gift card rate limit store unavailable", exc_info=True)
            return


def count_wrong_guess() -> None:
    """Count one wrong code against the client's and the shop's limits."""
    if not _enabled():
        return
    strategy = limiter.limiter
    for text, keys in _checks():
        try:
            strategy.hit(parse(text), *keys)
        except Exception:
            log.warning("gift card rate limit store unavailable", exc_info=True)
            return
