"""The owner's view of the shop's plan: each limit, used against allowed, and what the
other plans allow (so the message "the plan … lifts it" has a page to point at)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from .. import plans
from ..accounts.dashboard import permission, protect
from ..plans.services import FEATURE_LABELS, LABELS, number
from ..themes.loader import platform_templates_only

bp = Blueprint("admin_plan", __name__, url_prefix="/admin/plan")
platform_templates_only(bp)


protect(bp)  # a session, then the permission each route declares


@bp.route("/")
@permission("settings:read")  # the plan is the owner's business (and the platform's)
def index() -> ResponseReturnValue:
    """The shop's plan: used / allowed for each limit, with a bar; the features it has."""
    plan = plans.current_plan()
    others = [p for p in plans.all_plans().plans.values() if p.name != plan.name]
    return render_template(
        "admin/plan.html",
        plan=plan,
        usage=plans.usage(),
        features=[(str(FEATURE_LABELS[f]), plan.allows(f)) for f in plans.FEATURES],
        others=others,
        limits=[(limit, str(LABELS[limit])) for limit in plans.LIMITS],
        number=number,
        feature_labels={f: str(FEATURE_LABELS[f]) for f in plans.FEATURES},
    )
