"""Load and fault drills against gunicorn on MariaDB + Redis (``make drills``)."""

from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PRODUCT_ID = re.compile(r'name="product_id" value="(\d+)"')
# The product page is shareable (no form token): add-to-cart is checked by its origin,
# which a browser sends as Sec-Fetch-Site.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
# What the drills' shoppers type at checkout (plus the form's CSRF token).
CHECKOUT = {
    "email": "drill@example.com",
    "name": "Drill Shopper",
    "address": "1 Loop Road",
    "postal_code": "12345",
    "city": "Loopback",
    "country_area": "NY",  # a US address needs its state (and 12345 is a New York code)
    "country": "US",
    "payment_method": "manual",
}

# An order's confirmation mail is "<shop>: thank you for your order <number>" (orders/mail.py).
CONFIRMATION = re.compile(r"thank you for your order (\S+)$")


def confirmed_order(subject: str) -> str | None:
    """The order number a confirmation mail's subject names; None for any other mail."""
    found = CONFIRMATION.search(subject)
    return found.group(1) if found else None


def s3_settings(endpoint: str) -> dict[str, str]:
    """Shop files in the drill's S3-compatible store (its bucket, fixed credentials)."""
    return {
        "STORAGE_URL": "s3://drill-shops/storefront",
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "drill",
        "S3_SECRET_ACCESS_KEY": "drill",
    }
