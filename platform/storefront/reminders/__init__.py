"""Carts that come back: one reminder for a cart left at checkout, with the shopper's
consent and the owner's switch (see ``services``)."""
