"""A test send: a digest of an issue addressed to whoever the editor types, marked as a test, never in the
ledger."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.domain import Picks, RenderedDigest
from digest.core.messages import MessageHeaders, write_rendered
from digest.core.rendering import render_digest
from digest.services import NotFound
from digest.services.delivery.digests import Addressee, digest_for, issue_digests
from digest.services.subscribers import InvalidSubscriber, normalise_email, picks_of, subscription_by_email

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

TEST_MARK = {"zh-CN": "[测试]", "en": "[TEST]"}


class InvalidAddress(ValueError):
    """A test-send address we will not put in a header."""


def check_test_address(raw: str) -> str:
    """A single plain address, or InvalidAddress: no line breaks, no second recipient, ASCII only."""
    if not raw or len(raw) > 320 or any(ch in raw for ch in "\r\n\t\0,;<>\"'") or raw != raw.strip():
        raise InvalidAddress(f"{raw!r} is not a single email address")
    try:
        address = normalise_email(raw)
    except InvalidSubscriber as exc:
        raise InvalidAddress(str(exc)) from None
    if not address.isascii():
        raise InvalidAddress(f"{raw!r}: only plain ASCII addresses take a test send")
    return address


@dataclass(frozen=True)
class ComposedTest:
    message: bytes  # as it goes on the wire
    sender: str
    to: str
    subject: str
    article_count: int


def compose_test_send(
    runtime: Runtime, session: Session, issue_id: int, to: str, *, subscriber_email: str | None = None
) -> ComposedTest:
    """`subscriber_email`'s digest (or, without one, the whole issue) addressed to `to`, marked as a test."""
    address = check_test_address(to)
    issue = issue_digests(runtime, session, issue_id)
    ml = session.get_one(models.MailingList, issue.list_id)
    picks, name, language = Picks(), "", ""
    if subscriber_email:  # their copy, in their language; else the whole issue in the list's
        sub = subscription_by_email(session, ml, subscriber_email)
        picks, name, language = picks_of(sub), sub.subscriber.name, sub.subscriber.locale
    # Links are signed for no subscriber (id 0): whoever gets a test copy cannot change anyone's subscription.
    copy = digest_for(runtime, issue, picks, Addressee(address, name, language=language))
    if copy.digest.article_count == 0:
        raise NotFound("no article of this issue matches those picks: there is nothing to send")
    rendered = render_digest(copy.digest, copy.recipient, runtime.templates)
    mark = TEST_MARK.get(copy.digest.language, TEST_MARK["en"])
    rendered = RenderedDigest(f"{mark} {rendered.subject}", rendered.html, rendered.text)
    settings = runtime.settings
    headers = MessageHeaders(
        list_info=issue.info,
        recipient=copy.recipient,
        list_id_domain=settings.link_domain,
        message_id=make_msgid(domain=settings.link_domain),
        date=settings.clock.now().replace(microsecond=0),
        extra_headers={"X-Digest-Test": "yes"},
    )
    message = runtime.signed(write_rendered(rendered, headers))
    return ComposedTest(message, issue.info.sender_email, address, rendered.subject, copy.digest.article_count)


def deliver_test(runtime: Runtime, test: ComposedTest) -> str:
    """Sends a test message over the configured transport; returns where it went. Raises DeliveryError."""
    with runtime.open_transport() as transport:
        return transport.send(test.message, sender=test.sender, recipient=test.to).where
