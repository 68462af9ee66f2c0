"""DKIM signatures as the signer writes them: held to dkimpy's own `dkim.sign` byte for byte, verified by
`dkim.verify`, broken by any change after signing, and in SMTP DATA form like the message they head."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sample_digest import sample_message
from samples import WEEKLY_ISSUE
from smtpserver import strictness_problem

from digest.adapters.transports.base import data_form
from digest.core.faults import SetupError
from digest.core.messages.dkim_signing import DkimKey, dkim_key, public_key_record, sign_message

SELECTOR, DOMAIN = "digest2026", "digest.example.org"
SIGNED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def pem_of(private_key, form=serialization.PrivateFormat.PKCS8, encryption=None) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, form, encryption or serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key(rsa_key) -> DkimKey:
    return dkim_key(SELECTOR, DOMAIN, pem_of(rsa_key), source="DIGEST_DKIM_KEY_FILE (test)")


def dns_for(key: DkimKey):
    """A resolver that knows one record: the key's, at <selector>._domainkey.<domain>."""
    record = public_key_record(key).encode("ascii")

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == f"{key.selector}._domainkey.{key.domain}.".encode() else None

    return txt


def verifies(message: bytes, key: DkimKey) -> bool:
    return bool(dkim.verify(message, dnsfunc=dns_for(key)))


def signed_names(signed: bytes) -> list[bytes]:
    header = signed.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    found = re.search(rb"\bh=([^;]*);", header)
    assert found is not None
    return [name.strip() for name in found.group(1).split(b":")]


def test_a_digest_signed_is_what_dkimpy_would_sign_and_it_verifies(key, rsa_key, monkeypatch):
    message = sample_message(WEEKLY_ISSUE).raw  # the fast writer's bytes, as sending writes them
    signed = sign_message(key, message, signed_at=SIGNED_AT)
    assert signed.endswith(message) and signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    # dkimpy's own signer, at the same instant over the same headers, writes the same header.
    monkeypatch.setattr(dkim.time, "time", SIGNED_AT.timestamp)
    reference = dkim.sign(
        message,
        SELECTOR.encode(),
        DOMAIN.encode(),
        pem_of(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=signed_names(signed),
    )
    assert reference + message == signed
    monkeypatch.undo()
    assert verifies(signed, key)


def test_the_headers_that_matter_are_signed_and_the_ones_nobody_may_add_oversigned(key):
    names = signed_names(sign_message(key, sample_message(WEEKLY_ISSUE).raw, signed_at=SIGNED_AT))
    for once_more in (b"from", b"subject", b"to", b"list-unsubscribe", b"list-unsubscribe-post", b"list-id"):
        assert names.count(once_more) == 2, once_more
    for once in (b"mime-version", b"content-type"):
        assert names.count(once) == 1, once
    assert names.count(b"reply-to") == 1  # the list sets none: nobody may add one


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda m: m.replace(b"\r\n\r\n", b"\r\n\r\nX", 1), id="a byte added to the body"),
        pytest.param(lambda m: m[:-40] + bytes([m[-40] ^ 1]) + m[-39:], id="a byte of the body changed"),
        pytest.param(lambda m: m.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1), id="the subject changed"),
        pytest.param(lambda m: m.replace(b"\r\nTo: ", b"\r\nFrom: boss@example.org\r\nTo: ", 1), id="a From added"),
        pytest.param(
            lambda m: m.replace(b"\r\nTo: ", b"\r\nList-Unsubscribe: <https://evil.example/u>\r\nTo: ", 1),
            id="an unsubscribe target added",
        ),
        pytest.param(lambda m: m.replace(b"\r\nTo: ", b"\r\nReply-To: x@evil.example\r\nTo: ", 1), id="a Reply-To"),
    ],
)
def test_a_message_changed_after_signing_fails(key, change):
    signed = sign_message(key, sample_message(WEEKLY_ISSUE).raw, signed_at=SIGNED_AT)
    assert verifies(signed, key)
    changed = change(signed)
    assert changed != signed
    assert not verifies(changed, key)


def test_a_key_that_is_not_the_published_one_fails(key):
    other = dkim_key(SELECTOR, DOMAIN, pem_of(rsa.generate_private_key(65537, 2048)), source="test")
    signed = sign_message(other, sample_message(WEEKLY_ISSUE).raw, signed_at=SIGNED_AT)
    assert verifies(signed, other) and not verifies(signed, key)


