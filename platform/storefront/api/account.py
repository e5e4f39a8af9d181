"""``/api/v1/account``: what a headless storefront needs to sign shoppers up, in and out,
and the shopper's address book.

Login answers a short-lived ``Authentication-Token`` (send it as that header); the guest
cart named by ``X-Cart-Token`` joins the account. ``/token`` trades a good token for a
fresh one; ``/logout`` ends every login token of the account (Flask-Security's
``fs_token_uniquifier``, ``accounts.tokens``). Registration and a password reset request
answer the same whether or not the address had an account (the shop's mail tells its
owner), as the pages do: the API never says which addresses have accounts. The reset
itself takes the token from the mail, as the reset page does (Flask-Security's
``recoverable``). All are limited like the login and reset pages (per shop and address,
per shop and account).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_security import current_user, logout_user
from flask_security.recoverable import reset_password_token_status, update_password
from flask_security.registerable import register_existing, register_user
from flask_security.utils import hash_password, verify_and_update_password, verify_password
from limits import parse
from werkzeug.datastructures import MultiDict

from .. import metrics
from ..accounts import second_factor, tokens
from ..accounts import services as accounts
from ..accounts.mail import normalize_email, request_password_reset
from ..addresses import services as addresses
from ..addresses.countries import AddressInvalid, address_lines
from ..addresses.views_model import values_of
from ..cart import services as cart_services
from ..extensions import csrf, db, limiter, security
from ..problems import Conflict
from ..tenancy.context import current_tenant
from . import serializers as out
from .access import login_only, public, requires_scope
from .contract import CART_TOKEN, LOCATION, envelope, init_contract, operation, ref
from .errors import ApiError, body, init_api_errors
from .schemas import (
    AddressIn,
    AddressPatch,
    Credentials,
    Customer,
    LoginAnswer,
    PasswordReset,
    Registered,
    ResetRequest,
    SavedAddress,
)

bp = Blueprint("api_account", __name__, url_prefix="/api/v1/account")
csrf.exempt(bp)
init_api_errors(bp)
init_contract(bp)


@cache
def _decoy_hash() -> str:
    """Checked for unknown addresses, so they take as long as known ones."""
    return str(hash_password("decoy-password-never-matches"))


def _known(email: str) -> Any:
    """The shop's account with this address, or None (also for one that is no address)."""
    try:
        return accounts.find_user(email)
    except accounts.AccountError:
        return None


