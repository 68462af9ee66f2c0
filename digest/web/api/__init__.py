"""The JSON API under /api/v1: lists, subscribers, suppressions, articles, issues and the sender's figures, for
scripts and other systems. Part of the web entry point: imports services, adapters and the core; only
digest.web imports it.

Every call carries `Authorization: Bearer dgt_…` (made with `digest admin token`).
Bad input answers 4xx with the field at fault; the schema is at /openapi.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from digest.adapters.storage import models
from digest.services import NotFound
from digest.services.admins import token_access
from digest.services.lists import get_list

_bearer = HTTPBearer(auto_error=False, description="An API token from `digest admin token EMAIL --name NAME`.")


@dataclass(frozen=True)
class ApiCaller:
    id: int
    email: str
    role: str
    scope: str


# What a `read` token may do: look, never change.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def api_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiCaller:
    web = request.app.state.web
    with web.factory.begin() as session:
        access = token_access(session, credentials.credentials if credentials else None)
    if access is None:
        raise HTTPException(
            401,
            detail="missing, unknown, expired or revoked API token (or its admin is disabled)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if access.scope != "write" and request.method not in READ_METHODS:
        raise HTTPException(403, detail=f"this token's scope is {access.scope}: it may only read (GET)")
    return ApiCaller(access.user_id, access.email, access.role, access.scope)


def api_admin_only(caller: Annotated[ApiCaller, Depends(api_caller)]) -> ApiCaller:
    if caller.role != "admin":
        raise HTTPException(403, detail="this token's user is an editor; admins only")
    return caller


# Ids beyond PostgreSQL's integer would fail in the database, as a 500: refuse them at the door.
MAX_ID = 2**31 - 1


def list_or_404(session, slug: str | None) -> models.MailingList:
    """The list `slug` names (the default list when None), or 404 naming the known ones."""
    try:
        return get_list(session, slug)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None


class ErrorOut(BaseModel):
    """A refusal with one reason: FastAPI's HTTPException body."""

    detail: str


class FieldProblem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class FieldErrorsOut(BaseModel):
    """A refusal naming the parameters at fault: `loc` is where (body, query, path) and which."""

    detail: list[FieldProblem]


# Every route can answer these; the schema says so, so clients (and fuzzers) know the bodies to expect.
ERROR_RESPONSES: dict[int | str, dict] = {
    400: {
        "model": FieldErrorsOut,
        "description": "A value no field can hold: a NUL byte, an unpaired surrogate, "
        "a non-finite number; `loc` names the parameter",
    },
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API token"},
    403: {"model": ErrorOut, "description": "The token's user may not do this (admins only)"},
    404: {"model": ErrorOut, "description": "No such list, or no such row in it"},
    413: {"model": FieldErrorsOut, "description": "The request body is over this route's size limit"},
}
# Steps an issue's state may not allow (pause a finished issue, retry while sending).
CONFLICT_RESPONSES: dict[int | str, dict] = {
    409: {"model": ErrorOut, "description": "The issue's state does not allow this step"}
}


def build_router() -> APIRouter:
    """/api/v1: every area's routes, each behind a valid token (areas add `api_admin_only` where needed)."""
    from digest.web.api import (
        articles,
        issues,
        lists,
        review,
        sender,
        sources,
        subscriber_imports,
        subscribers,
        suppressions,
    )

    router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_caller)], responses=ERROR_RESPONSES)
    for area in (lists, subscriber_imports, subscribers, suppressions, articles, review, issues, sources, sender):
        router.include_router(area.router)
    return router
