"""Admin pages: staff accounts and their API tokens (admins only).

What `digest admin …` does from a shell, in the console: add an account, change its role, disable or
enable it, end its sessions, make an API token (its secret is shown once, on the page that answers the
form, never in a URL) and revoke tokens one by one or all at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from digest.services import NotFound
from digest.services.accounts import account, accounts, change_access, revoke_token_of, tokens_of
from digest.services.admins import (
    ROLES,
    TOKEN_DAYS,
    TOKEN_SCOPES,
    InvalidAdmin,
    create_admin,
    create_api_token,
    end_sessions,
    revoke_user_tokens,
)
from digest.web import PageError
from digest.web.admin import MAX_ID, AdminOnly, admin_page, web_of
from digest.web.i18n import add_words

router = APIRouter(prefix="/admin")

add_words(
    {
        "zh-CN": {
            "nav_accounts": "账户",
            "accounts_title": "员工账户",
            "accounts_col_email": "邮箱",
            "accounts_col_role": "角色",
            "accounts_col_state": "状态",
            "accounts_col_last_login": "上次登录",
            "accounts_col_tokens": "有效令牌",
            "accounts_active": "正常",
            "accounts_disabled": "已停用",
            "accounts_never": "从未",
            "accounts_manage": "管理",
            "accounts_new": "添加账户",
            "accounts_password": "初始密码（至少 10 个字符，请当面或另行告知本人）",
            "accounts_add": "添加",
            "accounts_back": "← 全部账户",
            "accounts_role_save": "更改角色",
            "accounts_disable": "停用账户",
            "accounts_enable": "启用账户",
            "accounts_disable_help": "停用后无法登录，已登录的会话立即结束，API 令牌在重新启用前一律拒绝。",
            "accounts_sign_out": "结束所有登录会话",
            "accounts_tokens": "API 令牌",
            "accounts_no_tokens": "还没有 API 令牌。",
            "accounts_token_col_name": "名称",
            "accounts_token_col_scope": "权限",
            "accounts_token_col_created": "创建于",
            "accounts_token_col_used": "上次使用",
            "accounts_token_col_expires": "到期",
            "accounts_token_col_state": "状态",
            "accounts_token_live": "有效",
            "accounts_token_expired": "已过期",
            "accounts_token_revoked": "已撤销",
            "accounts_token_never_expires": "永不",
            "accounts_scope_read": "只读（仅 GET）",
            "accounts_scope_write": "读写",
            "accounts_revoke": "撤销",
            "accounts_revoke_all": "撤销全部令牌",
            "accounts_new_token": "新建令牌",
            "accounts_token_name": "用途（如：CMS 导入）",
            "accounts_token_days": "有效天数（0 为永不过期）",
            "accounts_make_token": "生成令牌",
            "accounts_token_made": "令牌已生成。它只显示这一次，请立即复制保存：",
            "accounts_done_added": "账户已添加。",
            "accounts_done_access": "账户已更新。",
            "accounts_done_signed_out": "该账户的所有会话已结束。",
            "accounts_done_revoked": "令牌已撤销。",
            "accounts_done_revoked_all": "该账户的全部有效令牌已撤销。",
            "accounts_err_email": "邮箱无效，或已有使用这个邮箱的账户。",
            "accounts_err_password": "密码至少需要 10 个字符。",
            "accounts_err_role": "角色只能是管理员或编辑。",
            "accounts_err_name": "请给令牌起一个 1 到 100 个字符的名称。",
            "accounts_err_scope": "权限只能是只读或读写。",
            "accounts_err_expires-in-days": "有效天数须在 1 到 3650 之间，或填 0 表示永不过期。",
            "accounts_err_access": "这是最后一个启用的管理员账户：请先让另一个账户成为管理员。",
        },
        "en": {
            "nav_accounts": "Accounts",
            "accounts_title": "Staff accounts",
            "accounts_col_email": "Email",
            "accounts_col_role": "Role",
            "accounts_col_state": "State",
            "accounts_col_last_login": "Last sign-in",
            "accounts_col_tokens": "Live tokens",
            "accounts_active": "Active",
            "accounts_disabled": "Disabled",
            "accounts_never": "never",
            "accounts_manage": "Manage",
            "accounts_new": "Add an account",
            "accounts_password": "First password (10 characters or more; tell them in person or apart)",
            "accounts_add": "Add",
            "accounts_back": "← All accounts",
            "accounts_role_save": "Change role",
            "accounts_disable": "Disable account",
            "accounts_enable": "Enable account",
            "accounts_disable_help": "A disabled account cannot sign in, its sessions end now, and its API tokens "
            "are refused until it is enabled again.",
            "accounts_sign_out": "End every session",
            "accounts_tokens": "API tokens",
            "accounts_no_tokens": "No API tokens yet.",
            "accounts_token_col_name": "Name",
            "accounts_token_col_scope": "Scope",
            "accounts_token_col_created": "Created",
            "accounts_token_col_used": "Last used",
            "accounts_token_col_expires": "Expires",
            "accounts_token_col_state": "State",
            "accounts_token_live": "Live",
            "accounts_token_expired": "Expired",
            "accounts_token_revoked": "Revoked",
            "accounts_token_never_expires": "never",
            "accounts_scope_read": "Read (GET only)",
            "accounts_scope_write": "Read and write",
            "accounts_revoke": "Revoke",
            "accounts_revoke_all": "Revoke every token",
            "accounts_new_token": "New token",
            "accounts_token_name": "What it is for (e.g. CMS import)",
            "accounts_token_days": "Days valid (0 for never)",
            "accounts_make_token": "Make token",
            "accounts_token_made": "The token is made. It is shown this once only: copy it now.",
            "accounts_done_added": "Account added.",
            "accounts_done_access": "Account updated.",
            "accounts_done_signed_out": "Every session of this account has ended.",
            "accounts_done_revoked": "Token revoked.",
            "accounts_done_revoked_all": "Every live token of this account is revoked.",
            "accounts_err_email": "Not an email address, or an account with it exists already.",
            "accounts_err_password": "A password needs 10 characters or more.",
            "accounts_err_role": "The role is admin or editor.",
            "accounts_err_name": "Give the token a name of 1 to 100 characters.",
            "accounts_err_scope": "The scope is read or write.",
            "accounts_err_expires-in-days": "Days valid: 1 to 3650, or 0 for a token that never expires.",
            "accounts_err_access": "This is the last enabled admin: make another account an admin first.",
        },
    }
)

_DONE = ("added", "access", "signed_out", "revoked", "revoked_all")
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _error_key(exc: InvalidAdmin) -> str:
    return f"accounts_err_{exc.field}"


def _notice(done: str) -> str | None:
    return f"accounts_done_{done}" if done in _DONE else None


@router.get("/accounts")
def accounts_page(request: Request, admin: AdminOnly, done: Annotated[str, Query(max_length=20)] = ""):
    return _list_page(request, admin, notice=_notice(done))


def _list_page(request: Request, admin, *, notice=None, error=None, form=None):
    with web_of(request).factory.begin() as session:
        rows = accounts(session)
    return admin_page(
        request,
        "accounts.html",
        admin=admin,
        status=400 if error else 200,
        rows=rows,
        roles=ROLES,
        notice=notice,
        error=error,
        form=form or {"email": "", "role": "editor"},
    )


@router.post("/accounts")
def add_account(
    request: Request,
    admin: AdminOnly,
    email: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "editor",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "accounts-add")
    try:
        with web.factory.begin() as session:
            create_admin(session, email, password, role)
    except InvalidAdmin as exc:
        return _list_page(request, admin, error=_error_key(exc), form={"email": email[:320], "role": role})
    return RedirectResponse("/admin/accounts?done=added", status_code=303)


@router.get("/accounts/{user_id}")
def account_page(request: Request, admin: AdminOnly, user_id: UserId, done: Annotated[str, Query(max_length=20)] = ""):
    return _account_page(request, admin, user_id, notice=_notice(done))


def _account_page(request: Request, admin, user_id: int, *, notice=None, error=None, secret=None):
    with web_of(request).factory.begin() as session:
        try:
            user = account(session, user_id)
        except NotFound:
            raise PageError(404, "not_found") from None
        person = {"id": user.id, "email": user.email, "role": user.role, "disabled": user.disabled}
        tokens = tokens_of(session, user)
    return admin_page(
        request,
        "accounts_detail.html",
        admin=admin,
        status=400 if error else 200,
        person=person,
        tokens=tokens,
        roles=ROLES,
        scopes=TOKEN_SCOPES,
        token_days=TOKEN_DAYS,
        notice=notice,
        error=error,
        secret=secret,
    )


def _update(request: Request, admin, user_id: int, scope: str, csrf_token: str | None, change) -> object:
    """Checks the form's token, applies `change(session, user)` and goes back to the account's page."""
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"{scope}-{user_id}")
    try:
        with web.factory.begin() as session:
            done = change(session, account(session, user_id))
    except NotFound:
        raise PageError(404, "not_found") from None
    except InvalidAdmin as exc:
        return _account_page(request, admin, user_id, error=_error_key(exc))
    return RedirectResponse(f"/admin/accounts/{user_id}?done={done}", status_code=303)


@router.post("/accounts/{user_id}/access")
def update_access(
    request: Request,
    admin: AdminOnly,
    user_id: UserId,
    role: Annotated[str, Form(max_length=20)] = "",
    disabled: Annotated[str, Form(max_length=5)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    def change(session, user) -> str:
        change_access(session, user, role=role or None, disabled={"1": True, "0": False}.get(disabled))
        return "access"

    return _update(request, admin, user_id, "accounts-access", csrf_token, change)


@router.post("/accounts/{user_id}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    admin: AdminOnly,
    user_id: UserId,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    csrf_token: Annotated[str | None, Form()] = None,
):
    def change(session, user) -> str:
        revoke_token_of(session, user, token_id)
        return "revoked"

    return _update(request, admin, user_id, f"accounts-revoke-{token_id}", csrf_token, change)


class NewToken(BaseModel):
    """The new-token form."""

    name: str = Field("", max_length=1000)
    scope: str = Field("write", max_length=20)
    days: int = Field(TOKEN_DAYS, ge=0, le=100_000)
    csrf_token: str | None = None


@router.post("/accounts/{user_id}/tokens")
def make_token(request: Request, admin: AdminOnly, user_id: UserId, form: Annotated[NewToken, Form()]):
    """Answers with the account's page showing the new token: a redirect would have to carry it in the URL."""
    web = web_of(request)
    web.check_csrf(request, form.csrf_token, f"accounts-token-{user_id}")
    try:
        with web.factory.begin() as session:
            user = account(session, user_id)
            secret = create_api_token(session, user, form.name, days=form.days or None, scope=form.scope)
    except NotFound:
        raise PageError(404, "not_found") from None
    except InvalidAdmin as exc:
        return _account_page(request, admin, user_id, error=_error_key(exc))
    return _account_page(request, admin, user_id, secret=secret)


# Actions that take no field: what each does, and the notice the page then shows.
_ACTIONS = {"sign-out": (end_sessions, "signed_out"), "revoke-tokens": (revoke_user_tokens, "revoked_all")}


@router.post("/accounts/{user_id}/{action}")
def account_action(
    request: Request,
    admin: AdminOnly,
    user_id: UserId,
    action: Annotated[Literal["sign-out", "revoke-tokens"], Path()],
    csrf_token: Annotated[str | None, Form()] = None,
):
    """End every session of the account, or revoke every token it has (registered last: `/access` and
    `/tokens` are routes of their own)."""
    act, done = _ACTIONS[action]

    def change(session, user) -> str:
        act(session, user)
        return done

    return _update(request, admin, user_id, f"accounts-{action}", csrf_token, change)
