"""What a list still needs before its mail can go out well, for the dashboard to say to a first-time admin:
a sender address mail servers will accept, a postal address (anti-spam laws ask for one in every mail), and
whether issues go out on their own."""

from __future__ import annotations

from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from digest.adapters.storage import models

# Domains no mail server delivers from (RFC 2606 and RFC 6761): a sender there is a default left unchanged.
# The list form takes them (list_editing), so a first save need not change the sender; this note warns instead.
LOCAL_ONLY_DOMAINS = ("localhost", "localdomain", "local", "invalid", "test", "example")
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class SetupNote:
    key: str  # a catalogue key (dash_note_*)
    values: dict[str, str | int] = field(default_factory=dict)
    warning: bool = True  # False: worth knowing, nothing to fix


def sender_is_deliverable(address: str) -> bool:
    try:
        domain = validate_email(address, check_deliverability=False).ascii_domain.lower()
    except EmailNotValidError:
        return False
    if domain.rsplit(".", 1)[-1] in LOCAL_ONLY_DOMAINS:
        return False
    return not any(domain == d or domain.endswith("." + d) for d in _EXAMPLE_DOMAINS)


def setup_notes(ml: models.MailingList) -> list[SetupNote]:
    notes = []
    if not sender_is_deliverable(ml.sender_email):
        notes.append(SetupNote("dash_note_sender", {"sender": ml.sender_email}))
    if not (ml.postal_address or "").strip():
        notes.append(SetupNote("dash_note_postal"))
    if ml.schedule_enabled:
        values: dict[str, str | int] = {"weekday": ml.send_weekday, "time": ml.send_time, "zone": ml.time_zone}
        notes.append(SetupNote("dash_note_schedule", values, warning=False))
    else:
        notes.append(SetupNote("dash_note_manual", warning=False))
    return notes
