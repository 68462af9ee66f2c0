"""The providers' webhooks: POST /webhooks/ses (Amazon SES through SNS), /webhooks/mailgun, /webhooks/sendgrid
and /webhooks/postmark/{secret} (or /webhooks/postmark with basic auth only).

No session, no CSRF token and no rate limit: what admits a request is its provider's signature (or Postmark's
secret), checked by digest/core/bounces/webhooks. A provider not configured answers 404. A verified request's
nonce tells a retry (answered 200, nothing new) from a replay (403); its events are recorded at once, pending,
and the policy runs after the answer (a worker's task with a broker, this process after answering without).
Refusals answer 4xx with {"code", "detail"}, which say why and never which secret was wrong.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from digest.adapters.https_get import CertificateCache, Fetch, FetchFailed
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.webhooks import Verified, WebhookRefused
from digest.core.bounces.webhooks.mailgun import read_mailgun
from digest.core.bounces.webhooks.postmark import postmark_configured, read_postmark
from digest.core.bounces.webhooks.sendgrid import read_sendgrid
from digest.core.bounces.webhooks.ses import ses_events
from digest.core.bounces.webhooks.sns import SUBSCRIPTION_CONFIRMATION, read_sns, verify_sns
from digest.services.webhook_intake import (
    Seen,
    apply_recorded,
    hand_to_workers,
    note_refused,
    seen_before,
    take_verified,
)

log = logging.getLogger(__name__)
router = APIRouter()

# Reads one request: (headers, body, the loop's settings, now) -> Verified, or WebhookRefused.
Reader = Callable[[Mapping[str, str], bytes, LoopSettings, datetime], Verified]


class Unreachable(Exception):
    """Something of the provider's we must fetch could not be: the provider should retry (503)."""


def problem(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"code": code, "detail": detail}, status_code=status)


def _configured(provider: str, loop: LoopSettings) -> bool:
    return {
        "ses": bool(loop.sns_topic_arns),
        "mailgun": bool(loop.mailgun_signing_key),
        "sendgrid": bool(loop.sendgrid_public_key),
        "postmark": postmark_configured(loop),
    }[provider]


def take(request: Request, provider: str, reader: Reader, body: bytes, background: BackgroundTasks) -> JSONResponse:
    """One webhook request, from its verification to the answer (run in the thread pool: it reads the
    database and may fetch a certificate)."""
    web = request.app.state.web
    loop, now = web.settings.loop, web.settings.clock.now()
    if not _configured(provider, loop):
        return problem(404, "webhook_not_configured", f"{provider} webhooks are not configured here")
    try:
        verified = reader(request.headers, body, loop, now)
    except WebhookRefused as refused:
        _note_refused(web, provider, refused.reason, now)
        return problem(refused.status, refused.code, refused.reason)
    except Unreachable as exc:
        _note_refused(web, provider, str(exc), now)
        return problem(503, "webhook_unreachable", str(exc))
    body_sha256 = hashlib.sha256(body).hexdigest()
    with web.factory.begin() as session:
        intake = take_verified(session, provider, verified, body_sha256, now)
    if intake.seen is Seen.REPLAY:
        reason = "this request's nonce was seen before with another body: a replay is refused"
        _note_refused(web, provider, reason, now)
        return problem(403, "webhook_replay", reason)
    if intake.event_ids and not hand_to_workers(web.runtime, intake.event_ids):
        background.add_task(_apply_after_answering, web.runtime, intake.event_ids)
    return JSONResponse({"accepted": len(intake.event_ids)})


def _note_refused(web, provider: str, reason: str, now: datetime) -> None:
    try:
        with web.factory.begin() as session:
            note_refused(session, provider, reason, now)
    except Exception:  # the refusal stands whether or not its note could be written
        log.warning("could not note a refused %s webhook", provider, exc_info=True)


def _apply_after_answering(runtime, event_ids: list[int]) -> None:
    try:
        apply_recorded(runtime, event_ids)
    except Exception:
        log.exception("mail events %s stay pending: applying them failed", event_ids)


def sns_reader(request: Request) -> Reader:
    """SNS: the certificate's URL checked before it is fetched, the signature with it; a subscription confirmed
    by fetching its SubscribeURL once (a retry of the same confirmation fetches nothing)."""
    app, web = request.app, request.app.state.web
    certificates: CertificateCache = app.state.sns_certificates
    fetch: Fetch = app.state.https_fetch

    def read(headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime) -> Verified:
        message = read_sns(headers, body, loop, now)
        try:
            certificate = certificates(message.signing_cert_url)
        except FetchFailed as exc:
            raise Unreachable(f"the signing certificate could not be fetched: {exc}") from None
        try:
            verify_sns(message, certificate, now)
        except WebhookRefused:
            # Not kept: if SNS replaced the certificate behind that URL, its retry finds the new one.
            certificates.forget(message.signing_cert_url)
            raise
        if message.type == SUBSCRIPTION_CONFIRMATION and message.subscribe_url:
            with web.factory() as session:
                seen = seen_before(session, "ses", message.message_id, hashlib.sha256(body).hexdigest())
            if seen is None:
                try:
                    fetch(message.subscribe_url)
                except FetchFailed as exc:
                    raise Unreachable(f"the subscription could not be confirmed: {exc}") from None
                log.info("SNS subscription to %s confirmed", message.topic_arn)
        if message.type != "Notification":
            return Verified(nonce=message.message_id)
        return Verified(
            nonce=message.message_id, events=ses_events(message.message, message.message_id, web.settings.token_keys)
        )

    return read


def _with_keys(request: Request, read: Callable[..., Verified]) -> Reader:
    keys = request.app.state.web.settings.token_keys

    def reader(headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime) -> Verified:
        return read(headers, body, loop, now, keys)

    return reader


@router.post("/webhooks/ses")
async def ses_webhook(request: Request, background: BackgroundTasks):
    body = await request.body()
    return await run_in_threadpool(take, request, "ses", sns_reader(request), body, background)


@router.post("/webhooks/mailgun")
async def mailgun_webhook(request: Request, background: BackgroundTasks):
    body = await request.body()
    return await run_in_threadpool(take, request, "mailgun", _with_keys(request, read_mailgun), body, background)


@router.post("/webhooks/sendgrid")
async def sendgrid_webhook(request: Request, background: BackgroundTasks):
    body = await request.body()
    return await run_in_threadpool(take, request, "sendgrid", read_sendgrid, body, background)


@router.post("/webhooks/postmark")
@router.post("/webhooks/postmark/{secret}")
async def postmark_webhook(request: Request, background: BackgroundTasks, secret: str | None = None):
    body = await request.body()

    def reader(headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime) -> Verified:
        return read_postmark(headers, body, loop, now, url_secret=secret)

    return await run_in_threadpool(take, request, "postmark", reader, body, background)
