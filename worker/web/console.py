"""Staff console pages: the case list, a case with its timeline and action forms, the triage queue.

Every action goes through ``worker.services.StaffService`` (which checks the Code's rules, writes
the audit trail and queues the letter); a refusal comes back as its one-line message on the page,
with the form as it was filled in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import nh3
from markupsafe import Markup
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from worker import letter_facts
from worker.adapters.db_models import (
    AuditEvent,
    Case,
    CaseAction,
    Correspondence,
    InboundMessage,
    Letter,
    Restriction,
    ReviewItem,
)
from worker.domain import cases as machine
from worker.domain import letters, recipient
from worker.domain.errors import ComplaintsError, MissingLetterElement
from worker.domain.timescales import at_risk_status
from worker.records import state_of
from worker.residents import CHANNELS
from worker.service.console_views import (
    CASE_VIEWS,
    TIMELINE_KINDS,
    TRIAGE_SORTS,
    TriageRow,
    event_title,
    in_view,
    order_timeline,
    received_at,
    sort_triage,
)
from worker.services import (
    NOT_RESIDENT_REASONS,
    OUTCOME_LABELS,
    REVIEW_OUTCOMES,
    TRIAGE_DECISIONS,
    review_kind,
)
from worker.web.auth import StaffUser
from worker.web.staff_pages import login_page  # noqa: F401 - app.py routes /login here

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)

STATUSES = [s.value for s in machine.Status]
FLAGS = {
    "priority": "Vulnerability or risk (6.1)",
    "building_safety": "Building safety",
    "representative": "Representative (3.6)",
    "repeat": "Repeat of a closed issue",
    "letter_bounced": "A letter bounced",
    "adjustments": "Reasonable adjustments",
}
RISKS = ("overdue", "due_soon", "on_track", "none")
ACTING = {"stage1_acknowledged", "stage2_acknowledged"}
CASE_LIST_LIMIT = 500
# Resident HTML is shown sanitised; images are dropped too, since remote ones would tell the sender
# when (and from where) staff opened the message.
SAFE_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}


def sanitise(html: str) -> Markup:
    return Markup(nh3.clean(html, tags=SAFE_TAGS, link_rel="noopener noreferrer nofollow"))


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        from worker.adapters.clock import LONDON

        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(LONDON).strftime("%d %b %Y %H:%M")
    return value.strftime("%a %d %b %Y")


def _case_flags(case: Case) -> list[str]:
    raw = case.flags or {}
    found = []
    if case.priority or raw.get("vulnerability"):
        found.append("priority")
    if case.building_safety or raw.get("building_safety"):
        found.append("building_safety")
    for name in ("representative", "repeat", "letter_bounced"):
        if raw.get(name):
            found.append(name)
    if case.resident is not None and case.resident.adjustments:
        found.append("adjustments")
    return found


@dataclass
class CaseRow:
    ref: str
    resident: str
    status: str
    stage: int
    handler: str
    received: date
    due: date | None
    due_kind: str
    risk: str
    flags: list[str] = field(default_factory=list)
    subject: str = ""


def _row(case: Case, today: date, calendar: Any) -> CaseRow:
    state = state_of(case)
    current = machine.current_stage(state)
    due = machine.next_deadline(state)
    risk = at_risk_status(due, today, calendar) if due else "none"
    due_kind = "" if due is None else ("acknowledge" if current.acknowledged is None else "respond")
    resident = case.resident.name or case.resident.email if case.resident else ""
    return CaseRow(
        ref=case.ref,
        resident=resident,
        status=case.status,
        stage=current.stage,
        handler=current.handler,
        received=state.stage1.received,
        due=due,
        due_kind=due_kind,
        risk=risk,
        flags=_case_flags(case),
        subject=case.subject,
    )


def list_cases(core: App, filters: dict[str, str]) -> tuple[list[CaseRow], bool]:
    today = core.clock.today()
    with core.db.session() as s:
        stmt = select(Case).order_by(Case.id.desc())
        status = filters.get("status", "")
        if status == "open":
            stmt = stmt.where(Case.status.not_in([t.value for t in machine.TERMINAL]))
        elif status in STATUSES:
            stmt = stmt.where(Case.status == status)
        if filters.get("stage") in ("1", "2"):
            stmt = stmt.where(Case.stage == int(filters["stage"]))
        if filters.get("flag") == "priority":
            stmt = stmt.where(Case.priority.is_(True))
        if filters.get("flag") == "building_safety":
            stmt = stmt.where(Case.building_safety.is_(True))
        rows = []
        truncated = False
        handler = filters.get("handler", "").strip().lower()
        view = filters.get("view", "")
        for case in s.scalars(stmt):
            row = _row(case, today, core.calendar)
            if filters.get("risk") in RISKS and row.risk != filters["risk"]:
                continue
            if not in_view(view, row.handler, filters.get("me", "")):
                continue
            if handler and handler not in row.handler.lower():
                continue
            if filters.get("flag") in FLAGS and filters["flag"] not in row.flags:
                continue
            if len(rows) >= CASE_LIST_LIMIT:
                truncated = True
                break
            rows.append(row)
    order = {"overdue": 0, "due_soon": 1, "on_track": 2, "none": 3}
    rows.sort(key=lambda r: (order[r.risk], r.due or date.max, r.ref))
    return rows, truncated


# -- case list ------------------------------------------------------------------------------------


async def cases_page(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import render, web

    filters = {
        key: str(request.query_params.get(key, "")).strip()[:100]
        for key in ("status", "stage", "risk", "handler", "flag", "view")
    }
    if "status" not in request.query_params:
        filters["status"] = "open"
    if filters["view"] not in CASE_VIEWS:
        filters["view"] = "all"
    filters["me"] = user.name
    query = str(request.query_params.get("q", "")).strip()[:200]
    if query:
        # A search looks at every case, open or not, best match first (issue 9).
        filters = {key: "" for key in filters}
        rows = await run_in_threadpool(search_cases, web(request).core, query)
        truncated = False
    else:
        rows, truncated = await run_in_threadpool(list_cases, web(request).core, filters)
    return render(
        request,
        "cases.html",
        {
            "rows": rows,
            "truncated": truncated,
            "limit": CASE_LIST_LIMIT,
            "filters": filters,
            "statuses": STATUSES,
            "flags": FLAGS,
            "risks": RISKS,
            "handlers": web(request).directory.names("handler", "manager"),
            "when": _when,
            "query": query,
            "views": CASE_VIEWS,
        },
    )


def search_cases(core: App, query: str) -> list[CaseRow]:
    """Search results in rank order, each with its deadline status."""
    from worker.service.search import search

    today = core.clock.today()
    with core.db.session() as s:
        ranked = search(s, query)
        ids = [i for i, _ in ranked]
        cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(ids)))}
        return [_row(cases[i], today, core.calendar) for i, _ in ranked if i in cases]


# -- one case ----------------------------------------------------------------------


def case_detail(core: App, ref: str, kind: str = "") -> dict[str, Any] | None:
    today = core.clock.today()
    with core.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if case is None:
            return None
        row = _row(case, today, core.calendar)
        state = state_of(case)
        inbound_ids = set(
            s.scalars(
                select(Correspondence.inbound_id).where(
                    Correspondence.case_id == case.id, Correspondence.inbound_id.is_not(None)
                )
            )
        )
        conditions = [InboundMessage.case_id == case.id]
        if inbound_ids:
            conditions.append(InboundMessage.id.in_(inbound_ids))
        if case.origin_inbound_id:
            conditions.append(InboundMessage.id == case.origin_inbound_id)
        messages = list(
            s.scalars(select(InboundMessage).where(or_(*conditions)).order_by(InboundMessage.id))
        )
        sent = list(s.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))
        events = list(
            s.scalars(
                select(AuditEvent)
                # Views are listed apart, for managers (the access log), not in the timeline.
                .where(AuditEvent.case_id == case.id, AuditEvent.action.not_like("access.%"))
                .order_by(AuditEvent.id)
            )
        )
        actions = list(
            s.scalars(
                select(CaseAction).where(CaseAction.case_id == case.id).order_by(CaseAction.id)
            )
        )
        reviews = list(
            s.scalars(
                select(ReviewItem).where(ReviewItem.case_id == case.id, ReviewItem.status == "open")
            )
        )
        restrictions = list(
            s.scalars(
                select(Restriction)
                .where(Restriction.resident_id == case.resident_id)
                .order_by(Restriction.id)
            )
        )
        timeline: list[dict[str, Any]] = []
        for m in messages:
            timeline.append(
                {
                    # When it reached us, not when the worker got to it (issue 9).
                    "at": received_at(m.headers, m.received_on, m.stored_at),
                    "stored_at": m.stored_at,
                    "type": "message",
                    "title": f"Message from {m.from_name or m.from_addr or 'unknown sender'}",
                    "message": m,
                    "html": sanitise(m.html) if m.html else None,
                }
            )
        for letter in sent:
            timeline.append(
                {
                    "at": letter.sent_at or letter.created_at,
                    "type": "letter",
                    "title": f"Letter: {letter.kind.replace('_', ' ')}",
                    "letter": letter,
                }
            )
        for event in events:
            timeline.append(
                {
                    "at": event.at,
                    "type": "event",
                    "title": event_title(event.action),
                    "event": event,
                }
            )
        kinds = {k: sum(1 for t in timeline if t["type"] == k) for k in TIMELINE_KINDS}
        timeline = order_timeline(timeline, kind)
        resident = case.resident
        return {
            "case": case,
            "row": row,
            "state": state,
            "stages": sorted(case.stages, key=lambda st: st.stage),
            "resident": resident,
            "timeline": timeline,
            "actions": actions,
            "reviews": reviews,
            "restrictions": restrictions,
            "today": today,
            "timeline_kinds": TIMELINE_KINDS,
            "timeline_counts": kinds,
            "timeline_kind": kind if kind in TIMELINE_KINDS else "",
        }


DEFAULT_RESPOND = {
    "decision": "",
    "reasons": "",
    "remedy": "",
    "remedy_amount": "",
    "no_remedy_reason": "",
    "no_actions": "",
    "actions": [("", "")] * 3,
}


async def case_page(
    request: Request,
    user: StaffUser,
    form: FormData | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    which: str = "",
    preview: Any = None,
    status: int = 200,
) -> Response:
    from worker.web.app import render, web

    ref = request.path_params["ref"]
    kind = str(request.query_params.get("kind", ""))[:20]
    detail = await run_in_threadpool(case_detail, web(request).core, ref, kind)
    if detail is None:
        return render(
            request,
            "error.html",
            {"title": "Case not found", "message": f"There is no case {ref}."},
            status=404,
        )
    respond_values = dict(DEFAULT_RESPOND)
    if which == "respond" and values:
        respond_values.update(values)
    accesses: list[dict[str, Any]] = []
    if user.role == "manager":
        from worker.service.data_protection import access_log

        accesses = (await run_in_threadpool(access_log, web(request).core, ref))["accesses"][:50]
    return render(
        request,
        "case.html",
        {
            **detail,
            "errors": errors or {},
            "which": which,
            "values": values or {},
            "respond": respond_values,
            "preview": preview,
            "decisions": letters.DECISIONS,
            "acting": ACTING,
            "terminal": {t.value for t in machine.TERMINAL},
            "handlers": web(request).directory.names("handler", "manager"),
            "managers": web(request).directory.names("manager"),
            "when": _when,
            "flag_labels": FLAGS,
            "channels": CHANNELS,
            "accesses": accesses,
        },
        status=status,
    )


async def case_view(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.service.data_protection import record_case_view
    from worker.web.app import web

    # Every staff view of a case (and so of its resident) is in the access log (SPEC 10).
    await run_in_threadpool(
        lambda: record_case_view(web(request).core, request.path_params["ref"], by=user.name)
    )
    return await case_page(request, user)


def _export_zip(core: App, ref: str, by: str) -> tuple[str, bytes] | None:
    """The subject access export of the case's resident, as a zip (name, bytes)."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    from worker.service.data_protection import export_resident

    with core.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if case is None:
            return None
        resident_id = str(case.resident_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(export_resident(core, resident_id, Path(tmp), by=by)["folder"])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
        return f"{folder.name}.zip", buffer.getvalue()


async def export_view(request: Request, user: StaffUser, form: FormData | None) -> Response:
    """A manager's subject access export of the case's resident (a zip download; audited)."""
    from worker.web.app import render, web

    if user.role != "manager":
        return render(
            request,
            "error.html",
            {"title": "Not allowed", "message": "Only a manager can export a resident's data."},
            status=403,
        )
    try:
        found = await run_in_threadpool(
            _export_zip, web(request).core, request.path_params["ref"], user.name
        )
    except ComplaintsError as exc:
        return render(
            request, "error.html", {"title": "Export refused", "message": str(exc)}, status=400
        )
    if found is None:
        return await case_page(request, user)  # renders the 404 page
    name, data = found
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def letter_pdf_view(request: Request, user: StaffUser, form: FormData | None) -> Response:
    """A letter kept for post as a print-ready PDF (issue 9): always a download, never shown in
    the page; large print when the resident asked; who printed it is audited."""
    from worker.adapters.letter_pdf import print_letter
    from worker.web.app import render, web

    try:
        printed = await run_in_threadpool(
            print_letter, web(request).core, request.path_params["letter_id"], by=user.name
        )
    except ComplaintsError as exc:
        return render(
            request, "error.html", {"title": "Letter not found", "message": str(exc)}, status=404
        )
    return Response(
        printed.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{printed.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def _text(form: FormData, name: str, limit: int = 10000) -> str:
    return str(form.get(name, "") or "").strip()[:limit]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def _act(
    request: Request,
    user: StaffUser,
    which: str,
    values: dict[str, Any],
    call: Any,
    done: str,
) -> Response:
    """Run one StaffService call; on refusal re-show the case with the message and the form."""
    from worker.web.app import web

    w = web(request)
    try:
        await run_in_threadpool(call)
    except ComplaintsError as exc:
        return await case_page(
            request,
            user,
            errors={"form": str(exc)},
            values=values,
            which=which,
            status=400 if not isinstance(exc, MissingLetterElement) else 422,
        )
    await run_in_threadpool(w.drain_jobs)
    from worker.web.app import flash

    flash(request, done)
    return RedirectResponse(f"/cases/{request.path_params['ref']}", status_code=303)


async def assign(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import web

    assert form is not None
    ref = request.path_params["ref"]
    handler = _text(form, "handler", 200)
    values = {"handler": handler, "stage": _text(form, "stage", 2)}
    errors = {}
    if not handler:
        errors["handler"] = "Enter the name of the handler"
    elif any(ch in handler for ch in "\r\n"):
        errors["handler"] = "The handler's name must be on one line"
    stage = int(values["stage"]) if values["stage"] in ("1", "2") else None
    if errors:
        return await case_page(
            request, user, errors=errors, values=values, which="assign", status=422
        )
    service = web(request).service
    return await _act(
        request,
        user,
        "assign",
        values,
        lambda: service.assign(ref, handler, by=user.name, stage=stage),
        f"{handler} now handles {ref}.",
    )


async def extend(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import web

    assert form is not None
    ref = request.path_params["ref"]
    values = {
        name: _text(form, name)
        for name in ("days", "reason", "next_contact", "good_reason", "approved_by")
    }
    errors: dict[str, str] = {}
    try:
        days = int(values["days"])
        if days < 1:
            raise ValueError
    except ValueError:
        days = 0
        errors["days"] = "Enter the number of working days, 1 or more"
    if not values["reason"]:
        errors["reason"] = "Enter the reason, as the resident will read it (6.4, 6.15)"
    next_contact = _date(values["next_contact"])
    if values["next_contact"] and next_contact is None:
        errors["next_contact"] = "Enter the date as YYYY-MM-DD"
    w = web(request)
    approved_by = values["approved_by"]
    if values["good_reason"] and not approved_by and user.can("approve_extension"):
        approved_by = user.name
    if approved_by and not w.directory.dev and not w.directory.is_manager(approved_by):
        errors["approved_by"] = "Approval must come from a manager on the staff list"
    if approved_by and not values["good_reason"]:
        errors["good_reason"] = "Record the good reason the manager approved"
    if errors:
        return await case_page(
            request, user, errors=errors, values=values, which="extend", status=422
        )
    return await _act(
        request,
        user,
        "extend",
        values,
        lambda: w.service.extend(
            ref,
            days=days,
            reason=values["reason"],
            by=user.name,
            good_reason=values["good_reason"],
            approved_by=approved_by,
            next_contact=next_contact,
        ),
        f"Extended by {days} working days; the extension notice has been queued.",
    )


def parse_respond(form: FormData, today: date) -> tuple[dict[str, Any], dict[str, str], Any]:
    """The respond form's values, errors by field, and the parsed arguments when valid.

    Every required element of a stage response (6.7, 6.9; 6.18, 6.19) must be present: decision,
    reasons, a remedy or why none, and each outstanding action with its date (or a tick saying
    there are none).
    """
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("decision", "reasons", "remedy", "remedy_amount", "no_remedy_reason")
    }
    values["no_actions"] = "yes" if form.get("no_actions") else ""
    texts = [str(t).strip()[:2000] for t in form.getlist("action_text")]
    dates = [str(d).strip()[:20] for d in form.getlist("action_due")]
    pairs = list(zip(texts, dates + [""] * (len(texts) - len(dates)), strict=False))
    values["actions"] = pairs + [("", "")] * max(0, 3 - len(pairs))
    errors: dict[str, str] = {}
    if values["decision"] not in letters.DECISIONS:
        errors["decision"] = "Choose the decision: upheld, partly upheld or not upheld"
    if not values["reasons"]:
        errors["reasons"] = (
            "Enter the reasons for the decision, citing policy, law or good practice"
        )
    if not values["remedy"] and not values["no_remedy_reason"]:
        errors["remedy"] = "Enter the remedy, or say why no remedy is offered"
    amount = None
    if values["remedy_amount"]:
        try:
            amount = float(values["remedy_amount"].replace("£", "").replace(",", ""))
            if amount < 0:
                raise ValueError
        except ValueError:
            errors["remedy_amount"] = "Enter the amount in pounds, for example 150.00"
        if not values["remedy"]:
            errors["remedy_amount"] = "An amount needs the remedy described"
    actions: list[tuple[str, date]] = []
    for n, (text, due) in enumerate(pairs, start=1):
        if not text and not due:
            continue
        day = _date(due)
        if not text:
            errors[f"action_{n}"] = f"Action {n}: describe what will be done"
        elif day is None:
            errors[f"action_{n}"] = f"Action {n}: enter the date it will be done by (YYYY-MM-DD)"
        elif day < today:
            errors[f"action_{n}"] = f"Action {n}: the date is in the past"
        else:
            actions.append((text, day))
    if (
        not actions
        and not values["no_actions"]
        and not any(k.startswith("action_") for k in errors)
    ):
        errors["actions"] = (
            "List each outstanding action with its date, or tick that there are none"
        )
    if actions and values["no_actions"]:
        errors["actions"] = "You listed actions and also ticked that there are none"
    parsed = None
    if not errors:
        parsed = {
            "decision": values["decision"],
            "reasons": values["reasons"],
            "remedy": values["remedy"],
            "no_remedy_reason": values["no_remedy_reason"],
            "actions": actions,
            "remedy_amount": amount,
        }
    return values, errors, parsed


def preview_response(core: App, ref: str, parsed: dict[str, Any]) -> Any:
    """The letter the response would send, rendered without saving anything."""
    from worker.adapters.templates import render_letter

    with core.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if case is None:
            raise ComplaintsError(f"no case with reference {ref!r}")
        state = state_of(case)
        stage = machine.current_stage(state)
        final = stage.stage == 2
        escalated = state.stage2.received if state.stage2 is not None else None
        context = letters.stage_response(
            core.landlord,
            letter_facts.recipient(case.resident),
            letter_facts.case_facts(core, case, stage, escalated),
            decision=parsed["decision"],
            points=[(case.understanding, parsed["decision"])],
            reasons=parsed["reasons"],
            remedy=parsed["remedy"],
            actions=[letters.Action(text=t, due=d) for t, d in parsed["actions"]],
            final=final,
            no_remedy_reason=parsed["no_remedy_reason"],
        )
        kind = "stage2_final_response" if final else "stage1_response"
        return render_letter(kind, context)


async def respond(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import web

    assert form is not None
    ref = request.path_params["ref"]
    w = web(request)
    values, errors, parsed = parse_respond(form, w.core.clock.today())
    if errors:
        return await case_page(
            request, user, errors=errors, values=values, which="respond", status=422
        )
    if form.get("intent") == "preview":
        try:
            letter = await run_in_threadpool(preview_response, w.core, ref, parsed)
        except (ComplaintsError, ValueError) as exc:
            return await case_page(
                request, user, errors={"form": str(exc)}, values=values, which="respond", status=422
            )
        return await case_page(request, user, values=values, which="respond", preview=letter)
    return await _act(
        request,
        user,
        "respond",
        values,
        lambda: w.service.respond(ref, by=user.name, **parsed),
        "Response recorded; the letter has been queued.",
    )


async def escalate(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import web

    assert form is not None
    ref = request.path_params["ref"]
    values = {"received": _text(form, "received", 20)}
    received = _date(values["received"])
    if values["received"] and received is None:
        return await case_page(
            request,
            user,
            errors={"received": "Enter the date as YYYY-MM-DD"},
            values=values,
            which="escalate",
            status=422,
        )
    service = web(request).service
    return await _act(
        request,
        user,
        "escalate",
        values,
        lambda: service.escalate(ref, received=received, by=user.name),
        "Stage 2 request recorded; the stage 2 acknowledgement has been queued.",
    )


async def complete_action(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import web

    ref = request.path_params["ref"]
    action_id = request.path_params["action_id"]
    service = web(request).service
    return await _act(
        request,
        user,
        "complete",
        {},
        lambda: service.complete_action(ref, action_id, by=user.name),
        "Marked as done.",
    )


# -- triage queue --------------------------------------------------------------------------------


def triage_items(core: App, item_id: int | None = None) -> list[dict[str, Any]]:
    """The open review items, oldest first (or only ``item_id``, when it is still open)."""
    today = core.clock.today()
    items = []
    with core.db.session() as s:
        query = (
            select(ReviewItem, InboundMessage)
            .join(InboundMessage, InboundMessage.id == ReviewItem.inbound_id)
            .where(ReviewItem.status == "open")
            .order_by(ReviewItem.created_at, ReviewItem.id)
        )
        if item_id is not None:
            query = query.where(ReviewItem.id == item_id)
        for item, message in s.execute(query):
            case = s.get(Case, item.case_id) if item.case_id else None
            row = _row(case, today, core.calendar) if case is not None else None
            kind = review_kind(item)
            items.append(
                {
                    "item": item,
                    "message": message,
                    "case": case,
                    "row": row,
                    "html": sanitise(message.html) if message.html else None,
                    "decidable": not kind and case is not None and case.status == "pending_triage",
                    "kind": kind,
                    "outcomes": [(o, OUTCOME_LABELS[o]) for o in REVIEW_OUTCOMES.get(kind, ())],
                    "received": received_at(
                        message.headers, message.received_on, message.stored_at
                    ),
                }
            )
    return items


def triage_row(entry: dict[str, Any]) -> TriageRow:
    """One line of the triage list: what a handler sorts and chooses by."""
    from worker.web.app import _human

    item, message, row = entry["item"], entry["message"], entry["row"]
    proposed = _human(item.proposed_label)
    if item.proposed_reason:
        proposed += f": {_human(item.proposed_reason)}"
    # Items the classifier did not score (a reply from a new address, a held letter) have no
    # confidence to show, rather than a misleading 0%.
    scored = not entry["kind"] or item.confidence > 0
    return TriageRow(
        item_id=item.id,
        ref=entry["case"].ref if entry["case"] is not None else "",
        subject=message.subject or "(no subject)",
        sender=message.from_name or message.from_addr or "Unknown sender",
        received=entry["received"],
        proposed=proposed,
        confidence=item.confidence if scored else None,
        due=row.due if row is not None else None,
        risk=row.risk if row is not None else "none",
        kind=entry["kind"],
    )


async def triage_page(
    request: Request,
    user: StaffUser,
    form: FormData | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    item_id: int | None = None,
    status: int = 200,
) -> Response:
    from worker.web.app import render, web

    if item_id is not None:
        # One item on its own page; a refused form comes back here with what was typed.
        found = await run_in_threadpool(triage_items, web(request).core, item_id)
        if not found:
            return render(
                request,
                "error.html",
                {
                    "title": "Triage item not found",
                    "message": f"Review item {item_id} is not open: it may already be decided. "
                    "Go back to the triage queue.",
                },
                status=404,
            )
        return render(
            request,
            "triage_item.html",
            {
                "entry": found[0],
                "errors": errors or {},
                "values": values or {},
                "exclusions": letters.REFUSAL_REASONS,
                "mail_reasons": NOT_RESIDENT_REASONS,
                "when": _when,
            },
            status=status,
        )
    items = await run_in_threadpool(triage_items, web(request).core)
    rows, sort = sort_triage(
        [triage_row(e) for e in items], str(request.query_params.get("sort", ""))
    )
    return render(
        request,
        "triage.html",
        {
            "rows": rows,
            "sort": sort,
            "sorts": {key: label for key, (label, _, _) in TRIAGE_SORTS.items()},
            "items": items,
            "errors": errors or {},
            "values": values or {},
            "error_item": item_id,
            "exclusions": letters.REFUSAL_REASONS,
            "mail_reasons": NOT_RESIDENT_REASONS,
            "when": _when,
        },
        status=status,
    )


async def triage_view(request: Request, user: StaffUser, form: FormData | None) -> Response:
    return await triage_page(request, user)


async def triage_item_view(request: Request, user: StaffUser, form: FormData | None) -> Response:
    return await triage_page(request, user, item_id=request.path_params["item_id"])


async def triage_item(request: Request) -> Response:
    """GET shows the item (anyone who may view); POST records a decision (those who may act)."""
    from worker.web.app import staff

    if request.method == "GET":
        return await staff("view")(triage_item_view)(request)
    return await staff("act")(triage_decide)(request)


def _item_case_ref(core: App, item_id: int) -> str | None:
    with core.db.session() as s:
        item = s.get(ReviewItem, item_id)
        if item is None or item.status != "open" or item.case_id is None:
            return None
        case = s.get(Case, item.case_id)
        return case.ref if case is not None else None


async def triage_decide(request: Request, user: StaffUser, form: FormData | None) -> Response:
    from worker.web.app import flash, web

    assert form is not None
    w = web(request)
    item_id = request.path_params["item_id"]
    values = {
        name: _text(form, name)
        for name in ("decision", "reason", "exclusion", "where_instead", "mail_reason")
    }
    errors: dict[str, str] = {}
    if values["decision"] not in TRIAGE_DECISIONS:
        errors["decision"] = "Choose accept, refuse, a service request or not resident mail"
    if not values["reason"]:
        errors["reason"] = "Write the reason for your decision (2.1, 2.4)"
    if values["decision"] == "refuse" and values["exclusion"] not in letters.REFUSAL_REASONS:
        errors["exclusion"] = "Choose why the matter is not suitable for the complaints process"
    if values["mail_reason"] and values["mail_reason"] not in NOT_RESIDENT_REASONS:
        errors["mail_reason"] = "Choose what kind of mail it is"
    ref = await run_in_threadpool(_item_case_ref, w.core, item_id)
    if ref is None and not errors:
        errors["form"] = "This item has already been decided, or has no case to decide on."
    if errors:
        return await triage_page(
            request, user, errors=errors, values=values, item_id=item_id, status=422
        )
    try:
        result = await run_in_threadpool(
            lambda: w.service.decide_triage(
                ref,
                decision=values["decision"],
                reason=values["reason"],
                by=user.name,
                where_instead=values["where_instead"] if values["decision"] == "refuse" else "",
                exclusion=values["exclusion"] if values["decision"] == "refuse" else "",
                mail_reason=values["mail_reason"]
                if values["decision"] == "not_resident_mail"
                else "",
            )
        )
    except ComplaintsError as exc:
        return await triage_page(
            request, user, errors={"form": str(exc)}, values=values, item_id=item_id, status=400
        )
    await run_in_threadpool(w.drain_jobs)
    done = {
        "accept": "accepted as a stage 1 complaint",
        "refuse": "refused",
        "service_request": f"logged as service request {result.get('service_request')}",
        "not_resident_mail": "recorded as not resident mail and closed",
    }[values["decision"]]
    sent = f"; the {_human_kind(result)} has been queued" if result.get("letter") else "; no letter"
    flash(request, f"{result.get('ref', ref)} {done}{sent}.")
    return RedirectResponse("/triage", status_code=303)


async def triage_resolve(request: Request, user: StaffUser, form: FormData | None) -> Response:
    """Resolve a review item that is not a decision on a pending case."""
    from worker.web.app import flash, web

    assert form is not None
    w = web(request)
    item_id = request.path_params["item_id"]
    values = {name: _text(form, name, 1000) for name in ("outcome", "reason", "address")}
    values["reason"] = _text(form, "reason")
    errors: dict[str, str] = {}
    if values["outcome"] not in OUTCOME_LABELS:
        errors["outcome"] = "Choose what you found or did"
    if not values["reason"]:
        errors["reason"] = "Write what you found or did"
    if values["address"]:
        # A corrected sender address (SPEC section 6): the same rules as any letter's address.
        if values["outcome"] != "address_confirmed":
            errors["address"] = "Only give an address when you confirm the address"
        else:
            try:
                recipient.typed_address(values["address"])
            except recipient.UnusableAddress as exc:
                errors["address"] = f"Enter one email address we can deliver to: {exc}"
    if errors:
        return await triage_page(
            request, user, errors=errors, values=values, item_id=item_id, status=422
        )
    try:
        result = await run_in_threadpool(
            lambda: w.service.resolve_review(
                item_id,
                outcome=values["outcome"],
                reason=values["reason"],
                by=user.name,
                address=values["address"],
            )
        )
    except ComplaintsError as exc:
        return await triage_page(
            request, user, errors={"form": str(exc)}, values=values, item_id=item_id, status=400
        )
    await run_in_threadpool(w.drain_jobs)
    from worker.web.app import _human

    message = f"Review item {item_id} resolved: {values['outcome'].replace('_', ' ')}"
    if result.get("ref"):
        message += f" ({result['ref']})"
    if result.get("letters"):
        sent = ", ".join(_human(k).lower() for k in result["letters"])
        message += f"; the {sent} has been queued"
    if result.get("status") == "open":
        message += "; it stays in the queue: the acknowledgement could not be written"
    flash(request, message + ".")
    return RedirectResponse("/triage", status_code=303)


# -- the resident: adjustments, representative, restrictions ------------------------------------


def _resident_email(core: App, ref: str) -> str | None:
    with core.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        return case.resident.email if case is not None else None


async def _resident_act(
    request: Request,
    user: StaffUser,
    which: str,
    values: dict[str, Any],
    errors: dict[str, str],
    call: Any,
    done: str,
) -> Response:
    from worker.web.app import web

    w = web(request)
    email = await run_in_threadpool(_resident_email, w.core, request.path_params["ref"])
    if email is None:
        return await case_page(request, user)  # renders the 404 page
    if errors:
        return await case_page(request, user, errors=errors, values=values, which=which, status=422)
    return await _act(request, user, which, values, lambda: call(w.residents, email), done)


async def adjustments(request: Request, user: StaffUser, form: FormData | None) -> Response:
    assert form is not None
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in ("adj_text", "adj_disability", "adj_channel", "adj_review_on")
    }
    values["adj_large_print"] = "yes" if form.get("adj_large_print") else ""
    errors: dict[str, str] = {}
    if not values["adj_text"] and not values["adj_disability"]:
        errors["adj_text"] = "Enter the agreed adjustments or the disclosed disability (5.10)"
    review_on = _date(values["adj_review_on"])
    if review_on is None:
        errors["adj_review_on"] = "Enter the date the adjustments will be reviewed (YYYY-MM-DD)"
    if values["adj_channel"] and values["adj_channel"] not in CHANNELS:
        errors["adj_channel"] = "Choose email, post or phone"
    return await _resident_act(
        request,
        user,
        "adjustments",
        values,
        errors,
        lambda residents, email: residents.record_adjustments(
            email,
            adjustments=values["adj_text"],
            disclosed_disability=values["adj_disability"],
            large_print=bool(values["adj_large_print"]),
            preferred_channel=values["adj_channel"] or None,
            review_on=review_on,
            by=user.name,
        ),
        "Reasonable adjustments recorded.",
    )


async def representative(request: Request, user: StaffUser, form: FormData | None) -> Response:
    assert form is not None
    values: dict[str, Any] = {name: _text(form, name, 320) for name in ("rep_name", "rep_email")}
    values["rep_consent"] = "yes" if form.get("rep_consent") else ""
    errors: dict[str, str] = {}
    if not values["rep_name"]:
        errors["rep_name"] = "Enter the representative's name"
    elif any(ch in values["rep_name"] for ch in "\r\n"):
        errors["rep_name"] = "The name must be on one line"
    if not values["rep_email"]:
        errors["rep_email"] = "Enter the representative's email address"
    consent = bool(values["rep_consent"])
    return await _resident_act(
        request,
        user,
        "representative",
        values,
        errors,
        lambda residents, email: residents.set_representative(
            email,
            name=values["rep_name"],
            rep_email=values["rep_email"],
            consent=consent,
            by=user.name,
        ),
        "Representative recorded"
        + ("; letters now go to them." if consent else "; letters still go to the resident."),
    )


async def restriction(request: Request, user: StaffUser, form: FormData | None) -> Response:
    assert form is not None
    values: dict[str, Any] = {
        name: _text(form, name) for name in ("res_description", "res_reasons", "res_review_on")
    }
    errors: dict[str, str] = {}
    if not values["res_description"]:
        errors["res_description"] = "Describe what is restricted (5.15)"
    if not values["res_reasons"]:
        errors["res_reasons"] = "Enter the reasons for the restriction (5.14)"
    review_on = _date(values["res_review_on"])
    if review_on is None:
        errors["res_review_on"] = "Enter the date the restriction will be reviewed (YYYY-MM-DD)"
    return await _resident_act(
        request,
        user,
        "restriction",
        values,
        errors,
        lambda residents, email: residents.record_restriction(
            email,
            description=values["res_description"],
            reasons=values["res_reasons"],
            review_on=review_on,
            by=user.name,
        ),
        "Restriction recorded with its review date.",
    )


def _human_kind(result: dict[str, Any]) -> str:
    return str(result.get("letter", "letter")).replace("_", " ")


def emergency_hazards(request: Request) -> dict[str, Any]:
    """Open emergency hazards for the banner at the top of every staff page (SPEC section 11).

    Called by base.html as it renders, so every page shows them the moment the route stage has
    written them, without each page's handler asking. A database that cannot be read gives a
    line saying so rather than a broken page."""
    from worker.service.hazards import HazardService
    from worker.web.app import web

    core = web(request).core
    try:
        with core.db.session() as session:
            return {"items": HazardService(core).emergencies(session), "error": ""}
    except Exception:  # noqa: BLE001 - the page must still render; the log has the cause
        log.exception("emergency hazards could not be read")
        return {"items": [], "error": "Emergency hazards could not be read: see the worker log."}


def routes() -> list[Route]:
    from worker.web import staff_pages
    from worker.web.app import TEMPLATES, staff
    from worker.web.attachment_pages import attachments_of, download
    from worker.web.staff_entry_pages import logged_page, new_case_page

    TEMPLATES.env.globals["emergency_hazards"] = emergency_hazards
    TEMPLATES.env.globals["attachments_of"] = lambda request, inbound_id: attachments_of(
        request.app.state.web.core, inbound_id
    )

    return [
        *staff_pages.routes(),
        Route("/cases", staff("view")(cases_page)),
        # Before /cases/{ref}, which would otherwise take "new" for a reference.
        Route("/cases/new", staff("act")(new_case_page), methods=["GET", "POST"]),
        Route("/cases/new/{inbound_id:int}", staff("view")(logged_page)),
        Route("/cases/{ref}", staff("view")(case_view)),
        Route("/cases/{ref}/assign", staff("assign")(assign), methods=["POST"]),
        Route("/cases/{ref}/extend", staff("act")(extend), methods=["POST"]),
        Route("/cases/{ref}/respond", staff("act")(respond), methods=["POST"]),
        Route("/cases/{ref}/escalate", staff("act")(escalate), methods=["POST"]),
        Route(
            "/cases/{ref}/actions/{action_id:int}/complete",
            staff("act")(complete_action),
            methods=["POST"],
        ),
        Route("/triage", staff("view")(triage_view)),
        Route("/triage/{item_id:int}", triage_item, methods=["GET", "POST"]),
        Route("/triage/{item_id:int}/resolve", staff("act")(triage_resolve), methods=["POST"]),
        Route("/cases/{ref}/adjustments", staff("act")(adjustments), methods=["POST"]),
        Route("/cases/{ref}/representative", staff("act")(representative), methods=["POST"]),
        Route("/cases/{ref}/restriction", staff("restrict")(restriction), methods=["POST"]),
        Route("/cases/{ref}/export", staff("view")(export_view)),
        Route("/attachments/{inbound_id:int}/{index:int}", staff("view")(download)),
        Route("/letters/{letter_id:int}.pdf", staff("view")(letter_pdf_view)),
    ]
