"""/api/v1/lists: lists (newsletters) and their topics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select

from digest.storage import models

router = APIRouter(tags=["lists"])


class TopicOut(BaseModel):
    slug: str
    name: str


class ListOut(BaseModel):
    slug: str
    name: str
    topics: list[TopicOut]


@router.get("/lists", response_model=list[ListOut], summary="Every list with its topics in section order")
def lists(request: Request) -> list[ListOut]:
    with request.app.state.web.factory.begin() as session:
        rows = session.scalars(select(models.MailingList).order_by(models.MailingList.slug))
        return [
            ListOut(slug=ml.slug, name=ml.name, topics=[TopicOut(slug=t.slug, name=t.name) for t in ml.topics])
            for ml in rows
        ]
