"""A person's data in one shop: its export and its erasure (see ``services``)."""
