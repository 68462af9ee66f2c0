"""/api/v1/subscribers: find, add or update by email, edit, unsubscribe (the suppression list: suppressions.py).

Admins only. Subscribers are addressed by their id and a list (`?list=slug`,
the default list when absent). Bad input answers 4xx naming the field, e.g.
`{"detail": [{"loc": ["body", "regions", 1], "msg": "unknown region '火星'"}]}`;
an edit with one bad field changes nothing.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

import digest.web.admin.subscribers  # noqa: F401 - registers the subs_err_* words the errors use
from digest.adapters.storage import models
from digest.core.statuses import SubscriptionStatus
from digest.services import NotFound
from digest.services.subscriber_editing import (
    COUNT_CAP,
    edit_subscription,
    get_subscription,
    save_subscription,
    search_subscriptions,
    subscriber_query,
)
from digest.services.suppressions import suppressed_emails
from digest.services.validation import Invalid
from digest.web.api import MAX_ID, api_admin_only, list_or_404
from digest.web.i18n import translator

router = APIRouter(tags=["subscribers"], dependencies=[Depends(api_admin_only)])

SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID, description="The subscriber's id")]
ListSlug = Annotated[
    str | None, Query(alias="list", max_length=64, description="List slug (default: the default list)")
]
Status = SubscriptionStatus  # a value outside it answers 422 listing the allowed ones


class SubscriberSearch(BaseModel):
    """The subscriber list's query string: which list, the filters, and the page."""

    list_slug: str | None = Field(
        None, alias="list", max_length=64, description="List slug (default: the default list)"
    )
    q: str | None = Field(None, max_length=200, description="Text in the email or name")
    region: str | None = Field(
        None,
        max_length=100,
        description="A region as people write it; those who picked a division above or inside it, or none, match",
    )
    topic: str | None = Field(
        None, max_length=100, description="Topic slug or name; those who picked no topic match too"
    )
    status: Status | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000, description="Rows to skip: costs them; prefer `after`")
    after: int | None = Field(
        None, ge=0, le=MAX_ID, description="The page after this cursor: the last page's `next_after`, newest first"
    )


Label = Annotated[str, Field(min_length=1, max_length=100)]
RegionLabels = Annotated[
    list[Label],
    Field(max_length=100, description='As people write them, or codes: ["湖南", "临泽", "全国"]; [] = every region'),
]
TopicLabels = Annotated[
    list[Label], Field(max_length=50, description='Topic slugs or names: ["industry", "公共服务"]; [] = every topic')
]


class RegionOut(BaseModel):
    code: str
    name: str = Field(description="As the newsletter writes it: 湖南怀化")


class TopicOut(BaseModel):
    slug: str
    name: str


class SubscriberOut(BaseModel):
    # builtins.list: in this class `list` is the field below.
    id: int
    list: str
    email: str
    name: str
    status: Status
    regions: builtins.list[RegionOut]
    topics: builtins.list[TopicOut]
    time_zone: str
    locale: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    suppressed: bool = Field(description="On the suppression list: nothing is sent to this address")
    warnings: builtins.list[str] = Field([], description="How doubtful region labels were read")


class SubscriberPage(BaseModel):
    total: int = Field(description=f"Matches; counted up to {COUNT_CAP + 1:,} only (see `capped`)")
    limit: int
    offset: int
    counts: dict[str, int] = Field(
        description=f"Matches by status, ignoring the status filter; each counted up to {COUNT_CAP + 1:,} only"
    )
    capped: bool = Field(description=f"More than {COUNT_CAP:,} match: `total` and `counts` stopped counting")
    items: list[SubscriberOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page (it costs what the first page costs); null on the last page"
    )


class SubscriberFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    regions: RegionLabels | None = None
    topics: TopicLabels | None = None
    status: Status | None = None
    time_zone: str | None = Field(None, min_length=1, max_length=64, description="IANA name: Asia/Shanghai")
    locale: Literal["zh-CN", "en"] | None = None


class SubscriberIn(SubscriberFields):
    """Create, or update the subscriber with this email; fields left out keep their value (a new one starts pending)."""

    email: str = Field(min_length=3, max_length=320)


class SubscriberPatch(SubscriberFields):
    """Only the fields sent change; all of them or none."""


def unprocessable(exc: Invalid, prefix: str) -> HTTPException:
    """FastAPI's own error shape, in English; a bad list item names its index."""
    t = translator("en")
    detail = []
    for name, err in exc.errors.items():
        loc = [prefix, name] + ([err.values["index"]] if err.values.get("index") is not None else [])
        detail.append({"loc": loc, "msg": t(err.key, **err.values), "type": err.key})
    return HTTPException(422, detail=detail)


