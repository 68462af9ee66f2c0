"""Admin pages: issues. Plan one, watch its deliveries, preview any subscriber's copy with the reason for every
article, and send a test. Its buttons (pause, resume, cancel, send now, send again) are in issue_actions.py.

Editors and admins alike, but for sending failed deliveries again, which is for admins.
The words live in web/catalogue/issues.py; the work in digest.services.delivery and digest.services.issue_detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from digest.adapters.storage import models
from digest.adapters.transports import DeliveryError
from digest.core.faults import SetupError
from digest.core.schedule import zone
from digest.core.statuses import DeliveryStatus
from digest.services import NotFound
from digest.services.catch_up import missed_note
from digest.services.delivery.preview import preview_issue
from digest.services.delivery.testsend import InvalidAddress, compose_test_send, deliver_test
from digest.services.issue_detail import delivery_log, get_issue, issue_summaries, summary_of
from digest.services.issues import RETRYABLE, plan_issue
from digest.services.lists import get_list
from digest.services.paging import Cursor
from digest.services.subscribers import InvalidSubscriber, confirmed_emails
from digest.web import PageError
from digest.web.admin import (
    MAX_ID,
    Pager,
    SignedIn,
    admin_page,
    list_choices,
    web_of,
)
from digest.web.catalogue.issues import NOTICES
from digest.web.limits import retry_after, test_send_key, test_send_limiter
from digest.web.security import DIGEST_CSP, PAGE_CSP

router = APIRouter(prefix="/admin")

PAGE_SIZE = 50
IssueId = Annotated[int, Path(ge=1, le=MAX_ID)]
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
# The preview page frames the digest from our own origin; nothing else may be framed.
PREVIEW_CSP = PAGE_CSP + "; frame-src 'self'"
FRAMED_DIGEST_CSP = DIGEST_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")


def issue_or_404(session, issue_id: int) -> models.Issue:
    try:
        return get_issue(session, issue_id)
    except NotFound:
        raise PageError(404, "not_found") from None


def _today(web, ml: models.MailingList) -> date:
    return web.settings.clock.today(zone(ml.time_zone))


def _index(
    request: Request,
    admin,
    slug: str | None,
    *,
    error: str | None = None,
    period_end: str | None = None,
    status: int = 200,
):
    web = web_of(request)
    with web.factory.begin() as session:
        try:
            ml = get_list(session, slug)
        except NotFound:
            raise PageError(404, "not_found") from None
        total, issues = issue_summaries(session, ml, limit=200, kept=web.runtime.kept)
        return admin_page(
            request,
            "issues.html",
            admin=admin,
            status=status,
            ml=ml.slug,
            ml_name=ml.name,
            lists=list_choices(session),
            issues=issues,
            total=total,
            error=error,
            period_end=_today(web, ml).isoformat() if period_end is None else period_end,
            missed=missed_note(ml, web.settings.clock.now()),
        )


@router.get("/issues")
def issues_index(request: Request, admin: SignedIn, list: Annotated[str | None, Query(max_length=64)] = None):
    return _index(request, admin, list)


@router.post("/issues")
def plan(
    request: Request,
    admin: SignedIn,
    list: Annotated[str, Form(max_length=64)] = "",
    period_end: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "iss-plan")
    try:
        day = date.fromisoformat(period_end.strip())
    except ValueError:
        return _index(request, admin, list or None, error="iss_err_date", period_end=period_end, status=400)
    if not FIRST_DAY <= day <= LAST_DAY:
        return _index(request, admin, list or None, error="iss_err_date_range", period_end=period_end, status=400)
    with web.factory.begin() as session:
        try:
            ml = get_list(session, list or None)
        except NotFound:
            raise PageError(404, "not_found") from None
        issue_id = plan_issue(session, ml, day).id
    return RedirectResponse(f"/admin/issues/{issue_id}", status_code=303)


@dataclass(frozen=True)
class DetailShown:
    """What the issue page shows beside the issue: the delivery log's filter and page (a cursor, or a page number
    alone from links made before cursors), and a notice or error."""

    status_filter: str = ""
    page: int = 1
    after: int | None = None
    before: int | None = None
    notice: str | None = None
    error: tuple[str, dict] | None = None
    status: int = 200


def detail_page(request: Request, admin, issue_id: int, shown: DetailShown = DetailShown()):
    status_filter, page, notice = shown.status_filter, shown.page, shown.notice
    cursor = Cursor(PAGE_SIZE, (page - 1) * PAGE_SIZE, shown.after, shown.before)
    with web_of(request).factory.begin() as session:
        issue = issue_or_404(session, issue_id)
        summary = summary_of(session, issue, kept=web_of(request).runtime.kept)
        bad_filter = bool(status_filter) and status_filter not in tuple(DeliveryStatus)
        chosen = None if bad_filter or not status_filter else status_filter
        log = delivery_log(session, issue.id, status=chosen, cursor=cursor)
    total = summary.counts.get(chosen, 0) if chosen else summary.total
    pages = max(1, -(-total // PAGE_SIZE))
    return admin_page(
        request,
        "issues_detail.html",
        admin=admin,
        status=shown.status,
        issue=summary,
        rows=log.rows,
        log_total=total,
        page=min(page, pages),
        pages=pages,
        next_after=log.next_after,
        prev_before=log.prev_before,
        status_filter=chosen or "",
        bad_filter=bad_filter,
        statuses=tuple(DeliveryStatus),
        retryable=RETRYABLE,
        notice=notice if notice in NOTICES else None,
        error=shown.error,
    )


@router.get("/issues/{issue_id}")
def issue_page(
    request: Request,
    admin: SignedIn,
    issue_id: IssueId,
    pager: Annotated[Pager, Depends()],
    status: Annotated[str, Query(max_length=20)] = "",
    notice: Annotated[str | None, Query(max_length=40)] = None,
):
    shown = DetailShown(status_filter=status, page=pager.page, after=pager.after, before=pager.before, notice=notice)
    return detail_page(request, admin, issue_id, shown)


@dataclass(frozen=True)
class PreviewShown:
    """What the preview page shows beside the preview: the test-send form's address and how it went."""

    to: str = ""
    notice: tuple[str, dict] | None = None
    error: tuple[str, dict] | None = None
    status: int = 200


