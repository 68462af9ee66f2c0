"""Subscribing with double opt-in, confirming, and the region search the pickers use."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Annotated

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse
from markupsafe import escape
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.transports import DeliveryError, open_transport
from digest.core.clock import wall_now
from digest.core.domain import NATIONAL_CODE, ListInfo, Recipient, RenderedDigest
from digest.core.messages import MessageHeaders, write_rendered
from digest.core.rendering import inline_css
from digest.core.tokens import BadToken, read_token, sign_token
from digest.services.lists import find_list_by_slug, list_info
from digest.services.self_service import (
    Requester,
    confirm_subscription,
    find_subscription,
    request_subscription,
)
from digest.services.subscribers import (
    InvalidSubscriber,
    normalise_email,
)
from digest.web import DEFAULT_TIME_ZONE, PageError
from digest.web.forms import InvalidChoice, check_choices, picker, region_json
from digest.web.i18n import translator

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
    locale: str = "zh-CN"
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
    lang = web.language(request)
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        form = {
            "email": "",
            "name": "",
            "regions": [NATIONAL_CODE],
            "topics": [],
            "time_zone": DEFAULT_TIME_ZONE,
            "locale": lang,
        }
        return _form_page(request, list_info(ml), lang=lang, form=form)


@router.post("/lists/{slug}/subscribe")
def subscribe_submit(request: Request, slug: str, submitted: Annotated[SubscribeForm, Form()]):
    web = request.app.state.web
    lang = web.language(request)
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
    try:
        address = normalise_email(submitted.email)
    except InvalidSubscriber:
        return _form_page(request, ml.info, lang=lang, form=form, error="invalid_email")
    try:
        choices = check_choices(web, ml, submitted.region, submitted.topic, submitted.time_zone, submitted.locale)
    except InvalidChoice:
        return _form_page(request, ml.info, lang=lang, form=form, error="invalid_choice")
    # One statement on PostgreSQL: the person, their pending picks and the day's count of form mails.
    with web.runtime.writer() as db:
        asked = request_subscription(db, ml.id, address, submitted.name, choices, web.settings.clock.now())
    # After the commit: a confirmation link must never name a row that was rolled back.
    if asked.may_mail:
        # A confirmed subscriber gets a note with their own preferences link instead of a confirmation.
        message = _mail(web, ml.info, asked.requester, "known" if asked.already_confirmed else "confirm")
        try:
            with open_transport(web.settings.smtp_url, web.settings.outbox) as transport:
                transport.send(message, sender=ml.info.sender_email, recipient=address)
        except (DeliveryError, OSError) as exc:
            # The answer must not depend on the address, so a failure is logged, not shown.
            log.warning("confirmation mail to %s failed: %s", address, exc)
    else:
        log.info("form mail to %s withheld: the day's cap is reached", address)
    # Deliberately the same page, whatever the address was: no one learns who subscribes.
    return web.page(request, "check_inbox.html", lang=lang, list=ml.info, email=address)


def _mail(web, info: ListInfo, subscriber: Requester, kind: str) -> bytes:
    settings = web.settings
    purpose, path = ("confirm", "confirm") if kind == "confirm" else ("preferences", "p")
    url = f"{settings.base_url}/{path}/{sign_token(settings.secret_key, purpose, subscriber.id, info.slug)}"
    # A confirmation goes to whatever address was typed, so it carries no word the requester chose: the
    # name waits until the mailbox's owner confirms. A confirmed subscriber's name is their own.
    name = " ".join((subscriber.name or "").split()) if kind == "known" else ""
    subject, html, text = _bodies(web.mail, info, subscriber.locale, kind, name)
    headers = MessageHeaders(
        list_info=info,
        # No List-Unsubscribe: there is nothing to leave before confirming.
        recipient=Recipient(email=subscriber.email, name=name),
        list_id_domain=settings.link_domain,
        date=settings.clock.now().replace(microsecond=0),
    )
    html = html.replace(LINK_STAND_IN, str(escape(url)))
    return write_rendered(RenderedDigest(subject, html, text.replace(LINK_STAND_IN, url)), headers)


# Stands in for the personal link while the mail is rendered and its CSS inlined: the bodies are then the same
# for every address of a list, language and kind, so the templates and premailer (a millisecond and more) run
# once for each, not once a request.
LINK_STAND_IN = "https://link.invalid/personal-link"


@lru_cache(maxsize=256)
def _bodies(env: jinja2.Environment, info: ListInfo, locale: str, kind: str, name: str) -> tuple[str, str, str]:
    """(subject, HTML, text) of a form mail, with LINK_STAND_IN where the personal link goes."""
    t = translator(locale)
    words = "confirm" if kind == "confirm" else "known"
    subject = t(f"mail_{words}_subject", list=info.name)
    context = {
        "list": info,
        "lang": t("html_lang"),
        "subject": subject,
        "greeting": t("mail_greeting", name=name) if name else t("mail_greeting_anon"),
        "body": t(f"mail_{words}_body", list=info.name),
        "button": t(f"mail_{words}_button"),
        "url": LINK_STAND_IN,
        "note": t("mail_confirm_ignore") if kind == "confirm" else "",
    }
    html = inline_css(env.get_template("confirm.html").render(context))
    text = env.get_template("confirm.txt").render(context) + "\n"
    return subject, html, text


@router.get("/confirm/{token}")
def confirm(request: Request, token: str):
    web = request.app.state.web
    data = read_token(web.settings.token_keys, token, "confirm", max_age=CONFIRM_MAX_AGE)
    with web.factory.begin() as session:
        sub = find_subscription(session, data.subscriber_id, data.list_slug) if data.list_slug else None
        if sub is None:
            raise BadToken("no such subscription")
        # The real time, as the token it is compared with.
        confirm_subscription(sub, data.issued_at, wall_now())
        preferences = sign_token(web.settings.secret_key, "preferences", sub.subscriber_id, data.list_slug)
        lang = web.language(request, sub.subscriber.locale)
        return web.page(
            request, "confirmed.html", lang=lang, list=list_info(sub.list), preferences_url=f"/p/{preferences}"
        )


@router.get("/api/regions")
def region_search(request: Request, q: Annotated[str, Query(max_length=40)] = "", limit: int = 20):
    web = request.app.state.web
    hits = web.regions.search(q, max(1, min(limit, 50))) if q.strip() else []
    return JSONResponse([region_json(web.regions, r) for r in hits])
