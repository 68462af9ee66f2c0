"""Signed, purpose-bound, per-subscriber tokens for the links a message carries.

A token names a subscriber (and a list) and is signed with the site secret,
salted with its purpose, so an unsubscribe token cannot be replayed as a
preferences token. Nothing secret is inside: the payload is only signed, not
encrypted, and holds ids the subscriber already knows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import want_bytes

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


class _Signer(TimestampSigner):
    """itsdangerous's TimestampSigner, with each secret's signing key derived once.

    The stock signer hashes salt and secret again for every token it signs or
    checks, though the result depends on nothing else. Only the keys this signer
    was made with are kept, so the memo is as bounded as its key list.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived = {key: TimestampSigner.derive_key(self, key) for key in self.secret_keys}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        return derived if derived is not None else super().derive_key(key)


class _Serializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer keeping one signer for its own salt instead of making one per call."""

    default_signer = _Signer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signer = super().make_signer(self.salt)

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None or want_bytes(salt) == self.salt:
            return self._signer
        return super().make_signer(salt)


class _CompactJSON:
    """itsdangerous's compact JSON (no spaces, non-ASCII as is), with its encoder made once, not per token."""

    dumps = staticmethod(json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode)
    loads = staticmethod(json.loads)


def _serializer(secret: str | Sequence[str], purpose: str) -> URLSafeTimedSerializer:
    # A typo in a purpose would mint tokens no route accepts; fail where it is written.
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}; expected one of {sorted(PURPOSES)}")
    if not secret:
        raise ValueError("an empty secret would make every token forgeable")
    return _serializer_for(secret if isinstance(secret, str) else tuple(secret), purpose)


# Memo of a pure function of its arguments: a serializer keeps no state between calls.
@lru_cache(maxsize=64)
def _serializer_for(key: str | tuple[str, ...], purpose: str) -> URLSafeTimedSerializer:
    # Built once per key and purpose: a send signs three tokens per message.
    # itsdangerous takes a list for key rotation: it signs with the last and accepts any.
    # HMAC-SHA1 as itsdangerous's default, but handed hashlib's own constructor:
    # the hmac module runs OpenSSL's HMAC for that, and a pure-Python one for the
    # default's wrapper function. Same bytes either way.
    return _Serializer(
        key if isinstance(key, str) else list(key),
        salt=f"digest.{purpose}",
        serializer=_CompactJSON,
        signer_kwargs={"digest_method": hashlib.sha1},
    )


def _payload(subscriber_id: int, list_slug: str | None) -> list[int | str]:
    if isinstance(subscriber_id, bool) or not isinstance(subscriber_id, int):
        raise TypeError(f"subscriber_id must be an int, got {subscriber_id!r}")
    # A list, not a dict: the token sits in every link and shorter URLs wrap less.
    return [subscriber_id] if list_slug is None else [subscriber_id, list_slug]


def sign_token(secret: str | Sequence[str], purpose: str, subscriber_id: int, list_slug: str | None = None) -> str:
    """A URL-safe token for `purpose` naming `subscriber_id` (and `list_slug`)."""
    payload = _payload(subscriber_id, list_slug)
    return _serializer(secret, purpose).dumps(payload)


def sign_tokens(
    secret: str | Sequence[str], purposes: Sequence[str], subscriber_id: int, list_slug: str | None = None
) -> list[str]:
    """`sign_token` for each of `purposes`, in order: the tokens one message's links carry."""
    payload = _payload(subscriber_id, list_slug)
    serializers = [_serializer(secret, purpose) for purpose in purposes]
    if not serializers:
        return []
    # What `dumps` does, with the payload encoded once: only the salt differs
    # between purposes, and encoding (JSON, then zlib to see if it pays) costs
    # more than signing.
    data = serializers[0].dump_payload(payload)
    return [s.make_signer().sign(data).decode("utf-8") for s in serializers]


def read_token(secret: str | Sequence[str], token: str, purpose: str, max_age: int | None = None) -> TokenData:
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
