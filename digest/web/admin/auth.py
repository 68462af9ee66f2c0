"""Sign in, sign out, change password. Sessions live in the database (hashed), so signing out ends them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from digest.services.admins import (
    SESSION_LIFETIME,
    InvalidAdmin,
    authenticate,
    end_session,
    set_password,
    start_session,
)
from digest.services.sign_in import Busy, Throttled, sign_in
from digest.web.admin import ADMIN_COOKIE, SignedIn, admin_page
from digest.web.i18n import add_words

router = APIRouter(prefix="/admin")

add_words(
    {
        "zh-CN": {
            "admin_title": "管理后台",
            "admin_login_title": "登录管理后台",
            "admin_password": "密码",
            "admin_login_button": "登录",
            "admin_login_failed": "邮箱或密码不正确。",
            "admin_login_throttled": "登录失败次数过多，请 15 分钟后再试。",
            "admin_login_busy": "登录请求过多，请稍后再试。",
            "admin_logout": "退出登录",
            "admin_change_password": "修改密码",
            "admin_current_password": "当前密码",
            "admin_new_password": "新密码（至少 10 个字符）",
            "admin_repeat_password": "再次输入新密码",
            "admin_password_mismatch": "两次输入的新密码不一致。",
            "admin_password_wrong": "当前密码不正确。",
            "admin_password_short": "新密码至少需要 10 个字符。",
            "admin_password_changed": "密码已修改。其他设备上的登录已全部退出，您的 API 令牌已全部撤销。",
            "admin_forbidden": "您的角色无权访问此页面。",
            "admin_role_admin": "管理员",
            "admin_role_editor": "编辑",
            "nav_dashboard": "概览",
            "nav_lists": "邮件列表",
            "nav_subscribers": "订阅者",
            "nav_articles": "文章",
            "nav_issues": "期刊",
        },
        "en": {
            "admin_title": "Admin",
            "admin_login_title": "Sign in to the admin console",
            "admin_password": "Password",
            "admin_login_button": "Sign in",
            "admin_login_failed": "Wrong email or password.",
            "admin_login_throttled": "Too many failed sign-ins; try again in 15 minutes.",
            "admin_login_busy": "Too many sign-ins at once; try again in a few seconds.",
            "admin_logout": "Sign out",
            "admin_change_password": "Change password",
            "admin_current_password": "Current password",
            "admin_new_password": "New password (at least 10 characters)",
            "admin_repeat_password": "New password again",
            "admin_password_mismatch": "The two new passwords differ.",
            "admin_password_wrong": "The current password is wrong.",
            "admin_password_short": "The new password needs at least 10 characters.",
            "admin_password_changed": (
                "Password changed. Every other signed-in device has been signed out and your API tokens revoked."
            ),
            "admin_forbidden": "Your role may not open this page.",
            "admin_role_admin": "Admin",
            "admin_role_editor": "Editor",
            "nav_dashboard": "Dashboard",
            "nav_lists": "Lists",
            "nav_subscribers": "Subscribers",
            "nav_articles": "Articles",
            "nav_issues": "Issues",
        },
    }
)


def _safe_next(value: str | None) -> str:
    # Only back into the console: never an open redirect to another site.
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


def _set_session_cookie(request: Request, response, secret: str) -> None:
    response.set_cookie(
        ADMIN_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/admin",
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    return admin_page(request, "login.html", admin=None, next=_safe_next(next), error=None, email="")


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin/",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = request.app.state.web
    web.check_csrf(request, csrf_token, "admin-login")
    client = request.client.host if request.client else "?"

    def refused(status: int, error: str) -> HTMLResponse:
        return admin_page(
            request, "login.html", admin=None, status=status, next=_safe_next(next), error=error, email=email
        )

    try:
        secret = sign_in(web.runtime.login_guard, web.factory, client, email, password)
    except Throttled:
        return refused(429, "admin_login_throttled")
    except Busy:
        busy = refused(503, "admin_login_busy")
        busy.headers["Retry-After"] = "5"
        return busy
    if secret is None:
        return refused(401, "admin_login_failed")
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_session_cookie(request, response, secret)
    return response


@router.post("/logout")
def logout(request: Request, admin: SignedIn, csrf_token: Annotated[str | None, Form()] = None):
    web = request.app.state.web
    web.check_csrf(request, csrf_token, "admin-logout")
    with web.factory.begin() as session:
        end_session(session, request.cookies.get(ADMIN_COOKIE))
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/admin")
    return response


@router.get("/password")
def password_form(request: Request, admin: SignedIn):
    return admin_page(request, "password.html", admin=admin, error=None, notice=None)


@router.post("/password")
def change_password(
    request: Request,
    admin: SignedIn,
    current: Annotated[str, Form(max_length=1000)] = "",
    new: Annotated[str, Form(max_length=1000)] = "",
    repeat: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = request.app.state.web
    web.check_csrf(request, csrf_token, "admin-password")
    if new != repeat:
        return admin_page(
            request, "password.html", admin=admin, status=400, error="admin_password_mismatch", notice=None
        )
    try:
        error, secret = _change_password(web, admin, current, new)
    except Busy:
        error, secret = "admin_login_busy", None
    if secret is None:
        status = 503 if error == "admin_login_busy" else 400
        return admin_page(request, "password.html", admin=admin, status=status, error=error, notice=None)
    # The new session's forms must carry tokens bound to it, not to the session that just ended.
    request.state.admin_session = secret
    response = admin_page(request, "password.html", admin=admin, error=None, notice="admin_password_changed")
    _set_session_cookie(request, response, secret)
    return response


def _change_password(web, admin, current: str, new: str) -> tuple[str | None, str | None]:
    """(error, None) or (None, the new session's cookie); Busy when no hashing slot frees up."""
    with web.runtime.login_guard.hashing(), web.factory.begin() as session:
        # The signed-in admin as a row of this transaction, which the password change writes to.
        user = authenticate(session, admin.email, current)
        if user is None:
            return "admin_password_wrong", None
        try:
            set_password(session, user, new)
        except InvalidAdmin:
            return "admin_password_short", None
        return None, start_session(session, user)
