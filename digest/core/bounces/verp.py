"""Return paths that say who bounced: `bounces+d<delivery id>-<mac>@<bounce domain>` (VERP).

Each delivery goes out with its own envelope sender, so a bounce names the delivery it is about by the
address it was sent to, whatever the bouncing server wrote in its body. The mac is an HMAC-SHA256 of the
reference under a key of its own purpose (derived from the site's secret as the link tokens' are, with
another salt), so a return path cannot be replayed as a link token or forged to suppress someone.

Lower-case hex, not base64: some servers lower-case the local part of the address they bounce to.
`d` names a delivery (an issue's copy); `f` a subscriber's form mail (confirm, "already subscribed").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

LOCAL = "bounces"
MAC_CHARS = 20  # 80 bits
_VERP = re.compile(rf"{LOCAL}\+([df])(\d{{1,18}})-([0-9a-f]{{{MAC_CHARS}}})@([^@\s>]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReturnPath:
    kind: str  # "d": a delivery; "f": a form mail to a subscriber
    ref_id: int
    domain: str

    @property
    def delivery_id(self) -> int | None:
        return self.ref_id if self.kind == "d" else None

    @property
    def subscriber_id(self) -> int | None:
        return self.ref_id if self.kind == "f" else None


# Memo of a pure function of the secret: derived once, not per message.
@lru_cache(maxsize=16)
def _key(secret: str) -> bytes:
    if not secret:
        raise ValueError("an empty secret would make every return path forgeable")
    return hashlib.sha256(b"digest.verp\x00" + secret.encode("utf-8")).digest()


def _mac(secret: str, kind: str, ref_id: int) -> str:
    return hmac.new(_key(secret), f"{kind}{ref_id}".encode(), hashlib.sha256).hexdigest()[:MAC_CHARS]


def return_path(secret: str, domain: str, ref_id: int, kind: str = "d") -> str:
    """The envelope sender for delivery `ref_id` (kind "d") or subscriber `ref_id`'s form mail (kind "f")."""
    if kind not in ("d", "f"):
        raise ValueError(f"unknown return path kind {kind!r}")
    if isinstance(ref_id, bool) or not isinstance(ref_id, int) or ref_id < 0:
        raise TypeError(f"ref_id must be a non-negative int, got {ref_id!r}")
    return f"{LOCAL}+{kind}{ref_id}-{_mac(secret, kind, ref_id)}@{domain}"


def find_return_paths(text: str) -> list[str]:
    """Every VERP-shaped address in `text` (headers or a body), in order, duplicates dropped."""
    seen: dict[str, None] = {}
    for match in _VERP.finditer(text):
        seen.setdefault(match.group(0).lower())
    return list(seen)


def read_return_path(secrets: Sequence[str], address: str) -> ReturnPath | None:
    """The delivery a return path names, or None when it is not one of ours (forged, altered, another shape).

    `secrets` are the site's keys, the current last: a bounce of mail sent before a key rotation still counts.
    """
    match = _VERP.fullmatch(address.strip().strip("<>"))
    if match is None:
        return None
    kind, ref, mac, domain = match.group(1).lower(), int(match.group(2)), match.group(3).lower(), match.group(4)
    for secret in secrets:
        if secret and hmac.compare_digest(_mac(secret, kind, ref), mac):
            return ReturnPath(kind, ref, domain.lower())
    return None
