"""Bounces that are not DSNs: Exim's older text, Yahoo's, QQ Mail's and NetEase's Chinese notices, and the
many shapes flufl.bounce (Mailman's detector) knows.

flufl.bounce finds the addresses (it knows no Chinese notice, so a labelled address in the notice, then the
returned original's To, stand in); the status code or the words near the address judge each one; a notice
naming nobody is still a bounce of the delivery its valid return path names.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import datetime
from email.message import Message

from flufl.bounce import all_failures

from digest.core.bounces.judging import Finding, judge, said_about
from digest.core.bounces.mailtext import MailParts, addresses, first_address, header_text, header_text_of
from digest.core.bounces.reports import Report
from digest.core.bounces.verp import LOCAL

FLUFL_TEXT = 8_000
_OURS_OUTSIDE = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "Cc")
_OURS_INSIDE = ("From", "Sender", "Reply-To", "Return-Path")
_DAEMON = re.compile(r"^(mailer-?daemon|mail-daemon|postmaster|mdaemon)@", re.IGNORECASE)
_DAEMON_NAME = re.compile(r"mail delivery|delivery (subsystem|system)|系统退信|退信", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery (status notification|fail|has failed|problem)"
    r"|mail delivery (failed|failure)|failure notice|could not be delivered|non-?delivery|not delivered"
    r"|退信|被退回|未能送达|无法送达|投递失败|发送失败|无法投递|递送失败|未送达",
    re.IGNORECASE,
)
# A warning that delivery is late, not that it failed (Gmail's "(Delay)", Exim's "Warning: message … delayed").
_DELAY_SUBJECT = re.compile(r"\bdelay|^warning:|延迟|延时|暂未送达", re.IGNORECASE)
_ADDRESS = r"[A-Za-z0-9._%+\-=]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
# An address the notice names as the recipient, in the words QQ Mail, NetEase and English notices use.
_NAMED = re.compile(
    rf"(?:(?:收件人|收信人|收件地址|发送到|发送至|发送给|发往|发给|投递到)(?:地址)?\s*[:：]?"
    rf"|(?:original |failed |final )?recipient(?:\(s\))?(?: address)?\s*:)"
    rf"\s*[<《(（\"']?\s*({_ADDRESS})",
    re.IGNORECASE,
)
# Where a notice's own words end and the returned copy of our mail begins.
_RETURNED_COPY = re.compile(
    r"^\s*-{2,}.*(original message|copy of the message|returned message|message follows|headers? follow"
    r"|原始邮件|原邮件|原信)|^\s*(original message follows|以下是原邮件|原邮件信息|原始邮件)"
    r"|^(return-path|received):\s",
    re.IGNORECASE | re.MULTILINE,
)


def looks_like_bounce(msg: Message, sender: str, subject: str) -> bool:
    """A mail from a delivery system about a failure: cheap header checks only."""
    return (
        "X-Failed-Recipients" in msg
        or bool(_DAEMON.match(sender))
        or bool(_DAEMON_NAME.search(header_text(msg, "From")))
        or bool(_BOUNCE_SUBJECT.search(subject))
    )


def read_nonstandard(msg: Message, parts: MailParts, subject: str, *, at: datetime | None, has_verp: bool) -> Report:
    notice = own_words(parts.notice())
    ours = _our_addresses(msg, parts)
    temporary, permanent = (_ours_removed(found, ours) for found in _flufl(msg))
    if not permanent and (temporary or _DELAY_SUBJECT.search(subject)):
        # A delay warning: the outcome comes later, as a failure or as nothing (reports.py: "delayed").
        return Report(())
    emails: list[str | None] = [*permanent] or [*_named(notice, ours)] or [*_original_recipients(parts, ours)]
    if not emails and has_verp:
        emails = [None]  # the return path names the delivery; the service looks its address up
    if not emails:
        return Report((), "a bounce naming no recipient and carrying no valid return path")
    findings = []
    for email in emails:
        status, line = said_about(notice, email)
        kind = judge(status, line, failed=False)
        findings.append(Finding(kind, email, status, line or "no status given", at))
    return Report(tuple(findings))


def own_words(notice: str) -> str:
    """The notice up to the returned copy of our mail, whose words (and numbers) are ours, not the server's."""
    match = _RETURNED_COPY.search(notice)
    return notice[: match.start()] if match else notice


def _flufl(msg: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    try:
        return all_failures(_text_headers(_notice_only(msg)))
    except Exception:  # a detector tripping over a malformed mail: our own cues still read it
        return frozenset(), frozenset()


def _notice_only(part: Message) -> Message:
    """A shallow copy of `part` without the returned original, each text cut to its first FLUFL_TEXT characters:
    flufl.bounce's heuristics run some forty patterns over every line of every part, and the returned digest
    would be most of those lines while no server's words are in it."""
    payload = part.get_payload()
    trimmed = copy.copy(part)
    if isinstance(payload, list):
        trimmed.set_payload([_notice_only(p) for p in payload if isinstance(p, Message) and not _returned(p)])
    elif isinstance(payload, str) and len(payload) > FLUFL_TEXT:
        trimmed.set_payload(payload[:FLUFL_TEXT])
    else:
        return part
    return trimmed


def _text_headers(msg: Message) -> Message:
    """`msg` as flufl.bounce's detectors can take it: raw 8-bit header values (which compat32 hands back as
    Header objects, they call str methods on) decoded to text, as a Chinese server's unencoded From is common;
    and a From they can read (one of them fails on a mail without, and the ones after it never run)."""
    has_from = bool(str(msg.get("From") or "").strip())
    if has_from and all(isinstance(value, str) for value in msg.values()):
        return msg
    copied = Message()
    for name, value in msg.items():
        if name.lower() != "from" or has_from:
            copied[name] = value if isinstance(value, str) else header_text_of(value)
    if not has_from:
        copied["From"] = "<>"
    copied.set_payload(msg.get_payload())
    return copied


def _returned(part: Message) -> bool:
    ctype = part.get_content_type()
    return ctype in ("message/rfc822", "message/global") or ctype.endswith("rfc822-headers")


def _named(notice: str, ours: set[str]) -> list[str]:
    return _ours_removed((m.group(1) for m in _NAMED.finditer(notice)), ours)


def _original_recipients(parts: MailParts, ours: set[str]) -> list[str]:
    # With one return path per delivery, the returned copy was addressed to the one recipient it is about.
    return _ours_removed((first_address(original, "To") for original in parts.originals), ours)


def _our_addresses(msg: Message, parts: MailParts) -> set[str]:
    """Where the bounce went and who sent the original: addresses a heuristic may pick up that bounced nowhere."""
    ours = {a for name in _OURS_OUTSIDE for a in addresses(msg, name)}
    ours.update(a for original in parts.originals for name in _OURS_INSIDE for a in addresses(original, name))
    return ours


def _ours_removed(found: Iterable[str | bytes], ours: set[str]) -> list[str]:
    """Addresses as text, lower-cased, each once: without ours (return paths, the original's sender, where the
    bounce was delivered) and delivery systems' own."""
    kept: list[str] = []
    for item in found:
        address = (item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)).strip().lower()
        if not address or "@" not in address or len(address) > 320 or address in kept or address in ours:
            continue
        if address.startswith(f"{LOCAL}+") or _DAEMON.match(address):
            continue
        kept.append(address)
    return kept
