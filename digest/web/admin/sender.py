"""Admin pages: the sender's reputation. Bounce and complaint rates per issue and per week against Gmail's and
Yahoo's thresholds, the latest suppressions and what decided them, the bounce mailbox's mail nobody could read
(its raw source shown as text, never as HTML: whoever sent it wrote it), and how each inbound source is doing.

Admins only: the page shows addresses and mail from outside.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from digest.services import NotFound
from digest.services.sender_report import (
    BOUNCE_RATE_WARNING,
    COMPLAINT_RATE_LIMIT,
    COMPLAINT_RATE_TARGET,
    RAW_SHOWN,
    STALE_AFTER_POLLS,
    dismiss_inbound_mail,
    sender_report,
    sources_health,
    unparsed_mail,
    unparsed_mails,
)
from digest.services.sender_setup import list_sending
from digest.services.suppressions import find_suppressions
from digest.web import PageError
from digest.web.admin import MAX_ID, AdminOnly, admin_page, list_choices, list_or_404, web_of
from digest.web.catalogue.sender import SUPPRESSION_KINDS

router = APIRouter(prefix="/admin")
MailId = Annotated[int, Path(ge=1, le=MAX_ID)]
MAIL_PAGE = 20
ISSUES_SHOWN = 12
SUPPRESSIONS_SHOWN = 10


def percent(fraction: float | None) -> str:
    """0.0123 -> "1.23%"; thresholds keep only the digits they have (0.001 -> "0.1%")."""
    if fraction is None:
        return "—"
    return f"{fraction * 100:.2f}%"


def _threshold(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def when(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else None


@router.get("/sender")
def sender(
    request: Request,
    admin: AdminOnly,
    list: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
):
    web = web_of(request)
    now = web.settings.clock.now()
    expected = ["mailbox"] if web.settings.loop.mailbox_url else []
    with web.factory.begin() as session:
        ml = list_or_404(session, list) if list else None
        slug, time_zone = (ml.slug, ml.time_zone) if ml else ("", "UTC")
        report = sender_report(session, now, list_id=ml.id if ml else None, time_zone=time_zone, issues=ISSUES_SHOWN)
        suppressions, suppressed = find_suppressions(session, limit=SUPPRESSIONS_SHOWN)
        mails, waiting = unparsed_mails(session, limit=MAIL_PAGE, offset=(page - 1) * MAIL_PAGE)
        sending = list_sending(session, web.settings.loop)
        sources = sources_health(
            session, now, expected=expected, poll_interval=timedelta(seconds=web.settings.loop.poll_seconds)
        )
        lists = list_choices(session)
    return admin_page(
        request,
        "sender.html",
        admin=admin,
        ml=slug,
        lists=lists,
        report=report,
        issues_shown=ISSUES_SHOWN,
        suppressions=suppressions,
        suppressed=suppressed,
        kinds=SUPPRESSION_KINDS,
        mails=mails,
        waiting=waiting,
        page=page,
        pages=max(1, -(-waiting // MAIL_PAGE)),
        sources=sources,
        sending=sending,
        notice="snd_dismissed" if done == "dismissed" else None,
        percent=percent,
        when=when,
        target=_threshold(COMPLAINT_RATE_TARGET),
        limit=_threshold(COMPLAINT_RATE_LIMIT),
        warning=_threshold(BOUNCE_RATE_WARNING),
        poll_minutes=f"{web.settings.loop.poll_seconds / 60:.3g}",
        stale_minutes=f"{web.settings.loop.poll_seconds * STALE_AFTER_POLLS / 60:.3g}",
    )


@router.get("/sender/mail/{mail_id}")
def raw_mail(request: Request, admin: AdminOnly, mail_id: MailId):
    web = web_of(request)
    try:
        with web.factory.begin() as session:
            shown = unparsed_mail(session, mail_id, shown=RAW_SHOWN)
    except NotFound:
        raise PageError(404, "not_found") from None
    return admin_page(request, "sender_mail.html", admin=admin, shown=shown, shown_kb=RAW_SHOWN // 1024, when=when)


@router.post("/sender/mail/{mail_id}/dismiss")
def dismiss(
    request: Request,
    admin: AdminOnly,
    mail_id: MailId,
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"sender-dismiss-{mail_id}")
    try:
        with web.factory.begin() as session:
            dismiss_inbound_mail(session, mail_id, web.settings.clock.now())
    except NotFound:
        raise PageError(404, "not_found") from None
    return RedirectResponse("/admin/sender?done=dismissed#unparsed", status_code=303)
