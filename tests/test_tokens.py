"""Signed tokens: they round-trip, and anything else is refused."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from digest.links import make_recipient
from digest.tokens import BadToken, read_token, sign_token

SECRET = "test-secret-0123456789abcdef"


def test_round_trip():
    token = sign_token(SECRET, "unsubscribe", 42, "rural-weekly")
    data = read_token(SECRET, token, "unsubscribe")
    assert (data.subscriber_id, data.list_slug) == (42, "rural-weekly")
    assert abs(data.issued_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
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
    payload, stamp, signature = token.split(".")
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
    r = make_recipient(
        email="a@example.org", name="王芳", subscriber_id=42, list_slug="rural-weekly", issue_id=3,
        base_url="https://digest.example.org/", secret=SECRET, unsubscribe_mailbox="weekly@digest.example.org",
    )  # fmt: skip
    unsubscribe = r.unsubscribe_url.removeprefix("https://digest.example.org/u/")
    preferences = r.preferences_url.removeprefix("https://digest.example.org/p/")
    view = r.view_url.removeprefix("https://digest.example.org/issues/3/view/")
    assert read_token(SECRET, unsubscribe, "unsubscribe").subscriber_id == 42
    assert read_token(SECRET, preferences, "preferences").list_slug == "rural-weekly"
    assert read_token(SECRET, view, "view").subscriber_id == 42
    assert r.unsubscribe_mailto == f"mailto:weekly@digest.example.org?subject=unsubscribe%20{unsubscribe}"
    assert "//" not in r.unsubscribe_url.removeprefix("https://")
