"""What the tenancy layer announces; higher layers subscribe.

Tenancy sits below accounts and orders, so it never calls them: ``create_shop`` sends
``shop_created`` with the new shop bound, and accounts (roles, the owner) and orders
(the order counter) set themselves up in their receivers, in the same transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the new ``Tenant`` row (bound); kwargs ``owner_email``, ``owner_password``.
shop_created = _signals.signal("storefront.shop-created")
#: sender: the ``Tenant`` row about to be deleted (its rows go with it).
shop_deleted = _signals.signal("storefront.shop-deleted")
