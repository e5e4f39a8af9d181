"""Shoppers' reviews of what they bought, moderated by the shop (docs/decisions.md)."""
