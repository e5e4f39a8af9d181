"""Exports and imports that outgrow a request: run as jobs, one per shop at a time.

The dashboard starts one (an orders export to a file, a catalog import from an uploaded
CSV); a row in ``transfers`` says how far it has come, and an outbox row of kind
``transfer`` runs it on the jobs backend: the in-process pool with ``JOBS_BACKEND =
"inline"``, ``tenantctl worker`` with ``"redis"``. Its file lives in the shop's own
storage area, below ``private/`` (never served as media), and only the shop's staff
download it. ``tenantctl catalog import|export`` and ``orders export`` run the same
batched code in the foreground, with a progress bar.
"""

from __future__ import annotations

from .models import Transfer
from .services import TransferBusy, start_catalog_import, start_orders_export

__all__ = ["Transfer", "TransferBusy", "start_catalog_import", "start_orders_export"]
