"""/api/v1/suppressions: the addresses nothing is ever sent to, on any list; what put each there (an admin, a
bounce, a complaint…) and the mail event that decided. Add one, lift one by its address or its id.

Admins only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from digest.services import NotFound
from digest.services.suppressions import (
    SuppressionView,
    add_suppression,
    describe_suppressions,
    find_suppressions,
    remove_suppression,
)
from digest.services.validation import Invalid
from digest.web.api import MAX_ID, api_admin_only
from digest.web.api.subscribers import unprocessable

router = APIRouter(tags=["suppressions"], dependencies=[Depends(api_admin_only)])


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    reason: str = Field(min_length=1, max_length=300, description="hard bounce, complaint, asked by phone…")


class EventOut(BaseModel):
    """The bounce, complaint or unsubscribe mail (or provider's event) that decided the suppression."""

    id: int
    kind: str = Field(description="hard_bounce, soft_bounce, complaint, unsubscribe, auto_reply")
    source: str = Field(description="mailbox, ses, mailgun, postmark, sendgrid")
    status: str = Field(description="The enhanced status code (RFC 3463) when one was given: 5.1.1")
    detail: str
    raw_ref: str = Field(description="Where the raw mail or event can be found again")
    created_at: datetime


class SuppressionOut(BaseModel):
    id: int
    email: str
    reason: str
    kind: str = Field(
        description="What put it there: admin, bounce (refused during the send), hard_bounce, complaint, "
        "soft_bounce (the score passed the list's threshold), import"
    )
    created_at: datetime
    event: EventOut | None = Field(description="The mail event that decided it; null when none did")


class SuppressionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SuppressionOut]


def _out(view: SuppressionView) -> SuppressionOut:
    event = view.event
    return SuppressionOut(
        id=view.id,
        email=view.email,
        reason=view.reason,
        kind=view.kind,
        created_at=view.created_at,
        event=EventOut(**{k: getattr(event, k) for k in EventOut.model_fields}) if event else None,
    )


@router.get("/suppressions", response_model=SuppressionPage, summary="Addresses nothing is ever sent to")
def list_suppressions(
    request: Request,
    q: Annotated[str | None, Query(max_length=200, description="Text in the email or reason")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> SuppressionPage:
    with request.app.state.web.factory.begin() as session:
        views, total = find_suppressions(session, q or "", limit=limit, offset=offset)
        return SuppressionPage(total=total, limit=limit, offset=offset, items=[_out(v) for v in views])


@router.post(
    "/suppressions",
    response_model=SuppressionOut,
    status_code=201,
    summary="Suppress an address on every list",
    responses={200: {"description": "Suppressed already; the reason was updated"}},
)
def create_suppression(request: Request, payload: SuppressionIn):
    with request.app.state.web.factory.begin() as session:
        try:
            row, created = add_suppression(session, payload.email, payload.reason)
        except Invalid as exc:
            raise unprocessable(exc, "body") from None
        body = _out(describe_suppressions(session, [row])[0]).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@router.delete("/suppressions", status_code=204, summary="Lift the suppression of an address")
def delete_suppression(request: Request, email: Annotated[str, Query(min_length=3, max_length=320)]) -> Response:
    return _remove(request, email=email)


@router.delete(
    "/suppressions/{key}",
    status_code=204,
    summary="Lift a suppression by its address, or by its id",
    description="`DELETE /api/v1/suppressions/li.wei@example.cn` or `DELETE /api/v1/suppressions/17`: "
    "an address never is digits alone. 404 when the address is not suppressed.",
)
def delete_suppression_by_key(
    request: Request,
    key: Annotated[str, Path(min_length=1, max_length=320, description="The address, or the suppression's id")],
) -> Response:
    if key.isascii() and key.isdigit():
        if int(key) > MAX_ID:
            detail = [{"loc": ["path", "key"], "msg": f"an id is at most {MAX_ID}", "type": "less_than_equal"}]
            raise HTTPException(422, detail=detail)
        return _remove(request, suppression_id=int(key))
    return _remove(request, email=key)


def _remove(request: Request, **which) -> Response:
    try:
        with request.app.state.web.factory.begin() as session:
            remove_suppression(session, **which)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return Response(status_code=204)
