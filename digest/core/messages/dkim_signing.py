"""DKIM signatures (RFC 6376) on the messages the writers make: rsa-sha256, relaxed/relaxed.

dkimpy keeps the standard's fine print here: how the header section is parsed, the relaxed forms of
headers and body, which instance of a repeated header each name in h= covers, how the signature header
is folded and how its b= value is left out of what is signed. The RSA operation is cryptography's
(OpenSSL) instead of dkimpy's own pure-Python one, which costs about 7 ms a message: several times
what the rest of a send costs a message. The tests hold the result to dkimpy's `dkim.sign`, byte for
byte, and verify it with `dkim.verify`.

Ed25519 (RFC 8463) is left out: dkimpy signs and verifies it only with PyNaCl, and receivers that
check it also expect an RSA signature beside it.

A message comes and goes in SMTP DATA form (CRLF line ends, leading dots doubled): the signature covers
the message the recipient will read, with its dots undoubled, and goes in front of the bytes as given.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dkim
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dkim.canonicalization import CanonicalizationPolicy, Relaxed, correct_empty_body, strip_trailing_lines

from digest.core.faults import SetupError

# RFC 8301: keys under 1024 bits must not be used; 2048 is what providers ask for.
MIN_KEY_BITS = 1024
# The headers signed, each instance present; with them the content a reader sees and what
# mailbox providers act on (Gmail and Yahoo ask for List-Unsubscribe and -Post to be signed).
SIGNED = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-archive",
    "list-help",
    "list-post",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
)
# Named once more than they occur, so nobody can add one (a second From or Subject, a Reply-To, an
# unsubscribe target) under our signature: a verifier then finds the message changed.
OVERSIGNED = frozenset(
    ("from", "reply-to", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post")
)
_POLICY = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_HEADER_NAME = b"DKIM-Signature"
# What the b= value stands in for while the header is folded for hashing (dkimpy's choice too: it
# puts the value on lines of its own, so the signed tags fold the same once the value is in).
_PLACEHOLDER = b"0" * 60
_STUFFED_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class DkimKey:
    """A signing identity: d= `domain`, s= `selector`, and the private key, parsed once (`dkim_key`)."""

    selector: str
    domain: str
    private_key: bytes  # PEM, as the key file holds it
    signer: rsa.RSAPrivateKey = field(repr=False, compare=False)

    @property
    def bits(self) -> int:
        return self.signer.key_size


def dkim_key(selector: str, domain: str, pem: bytes, *, source: str) -> DkimKey:
    """The key `pem` holds, or SetupError naming `source` (the variable and the file) and what is wrong."""
    try:
        signer = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise SetupError(f"{source}: the DKIM key is encrypted; give it without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SetupError(f"{source}: not a PEM private key (-----BEGIN PRIVATE KEY----- or RSA PRIVATE KEY)") from None
    if not isinstance(signer, rsa.RSAPrivateKey):
        raise SetupError(f"{source}: the DKIM key must be an RSA key (openssl genrsa 2048)")
    if signer.key_size < MIN_KEY_BITS:
        raise SetupError(f"{source}: a {signer.key_size}-bit key is too short for DKIM; use 2048 bits")
    if not selector.isascii() or not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", selector):
        raise SetupError(f"DIGEST_DKIM_SELECTOR: {selector!r} is not a DKIM selector (letters, digits, - and _)")
    return DkimKey(selector, domain, pem, signer)


def public_key_record(key: DkimKey) -> str:
    """The TXT record to publish at <selector>._domainkey.<domain>."""
    der = key.signer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def sign_message(key: DkimKey, message: bytes, *, signed_at: datetime | None = None) -> bytes:
    """`message` (DATA form) with its DKIM-Signature header in front; t= is `signed_at`, if given."""
    read = _STUFFED_DOT.sub(b"", message) if message.startswith(b".") or b"\n." in message else message
    end = read.find(b"\r\n\r\n")
    head, body = (read, b"") if end < 0 else (read[: end + 2], read[end + 4 :])
    headers: list[Any] = dkim.rfc822_parse(head + b"\r\n")[0]
    if not any(name.lower() == b"from" for name, _ in headers):
        raise ValueError("a DKIM signature must cover From: the message has none")
    signed = _signed_names(headers)
    tags = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", key.domain.encode("ascii")),
        (b"i", b"@" + key.domain.encode("ascii")),
        (b"q", b"dns/txt"),
        (b"s", key.selector.encode("ascii")),
        *([(b"t", str(int(signed_at.timestamp())).encode("ascii"))] if signed_at is not None else []),
        (b"h", b" : ".join(signed)),
        (b"bh", base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())),
    ]
    hashed = _folded([*tags, (b"b", _PLACEHOLDER)], b"")
    data = _HashedInput()
    # dkimpy's hash of the chosen header instances and of the signature header, its b= value emptied.
    dkim.hash_headers(data, _POLICY, _POLICY.canonicalize_headers(headers), signed, (_HEADER_NAME, b" " + hashed), {})
    signature = key.signer.sign(bytes(data.taken), padding.PKCS1v15(), hashes.SHA256())
    value = _folded([*tags, (b"b", base64.b64encode(signature))], b"\r\n")
    return _HEADER_NAME + b": " + value + message


def _signed_names(headers: list[Any]) -> list[bytes]:
    present: dict[str, int] = {}
    for name, _ in headers:
        lowered = name.decode("ascii").lower()
        present[lowered] = present.get(lowered, 0) + 1
    names: list[bytes] = []
    for name in SIGNED:
        names += [name.encode("ascii")] * (present.get(name, 0) + (name in OVERSIGNED))
    return names


def _relaxed_body(body: bytes) -> bytes:
    """The body's relaxed form (RFC 6376 3.4.4) as dkimpy makes it.

    Relaxed changes spaces and tabs, then the end. Base64 lines and boundaries hold none; a part's
    headers hold single spaces, which it keeps: only a tab, two spaces in a row or a space before a
    line end need its regular expressions, three searches through the body (its passes cost a
    millisecond on a digest).
    """
    if b"\t" in body or b"  " in body or b" \r\n" in body or not body.endswith(b"\r\n"):
        return bytes(Relaxed.canonicalize_body(body))
    return bytes(correct_empty_body(strip_trailing_lines(body)))


def _folded(tags: list[tuple[bytes, bytes]], end: bytes) -> bytes:
    """The header's value after its name, colon and space: the tags, folded as dkimpy folds them."""
    return bytes(dkim.fold(b"; ".join(b"=".join(tag) for tag in tags) + end, namelen=len(_HEADER_NAME)))


class _HashedInput:
    """Takes what dkimpy hashes, for the RSA signature to hash and sign in one call."""

    def __init__(self) -> None:
        self.taken = bytearray()

    def update(self, data: bytes) -> None:
        self.taken += data
