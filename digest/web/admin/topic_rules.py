"""Admin pages: the tagger's topic rules, per topic a keyword and its weight a line (services/topic_rules.py).
Editors and admins alike: they are the ones who confirm what the tagger found."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from digest.services.topic_rules import rules_for_editing, save_rules
from digest.services.validation import FieldError, Invalid
from digest.web.admin import SignedIn, admin_page, list_choices, list_or_404, web_of
from digest.web.catalogue import review as _words  # noqa: F401  (registers this area's words)

router = APIRouter(prefix="/admin")


def _page(request: Request, admin, slug: str, *, texts=None, errors=None, saved: bool = False):
    web = web_of(request)
    with web.factory.begin() as session:
        ml = list_or_404(session, slug)
        shown = rules_for_editing(ml)
        context = {"ml": ml, "lists": list_choices(session)}
    rows = [{"slug": s.slug, "name": s.name, "customised": s.customised, "text": (texts or {}).get(s.slug, s.text)}
            for s in shown]  # fmt: skip
    status = 400 if errors else 200
    return admin_page(
        request, "topic_rules.html", admin=admin, status=status, rows=rows, errors=errors or {}, saved=saved, **context
    )


@router.get("/topic-rules")
def topic_rules(
    request: Request,
    admin: SignedIn,
    slug: Annotated[str, Query(alias="list", max_length=64)] = "",
    saved: Annotated[str, Query(max_length=1)] = "",
):
    return _page(request, admin, slug, saved=saved == "1")


@router.post("/topic-rules")
async def save_topic_rules(
    request: Request, admin: SignedIn, slug: Annotated[str, Query(alias="list", max_length=64)] = ""
):
    web = web_of(request)
    data = await request.form(max_fields=200)
    token = data.get("csrf_token")
    web.check_csrf(request, token if isinstance(token, str) else None, "topic-rules")
    texts = {key[len("rules-") :]: str(value)[:20_000] for key, value in data.items() if key.startswith("rules-")}
    return await run_in_threadpool(_save, request, admin, slug, texts)


def _save(request: Request, admin, slug: str, texts: dict[str, str]):
    web = web_of(request)
    errors: dict[str, FieldError] = {}
    with web.factory.begin() as session:
        ml = list_or_404(session, slug)
        try:
            save_rules(session, ml, texts)
        except Invalid as exc:
            errors = dict(exc.errors)
        slug = ml.slug
    if errors:
        return _page(request, admin, slug, texts=texts, errors=errors)
    return RedirectResponse(f"/admin/topic-rules?list={slug}&saved=1", status_code=303)
