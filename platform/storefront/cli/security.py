"""``tenantctl security``: the operator's platform-wide sign-in policy."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..accounts import platform_policy
from .common import app_context, fail, ok

app = typer.Typer(help="The platform's sign-in policy for every shop.", no_args_is_help=True)


class Switch(StrEnum):
    on = "on"
    off = "off"


@app.command("staff-second-factor")
def staff_second_factor(
    switch: Annotated[
        Switch | None, typer.Argument(help="on or off; nothing prints the policy.")
    ] = None,
) -> None:
    """Require a second factor of every shop's owners and staff (on), or leave it to each
    shop (off). Who has none is led to set one up at their next page of the dashboard."""
    with app_context():
        try:
            if switch is not None:
                platform_policy.set_staff_second_factor(switch is Switch.on)
            required = platform_policy.staff_second_factor_required()
            path = platform_policy.policy_path()
        except platform_policy.PolicyError as exc:
            fail(str(exc))
            return
    if required:
        ok(f"a second factor is required of every shop's owners and staff ({path})")
    else:
        ok(f"each shop decides whether its staff need a second factor ({path})")
