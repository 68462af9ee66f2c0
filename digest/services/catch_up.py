"""The tick's catch-up window: a slot found passed by more than its list allows is let pass, and the list
keeps which one and when, so the console can say why that week has no issue."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from digest.adapters.storage import models
from digest.core.schedule import Slot, next_slot_date, period_end_for, slot_instant, too_late, zone

log = logging.getLogger(__name__)

DEFAULT_CATCH_UP_HOURS = 6.0


def let_pass(ml: models.MailingList, slot: Slot, slot_date: date, now: datetime) -> bool:
    """True when the slot is too late to send (recorded on the list, logged once per slot); False to send it."""
    window = timedelta(hours=ml.catch_up_hours if ml.catch_up_hours is not None else DEFAULT_CATCH_UP_HOURS)
    if not too_late(slot, slot_date, now, window):
        return False
    slot_at = slot_instant(slot, slot_date)
    if ml.missed_slot_at != slot_at:
        ml.missed_slot_at, ml.missed_noticed_at = slot_at, now
        log.warning(
            "list %s: the slot of %s passed %s ago, beyond its catch-up window of %s h: not sent; next slot %s",
            ml.slug,
            slot_at.isoformat(),
            now - slot_at,
            window.total_seconds() / 3600,
            next_slot_date(slot, now).isoformat(),
        )
    return True


def missed_note(ml: models.MailingList, now: datetime) -> dict[str, str] | None:
    """What the console says of the last slot the tick let pass, as a catalogue's parameters; None if none."""
    if ml.missed_slot_at is None or ml.missed_noticed_at is None:
        return None
    from digest.services.issues import list_slot  # here: services.issues imports this module

    local = ml.missed_slot_at.astimezone(zone(ml.time_zone))
    late = ml.missed_noticed_at - ml.missed_slot_at
    return {
        "slot": local.strftime("%Y-%m-%d %H:%M"),
        "period_end": period_end_for(local.date()).isoformat(),
        "late": f"{late.total_seconds() / 3600:.1f}",
        "window": f"{ml.catch_up_hours:g}",
        "next": next_slot_date(list_slot(ml), now).isoformat(),
    }
