"""/api/v1/lists: lists (newsletters), their topics, settings, schedule and branding."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

import digest.web.admin.lists  # noqa: F401 - registers the lists_err_* words the errors use
from digest.adapters.storage import models
from digest.core.schedule import WEEKDAYS
from digest.core.statuses import SubscriptionStatus
from digest.services.list_editing import subscriber_counts, update_list
from digest.services.lists import all_lists
from digest.services.validation import Invalid
from digest.web.api import ApiCaller, api_admin_only, list_or_404
from digest.web.api.articles import unprocessable

router = APIRouter(tags=["lists"])
Slug = Annotated[str, Path(max_length=64, description="The list's slug")]


class TopicOut(BaseModel):
    slug: str
    name: str


class ListOut(BaseModel):
    slug: str
    name: str
    topics: list[TopicOut]


class Credit(BaseModel):
    label: str = Field(min_length=1, max_length=20, description="制作, 责任编辑, 审核…")
    value: str = Field(min_length=1, max_length=200)


class Schedule(BaseModel):
    weekday: str
    time: str
    time_zone: str
    enabled: bool
    rate_limit: float | None = Field(description="Messages a second at most; null = no limit")
    catch_up_hours: float = Field(
        description="How late the schedule still sends a slot it finds passed (the scheduler was down); later, "
        "the slot is let pass and the next comes as usual"
    )


class Branding(BaseModel):
    masthead: str
    tagline: str
    credits: list[Credit]
    contact_email: str | None
    postal_address: str | None


class ListDetail(ListOut):
    sender_name: str
    sender_email: str
    reply_to: str | None
    language: str
    article_text: str = Field(description="What the mail carries of each article: lead (first paragraph) or full")
    review_below: float = Field(
        description="A tagged article whose topic confidence is under this waits for review (0 to 1)"
    )
    bounce_domain: str | None = Field(description="The VERP return paths' domain (null: the site's)")
    bounce_threshold: float = Field(description="The soft-bounce score that suppresses an address (0: never)")
    schedule: Schedule
    branding: Branding
    subscribers: dict[str, int] = Field(description="Subscriptions by status: pending, confirmed, unsubscribed")


class TopicIn(BaseModel):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=100)


class ListPatch(BaseModel):
    """Only the fields sent change; all of them or none. `topics` lists every topic in its new order."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    sender_name: str | None = Field(None, max_length=200)
    sender_email: str | None = Field(None, max_length=320)
    reply_to: str | None = Field(None, max_length=320)
    language: Literal["zh-CN", "en"] | None = None
    article_text: Literal["lead", "full"] | None = None
    weekday: Literal[WEEKDAYS] | Annotated[int, Field(ge=0, le=6)] | None = None  # type: ignore[valid-type]
    time: str | None = Field(None, pattern=r"^\d{2}:\d{2}$")
    time_zone: str | None = Field(None, min_length=1, max_length=64)
    schedule_enabled: StrictBool | None = None
    rate_limit: float | None = Field(None, ge=0, le=10_000, allow_inf_nan=False)
    catch_up_hours: float | None = Field(None, ge=0, le=144, allow_inf_nan=False)
    review_below: float | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    bounce_domain: str | None = Field(None, max_length=253, description='"" to use the site\'s')
    bounce_threshold: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    masthead: str | None = Field(None, max_length=200)
    tagline: str | None = Field(None, max_length=300)
    credits: list[Credit] | None = Field(None, max_length=12)
    contact_email: str | None = Field(None, max_length=320)
    postal_address: str | None = Field(None, max_length=500)
    topics: list[TopicIn] | None = Field(None, min_length=1, max_length=30)


@router.get("/lists", response_model=list[ListOut], summary="Every list with its topics in section order")
def lists(request: Request) -> list[ListOut]:
    with request.app.state.web.factory.begin() as session:
        rows = all_lists(session)
        return [
            ListOut(slug=ml.slug, name=ml.name, topics=[TopicOut(slug=t.slug, name=t.name) for t in ml.topics])
            for ml in rows
        ]


def _detail(session, ml: models.MailingList) -> ListDetail:
    counts = subscriber_counts(session).get(ml.id, {})
    return ListDetail(
        slug=ml.slug,
        name=ml.name,
        topics=[TopicOut(slug=t.slug, name=t.name) for t in ml.topics],
        sender_name=ml.sender_name,
        sender_email=ml.sender_email,
        reply_to=ml.reply_to,
        language=ml.language,
        article_text=ml.article_text,
        review_below=ml.review_below,
        bounce_domain=ml.bounce_domain,
        bounce_threshold=ml.bounce_threshold,
        schedule=Schedule(
            weekday=WEEKDAYS[ml.send_weekday],
            time=ml.send_time,
            time_zone=ml.time_zone,
            enabled=ml.schedule_enabled,
            rate_limit=ml.rate_limit,
            catch_up_hours=ml.catch_up_hours,
        ),
        branding=Branding(
            masthead=ml.masthead,
            tagline=ml.tagline,
            credits=[Credit(label=str(k), value=str(v)) for k, v in (ml.credits or [])],
            contact_email=ml.contact_email,
            postal_address=ml.postal_address,
        ),
        subscribers={s: counts.get(s, 0) for s in SubscriptionStatus},
    )


@router.get("/lists/{slug}", response_model=ListDetail, summary="One list: settings, schedule, branding, topics")
def read_list(request: Request, slug: Slug) -> ListDetail:
    with request.app.state.web.factory.begin() as session:
        return _detail(session, list_or_404(session, slug))


@router.patch("/lists/{slug}", response_model=ListDetail, summary="Change a list's settings (admins only)")
def patch_list(
    request: Request, slug: Slug, patch: ListPatch, caller: Annotated[ApiCaller, Depends(api_admin_only)]
) -> ListDetail:
    changes = patch.model_dump(exclude_unset=True)
    if "credits" in changes and changes["credits"] is not None:
        changes["credits"] = [[c["label"], c["value"]] for c in changes["credits"]]
    if "topics" in changes and changes["topics"] is not None:
        changes["topics"] = [[t["slug"], t["name"]] for t in changes["topics"]]
    with request.app.state.web.factory.begin() as session:
        ml = list_or_404(session, slug)
        try:
            update_list(session, ml, changes)
        except Invalid as exc:
            raise unprocessable(exc.errors) from None
        detail = _detail(session, ml)
    request.app.state.web.list_changed(slug)
    return detail
