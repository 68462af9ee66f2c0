"""/api/v1/issues: plan, list, read, pause/resume/cancel, the delivery log, a subscriber's preview, a test send,
sending failed deliveries again.

Editors and admins alike, but for the retry (admins). A state change the issue does not allow answers 409
with the reason; malformed input answers 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from digest.adapters.transports import DeliveryError
from digest.core.faults import SetupError
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services import NotFound
from digest.services.delivery.now import deliver_now
from digest.services.delivery.preview import preview_issue
from digest.services.delivery.skips import read_reason
from digest.services.delivery.testsend import InvalidAddress, compose_test_send, deliver_test
from digest.services.issue_detail import (
    IssueSummary,
    delivery_log,
    get_issue,
    issue_counts,
    issue_summaries,
    summary_of,
)
from digest.services.issues import (
    RETRYABLE,
    IssueStateError,
    cancel_issue,
    issue_for_period,
    pause_issue,
    plan_issue,
    resume_issue,
    retry_deliveries,
)
from digest.services.paging import Cursor
from digest.services.subscribers import InvalidSubscriber
from digest.web.api import CONFLICT_RESPONSES, MAX_ID, ApiCaller, ErrorOut, api_admin_only, api_caller, list_or_404
from digest.web.i18n import translator
from digest.web.limits import retry_after, test_send_key, test_send_limiter

router = APIRouter(tags=["issues"])

IssueId = Annotated[int, Path(ge=1, le=MAX_ID, description="The issue's id")]
ListSlug = Annotated[
    str | None, Query(alias="list", max_length=64, description="List slug (default: the default list)")
]
# The bare values, so a refusal lists 'failed' or 'bounced' as a client writes them, not the members' reprs.
_RETRYABLE_VALUES = tuple(s.value for s in RETRYABLE)
RetryStatus = Literal[_RETRYABLE_VALUES]  # type: ignore[valid-type]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class IssueOut(BaseModel):
    id: int
    list: str
    number: int
    period_start: date
    period_end: date
    status: str
    created_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = Field(description="Deliveries by status: pending, queued, sending, sent, failed, …")


class IssuePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[IssueOut]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period_end: Day = Field(description="The last day of the seven the issue covers (YYYY-MM-DD)")
    list: str | None = Field(None, min_length=1, max_length=64, description="List slug (default: the default list)")


class DeliveryOut(BaseModel):
    id: int = Field(description="The delivery's id: pass the last one as `after` for the next page")
    email: str
    name: str
    status: str
    attempts: int
    articles: int
    reason: str | None = Field(description="Why it was not sent, in English")
    reason_code: str | None = Field(
        None, description="The reason as data: suppressed, not_confirmed, paused (until), empty, cancelled"
    )
    reason_params: dict[str, str] = Field(default_factory=dict, description="The code's values: a pause's `until`")
    last_error: str | None
    sent_at: datetime | None
    message_id: str | None


class DeliveryPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DeliveryOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page (it costs what the first page costs); null on the last page"
    )


class ArticleVerdict(BaseModel):
    id: int
    title: str
    region_label: str
    topic: str
    reason: str = Field(description="Why it is in or out, in English")
    reason_kind: str = Field(
        description="topic, everywhere, no_region, same, inside, contains, apart, list_topic, in_copy, not_in_copy,"
        " received_before, other"
    )


class PreviewOut(BaseModel):
    email: str
    subscription_status: str
    subject: str | None = Field(description="null when nothing matches: no message would be sent")
    article_count: int
    skip: str | None = Field(description="Why the send would skip them: suppressed, not_confirmed, paused, empty")
    included: list[ArticleVerdict]
    excluded: list[ArticleVerdict]


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=3, max_length=320, description="One address to send the test to")
    email: str | None = Field(
        None,
        min_length=3,
        max_length=320,
        description="Whose digest to send (a subscriber of the list); none = the whole issue",
    )


class TestOut(BaseModel):
    to: str
    subject: str
    article_count: int


def _out(s: IssueSummary) -> IssueOut:
    return IssueOut(
        id=s.id,
        list=s.list_slug,
        number=s.number,
        period_start=s.period_start,
        period_end=s.period_end,
        status=s.status,
        created_at=s.created_at,
        finished_at=s.finished_at,
        counts=s.counts,
    )


def _issue(session, issue_id: int):
    try:
        return get_issue(session, issue_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


def _field_error(loc: list, message: str, kind: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": loc, "msg": message, "type": kind}])


@router.get("/issues", response_model=IssuePage, summary="A list's issues, newest first, with delivery counts")
def list_issues(
    request: Request,
    list_slug: ListSlug = None,
    status: Annotated[IssueStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> IssuePage:
    with request.app.state.web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        kept = request.app.state.web.runtime.kept
        total, items = issue_summaries(session, ml, status=status, limit=limit, offset=offset, kept=kept)
        return IssuePage(total=total, limit=limit, offset=offset, items=[_out(s) for s in items])


@router.post(
    "/issues",
    response_model=IssueOut,
    status_code=201,
    summary="Plan the issue for the week ending period_end (200 with the same issue if it exists)",
)
def plan(request: Request, body: PlanIn, response: Response) -> IssueOut:
    with request.app.state.web.factory.begin() as session:
        ml = list_or_404(session, body.list)
        existing = issue_for_period(session, ml, body.period_end)
        issue = plan_issue(session, ml, body.period_end)
        if existing is not None:
            response.status_code = 200
        return _out(summary_of(session, issue))


@router.get("/issues/{issue_id}", response_model=IssueOut, summary="One issue with its delivery counts")
def read_issue(request: Request, issue_id: IssueId) -> IssueOut:
    with request.app.state.web.factory.begin() as session:
        return _out(summary_of(session, _issue(session, issue_id), kept=request.app.state.web.runtime.kept))


def _steer(request: Request, issue_id: int, action) -> IssueOut:
    try:
        with request.app.state.web.factory.begin() as session:
            issue = _issue(session, issue_id)
            action(session, issue)
            session.flush()
            return _out(summary_of(session, issue))
    except IssueStateError as exc:
        raise HTTPException(409, detail=str(exc)) from None


@router.post(
    "/issues/{issue_id}/pause",
    response_model=IssueOut,
    responses=CONFLICT_RESPONSES,
    summary="Pause a planned or sending issue",
)
def pause(request: Request, issue_id: IssueId) -> IssueOut:
    return _steer(request, issue_id, pause_issue)


@router.post(
    "/issues/{issue_id}/resume", response_model=IssueOut, responses=CONFLICT_RESPONSES, summary="Resume a paused issue"
)
def resume(request: Request, issue_id: IssueId) -> IssueOut:
    return _steer(request, issue_id, resume_issue)


@router.post(
    "/issues/{issue_id}/cancel",
    response_model=IssueOut,
    responses=CONFLICT_RESPONSES,
    summary="Cancel an issue: unsent rows are skipped",
)
def cancel(request: Request, issue_id: IssueId) -> IssueOut:
    return _steer(request, issue_id, cancel_issue)


@router.get("/issues/{issue_id}/deliveries", response_model=DeliveryPage, summary="The issue's delivery log")
def deliveries(
    request: Request,
    issue_id: IssueId,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip: costs them; prefer `after`")] = 0,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="The delivery id a page follows: the last page's `next_after`")
    ] = None,
) -> DeliveryPage:
    with request.app.state.web.factory.begin() as session:
        issue = _issue(session, issue_id)
        counts = issue_counts(session, [issue], request.app.state.web.runtime.kept)[issue.id]
        log = delivery_log(session, issue.id, status=status, cursor=Cursor(limit, offset, after))
    total = counts.get(status, 0) if status else sum(counts.values())
    items = [DeliveryOut(**vars(r) | _reason(r.reason)) for r in log.rows]
    return DeliveryPage(total=total, limit=limit, offset=offset, items=items, next_after=log.next_after)


def _reason(stored: str | None) -> dict:
    found = read_reason(stored)
    return {"reason": found.text, "reason_code": found.code, "reason_params": dict(found.params)} if found else {}


@router.get(
    "/issues/{issue_id}/preview",
    response_model=PreviewOut,
    summary="What one subscriber gets from this issue, and why each article is in or out",
)
def preview(
    request: Request,
    issue_id: IssueId,
    email: Annotated[str, Query(min_length=3, max_length=320, description="The subscriber's address")],
) -> PreviewOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        issue = _issue(session, issue_id)
        try:
            p = preview_issue(web.runtime, session, issue.id, email)
        except InvalidSubscriber as exc:
            raise _field_error(["query", "email"], str(exc), "value_error.email") from None
        except NotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None
    t = translator("en")

    def verdict(v) -> ArticleVerdict:
        return ArticleVerdict(
            id=v.article_id,
            title=v.title,
            region_label=v.region_label,
            topic=v.topic_name,
            reason=t(v.reason.key, **v.reason.values),
            reason_kind=v.reason.kind,
        )

    return PreviewOut(
        email=p.email,
        subscription_status=p.subscription_status,
        subject=p.rendered.subject if p.rendered else None,
        article_count=p.digest.article_count,
        skip=p.skip,
        included=[verdict(v) for v in p.included],
        excluded=[verdict(v) for v in p.excluded],
    )


@router.post(
    "/issues/{issue_id}/test",
    response_model=TestOut,
    responses={429: {"model": ErrorOut, "description": "Ten test sends a minute per staff member (console and API)"}},
    summary="Send a subscriber's digest (or the whole issue) to one address, marked as a test",
)
def send_test(
    request: Request, issue_id: IssueId, body: TestIn, caller: Annotated[ApiCaller, Depends(api_caller)]
) -> TestOut:
    web = request.app.state.web
    # The console's count: one limit per staff member, whichever door the test send comes through.
    if not test_send_limiter(request).hit(test_send_key(caller.id)):
        raise HTTPException(429, detail="too many test sends; wait a minute", headers=retry_after())
    with web.factory.begin() as session:
        issue = _issue(session, issue_id)
        try:
            test = compose_test_send(web.runtime, session, issue.id, body.to, subscriber_email=body.email)
        except InvalidAddress as exc:
            raise _field_error(["body", "to"], str(exc), "value_error.email") from None
        except InvalidSubscriber as exc:
            raise _field_error(["body", "email"], str(exc), "value_error.email") from None
        except NotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None
        except SetupError as exc:  # a DKIM key that cannot be read, a list setting no header can hold
            raise HTTPException(503, detail=f"a site setting stops every message: {exc}") from None
    try:
        deliver_test(web.runtime, test)
    except DeliveryError as exc:
        raise HTTPException(502, detail=f"the mail server did not take the test message: {exc}") from None
    return TestOut(to=test.to, subject=test.subject, article_count=test.article_count)


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: RetryStatus = Field(
        DeliveryStatus.FAILED.value,
        description="failed, or bounced (only rows whose address is no longer suppressed); sent rows never go twice",
    )


class RetryOut(BaseModel):
    issue: IssueOut
    reset: int = Field(description="Deliveries put back to pending")
    left_suppressed: int = Field(description="Bounced deliveries left as they were: the address is still suppressed")
    sending: str = Field(
        description="background (this process sends them), queued (the workers have them), running (already "
        "being sent here), later (the broker was unreachable: the workers' next tick), paused (when the issue "
        "resumes), none (nothing to send)"
    )


@router.post(
    "/issues/{issue_id}/retry",
    response_model=RetryOut,
    responses=CONFLICT_RESPONSES,
    dependencies=[Depends(api_admin_only)],
    summary="Send the issue's failed (or bounced, no longer suppressed) deliveries again, now; admins only",
)
def retry(request: Request, issue_id: IssueId, body: RetryIn) -> RetryOut:
    web = request.app.state.web
    try:
        with web.factory.begin() as session:
            issue = _issue(session, issue_id)
            reset, left = retry_deliveries(session, issue, body.status, now=web.settings.clock.now())
            after = issue.status
    except IssueStateError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    if not reset:
        sending = "none"
    elif after == IssueStatus.PAUSED:
        sending = "paused"
    else:
        try:
            sending = deliver_now(web.runtime, issue_id)
        except Exception:
            sending = "later"  # the rows are pending and due: the workers' next tick hands them out
    with web.factory.begin() as session:
        summary = summary_of(session, _issue(session, issue_id))
    return RetryOut(issue=_out(summary), reset=reset, left_suppressed=left, sending=sending)
