"""What a subscriber's console page shows besides the edit form: their delivery history, a page at a time, the
link to preview their copy of the latest issue, and the notice a save or an add left for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from digest.adapters.storage import models
from digest.core.schedule import zone
from digest.services.paging import Cursor
from digest.services.subscriber_history import HISTORY_PAGE, delivery_history, preview_issue
from digest.web.admin import MAX_ID
from digest.web.admin.subscriber_adding import ADDED_NOTICES


@dataclass
class SubscriberView:
    """The subscriber page's query: the notice to show, and which page of the history (a delivery id cursor)."""

    saved: int = 0
    added: Annotated[str, Query(max_length=20)] = ""
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None
    before: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None

    @property
    def notice(self) -> str | None:
        return ADDED_NOTICES.get(self.added) or ("subs_saved" if self.saved else None)

    @property
    def cursor(self) -> Cursor:
        return Cursor(limit=HISTORY_PAGE, after=self.after, before=self.before)


FIRST_PAGE = Cursor(limit=HISTORY_PAGE)


def history_context(session, ml: models.MailingList, sub: models.Subscription, cursor: Cursor) -> dict:
    """The page's `history` rows (times in the list's zone), its older/newer links, and the preview link."""
    found = delivery_history(session, ml, sub.subscriber_id, cursor)
    where = zone(ml.time_zone)
    rows = [
        {
            "issue_id": row.issue_id,
            "number": row.issue_number,
            "period_end": row.period_end.isoformat(),
            "sent": row.sent_at.astimezone(where).strftime("%Y-%m-%d %H:%M") if row.sent_at else "",
            "status": row.status,
            "reason": row.reason,
        }
        for row in found.rows
    ]
    base = f"/admin/subscribers/{sub.subscriber_id}?"
    issue_id, number = preview_issue(session, ml) or (None, None)
    return {
        "history": rows,
        "history_older": base + urlencode({"list": ml.slug, "after": found.older}) if found.older else None,
        "history_newer": base + urlencode({"list": ml.slug, "before": found.newer}) if found.newer else None,
        "preview_url": (
            f"/admin/issues/{issue_id}/preview?" + urlencode({"email": sub.subscriber.email}) if issue_id else None
        ),
        "preview_number": number,
    }
