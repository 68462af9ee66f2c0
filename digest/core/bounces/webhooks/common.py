"""What the provider readers share: the refusal, the verified result, freshness, JSON bodies and event keys."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from digest.core.bounces.events import MailEvent

# Signed requests older (or further ahead) than this are replays: Mailgun and SendGrid sign with the time of
# sending, so a captured request stops working once the window has passed.
SIGNED_WINDOW = timedelta(minutes=5)
DETAIL_CHARS = 300  # MailEventRow.detail
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class WebhookRefused(Exception):
    """A request not taken: `reason` says why in words that name no secret; `status` is the HTTP answer
    (400 malformed, 401 no or a wrong signature or credentials, 403 stale, replayed or not ours)."""

    def __init__(self, reason: str, status: int = 400, code: str = "webhook_refused"):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Verified:
    """A request whose signature (or secret) held: its events, and the nonce that identifies the request —
    the same nonce with the same body again is the provider retrying, with another body a replay."""

    nonce: str
    events: list[MailEvent] = field(default_factory=list)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name in `headers`."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON", 400, "webhook_malformed") from None


def json_object(body: bytes) -> dict[str, Any]:
    parsed = json_body(body)
    if not isinstance(parsed, dict):
        raise WebhookRefused("the body is not a JSON object", 400, "webhook_malformed")
    return parsed


def unix_time(value: object, what: str) -> datetime:
    """A Unix timestamp (an int, a float or their text) as an aware UTC datetime."""
    try:
        seconds = float(str(value).strip())
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookRefused(f"{what} is not a Unix timestamp", 400, "webhook_malformed") from None


def iso_time(value: object) -> datetime | None:
    """An ISO 8601 instant as the providers write it ("…Z", with or without fractions), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def check_fresh(signed_at: datetime, now: datetime, window: timedelta = SIGNED_WINDOW) -> None:
    """Refuses a request signed further from `now` than `window` either way (a replay, or a clock far off)."""
    if abs(now - signed_at) > window:
        raise WebhookRefused(
            f"the request was signed at {signed_at.isoformat()}, more than {window} from now: a replay is refused",
            403,
            "webhook_stale",
        )


def storable(text: str) -> str:
    """`text` without what the database refuses (NUL; lone surrogates, which JSON's \\ud800 escapes can make)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def event_key(provider: str, event_id: object, email: str | None) -> str:
    """The idempotency key: the same provider event about the same address is applied once (MailEvent.key)."""
    return storable(f"{provider}:{event_id}:{(email or '').strip().lower()}")[:200]


def one_line(text: object, limit: int = DETAIL_CHARS) -> str:
    """Provider text as one short line: diagnostics arrive with newlines and SMTP continuation lines."""
    if text is None:
        return ""
    return " ".join(storable(str(text)).split())[:limit]


def address(value: object) -> str | None:
    """An address a provider reported, bare and lower-cased; None when there is none worth a row."""
    if not isinstance(value, str):
        return None
    bare = storable(value).strip().strip("<>").strip().lower()
    return bare if "@" in bare and len(bare) <= 320 else None


def quoted_status(text: str) -> str | None:
    """The first enhanced status code (RFC 3463) a diagnostic quotes: "550 5.1.1 <…> unknown" -> "5.1.1"."""
    found = _ENHANCED.search(text)
    return found.group(1) if found else None


def mapping(value: object) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: providers leave out what they have nothing for."""
    return value if isinstance(value, dict) else {}
