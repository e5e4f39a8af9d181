"""What the orders layer announces; higher layers subscribe.

Orders sit below accounts, so they never look up who works in the shop: ``place_order``
sends ``order_placed`` and ``set_status`` sends ``order_paid`` (the order bound, inside
the change's transaction), and ``accounts.notifications`` queues the staff's mails.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the new ``Order`` (flushed, with its id and number).
order_placed = _signals.signal("storefront.order-placed")
#: sender: the ``Order`` that has just become paid (once per order).
order_paid = _signals.signal("storefront.order-paid")
