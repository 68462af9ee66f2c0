"""Admin pages: the review queue ("待审核"). Articles the tagger placed with little confidence, or nowhere,
wait here; an editor confirms each in one step, as suggested or corrected (services/article_review.py).
Editors and admins alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from digest.adapters.storage import models
from digest.services import NotFound
from digest.services.article_editing import get_article
from digest.services.article_review import confirm_article, count_waiting, waiting_for_review
from digest.services.validation import Invalid
from digest.web import PageError
from digest.web.admin import MAX_ID, SignedIn, admin_page, list_choices, list_or_404, web_of
from digest.web.catalogue import review as _words  # noqa: F401  (registers this area's words)
from digest.web.guard import StorableText

router = APIRouter(prefix="/admin")
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _waiting_row(web, article: models.Article) -> dict:
    known = [r.region_code for r in article.regions if r.region_code in web.regions]
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source or "",
        "published": article.published_at.strftime("%Y-%m-%d"),
        "regions": "、".join(web.regions.display(code) for code in known),
        "topic": article.topic.slug,
        "percent": round(100 * (article.tag_confidence or 0)),
        "why": "、".join(article.tag_why or []),
    }


def _page(request: Request, admin, slug: str, *, errors: dict | None = None, notice: str | None = None):
    web = web_of(request)
    with web.factory.begin() as session:
        ml = list_or_404(session, slug)
        context = {
            "ml": ml,
            "lists": list_choices(session),
            "topics": [(t.slug, t.name) for t in ml.topics],
            "rows": [_waiting_row(web, a) for a in waiting_for_review(session, ml.id)],
            "waiting": count_waiting(session, ml.id),
        }
    status = 400 if errors else 200
    return admin_page(request, "review.html", admin=admin, status=status, errors=errors or {}, notice=notice, **context)


@router.get("/review")
def review(
    request: Request,
    admin: SignedIn,
    slug: Annotated[str, Query(alias="list", max_length=64)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
):
    return _page(request, admin, slug, notice="rev_confirmed" if done == "confirmed" else None)


@router.post("/review/{article_id}")
def confirm(
    request: Request,
    admin: SignedIn,
    article_id: ArticleId,
    regions: Annotated[StorableText, Form(max_length=1000)] = "",
    topic: Annotated[StorableText, Form(max_length=100)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"review-{article_id}")
    with web.factory.begin() as session:
        try:
            article = get_article(session, article_id)
        except NotFound:
            raise PageError(404, "not_found") from None
        slug = session.get_one(models.MailingList, article.list_id).slug
        suggested = _waiting_row(web, article)
        # Only what the editor changed is theirs; what they left keeps the tagger as its origin.
        changes = {
            name: value.strip()
            for name, value in (("regions", regions), ("topic", topic))
            if value.strip() and value.strip() != suggested[name]
        }
        try:
            confirm_article(session, article, changes, web.regions)
        except Invalid as exc:
            session.rollback()
            errors = {article_id: exc.errors}
        else:
            errors = {}
    if errors:
        return _page(request, admin, slug, errors=errors)
    return RedirectResponse(f"/admin/review?list={slug}&done=confirmed", status_code=303)
