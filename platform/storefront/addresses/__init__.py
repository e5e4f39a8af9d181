"""Addresses: each country's address form and format (Google's address data), and the
address book a signed-in shopper keeps per shop."""
