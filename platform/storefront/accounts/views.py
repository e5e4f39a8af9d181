"""The shopper's account pages: their details and orders, and their address book."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required
from werkzeug import Response

from ..addresses import services as address_book
from ..addresses.views_model import address_view, values_of
from ..extensions import db
from ..orders.services import order_view, orders_of
from ..shared import signed_in_user
from ..tenancy.context import current_tenant
from .forms import AddressForm

bp = Blueprint("accounts", __name__)


def _user_id() -> int:
    user = signed_in_user()
    if user is None:  # auth_required ran first; never reached
        abort(401)
    return int(user.id)


@bp.route("/account")
@auth_required("session")
def account() -> str:
    """The logged-in shopper's page: their details, default address and orders."""
    user_id = _user_id()
    orders = [order_view(order) for order in orders_of(user_id)]
    default = address_book.default_address(user_id)
    return render_template(
        "account/index.html",
        orders=orders,
        default_address=address_view(default) if default is not None else None,
    )


@bp.route("/account/addresses")
@auth_required("session")
def addresses() -> str:
    """The shopper's address book: their addresses, the default first."""
    rows = address_book.list_addresses(_user_id())
    return render_template("account/addresses.html", addresses=[address_view(row) for row in rows])


@bp.route("/account/addresses/new", methods=["GET", "POST"])
@auth_required("session")
def address_new() -> str | Response:
    """Add an address; its lines follow the country chosen."""
    user_id = _user_id()
    form = AddressForm()
    if request.method == "GET":
        form.country.data = _first_country(form, request.args.get("country", ""))
        form.make_default.data = address_book.default_address(user_id) is None
    if _saving(form):
        try:
            address_book.add_address(user_id, form.address_values(), bool(form.make_default.data))
        except address_book.AddressBookFull:
            flash(
                _("Your address book is full: delete an address to add another."),
                "error",
            )
            return redirect(url_for("accounts.addresses"))
        db.session.commit()
        flash(_("Address saved."), "success")
        return redirect(url_for("accounts.addresses"))
    return _form_page(form, title=_("New address"))


@bp.route("/account/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@auth_required("session")
def address_edit(address_id: int) -> str | Response:
    """Change one of the shopper's addresses (anyone else's: 404)."""
    user_id = _user_id()
    row = address_book.get_address(user_id, address_id)
    if row is None:
        abort(404)
    form = AddressForm()
    if request.method == "GET":
        form.fill(values_of(row))
        form.make_default.data = row.is_default
    if _saving(form):
        address_book.update_address(row, form.address_values())
        if form.make_default.data:
            address_book.set_default(user_id, row.id)
        db.session.commit()
        flash(_("Address saved."), "success")
        return redirect(url_for("accounts.addresses"))
    return _form_page(form, title=_("Edit address"), address_id=row.id)


@bp.route("/account/addresses/<int:address_id>/delete", methods=["GET", "POST"])
@auth_required("session")
def address_delete(address_id: int) -> str | Response:
    """Ask, then delete one of the shopper's addresses (the question is a page of its
    own, so it works without a script)."""
    user_id = _user_id()
    row = address_book.get_address(user_id, address_id)
    if row is None:
        abort(404)
    if request.method == "POST":  # CSRF: checked for every POST (CSRFProtect)
        address_book.delete_address(user_id, row.id)
        db.session.commit()
        flash(_("Address deleted."), "success")
        return redirect(url_for("accounts.addresses"))
    return render_template("account/address_delete.html", address=address_view(row))


@bp.route("/account/addresses/<int:address_id>/default", methods=["POST"])
@auth_required("session")
def address_default(address_id: int) -> Response:
    """Make one of the shopper's addresses their default."""
    if not address_book.set_default(_user_id(), address_id):
        abort(404)
    db.session.commit()
    flash(_("Default address changed."), "success")
    return redirect(url_for("accounts.addresses"))


def _saving(form: AddressForm) -> bool:
    """A submitted form to save (not "update", which shows the new country's lines)."""
    return not request.form.get("update") and form.validate_on_submit()


def _first_country(form: AddressForm, wanted: str) -> str:
    """The country asked for, else the shop's own (from its locale), else the first the
    shop ships to."""
    codes = [choice.value for choice in form.country.choices]  # type: ignore[union-attr]
    settings = current_tenant().settings
    home = settings.locale.split("_")[-1] if settings else ""
    for candidate in (wanted.upper()[:2], home):
        if candidate in codes:
            return candidate
    return codes[0] if codes else ""


def _form_page(form: AddressForm, title: str, address_id: int | None = None) -> str:
    return render_template(
        "account/address_form.html", form=form, layout=form.layout(), title=title,
        address_id=address_id,
    )  # fmt: skip
