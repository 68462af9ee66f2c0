"""The admin console under /admin/: sign-in, roles, and the pages that run lists. Part of the web entry
point: imports services, adapters and the core; only digest.web imports it.

Each area (dashboard, lists, subscribers, articles, issues) is a module with its
own `router` and its own words, registered with `add_words`. Pages
call `signed_in` (any role) or `admin_only` as a dependency and render through
`admin_page`, which adds the navigation, the user and CSRF tokens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from digest.adapters.storage import models
from digest.services import NotFound
from digest.services.admins import session_user
from digest.services.lists import all_lists, get_list
from digest.web import PageError
from digest.web.guard import MAX_UPLOAD
from digest.web.security import ADMIN_COOKIE


@dataclass(frozen=True)
class Admin:
    """Who is signed in, as plain data: pages never hold the ORM row (nor its password hash)."""

    id: int
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the sign-in page, then back."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


# Ids beyond PostgreSQL's integer would fail in the database, as a 500: refuse them at the door.
MAX_ID = 2**31 - 1


@dataclass
class Pager:
    """Which page of a long table: a cursor (a row's id) from the page's own links, or a page number alone from
    links made before cursors; the number is carried along to say where one is."""

    page: Annotated[int, Query(ge=1, le=100_000)] = 1
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None
    before: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None


def web_of(request: Request):
    return request.app.state.web


def admin_language(request: Request) -> str:
    return web_of(request).language(request)


def list_or_404(session, slug: str | None) -> models.MailingList:
    """The list `slug` names (the default list when empty), or the not-found page."""
    try:
        return get_list(session, slug or None)
    except NotFound:
        raise PageError(404, "not_found") from None


def list_choices(session) -> list[tuple[str, str]]:
    """(slug, name) of every list, for the list pickers."""
    return [(m.slug, m.name) for m in all_lists(session)]


def read_upload(file) -> tuple[str, bytes]:
    """The uploaded file's bare name and up to MAX_UPLOAD + 1 bytes of it (more means too big); ("", b"") if none."""
    name = os.path.basename((file.filename or "").replace("\\", "/"))[:200] if file else ""
    return name, (file.file.read(MAX_UPLOAD + 1) if name else b"")


def signed_in(request: Request) -> Admin:
    web = web_of(request)
    with web.factory.begin() as session:
        user = session_user(session, request.cookies.get(ADMIN_COOKIE))
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        return Admin(user.id, user.email, user.role)


SignedIn = Annotated[Admin, Depends(signed_in)]


def admin_only(admin: SignedIn) -> Admin:
    if not admin.is_admin:
        raise PageError(403, "admin_forbidden")
    return admin


AdminOnly = Annotated[Admin, Depends(admin_only)]


def admin_page(request: Request, template: str, *, admin: Admin | None, status: int = 200, **context) -> HTMLResponse:
    """An admin page from templates/web/admin/, in the admin's language, with CSRF tokens at hand."""
    web = web_of(request)
    return web.page(request, f"admin/{template}", lang=admin_language(request), status=status, admin=admin, **context)


def login_url(next_path: str) -> str:
    return "/admin/login?next=" + quote(next_path, safe="/")


def build_router() -> APIRouter:
    from digest.web.admin import (
        accounts,
        articles,
        auth,
        dashboard,
        issue_actions,
        issues,
        lists,
        review,
        sender,
        sources,
        subscriber_adding,
        subscribers,
        suppressions,
        topic_rules,
    )

    router = APIRouter(include_in_schema=False)
    for area in (
        auth,
        dashboard,
        lists,
        subscriber_adding,
        subscribers,
        suppressions,
        sender,
        articles,
        review,
        topic_rules,
        sources,
        issues,
        issue_actions,
        accounts,
    ):
        router.include_router(area.router)
    return router
