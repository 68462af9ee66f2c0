"""Admin page: add one subscriber to a list (/admin/subscribers/new), confirmed or sent the confirmation mail.

Admins only, as every subscriber edit. The checks are `subscriber_adding.add_subscriber`'s (those of the API's
create): one bad field re-shows the form with what was typed and saves nothing; an address already on the list
is named and linked to its page; a suppressed one is refused. Registered before the subscribers' router, whose
`/subscribers/{id}` would otherwise take "new" for an id.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from digest.core.domain import NATIONAL_CODE
from digest.core.statuses import SubscriptionStatus
from digest.services.form_mails import send_form_mails
from digest.services.subscriber_adding import Added, add_subscriber
from digest.services.validation import FieldError, Invalid
from digest.web.admin import AdminOnly, admin_page, list_or_404, web_of
from digest.web.catalogue import subscriber_pages as _words  # noqa: F401  (registers this page's words)
from digest.web.forms import picker

router = APIRouter(prefix="/admin")

NEW = "/admin/subscribers/new"
CONFIRMED, MAIL = "confirmed", "mail"  # the form's two ways in: agreed elsewhere, or double opt-in


class NewSubscriberForm(BaseModel):
    list_slug: str = Field("", max_length=64, alias="list")
    email: str = Field("", max_length=320)
    name: str = Field("", max_length=1000)
    region: list[str] = Field([], max_length=500)
    topic: list[str] = Field([], max_length=100)
    time_zone: str = Field("Asia/Shanghai", max_length=64)
    locale: str = Field("zh-CN", max_length=16)
    mode: str = Field(MAIL, max_length=20)
    csrf_token: str | None = None


def _page(request, admin, ml, form: dict, errors: dict[str, FieldError] | None = None):
    context = picker(web_of(request), form["regions"], request.query_params.get("q", ""))
    context |= {
        "ml_slug": ml.slug,
        "ml_name": ml.name,
        "list": {"slug": ml.slug, "topics": [{"slug": t.slug, "name": t.name} for t in ml.topics]},
        "form": form,
        "errors": errors or {},
        "keep_lang": request.query_params.get("lang", "")[:8],
    }
    return admin_page(request, "subscribers_new.html", admin=admin, status=400 if errors else 200, **context)


@router.get("/subscribers/new")
def new_form(request: Request, admin: AdminOnly, list_slug: Annotated[str, Query(alias="list", max_length=64)] = ""):
    web = web_of(request)
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        # As the public form starts (全国 ticked), in the list's zone and language.
        blank = {"email": "", "name": "", "topics": [], "mode": MAIL}
        form = blank | {"regions": [NATIONAL_CODE], "time_zone": ml.time_zone, "locale": ml.language}
        return _page(request, admin, ml, form)


@router.post("/subscribers/new")
def add(request: Request, admin: AdminOnly, submitted: Annotated[NewSubscriberForm, Form()]):
    web = web_of(request)
    web.check_csrf(request, submitted.csrf_token, "subs-new")
    form = submitted.model_dump(include={"email", "name", "time_zone", "locale", "mode"})
    form |= {"regions": submitted.region, "topics": submitted.topic}
    changes = {k: form[k] for k in ("name", "regions", "topics", "time_zone", "locale")}
    # The status comes from the mode alone: a status refused is a mode the form never offered.
    changes["status"] = {CONFIRMED: SubscriptionStatus.CONFIRMED, MAIL: SubscriptionStatus.PENDING}.get(
        submitted.mode, ""
    )
    with web.factory.begin() as session:
        ml = list_or_404(session, submitted.list_slug)
        try:
            added = add_subscriber(session, ml, web.regions, submitted.email, changes, web.settings.clock.now())
        except Invalid as exc:
            errors = dict(exc.errors)
            if errors.pop("status", None) is not None:
                errors["mode"] = FieldError("subs_err_add_mode")
            return _page(request, admin, ml, form, errors)
        slug = ml.slug
    query = {"list": slug, "added": _what_became_of_the_mail(web, added)}
    if lang := request.query_params.get("lang"):
        query["lang"] = lang
    return RedirectResponse(f"/admin/subscribers/{added.subscriber_id}?{urlencode(query)}", status_code=303)


def _what_became_of_the_mail(web, added: Added) -> str:
    """Sends the confirmation mail just committed (without a broker, here, as `digest subscribers add` does;
    with one, a worker is asked to) and says which notice the subscriber's page shows."""
    if not added.mail_owed:
        return "confirmed"
    if web.runtime.broker is not None:
        web.form_mail_waiting()
        return "queued"
    report = send_form_mails(web.runtime)
    return "waits" if report.retry else "refused" if report.dropped else "mailed"


ADDED_NOTICES = {
    "confirmed": "subs_added_confirmed",
    "mailed": "subs_added_mailed",
    "queued": "subs_added_queued",
    "waits": "subs_added_waits",
    "refused": "subs_added_refused",
}