def _limit(account: str, kind: str = "login") -> None:
    """Count an attempt per shop and address and per shop and ``account`` (an address,
    or the account a reset token names): the login and reset pages' limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = parse(str(current_app.config["RATELIMIT_LOGIN"]))
    uid = current_tenant().uid
    for keys in ((f"api-{kind}-ip", uid, get_remote_address()), (f"api-{kind}", uid, account)):
        if not limiter.limiter.hit(item, *keys):
            metrics.refused_by(f"api-{kind}")
            raise ApiError(429, _("Too many attempts: wait a minute and try again."))


@bp.post("/login")
@operation(
    "login",
    "account",
    "Log a shopper in: a token for the Authentication-Token header",
    ok=(200, envelope(ref("LoginAnswer")), "The token and the account"),
    description="The guest cart named by X-Cart-Token joins the account. Limited "
    "per address and per account, like the login page.",
    body=Credentials,
    params=[CART_TOKEN],
    errors=(401, 403),
)
@public
def login() -> Response:
    data = body(Credentials)
    email = normalize_email(data.email)
    _limit(email)
    user = _known(data.email)
    if user is None or not user.password:
        verify_password(data.password, _decoy_hash())
        raise ApiError(401, _("Wrong email or password."), code="invalid_credentials")
    if not verify_and_update_password(data.password, user) or not user.active:
        raise ApiError(401, _("Wrong email or password."), code="invalid_credentials")
    if (
        security.confirmable
        and user.confirmed_at is None
        and not current_app.config.get("SECURITY_LOGIN_WITHOUT_CONFIRMATION")
    ):
        raise ApiError(403, _("Confirm your email address first: see the mail we sent."))
    if second_factor.has_second_factor(user) or second_factor.required_for(user):
        # A password alone never opens an account that signs in with a code.
        raise ApiError(
            403,
            _(
                "This account signs in with a second factor: sign in on the shop's pages, "
                "or use an API key."
            ),
            code="second_factor_required",
        )
    token = cart_services.header_token()
    if token:
        cart_services.merge_anonymous_cart(user.id, token)
    db.session.commit()
    return _token_answer(user)


def _token_answer(user: Any) -> Response:
    answer = LoginAnswer(
        token=user.get_auth_token(),
        expires_in=_seconds(current_app.config["SECURITY_TOKEN_MAX_AGE"]),
        customer=Customer.model_validate(out.customer(user)),
    )
    return jsonify(data=answer.model_dump(mode="json"))


@bp.post("/token")
@operation(
    "refreshLoginToken",
    "account",
    "A fresh login token for a good one (a day from now)",
    ok=(200, envelope(ref("LoginAnswer")), "The new token and the account"),
    description="Send the token to renew as Authentication-Token; the answer "
    "has a new one that lives a day from now. The one sent keeps working "
    "until it expires (use the new one and forget it); logout ends both. An "
    "expired token cannot be renewed: log in again.",
)
@login_only
def refresh() -> Response:
    """A fresh login token (a day from now) for the good one sent. The one sent keeps
    working until it expires: a client swaps it and forgets it; logout ends both."""
    if not request.headers.get("Authentication-Token"):
        raise ApiError(401, _("Send the login token to renew as Authentication-Token."))
    return _token_answer(current_user._get_current_object())


@bp.post("/logout")
@operation(
    "logout",
    "account",
    "Log the shopper out: every login token of the account stops working",
    ok=(204, None, "Logged out"),
    description="Ends every Authentication-Token of the account at once (all "
    "its apps and devices: 401 from now on), and a page session sent instead "
    "of a token. Sessions on the shop's pages stay. API keys are revoked in "
    "the dashboard instead (403).",
)
@login_only
def logout() -> tuple[str, int]:
    """End every login token of the account (all the shopper's apps and devices: a token
    is not stored, so one cannot end alone); a session sent instead ends too."""
    tokens.revoke_login_tokens(current_user._get_current_object())
    if not request.headers.get("Authentication-Token"):
        logout_user()
    db.session.commit()
    return "", 204


@bp.post("/password-reset")
@operation(
    "requestPasswordReset",
    "account",
    "Mail a password reset link, if the address has an account",
    ok=(202, None, "Sent, if the address has an account"),
    description="Answers 202 whether or not the address has an account (the "
    "API never tells which do); the mail holds a link whose last part is the "
    "token for POST /account/password. Limited per address and per account, "
    "like the reset page.",
    body=ResetRequest,
)
@public
def password_reset_request() -> tuple[str, int]:
    """Mail a reset link to the address if it has an account: 202 either way, the same
    work either way (the outbox job looks the account up), limited like the page."""
    data = body(ResetRequest)
    email = normalize_email(data.email)
    _limit(email, "reset")
    request_password_reset(email)
    db.session.commit()
    return "", 202


@bp.post("/password")
@operation(
    "resetPassword",
    "account",
    "Choose a new password with the token from the reset mail",
    ok=(204, None, "Changed: log in with the new password"),
    description="Every session and login token of the account ends, and so "
    "does the token (it works once). An invalid or expired token is a 422 "
    "naming token; a password the shop refuses a 422 naming password.",
    body=PasswordReset,
)
@public
def password_reset() -> tuple[str, int]:
    """Choose a new password with the token from the reset mail. It ends every session
    and login token of the account, and the token itself (it names the old state)."""
    data = body(PasswordReset)
    expired, invalid, user = reset_password_token_status(data.token)
    _limit(f"account:{user.id}" if user is not None else f"ip:{get_remote_address()}", "reset")
    if invalid or user is None or not user.active:
        raise ApiError(
            422,
            _("This reset link is not valid."),
            fields={"token": _("This reset link is not valid.")},
        )
    if expired:
        raise ApiError(
            422,
            _("This reset link has expired: ask for a new one."),
            fields={"token": _("This reset link has expired: ask for a new one.")},
        )
    form_class = security.forms["reset_password_form"].cls  # the one the reset page uses
    assert form_class is not None  # noqa: S101 - Flask-Security always sets it
    form = form_class(
        formdata=MultiDict({"password": data.password, "password_confirm": data.password}),
        meta={"csrf": False},
    )
    form.user = user
    if not form.validate():
        fields = {name: str(errors[0]) for name, errors in form.errors.items() if errors}
        raise ApiError(422, _("Some fields are invalid."), fields=fields)
    update_password(user, form.password.data)  # new uniquifiers: sessions and tokens end
    db.session.commit()
    return "", 204


def _seconds(value: Any) -> int:
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)


@bp.post("/register")
@operation(
    "register",
    "account",
    "Open an account",
    ok=(202, envelope(ref("Registered")), "Done, if the address had no account"),
    description="Answers the same whether or not the address had an account "
    "(the owner of an existing one gets a mail); then log in, after confirming "
    "the address when the shop asks for it.",
    body=Credentials,
    errors=(403, 409),
)
@public
def register() -> tuple[Response, int]:
    settings = current_tenant().settings
    if settings is not None and not settings.features.registration:
        raise ApiError(403, _("This shop does not take new accounts."))
    if current_user.is_authenticated:
        raise ApiError(409, _("You are logged in already."), code=Conflict.ALREADY_SIGNED_IN)
    data = body(Credentials)
    _limit(normalize_email(data.email))
    form_class = security.forms["register_form"].cls  # the one the register page uses
    assert form_class is not None  # noqa: S101 - Flask-Security always sets it
    form = form_class(
        formdata=MultiDict(
            {"email": data.email, "password": data.password, "password_confirm": data.password}
        ),
        meta={"csrf": False},
    )
    exists = _known(data.email) is not None
    valid = form.validate()
    # The same rules for a known address as for a new one: the answer tells them nothing.
    fields = {
        name: str(errors[0])
        for name, errors in form.errors.items()
        if errors and not (exists and name == "email")
    }
    if fields:
        raise ApiError(422, _("Some fields are invalid."), fields=fields)
    if valid and not exists:
        register_user(form)
        db.session.commit()
    elif exists:
        register_existing(form)  # mails the address's owner that it has an account
    confirm = bool(security.confirmable) and not current_app.config.get(
        "SECURITY_LOGIN_WITHOUT_CONFIRMATION"
    )
    message = (
        "If the address had no account, it has one now: confirm it from the mail we sent, "
        "then log in."
        if confirm
        else "If the address had no account, it has one now: log in with it."
    )
    answer = Registered(confirmation_required=confirm, message=message)
    return jsonify(data=answer.model_dump(mode="json")), 202


# The address book ------------------------------------------------------------------
# The signed-in shopper's own addresses (a key with account:read / account:write: its
# owner's), held to their country's rules as on the address book's page.


def _address(row: Any) -> dict[str, Any]:
    values = values_of(row)
    return SavedAddress(
        id=row.id,
        **values,
        is_default=bool(row.is_default),
        lines=address_lines(values),
        created_at=out.when(row.created_at),
    ).model_dump(mode="json")


def _own_address(address_id: int) -> Any:
    row = addresses.get_address(current_user.id, address_id)
    if row is None:
        raise ApiError(404, _("No such address."))
    return row


def _checked(save: Callable[[], Any]) -> Any:
    """Run a write of the address book; its refusals in the API's shape."""
    try:
        return save()
    except AddressInvalid as exc:
        db.session.rollback()
        raise ApiError(422, _("Some fields are invalid."), fields=exc.errors) from None
    except addresses.AddressBookFull:
        db.session.rollback()
        raise ApiError(
            409,
            _(
                "The address book is full (%(num)s addresses): delete one first.",
                num=addresses.MAX_ADDRESSES,
            ),
            code=Conflict.ADDRESS_BOOK_FULL,
        ) from None


