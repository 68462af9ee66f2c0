"""Sending the public form's mails: a confirmation to a new address, a note to a confirmed one.

The subscribe request records its mail as a `form_mails` row in the statement that records the request
(self_service.request_subscription), and answers; `send_form_mails` sends the waiting rows in batches,
all over one connection to the mail server, and deletes what went. Without a broker the web process calls
it in the request, as every task runs without one; with one, a worker does (`digest.send_form_mails`, asked
for by `SendSoon`, and by the tick for anything left). A request no longer waits on the mail server, a
server that says "later" costs no confirmation, and a flood of sign-ups reuses connections.

A sender that dies between the server's "250" and the DELETE sends that mail again once `HOLD_FOR` has
passed: a confirmation may come twice, never not at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.adapters.transports import PermanentDeliveryError, TemporaryDeliveryError, Transport
from digest.core.bounces.verp import return_path
from digest.core.form_mail import CONFIRM, FormMailButton, FormMailTo, build_form_mail
from digest.core.tokens import sign_token
from digest.services.lists import FormList, form_list_by_id

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 200
# Long enough for a batch over a slow server; short enough that a dead sender's mails go out soon after.
HOLD_FOR = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5

_MAIL = models.FormMail


@dataclass
class FormMailReport:
    sent: int = 0
    retry: int = 0  # the server said "later", or could not be reached
    dropped: int = 0  # refused for good (5xx), or "later" MAX_ATTEMPTS times

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retry": self.retry, "dropped": self.dropped}


@dataclass(frozen=True)
class _Waiting:
    id: int
    kind: str
    attempts: int
    subscriber_id: int
    to: FormMailTo
    list_id: int


def send_form_mails(runtime: Runtime) -> FormMailReport:
    """Sends the form mails waiting now, a batch at a time over one connection, until a batch is not full;
    returns what became of them."""
    report = FormMailReport()
    sender = _Sender(runtime)
    try:
        while True:
            now = runtime.clock.now()
            waiting = _take(runtime, now)
            if not waiting:
                return report
            sent, later, dropped = sender.send(waiting, now)
            with runtime.transaction() as session:
                if sent or dropped:
                    session.execute(delete(_MAIL).where(among(session, _MAIL.id, [*sent, *dropped])))
                if later:
                    session.execute(
                        update(_MAIL)
                        .where(among(session, _MAIL.id, later))
                        .values(held_until=now + RETRY_AFTER, attempts=_MAIL.attempts + 1)
                    )
            report.sent += len(sent)
            report.retry += len(later)
            report.dropped += len(dropped)
            if later:
                return report  # the server is saying "later": the rest waits for the next call
            if len(waiting) < BATCH:
                # What came in meanwhile came with its own request for a call (`SendSoon`): chasing it here
                # makes a flood of sign-ups a stream of batches of a few mails, each paying a batch's
                # round trips (3× the CPU a mail, measured under bench.http's load).
                return report
    finally:
        sender.close()


def owe_confirmation(session: Session, subscriber_id: int, list_id: int, now: datetime) -> bool:
    """Records a confirmation mail to the subscriber for the list, as the public form does (`send_form_mails`
    sends it); False, and nothing recorded, when their address is suppressed (in any case, as the form
    matches it). For `digest subscribers add`, an admin's act: no daily cap."""
    person, held = models.Subscriber, models.Suppression
    suppressed = session.scalar(
        select(held.id)
        .join(person, func.lower(held.email) == func.lower(person.email))
        .where(person.id == subscriber_id)
        .limit(1)
    )
    if suppressed is not None:
        return False
    session.add(_MAIL(subscriber_id=subscriber_id, list_id=list_id, kind=CONFIRM, created_at=now, attempts=0))
    session.flush()
    return True


def waiting_form_mails(runtime: Runtime) -> bool:
    """True when some form mail may be sent now (the tick's question)."""
    with runtime.sessions() as session:
        return session.scalar(select(_MAIL.id).where(_due(runtime.clock.now())).limit(1)) is not None


def _due(now: datetime):
    return or_(_MAIL.held_until.is_(None), _MAIL.held_until <= now)


