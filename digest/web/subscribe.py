"""Subscribing with double opt-in, confirming, and the region search the pickers use."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import NATIONAL_CODE, ListInfo
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken, read_token, sign_token
from digest.services.lists import find_list_by_slug, list_info
from digest.services.self_service import check_confirmable, confirm_subscription, find_subscription
from digest.services.subscribe_requests import Ask
from digest.services.subscribers import (
    InvalidSubscriber,
    normalise_email,
)
from digest.services.welcome import welcome
from digest.web import DEFAULT_TIME_ZONE, PageError
from digest.web.forms import InvalidChoice, check_choices, picker, region_json
from digest.web.guard import posted_form

log = logging.getLogger(__name__)
router = APIRouter()

# Long enough for a slow inbox, short enough that a stale link does not subscribe anyone years on.
CONFIRM_MAX_AGE = 7 * 24 * 3600


class SubscribeForm(BaseModel):
    """The public subscribe form's fields."""

    email: str = ""
    name: str = Field("", max_length=200)
    region: list[str] = []
    topic: list[str] = []
    time_zone: str = DEFAULT_TIME_ZONE
    locale: str = ""  # none sent: the list's language
    csrf_token: str = ""


def get_list_or_404(session: Session, slug: str) -> models.MailingList:
    ml = find_list_by_slug(session, slug)
    if ml is None:
        raise PageError(404, "not_found")
    return ml


def _form_page(request: Request, info: ListInfo, *, lang: str, form: dict, error: str | None = None):
    """The subscribe form; with an `error` it answers 400 and shows the `form` as submitted."""
    web = request.app.state.web
    return web.page(
        request,
        "subscribe.html",
        lang=lang,
        status=400 if error else 200,
        list=info,
        form=form,
        error=error,
        **picker(web, form["regions"], request.query_params.get("q", "")),
    )


