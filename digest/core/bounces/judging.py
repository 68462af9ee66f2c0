"""Permanent or temporary: a bounce judged by its status code (RFC 3463, else the SMTP reply code of RFC 5321),
and by its words when a server gave no code (English, and Chinese as QQ Mail and NetEase write theirs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from digest.core.bounces.events import EventKind, is_permanent
from digest.core.bounces.mailtext import one_line

# 5.1.1, 4.2.2: not inside an IP address or a version number (no digit or dot around it). Success codes (2.x.x)
# judge nothing, so they are not looked for.
ENHANCED = re.compile(r"(?<![\d.])([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)")
# 550, 452-: a reply code as a server writes it, followed by a space or the dash of a multi-line reply.
_BASIC = re.compile(r"(?<![\w.\-])([45][0-5]\d)(?=[ :\-])")

# A full mailbox empties again: soft whatever the class of its code (5.2.2 is "mailbox full" too, and
# Gmail and others answer 552 for it), as events.py's SOFT_BOUNCE says.
_FULL = re.compile(
    r"mailbox (is )?full|over ?quota|quota exceeded|exceed(ed|s)? (the )?(storage|quota)|insufficient storage"
    r"|邮箱已满|邮箱满|信箱已满|空间已满|空间不足|容量不足|超过容量|超出容量|超过.{0,4}配额|超出.{0,4}配额",
    re.IGNORECASE,
)
_GONE = re.compile(
    r"user unknown|unknown user|no such (user|recipient|mailbox|address)|does ?n[o']t exist|not exist"
    r"|mailbox (not found|unavailable)|invalid (recipient|mailbox|address)|unrouteable|recipient address rejected"
    r"|account (is |has been )?(disabled|deactivated|closed)|permanent error"
    r"|收件人不存在|用户不存在|邮箱不存在|地址不存在|账户不存在|帐户不存在|账号不存在|帐号不存在|无此用户|查无此人"
    r"|用户名不存在|收件人地址无效|邮箱地址无效|已被注销|已停用|永久",
    re.IGNORECASE,
)
_LATER = re.compile(r"temporar(y|ily)|try again later|deferred|稍后重试|暂时", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    """What a mail says about one recipient (or about its delivery, when it names no address)."""

    kind: EventKind
    email: str | None
    status: str = ""
    detail: str = ""
    at: datetime | None = None


def judge(status: str, text: str, *, failed: bool) -> EventKind:
    """Hard or soft: by the status code's class; a full mailbox is soft; without a code, by the words.

    `failed` is what to conclude when nothing tells: True where the sender already called it a failure
    (a DSN's Action: failed means the server gave up), False where a guess would otherwise suppress someone
    on a heuristic's word (a soft bounce only scores, and repeated ones still suppress).
    """
    if _FULL.search(text) or re.fullmatch(r"[45]\.2\.2", status):
        return EventKind.SOFT_BOUNCE
    permanent = is_permanent(status)
    if permanent is None:
        if _GONE.search(text):
            permanent = True
        elif _LATER.search(text):
            permanent = False
        else:
            permanent = failed
    return EventKind.HARD_BOUNCE if permanent else EventKind.SOFT_BOUNCE


def code_in(text: str) -> str:
    """The first status code in `text`: an enhanced one if any, else a bare SMTP reply code; "" if none."""
    match = ENHANCED.search(text) or _BASIC.search(text)
    return match.group(1) if match else ""


def said_about(text: str, address: str | None) -> tuple[str, str]:
    """(status, the line saying it) for `address` in a notice: the first code after where the address
    is named, else the first in the notice, else the first line with words that judge it, else ("", "")."""
    start = text.lower().find(address) if address else -1
    windows = ([text[start : start + 600]] if start >= 0 else []) + [text]
    for window in windows:
        match = ENHANCED.search(window) or _BASIC.search(window)
        if match:
            return match.group(1), _line_at(window, match.start())
    for pattern in (_FULL, _GONE, _LATER):
        match = pattern.search(text)
        if match:
            return "", _line_at(text, match.start())
    return "", ""


def _line_at(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return one_line(text[start : end if end >= 0 else len(text)])
