"""Security headers on every response.

The CSP allows nothing inline: the shipped themes keep all CSS and JS in files (a test
renders every page of both themes and looks for inline code), so an injected
``<script>`` in a product description or a shop override cannot run.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: https:",  # product images may live on a CDN
        "style-src 'self'",
        "script-src 'self'",
        "font-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
HSTS = "max-age=31536000"  # no includeSubDomains: a shop's other hosts are not ours


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CSP)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_headers(app: Flask) -> None:
    app.after_request(security_headers)
