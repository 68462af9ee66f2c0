"""Entry point: the web app: subscriber pages, the admin console (web/admin/) and the JSON API (web/api/).
Imports services, adapters and the core; only `digest serve` imports it.

`create_app(runtime)` builds a FastAPI app over the process's Runtime; each
request that touches data runs in one transaction (`with web.factory.begin()`),
so a page either changes everything it set out to or nothing.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property

import jinja2
from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from digest.adapters.https_get import CertificateCache, Fetch, https_get
from digest.adapters.ratelimit import Limiter
from digest.core.domain import ListInfo
from digest.core.regions import RegionIndex
from digest.core.rendering import templates_dir
from digest.core.settings import Settings, load_settings
from digest.core.tokens import BadToken
from digest.services.form_mails import SendSoon, send_form_mails
from digest.services.health import database_ready
from digest.services.lists import FormList, find_form_list
from digest.services.runtime import Runtime
from digest.services.subscribe_requests import Ask, SubscribeRequest, record_asks
from digest.web.catalogue import issues as issue_words
from digest.web.catalogue import problems as problem_words
from digest.web.catalogue import reader as reader_words
from digest.web.combining import Combiner
from digest.web.errors import WayBack, way_back
from digest.web.guard import BodyLimits, RequestGuard
from digest.web.i18n import CATALOGUE, LANGUAGES, choose_language, translator
from digest.web.limits import subscribe_limiter
from digest.web.security import (
    ADMIN_COOKIE,
    CSRF_COOKIE,
    SecurityHeaders,
    csrf_ok,
    csrf_token,
    new_csrf_secret,
    response_headers,
)

log = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "Asia/Shanghai"
FORM_LIST_KEPT = timedelta(seconds=5)
_ZONE_AREAS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
TIME_ZONES = tuple(["UTC", *sorted(z for z in zoneinfo.available_timezones() if z.startswith(_ZONE_AREAS))])


class PageError(Exception):
    """A request we refuse with a plain page: `message` is a catalogue key (with its `values`); `way_back`, the
    page's list and where it leads back to, when the route knows them (else the path says: web/errors.py)."""

    def __init__(
        self, status: int, message: str, *, way_back: WayBack | None = None, values: dict[str, object] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.way_back = way_back
        self.values = values or {}


class Web:
    """What the routes share: the process's Runtime (settings, sessions, regions, mail templates), the page
    templates and the rate limits."""

    def __init__(self, runtime: Runtime, limiter: Limiter | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        # The runtime's session factory, under the name the routes use.
        self.factory = runtime.sessions
        # Subscribe-form posts per client address; through Redis, every web process counts together.
        self.limiter: Limiter = limiter or subscribe_limiter(runtime.settings)
        self.templates = templates_dir() / "web"
        self.pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.templates)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        problem_words.install(self.pages)
        self._kept_pages: dict[tuple[str, str, ListInfo], str] = {}
        self.pages.globals["moment"] = reader_words.moment
        issue_words.install(self.pages)

    def form_list(self, slug: str) -> FormList | None:
        """The list a public form posts to, kept FORM_LIST_KEPT by this process: its page is the busiest
        there is. An edit in the console or the API drops it (`list_changed`); other processes see the
        edit within FORM_LIST_KEPT."""
        kept = self.runtime.kept.fresh(("form-list", slug), FORM_LIST_KEPT)
        if kept is not None:
            return kept[0]
        with self.factory() as session:
            found = find_form_list(session, slug)
        if found is not None:  # an unknown slug is not kept: a list made meanwhile answers at once
            self.runtime.kept.keep(("form-list", slug), found)
        return found

    def form_mail_waiting(self) -> None:
        """A subscribe request recorded a mail (after its commit). Without a broker it is sent now, in the
        request, as every task runs without one; with one, a worker is asked to send it a moment from now."""
        if self.runtime.broker is None:
            report = send_form_mails(self.runtime)
            if report.retry or report.dropped:
                log.warning("form mails: %s", report.as_dict())
        else:
            self._send_soon()

    @cached_property
    def record_ask(self) -> Combiner[Ask, SubscribeRequest]:
        """Records a subscribe request (`record_asks`) together with any others that arrive meanwhile."""

        def record(asks: Sequence[Ask]) -> list[SubscribeRequest]:
            with self.runtime.writer() as db:
                return record_asks(db, asks)

        return Combiner(record, key=lambda ask: ask.email)

    @cached_property
    def _send_soon(self) -> SendSoon:
        broker = self.runtime.broker
        assert broker is not None
        return SendSoon(broker.send_form_mails)

    def list_changed(self, slug: str) -> None:
        """Called once an edit of the list is committed."""
        self.runtime.kept.drop(("form-list", slug))

    @property
    def regions(self) -> RegionIndex:
        return self.runtime.regions

    @property
    def mail(self) -> jinja2.Environment:
        # Digests and confirmation mails share one environment, so they are rendered alike.
        return self.runtime.templates

    @cached_property
    def region_tree(self) -> list[dict]:
        """Provinces → cities → counties as nested dicts, built once for the pickers."""

        def node(region) -> dict:
            return {
                "code": region.code,
                "name": region.name,
                "children": [node(c) for c in self.regions.children(region.code)],
            }

        return [node(p) for p in self.regions.provinces()]

    def language(self, request: Request, subscriber_locale: str | None = None, otherwise: str | None = None) -> str:
        """?lang=, else the subscriber's choice, else the browser's, else `otherwise` (a list's), else Chinese."""
        return choose_language(
            request.query_params.get("lang"), subscriber_locale, request.headers.get("accept-language"), otherwise
        )

    def _csrf_cookie(self, request: Request) -> str:
        value = getattr(request.state, "csrf_cookie", None)
        if value is None:
            value = request.cookies.get(CSRF_COOKIE)
            if not value or len(value) > 200:
                value = new_csrf_secret()
                request.state.new_csrf_cookie = True
            request.state.csrf_cookie = value
        return value

    @staticmethod
    def _admin_session(request: Request) -> str:
        """The admin session a console form's token is bound to: the one a password change just started, else
        the browser's ("" outside the console, where the cookie is not sent)."""
        value = getattr(request.state, "admin_session", None) or request.cookies.get(ADMIN_COOKIE) or ""
        return value if len(value) <= 200 else ""

    def check_csrf(self, request: Request, submitted: str | None, scope: str) -> None:
        cookie, session = request.cookies.get(CSRF_COOKIE), self._admin_session(request)
        if not csrf_ok(self.settings.secret_key, cookie, submitted, scope, session):
            raise PageError(403, "csrf_failed")

    def page(self, request: Request, template: str, *, lang: str, status: int = 200, **context) -> HTMLResponse:
        return self._respond(request, self._render(request, template, lang, context), status)

    def _render(self, request: Request, template: str, lang: str, context: dict[str, object]) -> str:
        def csrf(scope: str) -> str:
            return csrf_token(self.settings.secret_key, self._csrf_cookie(request), scope, self._admin_session(request))

        return self.pages.get_template(template).render(
            t=translator(lang),
            lang=lang,
            languages=LANGUAGES,
            lang_names={code: CATALOGUE[code]["lang_name"] for code in LANGUAGES},
            other_lang="en" if lang != "en" else "zh-CN",
            csrf=csrf,
            **context,
        )

    def page_with_blanks(
        self, request: Request, template: str, *, lang: str, branding: ListInfo, blanks: dict[str, str]
    ) -> HTMLResponse:
        """`page` for the busiest answer there is (the subscribe form's "check your inbox"): rendered once per
        template, language and list with a marker for each of `blanks`, whose values are then escaped into
        a copy of it. Jinja2 cost a subscribe request a tenth of its CPU. For a page that asks no CSRF token
        and shows each blank as text."""
        key = (template, lang, branding)
        marked = self._kept_pages.get(key)
        if marked is None:
            if len(self._kept_pages) >= 64:  # old branding no request asks for again
                self._kept_pages.clear()
            markers: dict[str, object] = {name: f"\x00{name}\x00" for name in blanks}
            marked = self._kept_pages[key] = self._render(request, template, lang, {"list": branding, **markers})
        for name, value in blanks.items():
            marked = marked.replace(f"\x00{name}\x00", str(escape(value)))
        return self._respond(request, marked, 200)

    def _respond(self, request: Request, body: str | bytes, status: int) -> HTMLResponse:
        response = HTMLResponse(body, status_code=status)
        if getattr(request.state, "new_csrf_cookie", False):
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_cookie,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def error_page(self, request: Request, status: int, message: str, exc: PageError | None = None) -> HTMLResponse:
        """The error page: branded with its list and leading back to it when the route or the path names one."""
        back = exc.way_back if exc is not None else None
        if back is None:
            try:
                back, message = way_back(self, request.url.path, message)
            except Exception:  # whatever the database or a token says, an error page must not fail for its branding
                log.warning("error page without its list: it could not be read", exc_info=True)
                back = WayBack()
        branding = {"list": back.list} if back.list is not None else {}  # base.html brands by `list is defined`
        values = exc.values if exc is not None else {}
        lang = self.language(request)
        return self.page(
            request, "error.html", lang=lang, status=status, message=message, values=values, back=back, **branding
        )


def _answer_errors(app: FastAPI, web: Web) -> None:
    """Refusals as pages for people and as JSON for API clients; an expired sign-in goes to the login page."""
    from digest.web.admin import LoginRequired, login_url

    # In the thread pool: finding the way back may read the database.
    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError):
        return await run_in_threadpool(web.error_page, request, exc.status, exc.message, exc)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(BadToken)
    async def bad_token(request: Request, exc: BadToken):
        expired = exc.reason == "expired" and request.url.path.startswith("/confirm/")
        return await run_in_threadpool(web.error_page, request, 400, "confirm_expired" if expired else "bad_link")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/api/"):
            # JSON clients get FastAPI's 422 body, which names the field at fault.
            return await request_validation_exception_handler(request, exc)
        return await run_in_threadpool(web.error_page, request, 400, "bad_request")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # Starlette sends this from outside every middleware, so the security headers are set here.
        return PlainTextResponse("Internal Server Error", status_code=500, headers=response_headers(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        message = "not_found" if exc.status_code == 404 else "bad_request"
        return await run_in_threadpool(web.error_page, request, exc.status_code, message)


def app_from_environment() -> FastAPI:
    """The app over settings read from the environment: what each `digest serve --workers N` process runs."""
    return create_app(Runtime.for_settings(load_settings()))


def create_app(
    runtime: Runtime | Settings,
    *,
    limiter: Limiter | None = None,
    body_limits: BodyLimits | None = None,
    https_fetch: Fetch | None = None,
) -> FastAPI:
    """The app over `runtime` (given bare settings, over a Runtime made for them with their broker);
    `body_limits` caps request bodies (BodyLimits' defaults: 64 KiB, uploads 5 MiB and their framing);
    `https_fetch` is how the webhooks reach the internet (SNS certificates and confirmations; tests fake it)."""
    from digest.web import api, manage, subscribe, webhooks
    from digest.web.admin import build_router

    # The schema describes the JSON API only; the HTML pages stay out of it.
    app = FastAPI(title="digest", version="1", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    web = Web(runtime if isinstance(runtime, Runtime) else Runtime.for_settings(runtime), limiter)
    app.state.web = web
    app.state.https_fetch = https_fetch or https_get
    app.state.sns_certificates = CertificateCache(app.state.https_fetch)
    app.add_middleware(GZipMiddleware, minimum_size=2000)
    # Outermost of ours: the guard's refusals carry the security headers too.
    app.add_middleware(RequestGuard, limits=body_limits)
    app.add_middleware(SecurityHeaders)

    _answer_errors(app, web)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        # Browsers ask on every page, the digest view included; no icon beats a logged 404.
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        # For container health checks: up means the database answers and `digest init` has made its schema.
        if not database_ready(web.factory):
            return PlainTextResponse("database unavailable\n", status_code=503)
        return PlainTextResponse("ok\n")

    app.mount("/static", StaticFiles(directory=str(web.templates / "static")), name="static")
    app.include_router(subscribe.router, include_in_schema=False)
    app.include_router(manage.router, include_in_schema=False)
    app.include_router(build_router(), include_in_schema=False)
    app.include_router(api.build_router())
    app.include_router(webhooks.router, include_in_schema=False)
    return app
