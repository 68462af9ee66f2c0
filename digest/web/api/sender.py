"""/api/v1/sender: the sender page's figures for monitoring: bounce and complaint rates per issue and per ISO
week with the thresholds they are held against, how many inbound mails wait for a person, and the inbound
sources' health.

Admins only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from digest.services.sender_report import (
    BOUNCE_RATE_WARNING,
    COMPLAINT_RATE_LIMIT,
    COMPLAINT_RATE_TARGET,
    Figures,
    sender_report,
    sources_health,
    unparsed_mails,
)
from digest.web.api import api_admin_only, list_or_404

router = APIRouter(tags=["sender"], dependencies=[Depends(api_admin_only)])


class FiguresOut(BaseModel):
    sent: int = Field(description="Copies that left: sent, or refused by the server during the send")
    refused: int = Field(description="Refused during the send")
    hard_bounces: int = Field(description="Permanent bounces that came back later (DSN or webhook), by recipient")
    soft_bounces: int
    complaints: int
    unsubscribes: int = Field(description="Mails to the List-Unsubscribe address")
    auto_replies: int
    bounces: int = Field(description="hard_bounces + refused")
    bounce_rate: float | None = Field(description="bounces / sent; null when nothing was sent")
    complaint_rate: float | None = Field(description="complaints / sent; null when nothing was sent")
    bounce_over_warning: bool = Field(description=f"bounce_rate >= {BOUNCE_RATE_WARNING}")
    complaint_over_target: bool = Field(description=f"complaint_rate >= {COMPLAINT_RATE_TARGET}")
    complaint_over_limit: bool = Field(description=f"complaint_rate >= {COMPLAINT_RATE_LIMIT}")


class IssueRatesOut(BaseModel):
    issue_id: int
    list: str = Field(description="The list's slug")
    list_name: str
    number: int
    period_end: date
    figures: FiguresOut


class WeekRatesOut(BaseModel):
    week: str = Field(description="ISO 8601 week: 2026-W48")
    starts: datetime = Field(description="Its Monday 00:00 in `time_zone`")
    figures: FiguresOut


class ThresholdsOut(BaseModel):
    complaint_rate_target: float = Field(description="Gmail's and Yahoo's bulk-sender rules: stay below")
    complaint_rate_limit: float = Field(description="Gmail's and Yahoo's bulk-sender rules: never reach")
    bounce_rate_warning: float = Field(description="A warning level of industry practice, not a provider's rule")


class SourceOut(BaseModel):
    name: str
    mailbox: bool = Field(description="The bounce mailbox (else a provider's webhook)")
    last_seen_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    counts: dict[str, int]
    runs: int
    stale: bool = Field(description="The mailbox was not read for three poll intervals")
    erroring: bool = Field(description="Its last error is newer than its last success")


class SenderOut(BaseModel):
    issues: list[IssueRatesOut] = Field(description="Newest first")
    weeks: list[WeekRatesOut] = Field(description="The last 12 weeks, newest first")
    time_zone: str = Field(description="The weeks': the list's, or UTC for all lists")
    thresholds: ThresholdsOut
    unparsed_mail: int = Field(description="Inbound mails nobody could read, waiting for a person")
    sources: list[SourceOut]


def _figures(figures: Figures) -> FiguresOut:
    return FiguresOut(**figures.as_dict())


@router.get("/sender", response_model=SenderOut, summary="Bounce and complaint rates, unread mail, sources' health")
def sender(
    request: Request,
    list_slug: Annotated[
        str | None, Query(alias="list", max_length=64, description="One list's figures (default: all lists)")
    ] = None,
    issues: Annotated[int, Query(ge=1, le=100, description="How many of the last issues")] = 12,
) -> SenderOut:
    web = request.app.state.web
    now = web.settings.clock.now()
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug) if list_slug else None
        zone = ml.time_zone if ml else "UTC"
        report = sender_report(session, now, list_id=ml.id if ml else None, time_zone=zone, issues=issues)
        _, waiting = unparsed_mails(session, limit=1)
        expected = ["mailbox"] if web.settings.loop.mailbox_url else []
        health = sources_health(
            session, now, expected=expected, poll_interval=timedelta(seconds=web.settings.loop.poll_seconds)
        )
    return SenderOut(
        issues=[
            IssueRatesOut(
                issue_id=r.issue_id,
                list=r.list_slug,
                list_name=r.list_name,
                number=r.number,
                period_end=r.period_end,
                figures=_figures(r.figures),
            )
            for r in report.issues
        ],
        weeks=[WeekRatesOut(week=w.week, starts=w.starts, figures=_figures(w.figures)) for w in report.weeks],
        time_zone=report.time_zone,
        thresholds=ThresholdsOut(**report.thresholds),
        unparsed_mail=waiting,
        sources=[
            SourceOut(mailbox=h.is_mailbox, **{k: getattr(h, k) for k in SourceOut.model_fields if k != "mailbox"})
            for h in health
        ],
    )
