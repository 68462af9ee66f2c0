"""The two standard reports: delivery status notifications (RFC 3464) and feedback reports (ARF, RFC 5965).

A DSN names each recipient it is about with what happened (Action) and why (Status, Diagnostic-Code); an ARF
report says a recipient marked a mail as spam, often with the recipient's address redacted (Yahoo, Microsoft),
so the returned original's return path and List-Unsubscribe token are what name them then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parseaddr

from digest.core.bounces.events import EventKind
from digest.core.bounces.judging import ENHANCED, Finding, code_in, judge
from digest.core.bounces.mailtext import MailParts, field_blocks, first_address, header_text, one_line, parse_date

# Action values and what they mean for us (RFC 3464 section 2.3.3). Only "failed" is a bounce: the server gave
# up. "delayed" is a warning that it is still trying; the outcome comes later as "failed" or as nothing at
# all (delivered), so counting the delay as well would count one problem twice, and would score every
# greylisting server's first refusal. "delivered", "relayed" and "expanded" are successes. opensmtpd writes
# "error" for "failed".
_FAILED = ("failed", "error")

# Feedback types (RFC 5965, 6650) that are a recipient's complaint: a complaint suppresses the address and
# unsubscribes it from every list, so only the two that say a person called the mail spam or a fraud count.
# "not-spam" is the opposite (nothing to do). "auth-failure" (RFC 6591: our DKIM/SPF failing), "virus" (a
# filter's verdict, not the recipient's) and "other" are for a person to read, not for a suppression.
COMPLAINT_TYPES = frozenset({"abuse", "fraud"})
NOT_COMPLAINTS = frozenset({"not-spam"})


@dataclass(frozen=True, slots=True)
class Report:
    """What a report part said: its findings, or why it says nothing to act on (`why` None: understood)."""

    findings: tuple[Finding, ...]
    why: str | None = None


def read_dsn(parts: MailParts, mail_date: datetime | None) -> Report:
    findings: list[Finding] = []
    blocks_seen = 0
    for part in parts.statuses:
        blocks = field_blocks(part)
        if not blocks:
            continue
        # Some servers leave out the per-message block and start with a recipient's.
        starts_with_recipient = "Action" in blocks[0] or "Final-Recipient" in blocks[0]
        per_message, recipients = (Message(), blocks) if starts_with_recipient else (blocks[0], blocks[1:])
        arrived = parse_date(header_text(per_message, "Arrival-Date")) or mail_date
        for block in recipients:
            blocks_seen += 1
            action = header_text(block, "Action").lower()
            if not action.startswith(_FAILED):
                continue
            findings.append(_dsn_finding(block, arrived))
    if findings or blocks_seen:
        # A report of delays or successes only was read all the same: nothing to record, nobody to ask.
        return Report(tuple(findings))
    return Report((), "a delivery status report naming no recipient")


def _dsn_finding(block: Message, arrived: datetime | None) -> Finding:
    # Original-Recipient is the address we sent to; Final-Recipient may be where a forward led.
    email = _recipient(header_text(block, "Original-Recipient")) or _recipient(header_text(block, "Final-Recipient"))
    diagnostic = header_text(block, "Diagnostic-Code")
    detail = one_line(diagnostic.split(";", 1)[1] if ";" in diagnostic[:12] else diagnostic)
    match = ENHANCED.search(header_text(block, "Status"))
    status = match.group(1) if match else code_in(detail)
    at = parse_date(header_text(block, "Last-Attempt-Date")) or arrived
    kind = judge(status, detail, failed=True)
    return Finding(kind, email, status, detail or header_text(block, "Status"), at)


def _recipient(value: str) -> str | None:
    """`rfc822; alice@example.org` (or a bare address, `<…>`, a comment after it): the address, lower-cased."""
    address = parseaddr(value.split(";", 1)[1] if ";" in value else value)[1].strip().lower()
    return address if "@" in address and " " not in address and len(address) <= 320 else None


def read_arf(parts: MailParts, msg: Message, mail_date: datetime | None) -> Report:
    fields = next((b for part in parts.feedback for b in field_blocks(part) if len(b)), None)
    if fields is None:
        return Report((), "a feedback report with no fields")
    feedback_type = header_text(fields, "Feedback-Type").lower()
    if feedback_type in NOT_COMPLAINTS:
        return Report(())
    if feedback_type not in COMPLAINT_TYPES:
        return Report((), f"a feedback report of type {feedback_type or '(none)'!r}, not a complaint")
    at = parse_date(header_text(fields, "Arrival-Date") or header_text(fields, "Received-Date")) or mail_date
    email = _complainer(fields, msg, parts)
    return Report((Finding(EventKind.COMPLAINT, email, "", feedback_type, at),))


def _complainer(fields: Message, msg: Message, parts: MailParts) -> str | None:
    """The complaining recipient, when the report names them: its Original-Rcpt-To, Microsoft's
    X-HmXmrOriginalRecipient, else the returned original's To (providers that redact leave a placeholder
    there, which matches no subscriber and so harms nobody)."""
    for source, name in ((fields, "Original-Rcpt-To"), (msg, "X-HmXmrOriginalRecipient")):
        email = _recipient(header_text(source, name))
        if email:
            return email
    for original in parts.originals:
        email = first_address(original, "To")
        if email:
            return email
    return None
