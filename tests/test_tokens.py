"""Signed tokens: they round-trip, and anything else is refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from digest.core.links import IssueLinks, make_recipient
from digest.core.tokens import (
    PURPOSES,
    BadToken,
    _serializer_for,
    read_token,
    sign_token,
    sign_tokens,
)

SECRET = "test-secret-0123456789abcdef"


def test_round_trip():
    token = sign_token(SECRET, "unsubscribe", 42, "rural-weekly")
    data = read_token(SECRET, token, "unsubscribe")
    assert (data.subscriber_id, data.list_slug) == (42, "rural-weekly")
    assert abs(data.issued_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert read_token(SECRET, sign_token(SECRET, "confirm", 7), "confirm").list_slug is None


def test_tokens_are_url_safe():
    token = sign_token(SECRET, "preferences", 10**9, "rural-weekly")
    assert all(c.isalnum() or c in "-_." for c in token)


def test_wrong_purpose_is_refused():
    token = sign_token(SECRET, "view", 42, "rural-weekly")
    with pytest.raises(BadToken):
        read_token(SECRET, token, "unsubscribe")


def test_forged_or_altered_tokens_are_refused():
    token = sign_token(SECRET, "unsubscribe", 42, "rural-weekly")
    with pytest.raises(BadToken):
        read_token("another-secret-0123456789", token, "unsubscribe")
    _payload, stamp, signature = token.split(".")
    other = sign_token(SECRET, "unsubscribe", 43, "rural-weekly").split(".")[0]
    with pytest.raises(BadToken):
        read_token(SECRET, f"{other}.{stamp}.{signature}", "unsubscribe")
    with pytest.raises(BadToken):
        read_token(SECRET, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "unsubscribe")


@pytest.mark.parametrize("junk", ["", "x", "a.b.c", "....", "%%%", "x" * 5000])
def test_malformed_tokens_are_refused(junk):
    with pytest.raises(BadToken):
        read_token(SECRET, junk, "unsubscribe")


def test_expired_tokens_are_refused():
    token = sign_token(SECRET, "confirm", 42)
    time.sleep(1.1)  # itsdangerous stamps whole seconds
    with pytest.raises(BadToken) as caught:
        read_token(SECRET, token, "confirm", max_age=0)
    assert caught.value.reason == "expired"
    assert read_token(SECRET, token, "confirm", max_age=3600).subscriber_id == 42


def test_an_old_key_still_reads_after_rotation():
    token = sign_token("old-secret-0123456789abcdef", "unsubscribe", 42)
    assert read_token(["old-secret-0123456789abcdef", SECRET], token, "unsubscribe").subscriber_id == 42


def test_unknown_purposes_and_empty_secrets_are_programming_errors():
    with pytest.raises(ValueError):
        sign_token(SECRET, "unsubcribe", 42)
    with pytest.raises(ValueError):
        sign_token("", "unsubscribe", 42)


def test_recipient_links_carry_tokens_for_their_purpose():
    links = IssueLinks("rural-weekly", 3, "https://digest.example.org/", SECRET, "weekly@digest.example.org")
    r = make_recipient(links, email="a@example.org", name="王芳", subscriber_id=42)
    unsubscribe = r.unsubscribe_url.removeprefix("https://digest.example.org/u/")
    preferences = r.preferences_url.removeprefix("https://digest.example.org/p/")
    view = r.view_url.removeprefix("https://digest.example.org/issues/3/view/")
    assert read_token(SECRET, unsubscribe, "unsubscribe").subscriber_id == 42
    assert read_token(SECRET, preferences, "preferences").list_slug == "rural-weekly"
    assert read_token(SECRET, view, "view").subscriber_id == 42
    assert r.unsubscribe_mailto == f"mailto:weekly@digest.example.org?subject=unsubscribe%20{unsubscribe}"
    assert "//" not in r.unsubscribe_url.removeprefix("https://")


@pytest.fixture
def frozen_clock(monkeypatch):
    """itsdangerous stamps tokens with int(time.time()): pinned, two signers give comparable tokens."""
    monkeypatch.setattr(time, "time", lambda: 1_624_233_600.5)


@pytest.mark.parametrize("secret", [SECRET, ["old-secret-0123456789abcdef", SECRET]], ids=["one key", "rotation"])
@pytest.mark.parametrize("list_slug", [None, "rural-weekly", "ab" * 40, "乡村振兴"])
def test_tokens_are_exactly_what_plain_itsdangerous_signs(frozen_clock, secret, list_slug):
    payload = [42] if list_slug is None else [42, list_slug]
    plain = {p: URLSafeTimedSerializer(secret, salt=f"digest.{p}").dumps(payload) for p in sorted(PURPOSES)}
    assert {p: sign_token(secret, p, 42, list_slug) for p in sorted(PURPOSES)} == plain
    assert sign_tokens(secret, sorted(PURPOSES), 42, list_slug) == list(plain.values())
    if list_slug == "ab" * 40:
        assert plain["view"].startswith(".")  # the zlib-compressed form is covered too


def test_tokens_signed_before_the_cached_signers_still_read():
    # Signed by the plain URLSafeTimedSerializer this module used to build per call.
    old = "WzQyLCJydXJhbC13ZWVrbHkiXQ.YM_WgA.krZOC9W88o70TqQajWXaa8aHZU4"
    data = read_token(SECRET, old, "unsubscribe")
    assert (data.subscriber_id, data.list_slug) == (42, "rural-weekly")
    assert data.issued_at == datetime(2021, 6, 21, 0, 0, tzinfo=UTC)
    rotated = "Wzdd.YM_WgA.VBCfjZmpRWPBpRKKprMXz6R0JI0"  # signed with the newer of two keys
    assert read_token(SECRET, rotated, "view").subscriber_id == 7
    with pytest.raises(BadToken):
        read_token("old-secret-0123456789abcdef", rotated, "view")
    fresh = URLSafeTimedSerializer(SECRET, salt="digest.preferences").dumps([9, "rural-weekly"])
    assert read_token(SECRET, fresh, "preferences").subscriber_id == 9


def test_rotation_signs_with_the_newest_key_and_reads_with_any():
    keys = ["old-secret-0123456789abcdef", SECRET]
    token = sign_token(keys, "unsubscribe", 42)
    assert read_token(SECRET, token, "unsubscribe").subscriber_id == 42
    assert read_token(keys, token, "unsubscribe").subscriber_id == 42
    assert read_token(tuple(keys), token, "unsubscribe").subscriber_id == 42
    with pytest.raises(BadToken):
        read_token("old-secret-0123456789abcdef", token, "unsubscribe")
    a, b = sign_tokens(keys, ("view", "confirm"), 42)
    assert read_token(keys, a, "view").subscriber_id == read_token(SECRET, b, "confirm").subscriber_id == 42
    with pytest.raises(BadToken):
        read_token(keys, a, "confirm")


def test_signers_are_cached_within_bounds():
    for i in range(300):
        assert read_token(f"secret-{i}-0123456789abcdef", sign_token(f"secret-{i}-0123456789abcdef", "view", i), "view")
    info = _serializer_for.cache_info()
    assert info.currsize <= info.maxsize == 64


def test_sign_tokens_checks_like_sign_token():
    assert sign_tokens(SECRET, (), 42) == []
    with pytest.raises(ValueError):
        sign_tokens(SECRET, ("view", "unsubcribe"), 42)
    with pytest.raises(ValueError):
        sign_tokens("", ("view",), 42)
    with pytest.raises(TypeError):
        sign_tokens(SECRET, ("view",), True)
    with pytest.raises(TypeError):
        sign_token(SECRET, "view", "42")
