"""The delivery loop's services: store what came back (`record_events`), act on it (`apply_events`), read the
bounce mailbox (`poll_mailbox`), and keep each inbound source's health (`note_source`)."""

from digest.services.bounces.applying import Decision, apply_events
from digest.services.bounces.recording import PENDING, record_events
from digest.services.bounces.sources import note_source

__all__ = ["PENDING", "Decision", "apply_events", "note_source", "record_events"]
