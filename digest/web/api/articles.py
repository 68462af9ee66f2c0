"""/api/v1/articles: find, add (one or a batch, the JSON Lines fields), read, correct, re-tag, hide.

Editors and admins alike. Schema violations answer 422 before anything runs;
a batch whose items are well-formed but partly unusable keeps the good ones and
reports each bad one with its index and field.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

import digest.web.admin.articles  # noqa: F401 - registers the art_err_* words the errors use
from digest.adapters.storage import models
from digest.core.statuses import Origin
from digest.services import NotFound
from digest.services.article_editing import (
    add_articles,
    article_query,
    edit_article,
    get_article,
    search_articles,
)
from digest.services.lists import list_by_id
from digest.services.validation import Invalid
from digest.web.api import MAX_ID, list_or_404
from digest.web.i18n import translator

router = APIRouter(tags=["articles"])

ArticleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The article's id")]
ListSlug = Annotated[
    str | None, Query(alias="list", max_length=64, description="List slug (default: the default list)")
]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Regions = (
    Annotated[list[Label], Field(min_length=1, max_length=50)] | Annotated[str, Field(min_length=1, max_length=1000)]
)


def unprocessable(errors, prefix: tuple = ("body",)) -> HTTPException:
    """Invalid → 422 in FastAPI's own error shape, worded in English, one entry per field."""
    t = translator("en")
    detail = [
        {"loc": [*prefix, name], "msg": t(err.key, **err.values), "type": err.key} for name, err in errors.items()
    ]
    return HTTPException(422, detail=detail)


class RegionOut(BaseModel):
    code: str
    name: str
    came_from: Origin = Field(Origin.LABEL, description="label, source (its default), tagger or editor")


class ArticleOut(BaseModel):
    # builtins.list: in this class `list` is the field below.
    id: int
    list: str
    title: str
    body: str = Field(description="Sanitised HTML")
    topic: str
    topic_name: str
    region_label: str
    regions: builtins.list[RegionOut]
    published: datetime
    source: str | None
    url: str | None
    hidden: bool
    needs_review: bool = Field(False, description="Waits for an editor: in no issue until confirmed")
    topic_from: Origin = Field(Origin.LABEL, description="label, source (its default), tagger or editor")
    tag_confidence: float | None = Field(None, description="The tagger's confidence in the topic, 0 to 1")
    tag_why: builtins.list[str] | None = Field(None, description="The words that decided the tagger")
    warnings: builtins.list[str] = []


class ArticlePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ArticleOut]


class ArticleIn(BaseModel):
    """One article, with the fields of a JSON Lines record."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=200_000, description="HTML (sanitised on the way in) or plain text")
    topic: str = Field(min_length=1, max_length=100, description="Topic name or slug: 产业发展, industry")
    regions: Regions = Field(description='Region labels as people write them, or codes: ["湖南怀化", "全国"]')
    published: str = Field(min_length=1, max_length=40, description="ISO date or date-time")
    source: str | None = Field(None, max_length=300)
    url: str | None = Field(None, max_length=2000)
    region_label: str | None = Field(None, max_length=200)


class ArticlePatch(BaseModel):
    """Only the fields sent change; all of them or none."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=500)
    body: str | None = Field(None, min_length=1, max_length=200_000)
    topic: str | None = Field(None, min_length=1, max_length=100)
    regions: Regions | None = None
    region_label: str | None = Field(None, max_length=200)
    published: str | None = Field(None, min_length=1, max_length=40)
    source: str | None = Field(None, max_length=300)
    url: str | None = Field(None, max_length=2000)
    hidden: StrictBool | None = None


class ProblemOut(BaseModel):
    field: str | None
    message: str
    severity: Literal["error", "warning"]


class ItemOut(BaseModel):
    index: int = Field(description="1-based position in the request")
    status: Literal["created", "duplicate", "rejected"]
    id: int | None
    problems: list[ProblemOut]


class CreateOut(BaseModel):
    created: list[int]
    duplicates: list[int]
    items: list[ItemOut]


def article_out(web, session, row: models.Article, warnings: Sequence[str] = ()) -> ArticleOut:
    ml = list_by_id(session, row.list_id)
    return ArticleOut(
        id=row.id,
        list=ml.slug,
        title=row.title,
        body=row.body_html,
        topic=row.topic.slug,
        topic_name=row.topic.name,
        region_label=row.region_label,
        regions=[
            RegionOut(code=r.region_code, name=web.regions.full_name(r.region_code), came_from=r.came_from)
            for r in row.regions
        ],
        published=row.published_at,
        source=row.source,
        url=row.url,
        hidden=row.hidden,
        needs_review=row.needs_review,
        topic_from=row.topic_from,
        tag_confidence=row.tag_confidence,
        tag_why=row.tag_why,
        warnings=list(warnings),
    )


