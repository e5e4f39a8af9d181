"""Flask-Security's datastore, with every lookup held to the bound shop.

The global scoping hook already filters these queries; the explicit ``tenant_id``
criterion here makes the intent visible and survives anyone calling the datastore
inside ``all_tenants()``.
"""

from __future__ import annotations

from typing import Any

from flask_security import SQLAlchemyUserDatastore
from sqlalchemy import func, select

from ..tenancy.context import current_tenant
from .models import Role, User, WebAuthn


class ShopUserDatastore(SQLAlchemyUserDatastore):
    def find_user(self, case_insensitive: bool = False, **kwargs: Any) -> User | None:
        ((attr, value),) = kwargs.items()
        column = getattr(User, attr)
        condition = func.lower(column) == func.lower(value) if case_insensitive else column == value
        stmt = select(User).where(User.tenant_id == current_tenant().id, condition)
        return self.db.session.scalar(stmt)

    def find_role(self, role: str) -> Role | None:
        stmt = select(Role).where(Role.tenant_id == current_tenant().id, Role.name == role)
        return self.db.session.scalar(stmt)

    def find_webauthn(self, credential_id: bytes) -> WebAuthn | None:
        """A passkey of the bound shop: another shop's, whatever its id, is unknown here."""
        stmt = select(WebAuthn).where(
            WebAuthn.tenant_id == current_tenant().id, WebAuthn.credential_id == credential_id
        )
        return self.db.session.scalar(stmt)
