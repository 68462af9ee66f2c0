"""Pages reached from a digest's signed links: preferences, unsubscribe, view in browser; and the archive."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import Digest, Picks
from digest.core.links import NO_SUBSCRIBER
from digest.core.rendering import render_content, render_digest
from digest.core.statuses import SubscriptionStatus
from digest.core.tokens import BadToken, read_token, sign_token
from digest.services import NotFound
from digest.services.delivery.digests import Addressee, PersonalDigest, digest_for, issue_digests, public_digest
from digest.services.issue_detail import issue_for_viewer
from digest.services.issues import delivered_article_ids, find_published_issue, published_issues
from digest.services.lists import list_info
from digest.services.self_service import (
    find_subscription,
    leave_by_link,
    leave_subscriptions,
    pause_subscription,
    resubscribe,
    resume_subscription,
    save_preferences,
)
from digest.services.subscribers import picks_of
from digest.web import DEFAULT_TIME_ZONE, PageError
from digest.web.errors import WayBack
from digest.web.forms import InvalidChoice, check_choices, picker
from digest.web.guard import RowNumber, posted_form
from digest.web.security import DIGEST_CSP
from digest.web.subscribe import get_list_or_404

router = APIRouter()

MAX_PAUSE_WEEKS = 52


class PreferencesForm(BaseModel):
    """The preferences page's fields; `action` says which of its buttons was pressed."""

    action: str = "save"
    name: str = Field("", max_length=200)
    region: list[str] = []
    topic: list[str] = []
    time_zone: str = DEFAULT_TIME_ZONE
    locale: str = "zh-CN"
    # Checked by the route, which knows the list and the way back to the page (a 422 knew neither).
    weeks: str = Field("1", max_length=10)
    csrf_token: str = ""


def link_names(web, token: str, purpose: str) -> tuple[int, str]:
    """(subscriber id, list slug) from a signed link's token, or BadToken."""
    data = read_token(web.settings.token_keys, token, purpose)
    if data.list_slug is None:
        raise BadToken("token names no list")
    return data.subscriber_id, data.list_slug


class LinkForNobody(Exception):
    """A link signed for nobody (a preview's or a test copy's) was opened: `list_slug` names its list."""

    def __init__(self, list_slug: str):
        super().__init__(list_slug)
        self.list_slug = list_slug


def subscription_names(web, token: str, purpose: str) -> tuple[int, str]:
    """`link_names` of a subscriber's link; LinkForNobody for a link signed for nobody, before anything is looked up."""
    subscriber_id, list_slug = link_names(web, token, purpose)
    if subscriber_id == NO_SUBSCRIBER:
        raise LinkForNobody(list_slug)
    return subscriber_id, list_slug


def nobodys_link_page(request: Request, exc: LinkForNobody, message: str) -> HTMLResponse:
    """What a test copy's unsubscribe or preferences link opens: it is a test copy, and nothing changed."""
    web = request.app.state.web
    found = web.form_list(exc.list_slug)
    if found is None:
        raise BadToken("no such list")
    return web.page(request, "test_copy.html", lang=web.language(request), list=found.info, message=message)


def subscription_for(web, session: Session, token: str, purpose: str) -> models.Subscription:
    """The subscription a token names, or BadToken: a valid signature for a row that is gone is no better."""
    subscriber_id, list_slug = subscription_names(web, token, purpose)
    sub = find_subscription(session, subscriber_id, list_slug)
    if sub is None:
        raise BadToken("no such subscription")
    return sub


def unsubscribe_scope(subscriber_id: int, list_slug: str) -> str:
    """The unsubscribe button's CSRF scope: what the link's token names, so it is checked before any query."""
    return f"unsubscribe:{subscriber_id}:{list_slug}"


def _today_for(web, subscriber: models.Subscriber):
    """Their today, by the clock issues are planned by: a pause is measured against an issue's week."""
    try:
        zone = ZoneInfo(subscriber.time_zone or DEFAULT_TIME_ZONE)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_TIME_ZONE)
    return web.settings.clock.today(zone)


def _prefs_page(request: Request, sub: models.Subscription, token: str, *, notice=None, error=None, form=None):
    """The preferences page; with an `error` it answers 400 and shows the `form` as submitted."""
    web = request.app.state.web
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
        status=400 if error else 200,
        list=list_info(sub.list),
        email=subscriber.email,
        status_key=f"status_{sub.status}",
        subscribed=sub.status != SubscriptionStatus.UNSUBSCRIBED,
        paused_until=paused,
        form=form,
        notice=notice,
        error=error,
        scope=f"prefs:{sub.id}",
        action=f"/p/{token}",
        unsubscribe_scope=unsubscribe_scope(sub.subscriber_id, sub.list.slug),
        max_weeks=MAX_PAUSE_WEEKS,
        **picker(web, form["regions"], request.query_params.get("q", "")),
    )


