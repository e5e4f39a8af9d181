"""storefront: a multi-tenant, white-label storefront platform."""

from .app import create_app

__all__ = ["create_app"]
