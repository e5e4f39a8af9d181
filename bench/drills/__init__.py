"""Load and fault drills against gunicorn on MariaDB + Redis (``make drills``)."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PRODUCT_ID = re.compile(r'name="product_id" value="(\d+)"')
# What the drills' shoppers type at checkout (plus the form's CSRF token).
CHECKOUT = {
    "email": "drill@example.com",
    "name": "Drill Shopper",
    "address": "1 Loop Road",
    "postal_code": "12345",
    "city": "Loopback",
    "country": "US",
    "payment_method": "manual",
}
