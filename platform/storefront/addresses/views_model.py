"""What templates see of an address: plain read-only views, never ORM rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..shared import SafeView
from .countries import ADDRESS_FIELDS, address_lines


@dataclass(frozen=True)
class AddressView(SafeView):
    id: int
    lines: tuple[str, ...]  # as the country prints it, the country's name last
    phone: str
    is_default: bool

    @property
    def summary(self) -> str:
        """One line, for a list to choose from."""
        return ", ".join(self.lines)


def address_view(row: Any) -> AddressView:
    """A saved address as pages show it."""
    return AddressView(
        id=row.id,
        lines=tuple(address_lines(values_of(row))),
        phone=row.phone or "",
        is_default=bool(row.is_default),
    )


def values_of(row: Any) -> dict[str, str]:
    """The address fields of anything that has them (a saved address, an order)."""
    return {name: str(getattr(row, name, "") or "") for name in ADDRESS_FIELDS}


def format_address(item: Any) -> list[str]:
    """The address of an order, an order's view, a saved address or a mapping, as its
    country prints it, one line per entry (the name first, the country last): the
    ``format_address`` helper templates and mails call."""
    if isinstance(item, Mapping):
        return address_lines({name: str(item.get(name) or "") for name in ADDRESS_FIELDS})
    lines = getattr(item, "address_lines", None)
    if isinstance(lines, tuple | list):
        return list(lines)
    return address_lines(values_of(item))