def _take(runtime: Runtime, now: datetime) -> list[_Waiting]:
    """Holds up to BATCH waiting rows for this sender until now + HOLD_FOR; SKIP LOCKED lets senders share."""
    person = models.Subscriber
    due = select(_MAIL.id).where(_due(now)).order_by(_MAIL.id).limit(BATCH).with_for_update(skip_locked=True)
    with runtime.transaction() as session:
        held = session.execute(
            update(_MAIL)
            .where(_MAIL.id.in_(due.scalar_subquery()))
            .values(held_until=now + HOLD_FOR)
            .returning(_MAIL.id, _MAIL.kind, _MAIL.attempts, _MAIL.subscriber_id, _MAIL.list_id)
        ).all()
        if not held:
            return []
        people = {
            row.id: FormMailTo(row.email, row.name or "", row.locale)
            for row in session.execute(
                select(person.id, person.email, person.name, person.locale).where(
                    among(session, person.id, [h.subscriber_id for h in held])
                )
            )
        }
    # A row whose person is gone went with them (ON DELETE CASCADE); one deleted meanwhile is skipped.
    return [
        _Waiting(h.id, h.kind, h.attempts, h.subscriber_id, people[h.subscriber_id], h.list_id)
        for h in sorted(held, key=lambda h: h.id)
        if h.subscriber_id in people
    ]


class _Sender:
    """One call's connection to the mail server, opened for its first batch and kept for the rest, and the
    lists its mails come from, each read once: a flood of sign-ups is many batches."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.transport: Transport | None = None
        self.lists: dict[int, FormList | None] = {}

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def send(self, waiting: list[_Waiting], now: datetime) -> tuple[list[int], list[int], list[int]]:
        """(sent, later, dropped) row ids. A connection lost puts the rest of the batch off."""
        settings = self.runtime.settings
        sent: list[int] = []
        later: list[int] = []
        dropped: list[int] = []
        if self.transport is None:
            try:
                self.transport = self.runtime.open_transport()
            except (OSError, ValueError) as exc:
                log.warning("form mails: cannot reach the mail server (%s); %d wait", exc, len(waiting))
                return [], [w.id for w in waiting], []
        for index, mail in enumerate(waiting):
            info = self._list(mail.list_id)
            if info is None:
                dropped.append(mail.id)
                continue
            purpose, path = ("confirm", "confirm") if mail.kind == CONFIRM else ("preferences", "p")
            token = sign_token(settings.secret_key, purpose, mail.subscriber_id, info.info.slug)
            message = build_form_mail(
                self.runtime.templates,
                info.info,
                mail.to,
                FormMailButton(mail.kind, f"{settings.base_url}/{path}/{token}"),
                link_domain=settings.link_domain,
                now=now,
            )
            try:
                self.transport.send(
                    message, sender=self._return_path(info, mail.subscriber_id), recipient=mail.to.email
                )
            except PermanentDeliveryError as exc:
                log.warning("form mail to %s refused: %s", mail.to.email, exc)
                dropped.append(mail.id)
            except (TemporaryDeliveryError, OSError) as exc:
                # The answer never depended on the address, so this is only logged; the row waits.
                log.warning("form mail to %s put off: %s", mail.to.email, exc)
                given_up = mail.attempts + 1 >= MAX_ATTEMPTS
                (dropped if given_up else later).append(mail.id)
                if isinstance(exc, OSError):  # the connection is gone: the rest wait too
                    later.extend(w.id for w in waiting[index + 1 :])
                    self.close()
                    break
            else:
                sent.append(mail.id)
        return sent, later, dropped

    def _return_path(self, form_list: FormList, subscriber_id: int) -> str:
        """A form mail's own VERP address (kind "f", the subscriber's), so a bad address given on the form
        bounces into the loop like an issue's copy; without a bounce domain, the list's sender."""
        settings = self.runtime.settings
        domain = form_list.bounce_domain or settings.loop.bounce_domain
        if domain is None:
            return form_list.info.sender_email
        return return_path(settings.secret_key, domain, subscriber_id, "f")

    def _list(self, list_id: int) -> FormList | None:
        if list_id not in self.lists:
            with self.runtime.sessions() as session:
                self.lists[list_id] = form_list_by_id(session, list_id)
        return self.lists[list_id]


class SendSoon:
    """Asks for the waiting form mails to be sent a moment from now, once for every request in that moment:
    a flood of sign-ups makes a task every `delay` seconds per process, not one a request. It is called after
    the request's row is committed, and the task is asked for after the call, so it finds the row."""

    def __init__(self, ask: Callable[[], None], delay: float = 0.5) -> None:
        self._ask = ask
        self._delay = delay
        self._lock = threading.Lock()
        self._pending = False

    def __call__(self) -> None:
        with self._lock:
            if self._pending:
                return
            self._pending = True
        timer = threading.Timer(self._delay, self._fire)
        timer.daemon = True
        timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._pending = False
        try:
            self._ask()
        except Exception:
            log.warning("could not ask the workers to send form mails; the next tick will", exc_info=True)
