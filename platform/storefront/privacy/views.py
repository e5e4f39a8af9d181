"""Where people reach their data: the shopper's privacy page (download, close the
account) and the owner's export and erasure of one customer."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_security import auth_required, logout_user
from flask_security.utils import verify_password
from werkzeug import Response

from ..accounts.dashboard import permission, protect
from ..accounts.models import User
from ..downloads import streamed_attachment
from ..extensions import db
from ..shared import signed_in_user
from ..tenancy.context import current_tenant
from ..tenancy.settings import Privacy
from ..themes.loader import platform_templates_only
from . import services

bp = Blueprint("privacy", __name__)
admin_bp = Blueprint("admin_privacy", __name__, url_prefix="/admin/customers")

CONFIRM_WORD = "ERASE"  # what an owner types to erase a customer


def _download(email: str) -> Response:
    """The person's data as a JSON attachment, written while it is sent."""
    name = f"{current_tenant().slug}-{email.replace('@', '-at-')}.json"
    return streamed_attachment(lambda: services.person_data(email), name, "application/json")


# The shopper's ----------------------------------------------------------------------------


def _me() -> User:
    user = signed_in_user()
    if user is None:  # auth_required ran first
        abort(401)
    return user


def _rules() -> dict[str, int | None]:
    """The shop's retention as plain values: a shop's own theme renders these pages in
    the sandbox, which hands templates plain values only (a settings object is dropped)."""
    settings = current_tenant().settings
    rules = settings.privacy if settings is not None else Privacy()
    return {
        "guest_data_days": rules.guest_data_days,
        "inactive_account_days": rules.inactive_account_days,
    }


@bp.route("/privacy")
def public() -> str:
    """What the shop keeps about its shoppers and for how long, for anyone to read."""
    return render_template("privacy/index.html", rules=_rules())


@bp.route("/account/privacy")
@auth_required("session")
def page() -> str:
    """What the shop keeps about the shopper, a download of it, and closing the account."""
    user = _me()
    staff = user.is_staff
    return render_template("account/privacy.html", staff=staff, error=None, rules=_rules())


@bp.route("/account/privacy/data.json")
@auth_required("session")
def download() -> Response:
    """Everything the shop holds about the signed-in shopper, as JSON."""
    email = _me().email
    return _download(email)


@bp.route("/account/close", methods=["POST"])
@auth_required("session")
def close() -> ResponseReturnValue:
    """Close the account: the password again, then the person is erased from the shop
    (orders stay, anonymised, for the shop's books) and signed out everywhere."""
    user = _me()
    if not verify_password(request.form.get("password", ""), user.password or ""):
        db.session.rollback()
        return render_template(
            "account/privacy.html",
            staff=False,
            error=_("That is not your password: your account stays open."),
            rules=_rules(),
        ), 400
    if user.is_staff:
        return render_template("account/privacy.html", staff=True, error=None, rules=_rules()), 409
    email = user.email
    logout_user()  # while the account is still there to sign out of
    services.erase(email)
    db.session.commit()
    flash(_("Your account is closed and the shop no longer holds your data."), "success")
    return redirect(url_for("pages.index"))


# The owner's ------------------------------------------------------------------------------


# A customer's whole data, and erasing it: customers:write (the owner's).
protect(admin_bp)
platform_templates_only(admin_bp)  # the dashboard's pages, never a theme's (nor its sandbox)


def _customer(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@admin_bp.route("/<int:user_id>/data.json")
@permission("customers:write")
def customer_data(user_id: int) -> Response:
    """Everything the shop holds about one customer (their account and orders)."""
    user = _customer(user_id)
    return _download(user.email)


@admin_bp.route("/<int:user_id>/erase", methods=["GET", "POST"])
@permission("customers:write")
def customer_erase(user_id: int) -> ResponseReturnValue:
    """Ask (typing ERASE), then erase one customer."""
    user = _customer(user_id)
    error = None
    if request.method == "POST":
        if request.form.get("confirm", "").strip().upper() != CONFIRM_WORD:
            error = _("Type %(word)s to erase this customer.", word=CONFIRM_WORD)
        else:
            try:
                done = services.erase(user.email)
            except services.PrivacyRefused:
                db.session.rollback()
                error = _("This account is staff of the shop: take its roles away first.")
            else:
                db.session.commit()
                flash(
                    _(
                        "Customer erased: their account is gone and %(num)s orders no longer "
                        "name them.",
                        num=done.orders,
                    ),
                    "success",
                )
                return redirect(url_for("admin.customers"))
    return render_template(
        "admin/customer_erase.html", customer=user, word=CONFIRM_WORD, error=error
    ), (400 if error else 200)
