"""Pages reached from a digest's signed links: preferences, unsubscribe, view in browser; and the archive."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import Picks
from digest.core.rendering import render_digest
from digest.core.tokens import BadToken, read_token, sign_token
from digest.services.delivery.digests import Addressee, PersonalDigest, digest_for, issue_digests, public_digest
from digest.services.lists import list_info
from digest.services.subscribers import picks_of
from digest.web import DEFAULT_TIME_ZONE, PageError
from digest.web.forms import InvalidChoice, check_choices, picker
from digest.web.security import DIGEST_CSP
from digest.web.subscribe import get_list_or_404

router = APIRouter()

PUBLISHED = ("sending", "sent")  # issues the archive shows
MAX_PAUSE_WEEKS = 52


def subscription_for(web, session: Session, token: str, purpose: str) -> models.Subscription:
    """The subscription a token names, or BadToken: a valid signature for a row that is gone is no better."""
    data = read_token(web.settings.secret_key, token, purpose)
    if data.list_slug is None:
        raise BadToken("token names no list")
    sub = session.scalar(
        select(models.Subscription)
        .join(models.MailingList)
        .where(models.Subscription.subscriber_id == data.subscriber_id, models.MailingList.slug == data.list_slug)
    )
    if sub is None:
        raise BadToken("no such subscription")
    return sub


def _today_for(web, subscriber: models.Subscriber):
    """Their today, by the clock issues are planned by: a pause is measured against an issue's week."""
    try:
        zone = ZoneInfo(subscriber.time_zone or DEFAULT_TIME_ZONE)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_TIME_ZONE)
    return web.settings.clock.today(zone)


def _prefs_page(
    web, request: Request, sub: models.Subscription, token: str, *, notice=None, error=None, status=200, form=None
):
    subscriber = sub.subscriber
    lang = web.language(request, subscriber.locale)
    form = form or {
        "name": subscriber.name,
        "regions": list(sub.region_codes or ()),
        "topics": list(sub.topic_slugs or ()),
        "time_zone": subscriber.time_zone,
        "locale": subscriber.locale,
    }
    paused = sub.paused_until if sub.paused_until and sub.paused_until > _today_for(web, subscriber) else None
    return web.page(
        request,
        "preferences.html",
        lang=lang,
        status=status,
        list=list_info(sub.list),
        email=subscriber.email,
        status_key=f"status_{sub.status}",
        subscribed=sub.status != "unsubscribed",
        paused_until=paused,
        form=form,
        notice=notice,
        error=error,
        scope=f"prefs:{sub.id}",
        action=f"/p/{token}",
        unsubscribe_scope=f"unsubscribe:{sub.id}",
        max_weeks=MAX_PAUSE_WEEKS,
        **picker(web, form["regions"], request.query_params.get("q", "")),
    )


@router.get("/p/{token}")
def preferences(request: Request, token: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "preferences")
        notice = request.query_params.get("notice")
        if notice not in ("saved", "paused", "resumed"):
            notice = None
        return _prefs_page(web, request, sub, token, notice=notice)


@router.post("/p/{token}")
def preferences_submit(
    request: Request,
    token: str,
    action: Annotated[str, Form()] = "save",
    name: Annotated[str, Form(max_length=200)] = "",
    region: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    topic: Annotated[list[str], Form()] = [],  # noqa: B006
    time_zone: Annotated[str, Form()] = DEFAULT_TIME_ZONE,
    locale: Annotated[str, Form()] = "zh-CN",
    weeks: Annotated[int, Form(ge=1, le=MAX_PAUSE_WEEKS)] = 1,
    csrf_token: Annotated[str, Form()] = "",
):
    web = request.app.state.web
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "preferences")
        web.check_csrf(request, csrf_token, f"prefs:{sub.id}")
        subscriber = sub.subscriber
        # Joining and leaving are recorded by the real time: a confirmation link is honoured only if
        # signed after the unsubscription, and tokens are stamped by the wall clock (digest/core/tokens.py).
        now = wall_now()
        if action == "save":
            form = {"name": name, "regions": region, "topics": topic, "time_zone": time_zone, "locale": locale}
            try:
                choices = check_choices(web, sub.list, region, topic, time_zone, locale)
            except InvalidChoice:
                return _prefs_page(web, request, sub, token, error="invalid_choice", status=400, form=form)
            sub.region_codes = choices.regions
            sub.topic_slugs = choices.topics
            subscriber.name = " ".join(name.split())
            subscriber.time_zone = choices.time_zone
            subscriber.locale = choices.locale
            notice = "saved"
        elif action == "pause":
            sub.paused_until = _today_for(web, subscriber) + timedelta(days=7 * weeks)
            notice = "paused"
        elif action == "resume":
            sub.paused_until = None
            notice = "resumed"
        elif action == "resubscribe":
            # Holding the preferences link proves the mailbox: no second opt-in needed.
            sub.status, sub.confirmed_at, sub.unsubscribed_at = "confirmed", now, None
            notice = "saved"
        elif action in ("leave", "leave_all"):
            subs = subscriber.subscriptions if action == "leave_all" else [sub]
            for each in subs:
                _unsubscribe(each, now)
            lang = web.language(request, subscriber.locale)
            return web.page(
                request,
                "left.html",
                lang=lang,
                list=list_info(sub.list),
                email=subscriber.email,
                all_lists=action == "leave_all",
            )
        else:
            raise PageError(400, "bad_request")
    # Post/redirect/get: reloading the page does not submit the form again.
    return RedirectResponse(f"/p/{token}?notice={notice}", status_code=303)


