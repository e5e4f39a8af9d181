"""The dashboard's Staff page: who works on the shop with which role, invitations by mail
(sent, resent, withdrawn), changing a role and removing someone. Reading it needs
``staff:read``, every change ``staff:write`` (the owner's). The rules live in
``accounts.staff``; the last owner keeps their role whatever is sent here.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..accounts import staff
from ..accounts.dashboard import can, permission, protect
from ..accounts.services import AccountError
from ..accounts.views_model import ROLE_SUMMARIES, role_label
from ..extensions import db
from ..permissions import STAFF_ROLES
from ..plans import PlanLimitReached
from ..shared import signed_in_user
from ..tenancy.models import utcnow
from ..themes.loader import platform_templates_only
from .forms import ConfirmForm

bp = Blueprint("admin_staff", __name__, url_prefix="/admin/staff")
platform_templates_only(bp)
protect(bp)  # a session, then the permission each route declares


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, role_label(role)) for role in STAFF_ROLES]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=255)])
    role = SelectField(_l("Role"))
    submit = SubmitField(_l("Send the invitation"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"))
    submit = SubmitField(_l("Change role"))


def _invite_form(formdata: bool = True) -> InviteForm:
    form = InviteForm(prefix="invite") if formdata else InviteForm(prefix="invite", formdata=None)
    form.role.choices = _role_choices()
    if not form.is_submitted() or not formdata:
        form.role.data = "manager"
    return form


def _page(invite: InviteForm | None = None, status: int = 200) -> ResponseReturnValue:
    members = staff.members()
    role_forms: dict[int, RoleForm] = {}
    for member in members:
        form = RoleForm(prefix=f"m{member.id}", formdata=None)
        form.role.choices = _role_choices()
        form.role.data = member.role
        role_forms[member.id] = form
    return render_template(
        "admin/staff.html",
        members=members,
        role_forms=role_forms,
        invitations=staff.pending(),
        invite=invite or _invite_form(formdata=False),
        confirm=ConfirmForm(),
        now=utcnow(),
        me=getattr(current_user, "id", None),
        writable=can("staff:write"),
        summaries=[(role_label(role), ROLE_SUMMARIES[role]) for role in STAFF_ROLES],
    ), status


@bp.route("/")
@permission("staff")
def index() -> ResponseReturnValue:
    """The shop's staff, pending invitations and the invitation form."""
    return _page()


@bp.route("/invite", methods=["POST"])
@permission("staff")
def invite() -> ResponseReturnValue:
    """Invite an address with a role; the mail goes out once this commits."""
    form = _invite_form()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        invitation = staff.invite(form.email.data or "", form.role.data or "", signed_in_user())
    except (AccountError, PlanLimitReached) as exc:
        db.session.rollback()
        form.email.errors = [*form.email.errors, str(exc)]
        return _page(form, 400)
    db.session.commit()
    flash(
        _(
            "Invitation sent to %(email)s as %(role)s.",
            email=invitation.email,
            role=role_label(invitation.role),
        ),
        "success",
    )
    return redirect(url_for(".index"))


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _done(message: str) -> ResponseReturnValue:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".index"))


def _refused(exc: AccountError) -> ResponseReturnValue:
    db.session.rollback()
    flash(str(exc), "error")
    return redirect(url_for(".index"))


@bp.route("/<int:user_id>/role", methods=["POST"])
@permission("staff")
def change_role(user_id: int) -> ResponseReturnValue:
    """Give a member another role (the last owner stays owner)."""
    form = RoleForm(prefix=f"m{user_id}")
    form.role.choices = _role_choices()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = staff.change_role(user_id, form.role.data or "")
    except AccountError as exc:
        return _refused(exc)
    return _done(
        _("%(email)s is now %(role)s.", email=user.email, role=role_label(form.role.data or ""))
    )


@bp.route("/<int:user_id>/remove", methods=["POST"])
@permission("staff")
def remove(user_id: int) -> ResponseReturnValue:
    """Take someone off the staff (their account stays; the last owner stays)."""
    _confirmed()
    try:
        user = staff.remove_member(user_id)
    except AccountError as exc:
        return _refused(exc)
    return _done(_("%(email)s is no longer on the staff.", email=user.email))


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@permission("staff")
def resend(invitation_id: int) -> ResponseReturnValue:
    """Mail an invitation again with a new link (the older link stops working)."""
    _confirmed()
    try:
        invitation = staff.resend(invitation_id)
    except AccountError as exc:
        return _refused(exc)
    return _done(_("Invitation sent to %(email)s again.", email=invitation.email))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@permission("staff")
def revoke(invitation_id: int) -> ResponseReturnValue:
    """Withdraw an invitation: its link opens nothing any more."""
    _confirmed()
    try:
        invitation = staff.revoke(invitation_id)
    except AccountError as exc:
        return _refused(exc)
    return _done(_("The invitation to %(email)s is withdrawn.", email=invitation.email))
