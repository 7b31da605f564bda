"""``/cases/new``: staff log a complaint or service request made by phone, letter, in person,
on social media or another way (Code 1.3; SPEC section 7). Thin routes: parse the form, call
worker/service/staff_entry.py, render."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.domain.errors import UserError
from worker.service import staff_entry
from worker.web.auth import StaffUser


def _page_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, object]:
    return {
        "values": values,
        "errors": errors,
        "channels": staff_entry.CHANNELS,
        "letters_by": staff_entry.LETTERS_BY,
        "title": "Log a complaint or request",
    }


async def new_case_page(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render, web

    core = web(request).core
    if form is None:
        now = core.clock.now().astimezone(staff_entry.LONDON)
        values: dict[str, str] = {
            "received_date": now.date().isoformat(),
            "received_time": now.strftime("%H:%M"),
            "letters_by": "email",
            "entry": staff_entry.new_token(),
        }
        find = str(request.query_params.get("find", "")).strip()[:200]
        found = await run_in_threadpool(staff_entry.find_residents, core, find) if find else []
        chosen = str(request.query_params.get("resident", "")).strip()
        if chosen.isdigit():
            values.update(await run_in_threadpool(staff_entry.resident_values, core, int(chosen)))
        context = _page_context(values, {})
        context.update({"find": find, "found": found})
        return render(request, "case_new.html", context)
    raw = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    entry, errors = staff_entry.validate(raw, core.clock.now())
    if entry is None:
        raw.setdefault("entry", staff_entry.new_token())
        return render(request, "case_new.html", _page_context(raw, errors), status=422)
    inbound_id = await run_in_threadpool(staff_entry.log_contact, core, entry, user.name)
    # Embedded mode runs the pipeline now, so the next page can show the case and its dates;
    # with Redis the worker does it and the next page says it is on its way.
    await run_in_threadpool(web(request).drain_jobs)
    return RedirectResponse(f"/cases/new/{inbound_id}", status_code=303)


async def logged_page(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render, web

    inbound_id = int(request.path_params["inbound_id"])
    try:
        logged = await run_in_threadpool(staff_entry.outcome, web(request).core, inbound_id)
    except UserError:
        return render(
            request,
            "error.html",
            {"title": "Not found", "message": "There is no logged contact with that number."},
            status=404,
        )
    return render(request, "case_logged.html", {"logged": logged, "title": "Contact logged"})
