"""A newsletter file's footer (its credits, contact address and postal address) offered to its list when the
file is ingested: it fills the list's fields that are empty, and where the list already says something else,
the report says so and the list keeps its own. The parser reads the footer (core/ingest/newsletter.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.domain import ParseResult
from digest.services.list_editing import update_list
from digest.services.validation import Invalid

# The list's fields a footer fills, in the order the footer shows them.
FOOTER_FIELDS = ("credits", "contact_email", "postal_address")


@dataclass(frozen=True)
class FooterOffer:
    """What became of a file's footer: each a tuple of FOOTER_FIELDS names."""

    applied: tuple[str, ...] = ()  # the list had none: the file's now fills it
    differing: tuple[str, ...] = ()  # the list says otherwise: kept, the file's not applied
    refused: tuple[str, ...] = ()  # the list's checks refuse the file's (too long, not an address): not applied


def footer_of(parsed: ParseResult) -> dict[str, Any]:
    """The file's footer as the list's fields: credits without the address, which has a field of its own."""
    offered: dict[str, Any] = {}
    credits = [[label, value] for label, value in parsed.credits if not label.endswith("地址")]
    addresses = [value for label, value in parsed.credits if label.endswith("地址")]
    if credits:
        offered["credits"] = credits
    if parsed.contact_email:
        offered["contact_email"] = parsed.contact_email
    if addresses:
        offered["postal_address"] = addresses[0]
    return offered


def _normal(name: str, value: Any) -> Any:
    """A field as compared: an address without case, the postal address without outer spaces."""
    if name == "contact_email":
        return str(value or "").lower()
    if name == "postal_address":
        return str(value or "").strip()
    return [[str(label), str(text)] for label, text in value or []]


def offer_footer(session: Session, ml: models.MailingList, parsed: ParseResult) -> FooterOffer:
    """Fill the list's empty footer fields from the file's; report those where the two differ."""
    offered = footer_of(parsed)
    if not offered:
        return FooterOffer()
    current = {name: _normal(name, getattr(ml, name)) for name in offered}
    empty = {name: value for name, value in offered.items() if not current[name]}
    differing = tuple(
        name for name, value in offered.items() if current[name] and current[name] != _normal(name, value)
    )
    refused: tuple[str, ...] = ()
    try:
        update_list(session, ml, empty)
    except Invalid as exc:  # nothing was written: write what the checks let through
        refused = tuple(name for name in FOOTER_FIELDS if name in exc.errors)
        empty = {name: value for name, value in empty.items() if name not in exc.errors}
        update_list(session, ml, empty)
    return FooterOffer(tuple(n for n in FOOTER_FIELDS if n in empty), differing, refused)
