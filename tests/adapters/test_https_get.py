"""The webhooks' https GET: only https is fetched, and certificates are kept per URL, the oldest forgotten."""

from __future__ import annotations

import pytest

from digest.adapters.https_get import CertificateCache, FetchFailed, https_get


def test_only_https_is_fetched():
    with pytest.raises(FetchFailed, match="https"):
        https_get("http://sns.us-east-1.amazonaws.com/cert.pem")


def test_certificates_are_kept_per_url_and_the_least_recent_forgotten():
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return url.encode()

    cache = CertificateCache(fetch, size=2)
    assert [cache("a"), cache("a"), cache("b"), cache("a"), cache("c"), cache("b")] == [
        b"a",
        b"a",
        b"b",
        b"a",
        b"c",
        b"b",
    ]
    assert calls == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
    cache.forget("a")
    cache("a")
    assert calls[-1] == "a"
