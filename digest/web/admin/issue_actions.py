"""Admin pages: what an issue's buttons do. Pause and resume at once; send now and cancel only once asked:
their button opens a page saying how many readers the action reaches, whose form posts again with `confirm`.

A post without `confirm` (a stale page, a script, a form from elsewhere) is answered with that question and
changes nothing. The API keeps its one call (digest/web/api/issues.py): a script means what it posts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services.delivery.now import deliver_now
from digest.services.delivery.plan import start_now, would_cancel, would_send
from digest.services.issues import (
    IssueStateError,
    RetryError,
    cancel_issue,
    pause_issue,
    resume_issue,
    retry_deliveries,
)
from digest.web.admin import AdminOnly, SignedIn, admin_page, web_of
from digest.web.admin.issues import DetailShown, IssueId, detail_page, issue_or_404

router = APIRouter(prefix="/admin")

Action = Literal["pause", "resume", "cancel", "send"]
Asked = Literal["send", "cancel"]
# The states each asked-for action is refused in, as the issue page hides its button.
_REFUSED_IN: dict[str, tuple[str, ...]] = {
    "send": (IssueStatus.PAUSED, IssueStatus.CANCELLED),
    "cancel": (IssueStatus.SENT, IssueStatus.CANCELLED),
}


def _refused(request: Request, admin, issue_id: int, number: int, status: str, action: str) -> HTMLResponse:
    """The issue page again, 409, saying why the issue's state refused `action`."""
    error = ("iss_err_state", {"number": number, "status": status, "action": action})
    return detail_page(request, admin, issue_id, DetailShown(status=409, error=error))


def _ask(request: Request, admin, issue_id: int, action: str, status: int = 200) -> HTMLResponse:
    """The question before sending or cancelling, with the number of readers it reaches."""
    web = web_of(request)
    with web.factory.begin() as session:
        issue = issue_or_404(session, issue_id)
        number, state = issue.number, issue.status
        if state in _REFUSED_IN[action]:
            return _refused(request, admin, issue_id, number, state, action)
        count = would_send(session, issue) if action == "send" else would_cancel(session, issue)
    # On a sent issue "send" only reaches those who have not had it: the page and its button say so.
    variant = f"{action}_rest" if action == "send" and state == IssueStatus.SENT else action
    return admin_page(
        request,
        "issues_confirm.html",
        admin=admin,
        status=status,
        issue_id=issue_id,
        number=number,
        action=action,
        variant=variant,
        count=count,
        shown_count=f"{count:,}",
        unconfirmed=status != 200,
    )


@router.get("/issues/{issue_id}/send")
def ask_send(request: Request, admin: SignedIn, issue_id: IssueId):
    return _ask(request, admin, issue_id, "send")


@router.get("/issues/{issue_id}/cancel")
def ask_cancel(request: Request, admin: SignedIn, issue_id: IssueId):
    return _ask(request, admin, issue_id, "cancel")


@router.post("/issues/{issue_id}/retry")
def retry(
    request: Request,
    admin: AdminOnly,
    issue_id: IssueId,
    status: Annotated[str, Form(max_length=20)] = DeliveryStatus.FAILED,
    csrf_token: Annotated[str | None, Form()] = None,
):
    """`digest issues retry`: the issue's failed (or bounced, no longer suppressed) rows go again. Admins only."""
    web = web_of(request)
    web.check_csrf(request, csrf_token, "iss-retry")
    try:
        with web.factory.begin() as session:
            issue = issue_or_404(session, issue_id)
            number, before = issue.number, issue.status
            reset, _ = retry_deliveries(session, issue, status, now=web.settings.clock.now())
            after = issue.status
    except RetryError:
        return detail_page(request, admin, issue_id, DetailShown(status=400, error=("iss_err_retry_status", {})))
    except IssueStateError:
        return _refused(request, admin, issue_id, number, before, "retry")
    if not reset:
        notice = "retry_none"
    elif after == IssueStatus.PAUSED:
        notice = "retry_paused"
    else:
        notice = _send(web, issue_id)
    return RedirectResponse(f"/admin/issues/{issue_id}?notice={notice}", status_code=303)


# Registered after the issues pages' routes: its {action} segment would otherwise catch /test and /preview.
@router.post("/issues/{issue_id}/{action}")
def steer(
    request: Request,
    admin: SignedIn,
    issue_id: IssueId,
    action: Action,
    csrf_token: Annotated[str | None, Form()] = None,
    confirm: Annotated[str, Form(max_length=10)] = "",
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"iss-{action}")
    if action in _REFUSED_IN and not confirm:
        return _ask(request, admin, issue_id, action, status=400)
    steps = {"pause": pause_issue, "resume": resume_issue, "cancel": cancel_issue, "send": start_now}
    try:
        with web.factory.begin() as session:
            issue = issue_or_404(session, issue_id)
            number, before = issue.number, issue.status
            steps[action](session, issue)
    except IssueStateError:
        return _refused(request, admin, issue_id, number, before, action)
    notice = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}.get(action) or _send(web, issue_id)
    return RedirectResponse(f"/admin/issues/{issue_id}?notice={notice}", status_code=303)


def _send(web, issue_id: int) -> str:
    try:
        mode = deliver_now(web.runtime, issue_id)
    except Exception:
        # The rows are in the ledger, due now: the workers' next tick hands them out.
        return "send_later"
    return f"send_{mode}"
