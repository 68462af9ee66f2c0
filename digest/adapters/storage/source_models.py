"""The feeds a list takes articles from (0018). Import the model as `models.Source`: models.py imports
this module at its end, so the table is in `Base.metadata` wherever the models are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from digest.adapters.storage.columns import UTCDateTime, utcnow
from digest.adapters.storage.models import Base


class Source(Base):
    """An RSS, Atom or JSON feed polled on its own interval; its last fetch's outcome kept for people to see."""

    __tablename__ = "sources"
    __table_args__ = (
        UniqueConstraint("list_id", "url", name="uq_sources_list_url"),
        Index("ix_sources_paused_next_poll", "paused", "next_poll_at"),  # the sources due, each minute
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    # The feed's own title once fetched; the articles' `source` (else the URL's host).
    title: Mapped[str] = mapped_column(String(300), default="")
    # What an item gets when the tagger finds nothing better: a topic slug of the list, region codes.
    topic_slug: Mapped[str | None] = mapped_column(String(64))
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    paused: Mapped[bool] = mapped_column(default=False)
    # Loopback, private and link-local addresses are refused unless an admin allows them for this source.
    allow_private: Mapped[bool] = mapped_column(default=False)
    # The validators of the last full answer, sent back as If-None-Match / If-Modified-Since.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the HTTP status; None when no answer came
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row: the backoff's exponent
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: at the next beat
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