@router.get("/p/{token}")
def preferences(request: Request, token: str):
    web = request.app.state.web
    try:
        subscription_names(web, token, "preferences")
    except LinkForNobody as exc:
        return nobodys_link_page(request, exc, "test_copy_preferences")
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "preferences")
        notice = request.query_params.get("notice")
        if notice not in ("saved", "paused", "resumed"):
            notice = None
        return _prefs_page(request, sub, token, notice=notice)


@router.post("/p/{token}")
def preferences_submit(request: Request, token: str, submitted: Annotated[PreferencesForm, Form()]):
    web = request.app.state.web
    action = submitted.action
    try:
        subscription_names(web, token, "preferences")
    except LinkForNobody as exc:
        return nobodys_link_page(request, exc, "test_copy_preferences")
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "preferences")
        web.check_csrf(request, submitted.csrf_token, f"prefs:{sub.id}")
        subscriber = sub.subscriber
        # Joining and leaving are recorded by the real time: a confirmation link is honoured only if
        # signed after the unsubscription, and tokens are stamped by the wall clock (digest/core/tokens.py).
        now = wall_now()
        if action == "save":
            form = {
                "name": submitted.name,
                "regions": submitted.region,
                "topics": submitted.topic,
                "time_zone": submitted.time_zone,
                "locale": submitted.locale,
            }
            try:
                choices = check_choices(
                    web, sub.list, submitted.region, submitted.topic, submitted.time_zone, submitted.locale
                )
            except InvalidChoice:
                return _prefs_page(request, sub, token, error="invalid_choice", form=form)
            save_preferences(session, sub, submitted.name, choices)
            notice = "saved"
        elif action == "pause":
            weeks = _pause_weeks(submitted.weeks, sub, token)
            pause_subscription(sub, _today_for(web, subscriber) + timedelta(days=7 * weeks))
            notice = "paused"
        elif action == "resume":
            resume_subscription(sub)
            notice = "resumed"
        elif action == "resubscribe":
            resubscribe(sub, now)
            notice = "saved"
        elif action in ("leave", "leave_all"):
            leave_subscriptions(list(subscriber.subscriptions) if action == "leave_all" else [sub], now)
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


def _pause_weeks(value: str, sub: models.Subscription, token: str) -> int:
    """The pause's weeks as typed, or PageError leading back to the page that asked."""
    weeks = int(value) if value.strip().isascii() and value.strip().isdigit() else 0
    if not 1 <= weeks <= MAX_PAUSE_WEEKS:
        back = WayBack(list_info(sub.list), f"/p/{token}", "back_to_preferences")
        raise PageError(400, "pause_weeks_invalid", way_back=back, values={"max": MAX_PAUSE_WEEKS})
    return weeks


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str):
    web = request.app.state.web
    try:
        subscription_names(web, token, "unsubscribe")
    except LinkForNobody as exc:
        return nobodys_link_page(request, exc, "test_copy_unsubscribe")
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
            already=sub.status == SubscriptionStatus.UNSUBSCRIBED,
            scope=unsubscribe_scope(sub.subscriber_id, sub.list.slug),
            action=f"/u/{token}",
            preferences_url=f"/p/{preferences}",
        )


async def unsubscribe(request: Request):
    """The page's button, and RFC 8058 one-click: a mail provider POSTs without cookies or a form token.

    The signed token in the URL is what authorises either; the CSRF check guards
    only the button, whose page may be open in a browser another site could drive.
    """
    # Two fields read here rather than as `Form()` parameters: FastAPI's per-field machinery cost this, the
    # busiest route of all, a tenth of its CPU. Anything but text is no field of ours.
    token = request.path_params["token"]
    data = await posted_form(request)
    one_click, csrf_token = data.get("List-Unsubscribe"), data.get("csrf_token", "")
    if not isinstance(csrf_token, str) or not isinstance(one_click, str | None):
        raise PageError(400, "bad_request")
    return await run_in_threadpool(_unsubscribe, request, token, one_click, csrf_token)


# A plain Starlette route: FastAPI's dependency solving for the path parameter alone cost about a tenth of the
# request's CPU; the guard (web/guard.py) has already refused a path the database could not hold.
router.add_route("/u/{token}", unsubscribe, methods=["POST"], include_in_schema=False)


