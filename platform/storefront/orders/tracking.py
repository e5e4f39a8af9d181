"""Where a shopper follows a shipment: the carrier's tracking page for its number.

The carrier is the text the owner typed when shipping ("UPS", "Royal Mail", "La Poste");
a known one makes the tracking number a link, anything else stays plain text. Each value
put into an address is URL-quoted whole, so a number cannot add a path, a query or a host.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Carrier (as folded by ``_fold``) -> the address of its tracking page. ``{number}`` is the
# tracking number; PostNL also reads the destination's country and postal code.
TRACKING_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}&submit=1",
    "postnl": "https://postnl.nl/tracktrace/?B={number}&P={postal_code}&D={country}&T=C",
    "laposte": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    "dpd": "https://tracking.dpd.de/status/en_US/parcel/{number}",
    "royalmail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "canadapost": (
        "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"
    ),
}
# Other names owners write for the same carriers.
ALIASES = {
    "unitedparcelservice": "ups",
    "unitedstatespostalservice": "usps",
    "federalexpress": "fedex",
    "dhlexpress": "dhl",
    "dhlparcel": "dhl",
    "dhlpaket": "dhl",
    "colissimo": "laposte",
    "postescanada": "canadapost",
}


def _fold(text: str) -> str:
    """ "Royal Mail", "royal-mail" and "ROYALMAIL" are one carrier."""
    return re.sub(r"[\W_]+", "", text.casefold())


def tracking_url(carrier: str, number: str, *, country: str = "", postal_code: str = "") -> str:
    """The carrier's tracking page for ``number``, or "" for an unknown carrier."""
    name = _fold(carrier)
    template = TRACKING_PAGES.get(ALIASES.get(name, name))
    number = "".join(number.split())  # "1Z 999 AA1 0123 4567 84" is typed with spaces
    if template is None or not number:
        return ""
    return template.format(
        number=quote(number, safe=""),
        country=quote(country.strip(), safe=""),
        postal_code=quote("".join(postal_code.split()), safe=""),
    )