class ArticleSearch(BaseModel):
    """The article list's query string: which list, the filters, and the page."""

    list_slug: str | None = Field(
        None, alias="list", max_length=64, description="List slug (default: the default list)"
    )
    week: date | None = Field(None, description="Period end: the seven days ending this date")
    topic: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100, description="A region as people write it; its divisions match too")
    q: str | None = Field(None, max_length=200, description="Text in the title or body")
    hidden: bool | None = None
    waiting: bool | None = Field(None, description="Only articles that wait for review (true), or none of them")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get("/articles", response_model=ArticlePage, summary="A list's articles, newest first, filtered")
def list_articles(request: Request, search: Annotated[ArticleSearch, Query()]) -> ArticlePage:
    web = request.app.state.web
    limit, offset = search.limit, search.offset
    with web.factory.begin() as session:
        ml = list_or_404(session, search.list_slug)
        try:
            query = article_query(
                ml,
                web.regions,
                week=search.week,
                topic=search.topic,
                region=search.region,
                text=search.q,
                hidden=search.hidden,
                waiting=search.waiting,
            )
        except Invalid as exc:
            raise unprocessable(exc.errors, ("query",)) from None
        rows, total = search_articles(session, ml, web.regions, query, limit=limit, offset=offset)
        return ArticlePage(total=total, limit=limit, offset=offset, items=[article_out(web, session, r) for r in rows])


@router.post(
    "/articles",
    response_model=CreateOut,
    status_code=201,
    summary="Add one article or a batch; good items are kept, each bad one is reported",
    responses={
        200: {"description": "Nothing new: every valid item was stored already"},
        422: {"description": "No usable item"},
    },
)
def create_articles(
    request: Request,
    payload: Annotated[ArticleIn | Annotated[list[ArticleIn], Field(min_length=1, max_length=500)], Body()],
    list_slug: ListSlug = None,
):
    web = request.app.state.web
    items = payload if isinstance(payload, list) else [payload]
    records = [item.model_dump(exclude_none=True) for item in items]
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        outcomes = add_articles(session, ml, records, web.regions, now=web.settings.clock.now())
    body = CreateOut(
        # Only a rejected item has no id.
        created=cast("list[int]", [o.id for o in outcomes if o.status == "created"]),
        duplicates=cast("list[int]", [o.id for o in outcomes if o.status == "duplicate"]),
        items=[
            ItemOut(
                index=o.index,
                status=o.status,
                id=o.id,
                problems=[ProblemOut(field=p.field, message=p.message, severity=p.severity) for p in o.problems],
            )
            for o in outcomes
        ],
    ).model_dump()
    if body["created"]:
        return JSONResponse(body, status_code=201)
    if body["duplicates"]:
        return JSONResponse(body, status_code=200)
    detail = [
        {
            "loc": ["body", *([o.index - 1] if isinstance(payload, list) else []), p.field or "item"],
            "msg": p.message,
            "type": "invalid",
        }
        for o in outcomes
        for p in o.problems
        if p.severity == "error"
    ]
    return JSONResponse(dict(body, detail=detail), status_code=422)


def article_or_404(session, article_id: int) -> models.Article:
    try:
        return get_article(session, article_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


@router.get("/articles/{article_id}", response_model=ArticleOut, summary="One article")
def read_article(request: Request, article_id: ArticleId) -> ArticleOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        return article_out(web, session, article_or_404(session, article_id))


@router.patch("/articles/{article_id}", response_model=ArticleOut, summary="Correct, re-tag, hide or show an article")
def patch_article(request: Request, article_id: ArticleId, patch: ArticlePatch) -> ArticleOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        row = article_or_404(session, article_id)
        try:
            warnings = edit_article(session, row, patch.model_dump(exclude_unset=True), web.regions)
        except Invalid as exc:
            raise unprocessable(exc.errors) from None
        return article_out(web, session, row, warnings)


@router.delete("/articles/{article_id}", response_model=ArticleOut, summary="Hide an article (it stays stored)")
def hide_article(request: Request, article_id: ArticleId) -> ArticleOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        row = article_or_404(session, article_id)
        edit_article(session, row, {"hidden": True}, web.regions)
        return article_out(web, session, row)