@router.get("/lists/{slug}/subscribe")
def subscribe_form(request: Request, slug: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        # A visitor whose browser names no language of ours reads an English list's form in English, and
        # its language select starts there: what they then receive.
        lang = web.language(request, otherwise=ml.language)
        form = {
            "email": "",
            "name": "",
            "regions": [NATIONAL_CODE],
            "topics": [],
            "time_zone": DEFAULT_TIME_ZONE,
            "locale": lang,
        }
        return _form_page(request, list_info(ml), lang=lang, form=form)


async def subscribe_submit(request: Request):
    # The form read and checked here rather than by a `Form()` parameter: FastAPI's per-field machinery cost
    # this busy route a tenth of its CPU. The same model checks it, and a bad field is the same 400.
    slug = request.path_params["slug"]
    data = await posted_form(request)
    try:
        submitted = SubscribeForm.model_validate(
            {key: data.get(key, "") for key in ("email", "name", "time_zone", "locale", "csrf_token") if key in data}
            | {"region": data.getlist("region"), "topic": data.getlist("topic")}
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    return await run_in_threadpool(_subscribe, request, slug, submitted)


# A plain Starlette route, as the one-click POST (web/manage.py): FastAPI's dependency solving for its path
# parameter alone cost about a tenth of the request's CPU, and the guard has already checked the path.
router.add_route("/lists/{slug}/subscribe", subscribe_submit, methods=["POST"], include_in_schema=False)


def _subscribe(request: Request, slug: str, submitted: SubscribeForm):
    web = request.app.state.web
    client = request.client.host if request.client else "unknown"
    # Counted before anything else, so a flood costs us as little as possible.
    if not web.limiter.hit(f"subscribe:{client}"):
        raise PageError(429, "rate_limited")
    web.check_csrf(request, submitted.csrf_token, f"subscribe:{slug}")
    form = {
        "email": submitted.email,
        "name": submitted.name,
        "regions": submitted.region,
        "topics": submitted.topic,
        "time_zone": submitted.time_zone,
        "locale": submitted.locale,
    }
    ml = web.form_list(slug)
    if ml is None:
        raise PageError(404, "not_found")
    lang = web.language(request, otherwise=ml.info.language)
    form["locale"] = submitted.locale = submitted.locale or ml.info.language
    try:
        address = normalise_email(submitted.email)
    except InvalidSubscriber:
        return _form_page(request, ml.info, lang=lang, form=form, error="invalid_email")
    try:
        choices = check_choices(web, ml, submitted.region, submitted.topic, submitted.time_zone, submitted.locale)
    except InvalidChoice:
        return _form_page(request, ml.info, lang=lang, form=form, error="invalid_choice")
    ask = Ask.of(ml.id, address, submitted.name, choices, web.settings.clock.now())
    # One statement on PostgreSQL, with the requests that arrive meanwhile: the person, their pending picks,
    # the day's count of form mails and the mail itself, waiting to be sent.
    asked = web.record_ask(ask)
    if asked.may_mail:
        web.form_mail_waiting()
    else:
        log.info("form mail to %s withheld: the day's cap is reached", ask.email)
    # Deliberately the same page, whatever the address was: no one learns who subscribes.
    return web.page_with_blanks(request, "check_inbox.html", lang=lang, branding=ml.info, blanks={"email": ask.email})


def confirm_scope(subscriber_id: int, list_slug: str) -> str:
    """The confirm button's CSRF scope: what the link's token names, so it is checked before any query."""
    return f"confirm:{subscriber_id}:{list_slug}"


def _confirm_link(web, token: str) -> tuple[int, str, datetime]:
    """(subscriber id, list slug, when the link was signed), or BadToken ("expired" past CONFIRM_MAX_AGE)."""
    data = read_token(web.settings.token_keys, token, "confirm", max_age=CONFIRM_MAX_AGE)
    if data.list_slug is None:
        raise BadToken("token names no list")
    return data.subscriber_id, data.list_slug, data.issued_at


def _confirmable(session: Session, subscriber_id: int, list_slug: str, issued_at: datetime) -> models.Subscription:
    sub = find_subscription(session, subscriber_id, list_slug)
    if sub is None:
        raise BadToken("no such subscription")
    check_confirmable(sub, issued_at)
    return sub


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str):
    """The mailed link opens a page with one button and changes nothing: mail scanners open every link."""
    web = request.app.state.web
    subscriber_id, list_slug, issued_at = _confirm_link(web, token)
    with web.factory.begin() as session:
        sub = _confirmable(session, subscriber_id, list_slug, issued_at)
        if sub.status == SubscriptionStatus.CONFIRMED:
            return _confirmed_page(request, sub)
        return web.page(
            request,
            "confirm.html",
            lang=web.language(request, sub.subscriber.locale),
            list=list_info(sub.list),
            email=sub.subscriber.email,
            action=f"/confirm/{token}",
            scope=confirm_scope(subscriber_id, list_slug),
        )


@router.post("/confirm/{token}")
def confirm(request: Request, token: str, csrf_token: Annotated[str, Form(max_length=200)] = ""):
    web = request.app.state.web
    subscriber_id, list_slug, issued_at = _confirm_link(web, token)
    web.check_csrf(request, csrf_token, confirm_scope(subscriber_id, list_slug))
    with web.factory.begin() as session:
        sub = _confirmable(session, subscriber_id, list_slug, issued_at)
        # The real time, as the token it is compared with.
        confirm_subscription(sub, issued_at, wall_now())
        return _confirmed_page(request, sub)


def _confirmed_page(request: Request, sub: models.Subscription):
    """Confirmed: their picks by name, when the first issue comes, and their preferences link."""
    web = request.app.state.web
    preferences = sign_token(web.settings.secret_key, "preferences", sub.subscriber_id, sub.list.slug)
    return web.page(
        request,
        "confirmed.html",
        lang=web.language(request, sub.subscriber.locale),
        list=list_info(sub.list),
        preferences_url=f"/p/{preferences}",
        welcome=welcome(sub, web.regions, web.settings.clock.now()),
    )


@router.get("/api/regions")
def region_search(request: Request, q: Annotated[str, Query(max_length=40)] = "", limit: int = 20):
    web = request.app.state.web
    hits = web.regions.search(q, max(1, min(limit, 50))) if q.strip() else []
    return JSONResponse([region_json(web.regions, r) for r in hits])
