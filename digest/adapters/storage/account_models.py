"""The console's and the API's accounts: admins and editors, their sign-in sessions and API tokens. Import
them as `models.AdminUser` and so on: models.py imports this module at its end, so the tables are in
`Base.metadata` wherever the models are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from digest.adapters.storage.columns import UTCDateTime, utcnow
from digest.adapters.storage.models import Base


class AdminUser(Base):
    """A person who runs lists: `admin` may do everything, `editor` handles articles and issues."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # argon2id, in the PHC string format argon2-cffi writes
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="editor")
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdminSession(Base):
    """A signed-in browser. Only a hash of the cookie is kept, so a leaked table opens no session."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie value
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[AdminUser] = relationship()


class ApiToken(Base):
    """A bearer token for /api/v1, acting as its user; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: never expires (tokens made before expiry existed, or made so on purpose).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # `read` tokens may only GET; `write` may do whatever their user's role may.
    scope: Mapped[str] = mapped_column(String(8), default="write", server_default="write")

    user: Mapped[AdminUser] = relationship()