def _unsubscribe(request: Request, token: str, one_click: str | None, csrf_token: str):
    web = request.app.state.web
    try:
        subscriber_id, list_slug = subscription_names(web, token, "unsubscribe")
    except LinkForNobody as exc:
        # 200 to a mail provider's one-click too: there is no one to unsubscribe, and nothing changes.
        return nobodys_link_page(request, exc, "test_copy_unsubscribe")
    if one_click != "One-Click":
        web.check_csrf(request, csrf_token, unsubscribe_scope(subscriber_id, list_slug))
    # Mail providers POST these links by the thousand: on PostgreSQL one statement outside any transaction.
    with web.runtime.writer() as db:
        target = leave_by_link(db, subscriber_id, list_slug, wall_now())  # the real time: see preferences()
    if target is None:
        raise BadToken("no such subscription")
    lang = web.language(request, target.locale)
    # 200, not a redirect: RFC 8058 clients do not follow one.
    return web.page(request, "left.html", lang=lang, list=target.list, email=target.email, all_lists=False)


def _digest_response(web, request: Request, copy: PersonalDigest) -> HTMLResponse:
    if copy.digest.article_count == 0:
        return _nothing_matched(web, request, copy.digest)
    # The page "read the full article" leads to, or near enough: every article whole, whatever the mail carried.
    whole = dataclasses.replace(copy.digest, list=dataclasses.replace(copy.digest.list, article_text="full"))
    rendered = render_digest(whole, copy.recipient, web.mail)
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": DIGEST_CSP})


def _nothing_matched(web, request: Request, digest: Digest):
    lang = web.language(request, digest.language)
    return web.page(request, "message.html", lang=lang, list=digest.list, message="nothing_matched")


@router.get("/issues/{issue_id}/view/{token}")
def view_issue(request: Request, issue_id: RowNumber, token: str):
    web = request.app.state.web
    try:
        subscription_names(web, token, "view")
    except LinkForNobody as exc:
        return _nobodys_view(request, issue_id, exc)
    with web.factory.begin() as session:
        sub = subscription_for(web, session, token, "view")
        try:
            issue = issue_for_viewer(session, issue_id, sub.list_id, sub.subscriber_id)
        except NotFound:
            raise PageError(404, "not_found") from None
        sent = delivered_article_ids(session, issue.id, sub.subscriber_id)
        digests = issue_digests(web.runtime, session, issue.id)
        follows = picks_of(sub)
        if sent:
            # What their copy held, whatever they have picked since (a hidden article stays out).
            digests, picks = digests.only(sent), Picks()
        else:
            # Not sent to them (yet): their current picks, what they will get.
            picks = follows
        to = Addressee(sub.subscriber.email, sub.subscriber.name, sub.subscriber_id, follows, sub.subscriber.locale)
        return _digest_response(web, request, digest_for(web.runtime, digests, picks, to))


def _nobodys_view(request: Request, issue_id: int, exc: LinkForNobody):
    """A test copy's "view in browser": the issue as the archive shows it once it went out. Before that, a page
    saying so: the link is not bound to an issue, so it must not open one before its readers have it."""
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, exc.list_slug)
        try:
            issue = issue_for_viewer(session, issue_id, ml.id, NO_SUBSCRIBER)
        except NotFound:
            return nobodys_link_page(request, exc, "test_copy_unpublished")
        return _public_copy(web, request, issue.id, session)


@router.get("/lists/{slug}/archive")
def archive(request: Request, slug: str):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        issues = published_issues(session, ml)
        # In the list's language, as its issues are (an explicit ?lang= still wins).
        lang = web.language(request, ml.language)
        return web.page(request, "archive.html", lang=lang, list=list_info(ml), issues=issues)


@router.get("/lists/{slug}/archive/{number}")
def archive_issue(request: Request, slug: str, number: RowNumber):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = get_list_or_404(session, slug)
        issue = find_published_issue(session, ml, number)
        if issue is None:
            raise PageError(404, "not_found")
        return _public_copy(web, request, issue.id, session)


def _public_copy(web, request: Request, issue_id: int, session: Session) -> HTMLResponse:
    """Nobody's copy of an issue that went out, in the list's language: no greeting, no address; links to
    subscribe and the archive."""
    digest, public = public_digest(web.runtime, issue_digests(web.runtime, session, issue_id))
    if digest.article_count == 0:
        return _nothing_matched(web, request, digest)
    rendered = render_content(digest, web.mail, public)
    return HTMLResponse(rendered.html, headers={"Content-Security-Policy": DIGEST_CSP})
