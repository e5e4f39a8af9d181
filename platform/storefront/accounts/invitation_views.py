"""The page an invitation's link opens: join the shop's staff with the invited role.

Someone signed in as the invited address accepts with one click; someone with an account
at this shop signs in first (the login brings them back); someone new chooses a password
(the link proves the address) and then signs in through the normal login, so a second
factor the shop requires is set up like anyone else's. A link that is unknown, used,
withdrawn, replaced or another shop's answers 404, an expired one 410, on the shop's page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from ..extensions import db, security
from ..plans import PlanLimitReached
from ..shared import signed_in_user
from . import staff
from .models import StaffInvitation
from .services import AccountError, find_user
from .views_model import role_label

bp = Blueprint("staff_invitation", __name__)


class AcceptForm(FlaskForm):
    submit = SubmitField(_l("Join the staff"))


class NewStaffForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    password_confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create my account"))


def _answer(
    invitation: StaffInvitation | None = None, status: int = 200, **context: object
) -> ResponseReturnValue:
    # Plain values only: a shop's own template renders in the sandbox, which drops rows.
    return render_template(
        "account/staff_invitation.html",
        email=invitation.email if invitation is not None else "",
        role=role_label(invitation.role) if invitation is not None else "",
        **context,
    ), status


@bp.route("/staff-invitation/<token>", methods=["GET", "POST"])
def accept(token: str) -> ResponseReturnValue:
    """Join the shop's staff with the invitation's role (see the module's docstring)."""
    try:
        invitation = staff.invitation_for(token)
    except staff.InvitationExpired as exc:
        return _answer(error=str(exc), status=410)
    except AccountError as exc:
        return _answer(error=str(exc), status=404)
    here = url_for(".accept", token=token)
    user = signed_in_user()
    if user is not None:
        if user.email.lower() != invitation.email.lower():
            return _answer(invitation, mode="other", other=user.email, status=409)
        form = AcceptForm()
        if form.validate_on_submit():
            try:
                staff.accept(invitation, user)
            except (AccountError, PlanLimitReached) as exc:
                db.session.rollback()
                return _answer(
                    invitation, mode="accept", form=form, action=here, error=str(exc), status=409
                )
            db.session.commit()
            flash(_("Welcome to the staff of the shop."), "success")
            return redirect(url_for("admin.index"))
        return _answer(invitation, mode="accept", form=AcceptForm(formdata=None), action=here)
    if find_user(invitation.email) is not None:
        login = url_for("security.login") + "?" + urlencode({"next": here})
        return _answer(invitation, mode="login", login=login)
    form = NewStaffForm()
    if form.validate_on_submit():
        problems, password = security._password_util.validate(form.password.data or "", True)
        if problems:
            form.password.errors = [*form.password.errors, *problems]
        else:
            try:
                staff.accept_new(invitation, form.name.data or "", password)
            except (AccountError, PlanLimitReached) as exc:
                db.session.rollback()
                form.password.errors = [*form.password.errors, str(exc)]
            else:
                db.session.commit()
                flash(_("Your account is ready: sign in to open the dashboard."), "success")
                return redirect(url_for("security.login") + "?" + urlencode({"next": "/admin/"}))
    return _answer(
        invitation, mode="new", form=form, action=here, status=400 if form.errors else 200
    )
