"""How each list's mail goes out, for the sender page: where its bounces come back (the VERP domain) and
whether its DKIM signature aligns with its From for DMARC."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.bounces.settings import LoopSettings, dkim_aligned


@dataclass(frozen=True)
class ListSending:
    slug: str
    name: str
    sender_email: str
    bounce_domain: str  # "" without one: bounces go to the sender's address, which the loop does not read
    own_bounce_domain: bool  # the list's own, not DIGEST_BOUNCE_DOMAIN
    dkim_domain: str  # "" when nothing is signed
    dkim_aligned: bool | None  # None when nothing is signed


def list_sending(session: Session, loop: LoopSettings) -> list[ListSending]:
    ml = models.MailingList
    rows = session.execute(select(ml.slug, ml.name, ml.sender_email, ml.bounce_domain).order_by(ml.slug))
    signer = loop.dkim_domain if loop.dkim_enabled else None
    return [
        ListSending(
            slug=row.slug,
            name=row.name,
            sender_email=row.sender_email,
            bounce_domain=row.bounce_domain or loop.bounce_domain or "",
            own_bounce_domain=bool(row.bounce_domain),
            dkim_domain=signer or "",
            dkim_aligned=None if signer is None else dkim_aligned(row.sender_email, signer),
        )
        for row in rows
    ]
