"""Sign-in, choosing one's own password, and the managers' staff-accounts page (``/staff``).

Routes stay thin: parse the form, call worker/service/staff.py (through the directory), render.
With the old TOML staff file or the development sign-in, sign-in works as before and the
accounts page explains where the accounts are instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from worker.service.staff import MAX_PASSWORD, MIN_PASSWORD, ROLES, StaffError
from worker.web.auth import DatabaseDirectory, StaffUser
from worker.web.session import csrf_ok, csrf_token

LONDON = ZoneInfo("Europe/London")
WRONG = "The username or password is wrong."
PENDING = "password_change_for"


def _london(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%H:%M} on {local.day} {local:%B %Y}"


def _landing(user_role: str, target: object) -> str:
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/operations" if user_role == "operations" else "/cases"
    return target


def _start_session(request: Request, username: str) -> None:
    target = request.session.get("next")
    request.session.clear()
    request.session["user"] = username
    if isinstance(target, str):
        request.session["next"] = target
    csrf_token(request.session)  # a fresh token for the signed-in session


# -- sign-in -----------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    from worker.web.app import audit_staff, render, web

    def page(errors: dict[str, str], username: str = "", status: int = 200) -> Response:
        return render(request, "login.html", {"errors": errors, "username": username}, status)

    if request.method == "GET":
        return page({})
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        return page({"form": "The form expired. Please try again."}, status=403)
    username = str(form.get("username", "")).strip()[:200]
    password = str(form.get("password", ""))
    w = web(request)
    directory = w.directory
    if not isinstance(directory, DatabaseDirectory):
        # The TOML staff file or the development sign-in: as before.
        user = await run_in_threadpool(directory.authenticate, username, password)
        if user is None:
            await run_in_threadpool(
                audit_staff,
                w.core,
                "anonymous",
                "staff.login_failed",
                "wrong username or password",
                username=username[:64],
            )
            return page({"form": WRONG}, username, 401)
        await run_in_threadpool(
            audit_staff, w.core, user.name, "staff.login", f"signed in as {user.role}"
        )
        target = request.session.get("next")
        _start_session(request, user.username)
        request.session.pop("next", None)
        return RedirectResponse(_landing(user.role, target), status_code=303)

    result = await run_in_threadpool(directory.sign_in, username, password)
    if result.outcome == "locked" and result.locked_until is not None:
        return page(
            {
                "form": "This account is locked after too many wrong passwords. Try again after "
                f"{_london(result.locked_until)}, or ask a manager to reset your password."
            },
            username,
            401,
        )
    if result.account is None or result.outcome not in ("ok", "must_change_password"):
        # A disabled account is told nothing more than a wrong password would be.
        return page({"form": WRONG}, username, 401)
    if result.outcome == "must_change_password":
        target = request.session.get("next")
        request.session.clear()
        request.session[PENDING] = result.account.username
        if isinstance(target, str):
            request.session["next"] = target
        csrf_token(request.session)
        return RedirectResponse("/account/password", status_code=303)
    target = request.session.get("next")
    _start_session(request, result.account.username)
    request.session.pop("next", None)
    return RedirectResponse(_landing(result.account.role, target), status_code=303)


# -- one's own password ------------------------------------------------------------------------


async def password_page(request: Request) -> Response:
    """Choose one's own password: after signing in with a one-time password (the session holds
    only that pending name, so no other page opens), or at any time while signed in."""
    from worker.web.app import current_user, render, web

    directory = web(request).directory
    user = current_user(request)
    pending = request.session.get(PENDING)
    username = user.username if user else (pending if isinstance(pending, str) else None)
    if username is None or not isinstance(directory, DatabaseDirectory):
        return RedirectResponse("/login", status_code=303)
    context: dict[str, Any] = {"errors": {}, "first_time": user is None, "minimum": MIN_PASSWORD}
    if request.method == "GET":
        return render(request, "password.html", context)
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        context["errors"] = {"form": "The form expired. Please try again."}
        return render(request, "password.html", context, 403)
    current = str(form.get("current", ""))
    new = str(form.get("new", ""))
    again = str(form.get("again", ""))
    errors: dict[str, str] = {}
    if not current:
        errors["current"] = "Enter your current password"
    if len(new) < MIN_PASSWORD:
        errors["new"] = f"Enter a new password of at least {MIN_PASSWORD} characters"
    elif len(new) > MAX_PASSWORD:
        errors["new"] = f"Enter a new password of at most {MAX_PASSWORD} characters"
    elif new != again:
        errors["again"] = "The two new passwords are different"
    if not errors:
        try:
            account = await run_in_threadpool(
                directory.accounts.change_password, username, current, new
            )
        except StaffError as exc:
            field = "current" if "current password" in str(exc) else "new"
            errors[field] = str(exc)[:1].upper() + str(exc)[1:]
    if errors:
        context["errors"] = errors
        return render(request, "password.html", context, 400)
    target = request.session.get("next")
    _start_session(request, account.username)
    request.session.pop("next", None)
    request.session["flash"] = "Your password is changed."
    return RedirectResponse(_landing(account.role, target), status_code=303)


# -- the managers' page ------------------------------------------------------------------------


def _accounts_context(request: Request, **extra: Any) -> dict[str, Any]:
    from worker.web.app import web

    directory = web(request).directory
    context: dict[str, Any] = {
        "database": isinstance(directory, DatabaseDirectory),
        "accounts": [],
        "roles": ROLES,
        "errors": {},
        "values": {},
        "issued": None,
        "when": lambda m: _london(m) if m else "Never",
    }
    if isinstance(directory, DatabaseDirectory):
        context["accounts"] = directory.accounts.list()
    context.update(extra)
    return context


async def staff_page(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render

    context = await run_in_threadpool(_accounts_context, request)
    return render(request, "staff.html", context)


async def staff_add(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render, web

    assert form is not None
    directory = web(request).directory
    if not isinstance(directory, DatabaseDirectory):
        return RedirectResponse("/staff", status_code=303)
    values = {k: str(form.get(k, "")).strip()[:200] for k in ("username", "name", "role")}
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = "Enter a username"
    if not values["name"]:
        errors["name"] = "Enter the person's full name"
    if values["role"] not in ROLES:
        errors["role"] = "Choose a role"
    issued = None
    if not errors:
        try:
            account, one_time = await run_in_threadpool(
                lambda: directory.accounts.add(
                    values["username"], name=values["name"], role=values["role"], by=user.name
                )
            )
            issued = {"account": account, "password": one_time, "why": "added"}
        except StaffError as exc:
            errors["username"] = str(exc)[:1].upper() + str(exc)[1:]
    context = await run_in_threadpool(
        _accounts_context,
        request,
        errors=errors,
        values=values if errors else {},
        issued=issued,
    )
    # Rendered, not redirected: the one-time password is shown once and never put in a cookie.
    return render(request, "staff.html", context, 400 if errors else 200)


ACTIONS = ("disable", "enable", "set-role", "reset-password")


async def staff_change(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import flash, render, web

    assert form is not None
    directory = web(request).directory
    if not isinstance(directory, DatabaseDirectory):
        return RedirectResponse("/staff", status_code=303)
    username = request.path_params["username"]
    action = request.path_params["action"]
    if action not in ACTIONS:
        return render(
            request,
            "error.html",
            {"title": "Page not found", "message": "There is no page at this address."},
            status=404,
        )
    accounts = directory.accounts
    if username == user.username and action in ("disable", "set-role"):
        flash(
            request,
            "You cannot disable your own account or change your own role: ask another manager.",
        )
        return RedirectResponse("/staff", status_code=303)
    try:
        if action == "disable":
            await run_in_threadpool(lambda: accounts.disable(username, by=user.name))
            flash(request, f"{username} can no longer sign in.")
        elif action == "enable":
            await run_in_threadpool(lambda: accounts.enable(username, by=user.name))
            flash(request, f"{username} can sign in again.")
        elif action == "set-role":
            role = str(form.get("role", ""))
            await run_in_threadpool(lambda: accounts.set_role(username, role, by=user.name))
            flash(request, f"{username} is now {role}.")
        else:
            account, one_time = await run_in_threadpool(
                lambda: accounts.reset_password(username, by=user.name)
            )
            context = await run_in_threadpool(
                _accounts_context,
                request,
                issued={"account": account, "password": one_time, "why": "reset"},
            )
            return render(request, "staff.html", context)
    except StaffError as exc:
        flash(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
    return RedirectResponse("/staff", status_code=303)


def routes() -> list[Route]:
    from worker.web.app import staff

    return [
        Route("/account/password", password_page, methods=["GET", "POST"]),
        Route("/staff", staff("manage_staff")(staff_page)),
        Route("/staff/add", staff("manage_staff")(staff_add), methods=["POST"]),
        Route("/staff/{username}/{action}", staff("manage_staff")(staff_change), methods=["POST"]),
    ]