@bp.get("/addresses")
@operation(
    "listAddresses",
    "account",
    "The shopper's address book, the default first",
    ok=(200, envelope({"type": "array", "items": ref("SavedAddress")}), "Every address"),
    description="At most 50 addresses, the default first, then the newest.",
)
@requires_scope("account:read")
def address_list() -> Response:
    """Every address of the shopper (at most ``MAX_ADDRESSES``), the default first."""
    return jsonify(data=[_address(row) for row in addresses.list_addresses(current_user.id)])


@bp.post("/addresses")
@operation(
    "addAddress",
    "account",
    "Save an address in the shopper's address book",
    ok=(201, envelope(ref("SavedAddress")), "Saved"),
    description="Held to its country's rules (a 422 names each field that "
    "does not hold); the account's first address is its default. 409 "
    "`address_book_full` at 50 addresses.",
    body=AddressIn,
    errors=(409,),
    ok_headers=LOCATION,
)
@requires_scope("account:write")
def address_add() -> tuple[Response, int]:
    data = body(AddressIn)
    values = data.model_dump(exclude={"is_default"})
    row = _checked(lambda: addresses.add_address(current_user.id, values, data.is_default))
    db.session.commit()
    response = jsonify(data=_address(row))
    response.headers["Location"] = f"/api/v1/account/addresses/{row.id}"
    return response, 201


@bp.get("/addresses/<int:address_id>")
@operation(
    "getAddress",
    "account",
    "One of the shopper's addresses",
    ok=(200, envelope(ref("SavedAddress")), "The address"),
)
@requires_scope("account:read")
def address_detail(address_id: int) -> Response:
    return jsonify(data=_address(_own_address(address_id)))


@bp.patch("/addresses/<int:address_id>")
@operation(
    "changeAddress",
    "account",
    "Change an address, or make it the default",
    ok=(200, envelope(ref("SavedAddress")), "The address as saved"),
    description="The fields sent replace the saved ones and the result is "
    "checked as a whole, like a new address.",
    body=AddressPatch,
)
@requires_scope("account:write")
def address_change(address_id: int) -> Response:
    row = _own_address(address_id)
    data = body(AddressPatch)
    if data.is_default is False and row.is_default:
        raise ApiError(
            422,
            _("Some fields are invalid."),
            fields={"is_default": _("Make another address the default instead.")},
        )
    changes = data.model_dump(exclude_unset=True, exclude={"is_default"})
    if changes:
        _checked(lambda: addresses.update_address(row, {**values_of(row), **changes}))
    if data.is_default:
        addresses.set_default(current_user.id, row.id)
    db.session.commit()
    return jsonify(data=_address(_own_address(address_id)))


@bp.delete("/addresses/<int:address_id>")
@operation(
    "deleteAddress",
    "account",
    "Delete an address",
    ok=(204, None, "Deleted"),
    description="When it was the default, the newest address left becomes it.",
)
@requires_scope("account:write")
def address_delete(address_id: int) -> tuple[str, int]:
    """Delete an address; when it was the default, the newest left becomes it."""
    if not addresses.delete_address(current_user.id, address_id):
        raise ApiError(404, _("No such address."))
    db.session.commit()
    return "", 204
