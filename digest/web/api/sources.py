"""/api/v1/sources: a list's feeds: list, add, read, pause, resume, poll now, test a URL, remove.

Editors and admins alike, except `allow_private` (a source that may reach loopback and private addresses),
which only an admin may set. Polling runs in the request, within the fetch's deadline.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from digest.adapters.storage import models
from digest.services import NotFound
from digest.services.feed_polling import poll_source
from digest.services.lists import list_by_id
from digest.services.sources import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    SourceSettings,
    add_source,
    get_source,
    list_sources,
    remove_source,
    set_paused,
    try_source,
)
from digest.services.validation import FieldError, Invalid
from digest.web.api import MAX_ID, ApiCaller, api_caller, list_or_404
from digest.web.api.articles import unprocessable
from digest.web.catalogue import sources as _words  # noqa: F401 - registers the sources_err_* words

router = APIRouter(tags=["sources"])
SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The source's id")]
ListSlug = Annotated[
    str | None, Query(alias="list", max_length=64, description="List slug (default: the default list)")
]
Url = Annotated[str, Field(min_length=1, max_length=2000, description="An http(s) feed: RSS, Atom or JSON Feed")]


class SourceOut(BaseModel):
    # builtins.list: in this class `list` is the field below.
    id: int
    list: str
    url: str
    title: str
    topic: str | None = Field(description="The topic an item gets when the tagger finds none")
    regions: builtins.list[str] = Field(description="The region codes an item gets when the tagger finds none")
    interval_minutes: int
    paused: bool
    allow_private: bool
    last_fetched_at: datetime | None
    last_status: int | None = Field(description="The last fetch's HTTP status; null when no answer came")
    last_error: str | None
    failures: int = Field(description="Failed fetches in a row; each doubles the wait")
    next_poll_at: datetime | None


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    topic: str | None = Field(None, max_length=100, description="A topic of the list, by slug or name")
    regions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=50)
    interval_minutes: int = Field(DEFAULT_INTERVAL, ge=MIN_INTERVAL, le=MAX_INTERVAL)
    allow_private: StrictBool = Field(False, description="Admins only: may reach loopback and private addresses")


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    allow_private: StrictBool = False


class TestOut(BaseModel):
    url: str = Field(description="Where the feed was found, after redirects")
    title: str
    items: list[str] = Field(description="The first items' titles")
    problems: list[str]


class PollOut(BaseModel):
    source_id: int
    status: int | None
    not_modified: bool
    new: int
    updated: int
    unchanged: int
    kept: int = Field(description="Edited in the feed, but an issue carried them: left as sent")
    errors: list[str]


def source_out(session, source: models.Source) -> SourceOut:
    return SourceOut(
        id=source.id,
        list=list_by_id(session, source.list_id).slug,
        url=source.url,
        title=source.title,
        topic=source.topic_slug,
        regions=list(source.region_codes),
        interval_minutes=source.interval_minutes,
        paused=source.paused,
        allow_private=source.allow_private,
        last_fetched_at=source.last_fetched_at,
        last_status=source.last_status,
        last_error=source.last_error,
        failures=source.failures,
        next_poll_at=source.next_poll_at,
    )


def _source(session, source_id: int) -> models.Source:
    try:
        return get_source(session, source_id)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


def _private_for_admins(caller: ApiCaller, allow_private: bool) -> None:
    if allow_private and caller.role != "admin":
        raise unprocessable({"allow_private": FieldError("sources_err_private")})


@router.get("/sources", response_model=list[SourceOut], summary="A list's feed sources, oldest first")
def read_sources(request: Request, list_slug: ListSlug = None) -> list[SourceOut]:
    with request.app.state.web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        return [source_out(session, s) for s in list_sources(session, ml)]


@router.post("/sources", response_model=SourceOut, status_code=201, summary="Add a feed source to a list")
def create_source(
    request: Request, payload: SourceIn, caller: Annotated[ApiCaller, Depends(api_caller)], list_slug: ListSlug = None
) -> SourceOut:
    _private_for_admins(caller, payload.allow_private)
    web = request.app.state.web
    wanted = SourceSettings(
        payload.url, payload.topic or None, tuple(payload.regions), payload.interval_minutes, payload.allow_private
    )
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        try:
            source = add_source(session, ml, wanted, web.regions, now=web.settings.clock.now())
        except Invalid as exc:
            raise unprocessable(exc.errors) from None
        return source_out(session, source)


@router.post("/sources/test", response_model=TestOut, summary="Fetch and read a feed URL; nothing is stored")
def test_feed(payload: TestIn, caller: Annotated[ApiCaller, Depends(api_caller)]) -> TestOut:
    _private_for_admins(caller, payload.allow_private)
    try:
        preview = try_source(payload.url, allow_private=payload.allow_private)
    except Invalid as exc:
        raise unprocessable(exc.errors) from None
    return TestOut(
        url=preview.url, title=preview.title, items=list(preview.item_titles), problems=list(preview.problems)
    )


@router.get("/sources/{source_id}", response_model=SourceOut, summary="One source and its last fetch")
def read_source(request: Request, source_id: SourceId) -> SourceOut:
    with request.app.state.web.factory.begin() as session:
        return source_out(session, _source(session, source_id))


def _pause(request: Request, source_id: int, paused: bool) -> SourceOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        _source(session, source_id)
        return source_out(session, set_paused(session, source_id, paused, now=web.settings.clock.now()))


@router.post("/sources/{source_id}/pause", response_model=SourceOut, summary="Stop polling a source")
def pause(request: Request, source_id: SourceId) -> SourceOut:
    return _pause(request, source_id, True)


@router.post("/sources/{source_id}/resume", response_model=SourceOut, summary="Poll a source again, from now")
def resume(request: Request, source_id: SourceId) -> SourceOut:
    return _pause(request, source_id, False)


@router.post("/sources/{source_id}/poll", response_model=PollOut, summary="Poll a source now (paused or not)")
def poll(request: Request, source_id: SourceId) -> PollOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        _source(session, source_id)
    report = poll_source(web.runtime, source_id)
    return PollOut.model_validate({k: v for k, v in report.as_dict().items() if k != "url"})


@router.delete("/sources/{source_id}", status_code=204, summary="Remove a source; its articles stay")
def delete_source(request: Request, source_id: SourceId) -> Response:
    with request.app.state.web.factory.begin() as session:
        _source(session, source_id)
        remove_source(session, source_id)
    return Response(status_code=204)
