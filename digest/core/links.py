"""The personal URLs a message carries, each with its own signed token."""

from __future__ import annotations

from urllib.parse import quote

from digest.core.domain import Recipient
from digest.core.tokens import sign_tokens


def make_recipient(
    *,
    email: str,
    name: str | None,
    subscriber_id: int,
    list_slug: str,
    issue_id: int,
    base_url: str,
    secret: str,
    unsubscribe_mailbox: str,
) -> Recipient:
    """A Recipient whose links let this subscriber leave, change picks, or read online.

    The unsubscribe URL doubles as the RFC 8058 one-click target: mail providers
    POST `List-Unsubscribe=One-Click` to it.
    """
    base = base_url.rstrip("/")
    unsubscribe, preferences, view = sign_tokens(
        secret, ("unsubscribe", "preferences", "view"), subscriber_id, list_slug
    )
    # Tokens are URL-safe already; quoting anyway keeps the mailto valid should that change.
    # The space is quoted by hand: quote() returns a string with nothing to escape
    # at once, and walks one that has one character by character.
    subject = "unsubscribe%20" + quote(unsubscribe, safe="")
    return Recipient(
        email=email,
        name=(name or "").strip(),
        unsubscribe_url=f"{base}/u/{unsubscribe}",
        unsubscribe_mailto=f"mailto:{quote(unsubscribe_mailbox, safe='@')}?subject={subject}",
        preferences_url=f"{base}/p/{preferences}",
        view_url=f"{base}/issues/{issue_id}/view/{view}",
    )
