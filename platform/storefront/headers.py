"""Security headers on every response.

The CSP allows nothing inline: the shipped themes keep all CSS and JS in files (a test
renders every page of both themes and looks for inline code), so an injected
``<script>`` in a product description or a shop override cannot run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

# Where a form's redirect may lead besides the shop: a payment provider's hosted page
# (Chromium applies form-action to the redirect after a POST, so checkout needs it).
PAYMENT_PAGES = ("https://checkout.stripe.com",)


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data: https:",  # product images may live on a CDN
            "style-src 'self'",
            "script-src 'self'",
            "font-src 'self' data:",
            " ".join(["form-action 'self'", *form_targets]),
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


CSP = content_security_policy(PAYMENT_PAGES)
HSTS = "max-age=31536000"  # no includeSubDomains: a shop's other hosts are not ours


def security_headers(response: Response) -> Response:
    """Each header unless the view set its own (one pass over the response's headers: a
    ``setdefault`` each would scan them five times)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", current_app.extensions["storefront.csp"]),
    ):
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    return response


def init_headers(app: Flask) -> None:
    targets: tuple[str, ...] = PAYMENT_PAGES
    base = app.config.get("STRIPE_API_BASE")
    if base:  # a local Stripe (tests, the demo) serves its hosted page itself
        parts = urlsplit(base)
        targets = (*targets, f"{parts.scheme}://{parts.netloc}")
    app.extensions["storefront.csp"] = content_security_policy(targets)
    app.after_request(security_headers)
