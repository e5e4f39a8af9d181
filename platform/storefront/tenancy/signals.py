"""What the tenancy layer announces; higher layers subscribe.

Tenancy sits below accounts and orders, so it never calls them: ``create_shop`` sends
``shop_created`` with the new shop bound, and accounts (roles, the owner) and orders
(the order counter) set themselves up in their receivers, in the same transaction.
Likewise an archive's rows, written below the ORM: ``shop_rows_imported`` lets the
catalog bring what it derives from them up to date before the import commits.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the new ``Tenant`` row (bound); kwargs ``owner_email``, ``owner_password``,
#: ``owner_password_hash``, ``origin`` ("operator" or "signup") and ``signup_id``.
shop_created = _signals.signal("storefront.shop-created")
#: sender: the ``Tenant`` row about to be deleted (its rows go with it).
shop_deleted = _signals.signal("storefront.shop-deleted")
#: sender: the imported ``Tenant`` row; kwargs ``connection`` (the import's) and ``new_ids``
#: (table name -> the archive's id -> the row's id here), once every row is in.
shop_rows_imported = _signals.signal("storefront.shop-rows-imported")
#: sender: the ``Tenant`` row a domain is about to be added to; kwarg ``hostname``. A
#: receiver may refuse by raising (the shop's plan: storefront.plans).
domain_adding = _signals.signal("storefront.domain-adding")
#: sender: the shop's slug; kwargs ``settings`` (the new ``ShopSettings``) and ``previous``
#: (the saved ones, or None), before a ``tenant.toml`` edit is written. A receiver may
#: refuse by raising.
settings_saving = _signals.signal("storefront.settings-saving")
#: sender: the ``Tenant`` row whose ``tenant.toml`` was just replaced (before the commit);
#: kwargs ``before`` and ``after``, the file's tables as dicts (the audit trail's diff).
settings_changed = _signals.signal("storefront.settings-changed")
