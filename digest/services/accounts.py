"""Staff accounts as the console's accounts page manages them: who has access, with which role, and which
API tokens act for them. The accounts and tokens themselves live in services/admins.py.

A change that would leave no enabled admin is refused (disabling, or making an editor of, the last one):
nobody could then manage accounts, lists or subscribers without shell access to the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.services import NotFound
from digest.services.admins import ROLES, InvalidAdmin, api_tokens, set_disabled


@dataclass(frozen=True)
class Account:
    """One staff account as plain data: never the password hash."""

    id: int
    email: str
    role: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    live_tokens: int


@dataclass(frozen=True)
class TokenRow:
    """One API token of an account: never its secret (only a hash is kept anyway)."""

    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    state: str  # live | expired | revoked


def accounts(session: Session) -> list[Account]:
    """Every account, admins first, then by address, with how many of its tokens still work."""
    now = wall_now()
    token = models.ApiToken
    live = (
        select(func.count())
        .where(
            token.user_id == models.AdminUser.id,
            token.revoked_at.is_(None),
            (token.expires_at.is_(None)) | (token.expires_at > now),
        )
        .scalar_subquery()
    )
    user = models.AdminUser
    rows = session.execute(select(user, live).order_by(user.role, user.email)).all()
    return [Account(u.id, u.email, u.role, u.disabled, u.created_at, u.last_login_at, int(n or 0)) for u, n in rows]


def account(session: Session, user_id: int) -> models.AdminUser:
    user = session.get(models.AdminUser, user_id)
    if user is None:
        raise NotFound(f"no staff account with id {user_id}")
    return user


def tokens_of(session: Session, user: models.AdminUser) -> list[TokenRow]:
    """The account's tokens, newest first, each with whether it still works."""
    now = wall_now()
    rows = []
    for t in reversed(api_tokens(session, user)):
        if t.revoked_at is not None:
            state = "revoked"
        elif t.expires_at is not None and t.expires_at <= now:
            state = "expired"
        else:
            state = "live"
        rows.append(TokenRow(t.id, t.name, t.scope, t.created_at, t.last_used_at, t.expires_at, t.revoked_at, state))
    return rows


def revoke_token_of(session: Session, user: models.AdminUser, token_id: int) -> None:
    """Revokes one token, only if it is this account's: a page for one account never touches another's."""
    row = session.get(models.ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no API token {token_id} of {user.email}")
    row.revoked_at = row.revoked_at or wall_now()


def _other_enabled_admins(session: Session, user: models.AdminUser) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                models.AdminUser.role == "admin",
                models.AdminUser.disabled.is_(False),
                models.AdminUser.id != user.id,
            )
        )
        or 0
    )


def change_access(session: Session, user: models.AdminUser, *, disabled: bool | None = None, role: str | None = None):
    """Disables or enables `user` and/or gives them `role`; refuses to leave the site without an enabled admin."""
    if role is not None and role not in ROLES:
        raise InvalidAdmin(f"role: {role!r} is not one of {', '.join(ROLES)}")
    stays_admin = (role or user.role) == "admin" and not (user.disabled if disabled is None else disabled)
    if user.role == "admin" and not user.disabled and not stays_admin and not _other_enabled_admins(session, user):
        raise InvalidAdmin(f"access: {user.email} is the last enabled admin; make another admin first")
    if role is not None:
        user.role = role
    if disabled is not None:
        set_disabled(session, user, disabled)