def _preview_page(
    request: Request, admin, issue_id: int, email: str, shown: PreviewShown = PreviewShown()
) -> HTMLResponse:
    web = web_of(request)
    preview = None
    error, status = shown.error, shown.status
    with web.factory.begin() as session:
        issue = issue_or_404(session, issue_id)
        summary = summary_of(session, issue, kept=web.runtime.kept)
        if email:
            try:
                preview = preview_issue(web.runtime, session, issue.id, email)
            except InvalidSubscriber:
                error, status = error or ("iss_err_email", {}), 400 if status == 200 else status
            except NotFound:
                error, status = error or ("iss_err_not_subscribed", {"email": email}), 404 if status == 200 else status
        # Only an admin may pick from the subscribers' addresses; an editor types the one they were given.
        people = confirmed_emails(session, issue.list) if admin.is_admin else []
    response = admin_page(
        request,
        "issues_preview.html",
        admin=admin,
        status=status,
        issue=summary,
        email=email,
        preview=preview,
        people=people,
        to=shown.to,
        notice=shown.notice,
        error=error,
        frame_query=urlencode({"email": email}),
    )
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@router.get("/issues/{issue_id}/preview")
def preview(request: Request, admin: SignedIn, issue_id: IssueId, email: Annotated[str, Query(max_length=320)] = ""):
    return _preview_page(request, admin, issue_id, email.strip())


@router.get("/issues/{issue_id}/preview/digest")
def preview_digest_html(
    request: Request, admin: SignedIn, issue_id: IssueId, email: Annotated[str, Query(max_length=320)] = ""
):
    """The digest's own HTML, for the preview page's sandboxed frame (no script may run in it)."""
    web = web_of(request)
    with web.factory.begin() as session:
        issue = issue_or_404(session, issue_id)
        try:
            preview = preview_issue(web.runtime, session, issue.id, email)
        except (InvalidSubscriber, NotFound):
            raise PageError(404, "not_found") from None
    if preview.rendered is None:
        raise PageError(404, "iss_nothing_matched")
    headers = {"Content-Security-Policy": FRAMED_DIGEST_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(preview.rendered.html, headers=headers)


@router.post("/issues/{issue_id}/test")
def send_test(
    request: Request,
    admin: SignedIn,
    issue_id: IssueId,
    to: Annotated[str, Form(max_length=400)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "iss-test")
    email = email.strip()
    if not test_send_limiter(request).hit(test_send_key(admin.id)):
        refused = _preview_page(
            request, admin, issue_id, email, PreviewShown(to, error=("rate_limited", {}), status=429)
        )
        refused.headers.update(retry_after())
        return refused
    with web.factory.begin() as session:
        issue = issue_or_404(session, issue_id)
        try:
            test = compose_test_send(web.runtime, session, issue.id, to, subscriber_email=email or None)
        except InvalidAddress:
            shown = PreviewShown(to, error=("iss_err_test_to", {}), status=400)
            return _preview_page(request, admin, issue_id, email, shown)
        except InvalidSubscriber:
            shown = PreviewShown(to, error=("iss_err_email", {}), status=400)
            return _preview_page(request, admin, issue_id, email, shown)
        except NotFound:
            shown = PreviewShown(to, error=("iss_err_test_empty", {}), status=404)
            return _preview_page(request, admin, issue_id, email, shown)
        except SetupError as exc:  # a DKIM key that cannot be read, a list setting no header can hold
            shown = PreviewShown(to, error=("iss_err_test_setup", {"detail": str(exc)}), status=503)
            return _preview_page(request, admin, issue_id, email, shown)
    try:
        deliver_test(web.runtime, test)
    except DeliveryError as exc:
        shown = PreviewShown(to, error=("iss_err_test_failed", {"detail": str(exc)}), status=502)
        return _preview_page(request, admin, issue_id, email, shown)
    sent = ("iss_test_sent", {"to": test.to, "count": test.article_count})
    return _preview_page(request, admin, issue_id, email, PreviewShown(to, notice=sent))
