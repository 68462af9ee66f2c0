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
from urllib.parse import urlsplit

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


# Pages that carry a person's token or an admin's data: no shared cache may keep a copy.
PERSONAL_PREFIXES = ("/p/", "/u/", "/confirm/", "/issues/", "/admin", "/api/")


def response_headers(path: str) -> dict[str, str]:
    """The headers every response to `path` carries, error pages and refusals at the door included."""
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP}
    if path.startswith(PERSONAL_PREFIXES):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    """ASGI middleware: adds `response_headers` where a route set none of its own (a digest sets its own CSP),
    and makes a redirect that names the request's Host relative, so a forged Host cannot steer it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": _secured(message.get("headers", []), path, host)}
            await send(message)

        await self.app(scope, receive, send_secured)


def relative_location(location: str, host: str | None) -> str:
    """`location` without its scheme and host when they are the request's own Host."""
    parts = urlsplit(location)
    if parts.netloc and host is not None and parts.netloc.lower() == host.lower():
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return location


def _secured(headers, path: str, host: str | None) -> list[tuple[bytes, bytes]]:
    out = []
    present = set()
    for key, value in headers:
        name = key.decode("latin-1").lower()
        present.add(name)
        if name == "location":
            value = relative_location(value.decode("latin-1"), host).encode("latin-1")
        if name == "cache-control" and path.startswith(PERSONAL_PREFIXES):
            continue
        out.append((key, value))
    for name, value in response_headers(path).items():
        if name.lower() not in present or name == "Cache-Control":
            out.append((name.lower().encode(), value.encode()))
    return out
