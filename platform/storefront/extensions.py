"""Extensions, created unbound and bound to the app in ``create_app``.

The lowest layer: it imports nothing of the platform. Shop scoping attaches itself to
``PlatformSession`` from ``tenancy.scoping`` (events, and the ``get`` guard below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import flask_sqlalchemy.session
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints: Alembic's batch mode on SQLite and drops on MySQL need names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PlatformSession(flask_sqlalchemy.session.Session):
    """The platform's database session. ``tenancy.scoping`` sets ``get_guard`` (and listens
    to this class's events), so every lookup is held to the bound shop."""

    get_guard: ClassVar[Callable[[Any], Any] | None] = None

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        obj = super().get(entity, ident, **kwargs)
        guard = PlatformSession.get_guard
        if guard is None:
            raise RuntimeError("storefront.tenancy.scoping is not loaded: refusing get()")
        return guard(obj)


db = SQLAlchemy(model_class=Base, session_options={"class_": PlatformSession})
# The models' base: ``db.Model`` at run time; type checkers see the declarative base.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
cache = Cache()
mail = Mail()
csrf = CSRFProtect()


class ShopSecurity(Security):
    """Flask-Security with email confirmation decided per shop.

    Flask-Security reads ``confirmable`` as an attribute during requests (registration,
    mails, login); here it asks ``confirm_policy`` (set by ``accounts``: the bound shop's
    ``features.confirm_email``), so a shop that does not confirm never says "confirm".
    With no shop bound (start-up, when the confirm routes are registered) it is the
    platform's value.
    """

    confirm_policy: Callable[[], bool | None] = staticmethod(lambda: None)

    @property  # type: ignore[override]
    def confirmable(self) -> bool:
        per_shop = self.confirm_policy()
        return bool(self._confirmable) if per_shop is None else per_shop

    @confirmable.setter
    def confirmable(self, value: bool) -> None:
        self._confirmable = value


security = ShopSecurity()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
