"""The web entry point: staff console, public complaint form and operations endpoints.

Routes (server-rendered, work without JavaScript):

============================  ==========================================================
``/login``, ``/logout``       staff sign-in (accounts: worker/web/auth.py) and sign-out
``/cases``                    case list with deadline status and filters
``/cases/{ref}``              one case: timeline, and the assign, extend, respond (with letter
                              preview), escalate and complete-action forms; the resident's
                              adjustments, representative and (managers) restriction forms
``/triage``                   the staff triage queue: accept, refuse, relabel as a service
                              request or as not resident mail, with written reasons; resolve
                              the other review items (new address, reply after a final answer)
``/operations``               queue health for the operations role (the numbers of /metrics)
``/complain``                 the public complaint form (no sign-in)
``/healthz``                  JSON: database, broker, mailbox, outbox ok or not (200, or 503);
                              details only with ``COMPLAINTS_HEALTH_TOKEN`` as a bearer token
``/metrics``                  Prometheus text, computed from the database at scrape time; with
                              ``COMPLAINTS_METRICS_TOKEN`` set, only for that bearer token
============================  ==========================================================

Environment: ``COMPLAINTS_STAFF_FILE`` or ``COMPLAINTS_WEB_DEV_USER`` (see auth.py),
``COMPLAINTS_SECRET_KEY`` (signs session cookies; at least 32 characters; required with a staff
file), ``COMPLAINTS_WEB_SECURE_COOKIES=1`` behind HTTPS, plus the usual database settings.
Every POST must come from the console's own origin (``Origin``, else ``Referer``) or one listed
in ``COMPLAINTS_WEB_ALLOWED_ORIGINS``, on top of the CSRF token.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.domain.errors import ComplaintsError, ConfigurationError
from worker.web import console, public
from worker.web.auth import StaffDirectory, StaffUser, load_directory
from worker.web.session import (
    SameOriginMiddleware,
    SignedCookieSessionMiddleware,
    bearer_token,
    csrf_ok,
    csrf_token,
    token_matches,
)

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))

RISK_LABELS = {
    "on_track": "On track",
    "due_soon": "Due within 2 working days",
    "overdue": "Overdue",
    "none": "Nothing due from us",
}


def _human(value: object) -> str:
    text = str(value or "").replace("_", " ").strip()
    text = text.replace("stage1", "stage 1").replace("stage2", "stage 2")
    return text[:1].upper() + text[1:]


TEMPLATES.env.filters["human"] = _human
TEMPLATES.env.globals["RISK_LABELS"] = RISK_LABELS

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


# -- helpers shared by the page modules ----------------------------------------------------------


class Web:
    """What the pages need: the product App, staff directory, and the staff service."""

    def __init__(self, core: App, directory: StaffDirectory) -> None:
        self.core = core
        self.directory = directory
        self._service: Any = None
        self._jobs_lock = threading.Lock()
        self._registry: Any = None

    @property
    def service(self) -> Any:
        if self._service is None:
            from worker.services import StaffService

            self._service = StaffService(self.core)
        return self._service

    @property
    def residents(self) -> Any:
        from worker.residents import ResidentService

        return ResidentService(self.core)

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from worker.metrics import registry_for

            self._registry = registry_for(self.core)
        return self._registry

    def drain_jobs(self) -> None:
        """Embedded mode: run queued jobs (parse, triage, route, send) now, one thread at a time."""
        run = getattr(self.core.jobs, "run_until_idle", None)
        if run is None:
            return
        with self._jobs_lock:
            try:
                run()
            except Exception:  # noqa: BLE001 - each job's failure is recorded on its item
                log.exception("running in-process jobs failed")


def web(request: Request) -> Web:
    return request.app.state.web  # type: ignore[no-any-return]


def current_user(request: Request) -> StaffUser | None:
    username = request.session.get("user")
    if not isinstance(username, str):
        return None
    return web(request).directory.get(username)


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    ctx: dict[str, Any] = {
        "user": current_user(request),
        "csrf_token": csrf_token(request.session),
        "flash": request.session.pop("flash", None),
        "dev_mode": web(request).directory.dev,
        "landlord": web(request).core.landlord,
    }
    ctx.update(context or {})
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message


Endpoint = Callable[[Request, StaffUser, FormData | None], Awaitable[Response]]


def staff(
    permission: str = "view",
) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Sign-in, role and (for POST) CSRF checks around a staff page."""

    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                if request.method == "GET":
                    request.session["next"] = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                return RedirectResponse("/login", status_code=303)
            form: FormData | None = None
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request.session, form.get("csrf_token")):
                    return render(
                        request,
                        "error.html",
                        {
                            "title": "Form expired",
                            "message": "This form has expired or did not come from this site. "
                            "Go back, reload the page and try again.",
                        },
                        status=403,
                    )
            if not user.can(permission):
                return render(
                    request,
                    "error.html",
                    {
                        "title": "Not allowed",
                        "message": f"Your role ({user.role}) cannot do this.",
                    },
                    status=403,
                )
            return await endpoint(request, user, form)

        handler.__name__ = endpoint.__name__
        return handler

    return wrap


def audit_staff(core: App, actor: str, action: str, why: str = "", **details: Any) -> None:
    from worker.records import audit

    with core.db.session() as session:
        audit(session, actor, action, why, **details)


# -- sign-in ----------------------------------------------------------------------------------


