"""Signed, purpose-bound, per-subscriber tokens for the links a message carries.

A token names a subscriber (and a list) and is signed with the site secret,
salted with its purpose, so an unsubscribe token cannot be replayed as a
preferences token. Nothing secret is inside: the payload is only signed, not
encrypted, and holds ids the subscriber already knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = frozenset({"unsubscribe", "preferences", "view", "confirm"})


class BadToken(Exception):
    """A token that must not be honoured; `reason` says why, for logs, not for users."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenData:
    subscriber_id: int
    list_slug: str | None
    issued_at: datetime  # aware, UTC


def _serializer(secret: str | Sequence[str], purpose: str) -> URLSafeTimedSerializer:
    # A typo in a purpose would mint tokens no route accepts; fail where it is written.
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}; expected one of {sorted(PURPOSES)}")
    if not secret:
        raise ValueError("an empty secret would make every token forgeable")
    return _serializer_for(secret if isinstance(secret, str) else tuple(secret), purpose)


@lru_cache(maxsize=64)
def _serializer_for(key: str | tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    # Built once per key and purpose: a send signs three tokens per message.
    # itsdangerous takes a list for key rotation: it signs with the last and accepts any.
    return URLSafeTimedSerializer(key if isinstance(key, str) else list(key), salt=f"digest.{purpose}")


def sign_token(secret: str | Sequence[str], purpose: str, subscriber_id: int, list_slug: str | None = None) -> str:
    """A URL-safe token for `purpose` naming `subscriber_id` (and `list_slug`)."""
    if isinstance(subscriber_id, bool) or not isinstance(subscriber_id, int):
        raise TypeError(f"subscriber_id must be an int, got {subscriber_id!r}")
    # A list, not a dict: the token sits in every link and shorter URLs wrap less.
    payload = [subscriber_id] if list_slug is None else [subscriber_id, list_slug]
    return _serializer(secret, purpose).dumps(payload)


def read_token(
    secret: str | Sequence[str], token: str, purpose: str, max_age: int | None = None
) -> TokenData:
    """The data a token carries, or BadToken if forged, expired, malformed or for another purpose."""
    serializer = _serializer(secret, purpose)
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise BadToken("malformed")
    try:
        payload, issued_at = serializer.loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired:
        raise BadToken("expired") from None
    except BadSignature:
        # Another purpose signs with another salt, so it is indistinguishable from a forgery.
        raise BadToken("bad signature (forged, altered, or for another purpose)") from None
    ok_shape = (
        isinstance(payload, list)
        and 1 <= len(payload) <= 2
        and isinstance(payload[0], int)
        and not isinstance(payload[0], bool)
        and (len(payload) == 1 or isinstance(payload[1], str))
    )
    if not ok_shape:
        raise BadToken("malformed payload")
    return TokenData(payload[0], payload[1] if len(payload) == 2 else None, issued_at)
