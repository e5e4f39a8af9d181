"""The peer: the same product page from Django + django-tenants (schema per tenant on
PostgreSQL), written as a Django developer would write it. ``bench/peer.py`` sets
it up and measures it beside the platform; nothing of the platform imports it."""
