"""/api/v1/articles/{id}/confirm: an editor's yes to an article that waits for review, as suggested or with
corrected regions and topic (services/article_review.py). `GET /api/v1/articles?waiting=true` lists them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from digest.services.article_review import confirm_article
from digest.services.validation import Invalid
from digest.web.api.articles import ArticleId, ArticleOut, Regions, article_or_404, article_out, unprocessable

router = APIRouter(tags=["articles"])


class Confirmation(BaseModel):
    """What the editor corrects; left out, the tagger's suggestion stands."""

    model_config = ConfigDict(extra="forbid")
    regions: Regions | None = None
    topic: str | None = Field(None, min_length=1, max_length=100)


@router.post(
    "/articles/{article_id}/confirm",
    response_model=ArticleOut,
    summary="Confirm an article that waits for review, as suggested or corrected; it then goes into issues",
)
def confirm(request: Request, article_id: ArticleId, confirmation: Confirmation) -> ArticleOut:
    web = request.app.state.web
    with web.factory.begin() as session:
        row = article_or_404(session, article_id)
        try:
            warnings = confirm_article(session, row, confirmation.model_dump(exclude_none=True), web.regions)
        except Invalid as exc:
            raise unprocessable(exc.errors) from None
        return article_out(web, session, row, warnings)