def _changes(model: SubscriberFields) -> dict:
    changes = model.model_dump(exclude_unset=True, exclude={"email"})
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise HTTPException(
            422,
            detail=[
                {"loc": ["body", n], "msg": "may not be null; leave it out to keep it", "type": "null"} for n in nulls
            ],
        )
    return changes


def _subscription(session, ml, subscriber_id: int) -> models.Subscription:
    try:
        return get_subscription(session, ml, subscriber_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


def subscriber_out(web, ml, sub: models.Subscription, suppressed: set[str], warnings=()) -> SubscriberOut:
    person = sub.subscriber
    names = {t.slug: t.name for t in ml.topics}
    return SubscriberOut(
        id=person.id,
        list=ml.slug,
        email=person.email,
        name=person.name,
        status=sub.status,
        regions=[RegionOut(code=c, name=web.regions.display(c)) for c in sub.region_codes or () if c in web.regions],
        topics=[TopicOut(slug=s, name=names.get(s, s)) for s in sub.topic_slugs or ()],
        time_zone=person.time_zone,
        locale=person.locale,
        created_at=sub.created_at,
        confirmed_at=sub.confirmed_at,
        unsubscribed_at=sub.unsubscribed_at,
        suppressed=person.email in suppressed,
        warnings=list(warnings),
    )


def _one(web, session, ml, sub, warnings=()) -> SubscriberOut:
    return subscriber_out(web, ml, sub, suppressed_emails(session, [sub.subscriber.email]), warnings)


@router.get("/subscribers", response_model=SubscriberPage, summary="A list's subscribers, newest first, filtered")
def list_subscribers(request: Request, search: Annotated[SubscriberSearch, Query()]) -> SubscriberPage:
    web = request.app.state.web
    limit, offset = search.limit, search.offset
    with web.factory.begin() as session:
        ml = list_or_404(session, search.list_slug)
        try:
            query = subscriber_query(
                ml, web.regions, text=search.q, region=search.region, topic=search.topic, status=search.status
            )
        except Invalid as exc:
            raise unprocessable(exc, "query") from None
        found = search_subscriptions(session, ml, web.regions, query, limit=limit, offset=offset, after=search.after)
        blocked = suppressed_emails(session, [s.subscriber.email for s in found.rows])
        items = [subscriber_out(web, ml, s, blocked) for s in found.rows]
        return SubscriberPage(
            total=found.total,
            limit=limit,
            offset=offset,
            counts=found.counts,
            capped=found.capped,
            items=items,
            next_after=found.next_after,
        )


@router.post(
    "/subscribers",
    response_model=SubscriberOut,
    status_code=201,
    summary="Add a subscriber to a list, or update the one with this email",
    responses={200: {"description": "Updated: the email was on the list already"}},
)
def create_subscriber(request: Request, payload: SubscriberIn, list_slug: ListSlug = None):
    web = request.app.state.web
    changes = _changes(payload)
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        try:
            sub, created, warnings = save_subscription(session, ml, web.regions, payload.email, changes)
        except Invalid as exc:
            raise unprocessable(exc, "body") from None
        body = _one(web, session, ml, sub, warnings).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@router.get(
    "/subscribers/{subscriber_id}", response_model=SubscriberOut, summary="One subscriber's membership of a list"
)
def read_subscriber(request: Request, subscriber_id: SubscriberId, list_slug: ListSlug = None) -> SubscriberOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        return _one(web, session, ml, _subscription(session, ml, subscriber_id))


@router.patch(
    "/subscribers/{subscriber_id}",
    response_model=SubscriberOut,
    summary="Change name, picks, status, time zone, language",
)
def patch_subscriber(
    request: Request, subscriber_id: SubscriberId, patch: SubscriberPatch, list_slug: ListSlug = None
) -> SubscriberOut:
    web = request.app.state.web
    changes = _changes(patch)
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        sub = _subscription(session, ml, subscriber_id)
        try:
            warnings = edit_subscription(session, ml, web.regions, sub, changes)
        except Invalid as exc:
            raise unprocessable(exc, "body") from None
        return _one(web, session, ml, sub, warnings)


@router.delete(
    "/subscribers/{subscriber_id}", response_model=SubscriberOut, summary="Unsubscribe from the list (the record stays)"
)
def unsubscribe(request: Request, subscriber_id: SubscriberId, list_slug: ListSlug = None) -> SubscriberOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        sub = _subscription(session, ml, subscriber_id)
        edit_subscription(session, ml, web.regions, sub, {"status": "unsubscribed"})
        return _one(web, session, ml, sub)