@staff("view")
async def logout(request: Request, user: StaffUser, form: FormData | None) -> Response:
    await run_in_threadpool(audit_staff, web(request).core, user.name, "staff.logout", "signed out")
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse("/cases" if current_user(request) else "/login", status_code=303)


# -- operations ----------------------------------------------------------------------------------


def _unauthorised(what: str) -> Response:
    return Response(
        f"{what} needs the right bearer token (Authorization: Bearer ...).\n",
        status_code=401,
        media_type="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="complaints"'},
    )


async def healthz(request: Request) -> Response:
    """ok / not ok per check for anyone (load balancers, uptime monitors); the details (hosts,
    folders, error text) only with ``COMPLAINTS_HEALTH_TOKEN`` as a bearer token. A token that is
    sent but wrong is refused rather than ignored, so a misconfigured monitor is noticed."""
    from worker.health import check_health, public_view

    expected = web(request).core.settings.health_token.reveal()
    given = bearer_token(request.headers.get("authorization"))
    detailed = given is not None and token_matches(given, expected)
    if given is not None and not detailed:
        return _unauthorised("/healthz with details")
    result = await run_in_threadpool(check_health, web(request).core)
    body = result if detailed else public_view(result)
    return JSONResponse(body, status_code=200 if result["ok"] else 503)


async def metrics(request: Request) -> Response:
    expected = web(request).core.settings.metrics_token.reveal()
    if expected and not token_matches(bearer_token(request.headers.get("authorization")), expected):
        return _unauthorised("/metrics")
    body = await run_in_threadpool(generate_latest, web(request).registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@staff("view")
async def operations(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.health import check_health
    from worker.metrics import collect

    core = web(request).core
    health = await run_in_threadpool(check_health, core)
    data = await run_in_threadpool(collect, core)
    return render(request, "operations.html", {"health": health, "data": data})


# -- wiring ----------------------------------------------------------------------------------------


def _secret(environ: Mapping[str, str], directory: StaffDirectory) -> bytes:
    secret = environ.get("COMPLAINTS_SECRET_KEY", "").strip()
    if secret:
        if len(secret) < 32:
            raise ConfigurationError("COMPLAINTS_SECRET_KEY must be at least 32 characters")
        return secret.encode()
    if directory.dev:
        # Development only: sessions end when the process restarts.
        return secrets.token_bytes(32)
    raise ConfigurationError(
        "COMPLAINTS_SECRET_KEY is not set (at least 32 random characters; every web process of "
        "one deployment needs the same value)"
    )


def create_app(
    app: App | None = None,
    *,
    directory: StaffDirectory | None = None,
    environ: Mapping[str, str] | None = None,
) -> Starlette:
    """The ASGI app. ``app`` defaults to ``bootstrap(upgrade=False)`` on the configured settings."""
    env = os.environ if environ is None else environ
    directory = directory or load_directory(env)
    secret = _secret(env, directory)
    if app is None:
        from worker.bootstrap import bootstrap

        app = bootstrap(upgrade=False)
    routes = [
        Route("/", home),
        Route("/login", console.login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/operations", operations),
        *console.routes(),
        *public.routes(),
        Mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static"),
    ]
    secure = env.get("COMPLAINTS_WEB_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes")
    starlette = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            # Before the session and any form is read: a cross-site POST changes nothing.
            Middleware(SameOriginMiddleware, allowed_origins=app.settings.web_allowed_origins),
            Middleware(SignedCookieSessionMiddleware, secret=secret, https_only=secure),
        ],
        exception_handlers={404: _not_found, 500: _server_error},
    )
    starlette.state.web = Web(app, directory)
    return starlette


async def _not_found(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        {"title": "Page not found", "message": "There is no page at this address."},
        status=404,
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return Response(
        "Something went wrong on our side. It has been logged; please try again later.",
        status_code=500,
        media_type="text/plain",
    )


def _service_jobs() -> Any:
    """With Redis configured, a web-form complaint is a dramatiq job for the workers, like mail;
    without it (embedded mode) the web process runs the jobs itself."""
    from worker.settings import load_settings

    settings = load_settings()
    if not settings.service_mode:
        return None
    from worker.broker import configure_broker

    configure_broker(settings.redis_url.reveal())
    from worker import actors

    return actors.DramatiqJobs()


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """``complaints web``: serve until interrupted. One-line errors, exit 2, for bad setup."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from worker.adapters.db import is_current
    from worker.bootstrap import bootstrap
    from worker.settings import redact_url

    try:
        directory = load_directory()
        core = bootstrap(upgrade=False, jobs=_service_jobs())
        try:
            current = is_current(core.db.engine)
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            print(
                f"complaints web: cannot reach the database at {redact_url(core.db.url)}: "
                f"{first[0] if first else exc}",
                file=sys.stderr,
            )
            return 2
        if not current:
            print(
                f"complaints web: the database at {redact_url(core.db.url)} is not set up; run "
                "`complaints db upgrade`",
                file=sys.stderr,
            )
            return 2
        application = create_app(core, directory=directory)
    except ComplaintsError as exc:
        print(f"complaints web: {exc}", file=sys.stderr)
        return 2
    if directory.dev:
        print(
            "complaints web: development sign-in (COMPLAINTS_WEB_DEV_USER) is on: no passwords",
            file=sys.stderr,
        )
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=True)
    return 0
