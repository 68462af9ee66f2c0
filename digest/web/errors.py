"""Where an error page leads back to: the list it is about (its name on the page, its subscribe form or the
reader's preferences as the way back) when the request names one, else the lists there are.

A refusal that knows its list says so itself (`PageError(way_back=…)`); any other is read from the path: a
list's own pages name its slug, a signed link its token. Only a token whose signature holds names a list: a
forged one learns nothing, not even whether the list exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.core.domain import ListInfo
from digest.core.tokens import BadToken, read_token
from digest.services.lists import all_lists, branding_info

if TYPE_CHECKING:
    from digest.web import Web

# A signed link's path: its first part, and the purpose its token was signed for.
_LINKS = {"p": "preferences", "u": "unsubscribe", "confirm": "confirm"}
MAX_LISTS_SHOWN = 20


@dataclass(frozen=True)
class WayBack:
    """An error page's list (None: not known) and its way back: `url` with its catalogue `label`; `lists`
    are the lists there are, offered when the one asked for is unknown."""

    list: ListInfo | None = None
    url: str = ""
    label: str = ""
    lists: tuple[ListInfo, ...] = field(default=())


def to_subscribe(info: ListInfo, label: str = "back_to_subscribe") -> WayBack:
    return WayBack(info, f"/lists/{info.slug}/subscribe", label)


def slug_in_path(web: Web, path: str) -> str | None:
    """The list slug a path names: /lists/SLUG/…, or a signed link whose token's signature holds (expired or
    not: an expired link is still ours, and its list is where the reader goes back to)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "lists":
        return parts[1]
    if len(parts) == 2 and parts[0] in _LINKS:
        purpose, token = _LINKS[parts[0]], parts[1]
    elif len(parts) == 4 and parts[0] == "issues" and parts[2] == "view":
        purpose, token = "view", parts[3]
    else:
        return None
    try:
        return read_token(web.settings.token_keys, token, purpose).list_slug
    except BadToken:
        return None


def way_back(web: Web, path: str, message: str) -> tuple[WayBack, str]:
    """The way back from the error page of `path`, and its `message` (an unknown list's not_found names it)."""
    slug = slug_in_path(web, path)
    found = web.form_list(slug) if slug else None
    if found is not None:
        if message == "confirm_expired":
            return to_subscribe(found.info, "subscribe_again"), message
        if message != "bad_link" and path.startswith(("/p/", "/confirm/")):
            # The link holds and names a subscription: its page is the way back (a bad form, a stale form token).
            label = "back_to_preferences" if path.startswith("/p/") else "back_to_confirm"
            return WayBack(found.info, path, label), message
        return to_subscribe(found.info), message
    if slug is not None and path.startswith("/lists/") and message == "not_found":
        with web.factory() as session:
            lists = tuple(branding_info(ml) for ml in all_lists(session)[:MAX_LISTS_SHOWN])
        return WayBack(lists=lists), "no_such_list"
    return WayBack(), message
