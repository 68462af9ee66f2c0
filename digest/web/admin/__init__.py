"""The admin console under /admin/: sign-in, roles, and the pages that run lists.

Each area (dashboard, lists, subscribers, articles, issues) is a module with its
own `router` and its own words, registered with `register_messages`. Pages
call `signed_in` (any role) or `admin_only` as a dependency and render through
`admin_page`, which adds the navigation, the user and CSRF tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from digest.services.admins import session_user
from digest.web import PageError

ADMIN_COOKIE = "digest_admin"


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


def _web(request: Request):
    return request.app.state.web


def admin_language(request: Request) -> str:
    return _web(request).language(request)


def signed_in(request: Request) -> Admin:
    web = _web(request)
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
    web = _web(request)
    return web.page(request, f"admin/{template}", lang=admin_language(request), status=status, admin=admin, **context)


def login_url(next_path: str) -> str:
    return "/admin/login?next=" + quote(next_path, safe="/")


def build_router() -> APIRouter:
    from digest.web.admin import articles, auth, dashboard, issues, lists, subscribers

    router = APIRouter(include_in_schema=False)
    for area in (auth, dashboard, lists, subscribers, articles, issues):
        router.include_router(area.router)
    return router
