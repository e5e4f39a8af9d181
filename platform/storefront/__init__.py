"""storefront: a multi-tenant, white-label storefront platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): importing one module of the package (storefront.extensions, say)
    # must not drag in the whole app, so every module can be imported first.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
