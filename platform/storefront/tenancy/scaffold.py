"""The commented ``tenant.toml`` a new shop starts from."""

from __future__ import annotations

import json

TEMPLATE = """\
# Settings of the shop "{slug}". Operator-owned: change them with
#   tenantctl config set {slug} KEY VALUE
# (validated before writing) or by hand, then run `tenantctl check {slug}`.

# The shop's display name, in pages, mails and the browser title.
name = {name}
# One of the shipped themes (`tenantctl theme list`).
theme = {theme}
# Locale and ISO 4217 currency used to format prices.
locale = {locale}
currency = {currency}
# Where shoppers can write to; shown in the footer and in mails.
# contact_email = "hello@example.com"

[branding]
# Colours are CSS hex values; they become CSS custom properties the themes use.
primary_color = "#1f4e79"
accent_color = "#e8590c"
background_color = "#ffffff"
text_color = "#1d1d1f"
font_family = "system-ui, -apple-system, 'Segoe UI', sans-serif"
# Paths below the shop's static/ folder, e.g. "img/logo.svg".
# logo = "img/logo.svg"
# favicon = "img/favicon.svg"
footer_text = ""

[features]
# Can shoppers create accounts? (false: /register answers 404)
registration = true
# Must shoppers confirm their email before they can log in?
confirm_email = false

[mail]
# Sender of the shop's mails, e.g. "Acme <shop@acme.example>".
# sender = ""
footer = ""

[shipping]
label = "Standard shipping"
# Flat rate in minor units (cents): 500 is 5.00.
flat_rate = 0

[payment]
instructions = "Pay by bank transfer; we ship when the payment arrives."

# Whitelisted platform settings this shop overrides, e.g.
# [config]
# PRODUCTS_PER_PAGE = 24
"""


def render_settings(
    slug: str, name: str, theme: str, locale: str = "en_US", currency: str = "USD"
) -> str:
    return TEMPLATE.format(
        slug=slug,
        name=json.dumps(name),
        theme=json.dumps(theme),
        locale=json.dumps(locale),
        currency=json.dumps(currency),
    )
