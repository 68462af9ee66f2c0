"""The console's "add one subscriber": the checks and writes of `save_subscription` (the API's create, and the
checks `digest subscribers add` makes), for a new address only, then the confirmation mail the public form sends.

Unlike the CLI and the API, which update the subscriber an address names, the form refuses an address already
on the list (the page links to that subscriber instead) and a suppressed one: an admin typing it in is told
why nothing will reach it, rather than adding someone no mail will go to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.regions import RegionIndex
from digest.core.statuses import SubscriptionStatus
from digest.services.form_mails import owe_confirmation
from digest.services.subscriber_editing import check_changes, save_subscription
from digest.services.subscribers import InvalidSubscriber, normalise_email
from digest.services.validation import FieldError, Invalid


@dataclass(frozen=True)
class Added:
    subscriber_id: int
    email: str
    status: str
    warnings: list[str]  # how doubtful regions were read
    mail_owed: bool  # a confirmation mail was recorded: send_form_mails sends it once this is committed


def _refusal(session: Session, ml: models.MailingList, address: str) -> FieldError | None:
    """Why the address cannot be added: it is suppressed (in any case, as the form mails match it), or already
    on the list."""
    held = session.scalar(
        select(models.Suppression.id).where(func.lower(models.Suppression.email) == address.lower()).limit(1)
    )
    if held is not None:
        return FieldError("subs_err_add_suppressed", {"email": address})
    existing = session.scalar(
        select(models.Subscriber.id)
        .join(models.Subscription, models.Subscription.subscriber_id == models.Subscriber.id)
        .where(models.Subscriber.email == address, models.Subscription.list_id == ml.id)
    )
    if existing is not None:
        return FieldError("subs_err_add_exists", {"email": address, "id": existing})
    return None


def add_subscriber(
    session: Session,
    ml: models.MailingList,
    regions: RegionIndex,
    email: str,
    changes: Mapping[str, Any],
    now: datetime,
) -> Added:
    """Adds `email` to the list with `changes` (name, regions, topics, time_zone, locale, and status: confirmed,
    or pending with a confirmation mail); Invalid, with every refused field and nothing written, otherwise."""
    errors: dict[str, FieldError] = {}
    try:
        address = normalise_email(email)
    except InvalidSubscriber:
        errors["email"] = FieldError("subs_err_email", {"value": email.strip()[:320]})
    else:
        if refused := _refusal(session, ml, address):
            errors["email"] = refused
    try:
        check_changes(ml, regions, changes)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    if not str(changes.get("name") or "").strip():
        # Someone on another list keeps the name they have: a form left blank says nothing about it.
        changes = {k: v for k, v in changes.items() if k != "name"}
    sub, _, warnings = save_subscription(session, ml, regions, address, changes)
    owed = sub.status == SubscriptionStatus.PENDING and owe_confirmation(session, sub.subscriber_id, ml.id, now)
    return Added(sub.subscriber_id, sub.subscriber.email, sub.status, warnings, owed)
