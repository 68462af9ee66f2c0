"""CSRF protection, the subscribe form's rate limit, and the headers every response carries.

CSRF is double-submit with a signed twist: a random value lives in a cookie the
page's scripts cannot read, and each form carries an HMAC of that value, of
the form's own purpose and, in the console, of the admin session. Another site
can neither read the cookie nor compute the HMAC, a token lifted from one form
does not work on another, and one lifted from another admin's session (with
its CSRF cookie) does not work in this one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

CSRF_COOKIE = "digest_csrf"
ADMIN_COOKIE = "digest_admin"
CSRF_FIELD = "csrf_token"

# Styles only from our own stylesheet, scripts only from our own file: an
# injected <script> or style attribute does nothing even if escaping failed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A digest shown in the browser is the email's HTML, whose CSS is inlined; its
# article images may come from anywhere. Still no script of any kind.
DIGEST_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Pages with a token in their URL must not hand it to the next site in a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(site_secret: str, cookie_value: str, scope: str, session: str = "") -> str:
    """The token for one form; `session` is the admin session cookie ("" outside the console)."""
    key = hashlib.sha256(f"digest.csrf:{site_secret}".encode()).digest()
    # The session enters hashed: only its digest is needed to tell sessions apart.
    bound = hashlib.sha256(session.encode()).hexdigest() if session else ""
    return hmac.new(key, f"{cookie_value}\x00{scope}\x00{bound}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(site_secret: str, cookie_value: str | None, submitted: str | None, scope: str, session: str = "") -> bool:
    if not cookie_value or not submitted or len(cookie_value) > 200 or len(submitted) > 200:
        return False
    return hmac.compare_digest(csrf_token(site_secret, cookie_value, scope, session), submitted)


class RateLimiter:
    """At most `limit` hits per `window` seconds per key, counted in this process's memory.

    Enough for one web process; several processes each count on their own,
    which loosens the limit by that factor but never blocks a legitimate user.
    """

    def __init__(self, limit: int = 5, window: float = 60.0, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Counts one hit for `key`; False when it is over the limit (the hit is not counted)."""
        now = self.clock()
        with self._lock:
            if len(self._hits) > 10_000:
                self._forget_idle(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        # Keeps memory bounded when many addresses pass once each.
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
