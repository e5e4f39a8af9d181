"""Sign-up: shops that open themselves on the platform's own domain (docs/operators.md,
"Sign-up"): the pages (``views``), the rules and limits (``rules``), the service
(``services``), the owner's onboarding checklist (``onboarding``)."""

from __future__ import annotations

from flask import Flask

from . import services as _services  # noqa: F401 - connects to shop_created
from .onboarding import bp as onboarding_bp
from .signals import shop_signed_up
from .views import bp

__all__ = ["init_signup", "shop_signed_up"]


def init_signup(app: Flask) -> None:
    """The sign-up pages (answering on the platform's domain only) and the checklist's
    dashboard route."""
    app.register_blueprint(bp)
    app.register_blueprint(onboarding_bp)