def test_the_signed_bytes_keep_data_form(key):
    signed = sign_message(key, sample_message(WEEKLY_ISSUE).raw, signed_at=SIGNED_AT)
    assert data_form(signed) == signed  # CRLF line ends, the last line ended, no dot to double
    assert strictness_problem(signed) is None  # no bare CR or LF, no line over 998 octets, ASCII header
    head = signed.split(b"\r\n\r\n", 1)[0]
    dkim_lines = head.split(b"\r\nFrom: ", 1)[0].split(b"\r\n")
    assert len(dkim_lines) > 3 and all(line[:1] == b" " for line in dkim_lines[1:])  # folded: CRLF and a space
    assert max(len(line) for line in dkim_lines) <= 78


def test_a_stuffed_leading_dot_is_signed_as_the_reader_gets_it(key):
    # A hand-made message in DATA form: its body's leading dot is doubled for SMTP.
    raw = (
        b"From: weekly@digest.example.org\r\nTo: wang.fang@example.cn\r\nSubject: dots\r\n"
        b"Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: <dots@digest.example.org>\r\n\r\n"
        b".hidden\r\nline\r\n"
    )
    stuffed = data_form(raw)
    assert b"\r\n..hidden" in stuffed
    signed = sign_message(key, stuffed, signed_at=SIGNED_AT)
    assert signed.endswith(stuffed)  # still DATA form: the server undoubles the dot
    header = signed[: -len(stuffed)]
    assert verifies(header + raw, key)  # what the recipient reads, dot single
    assert not verifies(signed, key)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"plain\r\nlines\r\n",
        b"trailing blank lines\r\n\r\n\r\n",
        b"no final line end",
        b"two  spaces\r\n",
        b"a\ttab\r\n",
        b"space at the end \r\n",
        b'Content-Type: text/plain; charset="utf-8"\r\n\r\nYWJj\r\n',
    ],
)
def test_every_body_hashes_as_dkimpy_hashes_it(key, rsa_key, monkeypatch, body):
    head = b"From: weekly@digest.example.org\r\nTo: wang.fang@example.cn\r\nSubject:  Spaced\t out \r\n\r\n"
    message = head + body
    signed = sign_message(key, message, signed_at=SIGNED_AT)
    monkeypatch.setattr(dkim.time, "time", SIGNED_AT.timestamp)
    pem = pem_of(rsa_key)
    names = signed_names(signed)
    relaxed = (b"relaxed", b"relaxed")
    reference = dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), pem, canonicalize=relaxed, include_headers=names)
    assert reference + message == signed
    monkeypatch.undo()
    assert verifies(signed, key)


def test_a_message_without_from_is_not_signed(key):
    with pytest.raises(ValueError, match="From"):
        sign_message(key, b"To: wang.fang@example.cn\r\nSubject: x\r\n\r\nbody\r\n")


def test_a_pkcs1_key_is_read_like_a_pkcs8_one(rsa_key):
    pkcs1 = pem_of(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL)
    assert pkcs1.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    key = dkim_key(SELECTOR, DOMAIN, pkcs1, source="test")
    assert key.bits == 2048
    assert verifies(sign_message(key, sample_message(WEEKLY_ISSUE).raw), key)


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        (b"", "not a PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "not a PEM private key"),
        ("encrypted", "encrypted"),
        ("ec", "must be an RSA key"),
    ],
)
def test_a_key_that_cannot_sign_is_a_setup_error_naming_its_source(rsa_key, pem, says):
    if pem == "encrypted":
        pem = pem_of(rsa_key, encryption=serialization.BestAvailableEncryption(b"passphrase"))
    elif pem == "ec":
        pem = pem_of(ec.generate_private_key(ec.SECP256R1()))
    source = "DIGEST_DKIM_KEY_FILE (/etc/digest/dkim.pem)"
    with pytest.raises(SetupError, match=re.escape(source)) as raised:
        dkim_key(SELECTOR, DOMAIN, pem, source=source)
    assert says in str(raised.value)


def test_a_selector_that_cannot_go_in_a_dns_name_is_refused(rsa_key):
    with pytest.raises(SetupError, match="DIGEST_DKIM_SELECTOR"):
        dkim_key("two words", DOMAIN, pem_of(rsa_key), source="test")