def _unsubscribe(sub: models.Subscription, now: datetime) -> None:
    if sub.status != "unsubscribed":
        sub.status = "unsubscribed"
        sub.unsubscribed_at = now


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "unsubscribe")
        lang = web.language(request, sub.subscriber.locale)
        preferences = sign_token(web.settings.secret_key, "preferences", sub.subscriber_id, sub.list.slug)
        return web.page(
            request,
            "unsubscribe.html",
            lang=lang,
            list=list_info(sub.list),
            email=sub.subscriber.email,
            already=sub.status == "unsubscribed",
            scope=f"unsubscribe:{sub.id}",
            action=f"/u/{token}",
            preferences_url=f"/p/{preferences}",
        )


@router.post("/u/{token}")
def unsubscribe(
    request: Request,
    token: str,
    one_click: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
    csrf_token: Annotated[str, Form()] = "",
):
    """The page's button, and RFC 8058 one-click: a mail provider POSTs without cookies or a form token.

    The signed token in the URL is what authorises either; the CSRF check guards
    only the button, whose page may be open in a browser another site could drive.
    """
    web = request.app.state.web
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "unsubscribe")
        if one_click != "One-Click":
            web.check_csrf(request, csrf_token, f"unsubscribe:{sub.id}")
        _unsubscribe(sub, wall_now())  # the real time, as tokens are stamped: see preferences()
        lang = web.language(request, sub.subscriber.locale)
        # 200, not a redirect: RFC 8058 clients do not follow one.
        return web.page(
            request, "left.html", lang=lang, list=list_info(sub.list), email=sub.subscriber.email, all_lists=False
        )


def _digest_response(web, request: Request, copy: PersonalDigest) -> HTMLResponse:
    if copy.digest.article_count == 0:
        return web.page(
            request, "message.html", lang=web.language(request), list=copy.digest.list, message="nothing_matched"
        )
    rendered = render_digest(copy.digest, copy.recipient, web.mail)
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": DIGEST_CSP})


@router.get("/issues/{issue_id}/view/{token}")
def view_issue(request: Request, issue_id: int, token: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "view")
        issue = session.get(models.Issue, issue_id)
        if issue is None or issue.list_id != sub.list_id:
            raise PageError(404, "not_found")
        sent = session.scalar(
            select(models.Delivery.article_ids).where(
                models.Delivery.issue_id == issue.id, models.Delivery.subscriber_id == sub.subscriber_id
            )
        )
        digests = issue_digests(web.runtime, session, issue.id)
        if sent:
            # What their copy held, whatever they have picked since (a hidden article stays out).
            digests, picks = digests.only(sent), Picks()
        else:
            # Not sent to them (yet): their current picks, what they will get.
            picks = picks_of(sub)
        to = Addressee(sub.subscriber.email, sub.subscriber.name, sub.subscriber_id)
        return _digest_response(web, request, digest_for(web.runtime, digests, picks, to))


@router.get("/lists/{slug}/archive")
def archive(request: Request, slug: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        issues = session.scalars(
            select(models.Issue)
            .where(models.Issue.list_id == ml.id, models.Issue.status.in_(PUBLISHED))
            .order_by(models.Issue.number.desc())
        ).all()
        return web.page(request, "archive.html", lang=web.language(request), list=list_info(ml), issues=issues)


@router.get("/lists/{slug}/archive/{number}")
def archive_issue(request: Request, slug: str, number: int):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        issue = session.scalar(
            select(models.Issue).where(
                models.Issue.list_id == ml.id, models.Issue.number == number, models.Issue.status.in_(PUBLISHED)
            )
        )
        if issue is None:
            raise PageError(404, "not_found")
        return _digest_response(web, request, public_digest(web.runtime, issue_digests(web.runtime, session, issue.id)))
