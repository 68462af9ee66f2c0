"""The personal URLs a message carries, each with its own signed token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from digest.core.bounces.verp import return_path
from digest.core.domain import Recipient
from digest.core.tokens import sign_tokens

# Links signed for nobody, as previews and test copies carry: no subscriber row has id 0 (ids start at 1), and
# the pages these links open (web/manage.py) say "a test copy, nothing changed" before any lookup.
NO_SUBSCRIBER = 0


@dataclass(frozen=True)
class IssueLinks:
    """What every recipient's links of one issue share: where they point, how they are signed, whom mail goes to."""

    list_slug: str
    issue_id: int  # 0 for a digest of no issue (a preview of a week not yet planned)
    base_url: str
    secret: str
    unsubscribe_mailbox: str
    # The VERP domain copies' return paths are on (digest/core/bounces/verp.py); None: the list's sender.
    bounce_domain: str | None = None


def envelope_sender(links: IssueLinks, delivery_id: int, list_sender: str) -> str:
    """The return path a delivery goes out with: its own signed VERP address on the bounce domain, so a
    bounce names it; without a bounce domain, the list's sender, as before."""
    if links.bounce_domain is None:
        return list_sender
    return return_path(links.secret, links.bounce_domain, delivery_id)


def archive_url(base_url: str, list_slug: str, issue_number: int | None) -> str:
    """The public page of a list's issue, or "" for a digest of no numbered issue (a preview of a week)."""
    return f"{base_url.rstrip('/')}/lists/{list_slug}/archive/{issue_number}" if issue_number else ""


def make_recipient(
    links: IssueLinks,
    *,
    email: str,
    name: str | None,
    subscriber_id: int,
    following: str = "",
    language: str = "",
) -> Recipient:
    """A Recipient whose links let this subscriber leave, change picks, or read online;
    `following` is what they picked, in words (`digest.core.following`), in their digest's `language`.

    The unsubscribe URL doubles as the RFC 8058 one-click target: mail providers
    POST `List-Unsubscribe=One-Click` to it.
    """
    base = links.base_url.rstrip("/")
    unsubscribe, preferences, view = sign_tokens(
        links.secret, ("unsubscribe", "preferences", "view"), subscriber_id, links.list_slug
    )
    # Tokens are URL-safe already; quoting anyway keeps the mailto valid should that change.
    # The space is quoted by hand: quote() returns a string with nothing to escape
    # at once, and walks one that has one character by character.
    subject = "unsubscribe%20" + quote(unsubscribe, safe="")
    return Recipient(
        email=email,
        name=(name or "").strip(),
        unsubscribe_url=f"{base}/u/{unsubscribe}",
        unsubscribe_mailto=f"mailto:{quote(links.unsubscribe_mailbox, safe='@')}?subject={subject}",
        preferences_url=f"{base}/p/{preferences}",
        view_url=f"{base}/issues/{links.issue_id}/view/{view}",
        following=following,
        language=language,
    )
