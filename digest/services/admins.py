"""Admin accounts, their browser sessions and their API tokens.

Passwords are hashed with argon2id. A session cookie and an API token are
random strings of which only a sha256 is stored: a copy of the database opens
nothing. Changing a password ends every session of that user and revokes their
API tokens (unless asked to keep them); disabling an account ends its sessions
and refuses its tokens while it stays disabled. Tokens expire (90 days unless
made otherwise) and are `read` (GET only) or `write`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models

# Sign-ins, sessions and API tokens live by the real time (wall_now), never by the settable
# clock of digest/core/clock.py: an expiry must not move because DIGEST_NOW says another day.
from digest.core.clock import wall_now
from digest.services import NotFound

ROLES = ("admin", "editor")
MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "dgt_"
TOKEN_SCOPES = ("read", "write")
TOKEN_DAYS = 90

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so a wrong address costs as long as a wrong password.

    Made on the first sign-in rather than at import: every command imports this module, and
    one argon2 hash was a fifth of `digest --help`.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


class InvalidAdmin(ValueError):
    """A bad email, role or password for an admin account; the message starts with the field it is about."""

    @property
    def field(self) -> str:
        """`email`, `role`, `password`, `name`, `scope`, `expires-in-days` or `access`."""
        return str(self).partition(":")[0]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _normalise_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 320:
        raise InvalidAdmin(f"email: {email!r} is not an email address")
    # Sign-in addresses match whatever case people type them in.
    return email.lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAdmin(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def get_admin(session: Session, email: str) -> models.AdminUser:
    user = session.scalar(select(models.AdminUser).where(models.AdminUser.email == _normalise_email(email)))
    if user is None:
        raise NotFound(f"no admin with email {email}")
    return user


def all_admins(session: Session) -> list[models.AdminUser]:
    return list(session.scalars(select(models.AdminUser).order_by(models.AdminUser.email)))


def create_admin(session: Session, email: str, password: str, role: str = "admin") -> models.AdminUser:
    if role not in ROLES:
        raise InvalidAdmin(f"role: {role!r} is not one of {', '.join(ROLES)}")
    check_password(password)
    email = _normalise_email(email)
    if session.scalar(select(models.AdminUser.id).where(models.AdminUser.email == email)) is not None:
        raise InvalidAdmin(f"email: an admin {email} already exists")
    user = models.AdminUser(email=email, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> models.AdminUser | None:
    """The user these credentials name, or None; the same work is done whether the email exists or not."""
    try:
        email = _normalise_email(email)
    except InvalidAdmin:
        email = ""
    user = session.scalar(select(models.AdminUser).where(models.AdminUser.email == email)) if email else None
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = wall_now()
    return user


def set_password(session: Session, user: models.AdminUser, password: str, *, keep_tokens: bool = False) -> int:
    """New password; every session of this user ends (the caller may start a fresh one) and, unless
    `keep_tokens`, their API tokens are revoked: a password changed because it leaked must not leave the
    tokens made with it working. Returns how many tokens were revoked."""
    check_password(password)
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = wall_now()
    end_sessions(session, user)
    return 0 if keep_tokens else revoke_user_tokens(session, user)


def end_sessions(session: Session, user: models.AdminUser) -> None:
    session.execute(delete(models.AdminSession).where(models.AdminSession.user_id == user.id))


def set_disabled(session: Session, user: models.AdminUser, disabled: bool) -> None:
    """A disabled admin cannot sign in, their sessions end, and their tokens are refused until enabled."""
    user.disabled = disabled
    if disabled:
        end_sessions(session, user)


def start_session(session: Session, user: models.AdminUser, now: datetime | None = None) -> str:
    """A new session for `user`; returns the cookie value (shown once, stored hashed)."""
    now = now or wall_now()
    secret = secrets.token_urlsafe(32)
    session.add(
        models.AdminSession(id=_digest(secret), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME)
    )
    return secret


def session_user(session: Session, secret: str | None, now: datetime | None = None) -> models.AdminUser | None:
    if not secret or len(secret) > 200:
        return None
    now = now or wall_now()
    row = session.get(models.AdminSession, _digest(secret))
    if row is None or row.expires_at <= now or row.user.disabled:
        return None
    return row.user


def end_session(session: Session, secret: str | None) -> None:
    if secret and len(secret) <= 200:
        session.execute(delete(models.AdminSession).where(models.AdminSession.id == _digest(secret)))


def create_api_token(
    session: Session,
    user: models.AdminUser,
    name: str,
    *,
    days: int | None = TOKEN_DAYS,
    scope: str = "write",
    now: datetime | None = None,
) -> str:
    """A new bearer token acting as `user`, expiring after `days` (None: never); returns it (shown once,
    stored hashed)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidAdmin("name: give the token a name of 1 to 100 characters")
    if scope not in TOKEN_SCOPES:
        raise InvalidAdmin(f"scope: {scope!r} is not one of {', '.join(TOKEN_SCOPES)}")
    if days is not None and not 1 <= days <= 3650:
        raise InvalidAdmin("expires-in-days: between 1 and 3650, or 0 for a token that never expires")
    now = now or wall_now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days) if days is not None else None
    row = models.ApiToken(
        user_id=user.id, name=name, token_hash=_digest(secret), created_at=now, expires_at=expires, scope=scope
    )
    session.add(row)
    session.flush()
    return secret


@dataclass(frozen=True)
class TokenAccess:
    """Who a valid token acts as, and what it may do, as plain data."""

    user_id: int
    email: str
    role: str
    scope: str


def token_access(session: Session, secret: str | None, now: datetime | None = None) -> TokenAccess | None:
    """The access a token grants, or None if it is unknown, revoked, expired or its user disabled."""
    if not secret or len(secret) > 200 or not secret.startswith(TOKEN_PREFIX):
        return None
    now = now or wall_now()
    row = session.scalar(select(models.ApiToken).where(models.ApiToken.token_hash == _digest(secret)))
    if row is None or row.revoked_at is not None or row.user.disabled:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    row.last_used_at = now
    return TokenAccess(row.user.id, row.user.email, row.user.role, row.scope)


def api_tokens(session: Session, user: models.AdminUser) -> list[models.ApiToken]:
    """Every token of `user`, revoked and expired ones included, oldest first."""
    return list(session.scalars(select(models.ApiToken).where(models.ApiToken.user_id == user.id).order_by("id")))


def revoke_api_token(session: Session, token_id: int) -> None:
    row = session.get(models.ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id}")
    row.revoked_at = row.revoked_at or wall_now()


def revoke_user_tokens(session: Session, user: models.AdminUser) -> int:
    """Revokes every live token of `user`; returns how many."""
    result = session.execute(
        update(models.ApiToken)
        .where(models.ApiToken.user_id == user.id, models.ApiToken.revoked_at.is_(None))
        .values(revoked_at=wall_now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
