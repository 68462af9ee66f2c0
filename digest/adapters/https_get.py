"""The webhooks' way out to the internet: a small https GET (SNS's signing certificates and subscription
confirmations), with a short timeout, a size cap, no redirect followed and every address vetted as a feed's
is, and a per-URL memo of the certificates so a busy topic does not fetch one per notification."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from digest.adapters.feeds.fetch import FetchFailed, FetchLimits, fetch_feed

# What a fetch may cost a webhook request: SNS waits about 15 s for an answer before it counts a failure.
LIMITS = FetchLimits(timeout=5.0, deadline=8.0, max_bytes=64 * 1024, max_redirects=0)

Fetch = Callable[[str], bytes]

__all__ = ["CertificateCache", "Fetch", "FetchFailed", "https_get"]


def https_get(url: str) -> bytes:
    """The body of a 200 answer to GET `url` (https only); FetchFailed otherwise (redirects included: an
    allowed host must not send us elsewhere)."""
    if not url.startswith("https://"):
        raise FetchFailed("only https URLs are fetched")
    fetched = fetch_feed(url, limits=LIMITS)
    if fetched.status != 200:
        raise FetchFailed(f"the server answered {fetched.status}", status=fetched.status)
    return fetched.body


class CertificateCache:
    """`fetch` remembered per URL (at most `size` URLs, the least recently used forgotten first): SNS names a
    certificate by a URL of its own and signs with it for months."""

    def __init__(self, fetch: Fetch, size: int = 16) -> None:
        self.fetch = fetch
        self.size = size
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            if url in self._kept:
                self._kept.move_to_end(url)
                return self._kept[url]
        body = self.fetch(url)
        with self._lock:
            self._kept[url] = body
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return body

    def forget(self, url: str) -> None:
        """Drops `url`: a signature that failed with a kept certificate is checked once more with a fresh one."""
        with self._lock:
            self._kept.pop(url, None)
