"""Awaab's Law hazards (SI 2025/1042; SPEC section 11): the hazard list from configuration, the
records the route stage writes, the team told at once, and what staff record to stop each clock.

The pure rules and clocks are in ``worker.domain.hazards``; this module loads, saves and audits.
"""

from __future__ import annotations

import builtins
import logging
import os
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.db_models import Case, Hazard, InboundMessage, Letter, ServiceRequest
from worker.domain import hazards as rules_mod
from worker.domain import letters
from worker.domain.errors import ConfigurationError, UserError
from worker.domain.hazards import HazardRules, Progress
from worker.domain.parsing import date_sent
from worker.domain.working_days import Calendar
from worker.records import Ids, audit

if TYPE_CHECKING:
    from worker.bootstrap import App
    from worker.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "hazards.toml"
ACKNOWLEDGEMENTS = frozenset(
    {
        "stage1_acknowledgement",
        "stage2_acknowledgement",
        "service_request_acknowledgement",
        "receipt",
    }
)
# A Date header this far before we stored the message is trusted as when it reached the
# landlord's mailbox (the worker may have been stopped); further back, or later, it is not.
_DATE_TRUST_HOURS = 72


# -- configuration ------------------------------------------------------------------------------


def rules_file(settings: Settings) -> Path:
    """COMPLAINTS_HAZARDS, else hazards.toml beside the landlord profile, else the shipped list."""
    named = os.environ.get("COMPLAINTS_HAZARDS", "")
    if named:
        return Path(named)
    beside = settings.landlord_file.parent / "hazards.toml"
    return beside if beside.is_file() else DEFAULT_RULES_FILE


@lru_cache(maxsize=8)
def _load_rules(path: Path, mtime: float) -> HazardRules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"hazard list not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"hazard list cannot be read: {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"hazard list {path} is not valid TOML: {exc}") from None
    try:
        return rules_mod.parse_rules(data)
    except ValueError as exc:
        raise ConfigurationError(f"hazard list {path}: {exc}") from None


# The last list that loaded, per file: an edit that breaks the file while the worker runs must
# not stop triage (every message would fail); the old list stays in force and the log says why.
_last_good: dict[Path, HazardRules] = {}
_warned: set[str] = set()


def _strict_rules(settings: Settings) -> HazardRules:
    path = rules_file(settings)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    rules = _load_rules(path, mtime)
    _last_good[path] = rules
    return rules


# How long a loaded list is used before its file is looked at again: triage asks for the list
# once per message, and a stat and a path lookup each time cost more than the detection itself.
RECHECK_SECONDS: float = 2.0
_checked: dict[tuple[str, Path], tuple[float, HazardRules]] = {}


def load_rules(settings: Settings) -> HazardRules:
    """The hazard list, read again when its file changes (no restart needed to add a hazard;
    an edit takes effect within ``RECHECK_SECONDS``)."""
    key = (os.environ.get("COMPLAINTS_HAZARDS", ""), settings.landlord_file)
    cached = _checked.get(key)
    now = monotonic()
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[1]
    rules = _load_checked(settings)
    _checked[key] = (now, rules)
    return rules


def _load_checked(settings: Settings) -> HazardRules:
    try:
        return _strict_rules(settings)
    except ConfigurationError as exc:
        previous = _last_good.get(rules_file(settings))
        if previous is None:
            raise
        if str(exc) not in _warned:  # once per fault, not once per message
            _warned.add(str(exc))
            log.error("%s; the hazard list loaded before stays in force until it is fixed", exc)
        return previous


@dataclass(frozen=True)
class Team:
    name: str
    email: str


_teams_read: dict[Path, tuple[float, dict[str, Team]]] = {}


def teams(settings: Settings) -> dict[str, Team]:
    """Who is told of a hazard: the ``[hazards]`` table of the landlord profile.

    ``repairs_email`` (and ``repairs_name``) is required for the notification; a
    ``damp_mould_email`` sends damp and mould to that team instead. Read again at most every
    ``RECHECK_SECONDS`` (each hazard found asks, and parsing the profile each time cost more than
    recording the hazard)."""
    path = settings.landlord_file
    now = monotonic()
    cached = _teams_read.get(path)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[1]
    found = _read_teams(path)
    _teams_read[path] = (now, found)
    return found


def _read_teams(path: Path) -> dict[str, Team]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # load_landlord has already said what is wrong with the file
    table = data.get("hazards", {})
    if not isinstance(table, dict):
        raise ConfigurationError("landlord profile: [hazards] must be a table")
    out: dict[str, Team] = {}
    for team in ("repairs", "damp_mould"):
        email = table.get(f"{team}_email", "")
        if email and (not isinstance(email, str) or "@" not in email):
            raise ConfigurationError(f"landlord profile: hazards.{team}_email is not an address")
        if email:
            default = "Repairs team" if team == "repairs" else "Damp and mould team"
            out[team] = Team(str(table.get(f"{team}_name", "") or default), email.strip())
    return out


def check_configuration(settings: Settings) -> None:
    """Fail at start, in one line, on a bad hazard list or team address."""
    _strict_rules(settings)
    _read_teams(settings.landlord_file)


def statutory_calendar(app: App) -> Calendar:
    return rules_mod.statutory_calendar(app.calendar, load_rules(app.settings))


# -- intake: detection, awareness, records ---------------------------------------------------


def detect_row(app: App, row: InboundMessage, text: str) -> list[dict[str, object]]:
    """The potential hazards in one message, as plain data kept on its row (triage).

    Every label counts, except mail that is certainly not from a resident (bulk mail, spam,
    bounces, auto-replies that no person needs to read): a trade newsletter about damp and mould
    is not a report of it. Automatic-looking mail that may hold a resident's words is checked."""
    if _machine_mail(row):
        return []
    found = rules_mod.detect(row.subject or "", text or "", load_rules(app.settings))
    return rules_mod.as_rules_list(found)


def _machine_mail(row: InboundMessage) -> bool:
    return row.label == "not_resident_mail" and not row.needs_review


def detections(app: App, row: InboundMessage) -> list[dict[str, Any]]:
    if _machine_mail(row):
        return []
    flags = row.flags or {}
    if "hazards" in flags:
        return list(flags["hazards"] or [])
    return detect_row(app, row, row.new_text or row.text or "")


def aware_at(row: InboundMessage, replay: bool = False) -> datetime:
    """When the landlord became aware: the message's arrival. Its Date header is trusted when it
    is a little before we stored it (the mailbox got it while the worker was not reading), so a
    clock never starts later than the message reached the landlord."""
    stored = row.stored_at if row.stored_at.tzinfo else row.stored_at.replace(tzinfo=UTC)
    sent = date_sent(row.headers)
    if sent is not None:
        gap = (stored - sent).total_seconds()
        # Replaying an old mailbox (the demo): as when it arrived, years back at most.
        limit = (5 * 366 * 24 if replay else _DATE_TRUST_HOURS) * 3600
        if 0 <= gap <= limit:
            return sent.astimezone(UTC)
    return stored


def _message_words(row: InboundMessage) -> list[str]:
    """The resident's whole new message (not the quoted history), for the team to read."""
    text = (row.new_text or row.text or "").strip()
    if len(text) > 3000:
        text = text[:3000].rsplit(" ", 1)[0] + " ..."
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _when(moment: datetime) -> str:
    local = moment.astimezone(rules_mod.LONDON)
    return f"{letters.format_date(local.date())} at {local:%H:%M}"


def _due_text(h: Hazard | None, clock: rules_mod.Clock) -> str:
    if clock.due_on is not None:
        return letters.format_date(clock.due_on)
    return _when(clock.due_at)


def notice(app: App, found: Sequence[dict[str, Any]], row: InboundMessage) -> dict[str, object]:
    """The acknowledgement's paragraph: treated as a potential hazard, what happens by when."""
    if not found:
        return {}
    first = found[0]
    c = rules_mod.clocks(
        Progress(first["severity"], aware_at(row, app.replay)), statutory_calendar(app)
    )
    lines = rules_mod.describe_for_resident(
        first["severity"], str(first["title"]), _due_text(None, c.investigate_by)
    )
    if len(found) > 1:
        others = ", ".join(str(d["title"]).lower() for d in found[1:])
        lines.append(f"You also told us about: {others}. We are looking into these too.")
    heading = (
        "We are treating this as an emergency"
        if first["severity"] == "emergency"
        else "We are treating this as a potential hazard"
    )
    return {"heading": heading, "lines": lines}


def _linked(session: Session, model: type[Any], ident: int | None) -> Any:
    if ident is None:
        return None
    for obj in session.new:
        if isinstance(obj, model) and obj.id == ident:
            return obj
    with session.no_autoflush:
        return session.get(model, ident)


def record(
    app: App,
    session: Session,
    row: InboundMessage,
    found: Sequence[dict[str, Any]],
    *,
    ids: Ids | None = None,
    fresh: bool = False,
) -> list[Letter]:
    """One hazard record per kind found in the message, linked to its case or service request,
    and the team told at once (one notification per hazard). Returns the notifications queued.

    ``fresh``: the message was routed for the first time in this transaction, so nothing of it
    can exist yet; otherwise the rows written before are found and nothing is written twice."""
    if not found:
        return []
    from worker.stages.compose import LetterRefused, queue_letter
    from worker.stages.parse import reply_address

    existing: set[str] = set()
    if not fresh:
        with session.no_autoflush:
            existing = set(session.scalars(select(Hazard.kind).where(Hazard.inbound_id == row.id)))
    case = _linked(session, Case, row.case_id)
    sr = _linked(session, ServiceRequest, row.service_request_id)
    ref = case.ref if case is not None else sr.ref if sr is not None else f"MSG-{row.id}"
    when = aware_at(row, app.replay)
    calendar = statutory_calendar(app)
    known_teams = teams(app.settings)
    queued: list[Letter] = []
    for item in found:
        kind = str(item["kind"])
        if kind in existing:
            continue
        c = rules_mod.clocks(Progress(item["severity"], when), calendar)
        hazard = Hazard(
            inbound_id=row.id,
            case_id=row.case_id,
            service_request_id=row.service_request_id,
            ref=ref,
            kind=kind,
            severity=str(item["severity"]),
            title=str(item["title"]),
            reasons=list(item.get("reasons", [])),
            words="\n".join(item.get("words", [])),
            aware_at=when,
            investigate_by_at=c.investigate_by.due_at,
            investigate_by=c.investigate_by.due_on or rules_mod.london_day(c.investigate_by.due_at),
            status="open",
            events=[],
            created_at=app.clock.now(),
        )
        hazard_id = ids.take("hazards") if ids else None
        if hazard_id is not None:
            hazard.id = hazard_id
        session.add(hazard)
        audit(
            session,
            "system",
            "hazard.detected",
            f"potential {item['severity']} hazard ({item['title']}): "
            + "; ".join(item.get("reasons", []))[:1500],
            case_id=row.case_id,
            inbound_id=row.id,
            kind=kind,
            aware_at=when.isoformat(),
            investigate_by=hazard.investigate_by,
        )
        team = known_teams.get(str(item.get("team", "repairs"))) or known_teams.get("repairs")
        if team is None:
            audit(
                session,
                "system",
                "hazard.team_not_configured",
                "no repairs_email in the [hazards] table of the landlord profile: nobody could "
                "be told of this hazard automatically; tell the repairs team now",
                case_id=row.case_id,
                inbound_id=row.id,
                kind=kind,
            )
            continue
        context = letters.hazard_notification(
            app.landlord,
            ref=ref,
            team_name=team.name,
            team_email=team.email,
            title=str(item["title"]),
            severity=str(item["severity"]),
            aware_at=_when(when),
            investigate_by=_due_text(hazard, c.investigate_by),
            words=_message_words(row) or list(item.get("words", [])) or ["(no words)"],
            reasons=list(item.get("reasons", [])),
            resident_name=row.from_name,
            # Only an address we trust: a doubtful From waits for a person (SPEC section 6).
            resident_email=reply_address(row) or "(not confirmed yet: see the triage queue)",
            label=(row.label or "message").replace("_", " "),
        )
        try:
            # Internal mail: not an automatic reply to a resident, so not counted by the per-sender
            # cap; kept off the case's letter list (it is not correspondence with the resident).
            letter = queue_letter(
                session,
                app,
                kind="hazard_notification",
                context=context,
                dedupe_key=f"hazard:{row.id}:{kind}",
                recipient=team.email,
                recipient_name=team.name,
                automatic=False,
                ids=ids,
                fresh=fresh,
            )
        except LetterRefused:
            continue
        letter.ref = ref
        hazard.notified_letter_id = letter.id
        queued.append(letter)
    return queued


# -- what staff do ----------------------------------------------------------------------------


def progress_of(h: Hazard) -> Progress:
    return Progress(
        severity=h.severity,  # type: ignore[arg-type]
        aware_at=_aware(h.aware_at),
        status=h.status,
        investigated_at=_maybe(h.investigated_at),
        summary_sent_at=_maybe(h.summary_sent_at),
        safety_work_done_at=_maybe(h.safety_work_done_at),
        preventative_begun_at=_maybe(h.preventative_begun_at),
        preventative_started_at=_maybe(h.preventative_started_at),
        no_further_work=bool(h.no_further_work),
        alternative_accommodation_at=_maybe(h.alternative_accommodation_at),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _maybe(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


_EVENT_COLUMNS = {
    "investigated": "investigated_at",
    "summary_sent": "summary_sent_at",
    "safety_work_done": "safety_work_done_at",
    "preventative_begun": "preventative_begun_at",
    "preventative_started": "preventative_started_at",
    "alternative_accommodation": "alternative_accommodation_at",
}


def parse_moment(value: str) -> datetime:
    """``YYYY-MM-DD`` (midday in London) or an ISO date-time (London when no offset)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(12), tzinfo=rules_mod.LONDON).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{value!r} is not a date (YYYY-MM-DD) or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=rules_mod.LONDON)
    return moment.astimezone(UTC)


class HazardService:
    def __init__(self, app: App) -> None:
        self.app = app

    @classmethod
    def from_settings(cls) -> HazardService:
        from worker.bootstrap import bootstrap

        return cls(bootstrap())

    # -- reads --

    def view(self, h: Hazard, now: datetime | None = None) -> dict[str, Any]:
        moment = now or self.app.clock.now()
        calendar = statutory_calendar(self.app)
        progress = progress_of(h)
        c = rules_mod.clocks(progress, calendar)
        return {
            "id": h.id,
            "ref": h.ref,
            "kind": h.kind,
            "title": h.title,
            "severity": h.severity,
            "aware_at": _aware(h.aware_at).isoformat(),
            "investigate_by": h.investigate_by.isoformat() if h.investigate_by else None,
            "status": h.status,
            "clock_state": rules_mod.clock_state(progress, moment, calendar),
            "alternative_accommodation_needed": rules_mod.needs_alternative_accommodation(
                progress, moment, calendar
            ),
            "clocks": [
                {
                    "name": k.name,
                    "due": k.due_on.isoformat() if k.due_on else k.due_at.isoformat(),
                    "done_at": k.done_at.isoformat() if k.done_at else None,
                    "met": k.met,
                    "provisional": k.provisional,
                    "regulation": k.regulation,
                }
                for k in c.all()
            ],
            "reasons": list(h.reasons or []),
            "words": h.words,
            "case_id": h.case_id,
            "service_request_id": h.service_request_id,
            "events": list(h.events or []),
            "decision_reason": h.decision_reason,
        }

    @staticmethod
    def contract_view(h: Hazard) -> dict[str, Any]:
        """The ``case show`` extension of SPEC section 11."""
        return {
            "kind": h.kind,
            "severity": h.severity,
            "aware_at": _aware(h.aware_at).isoformat(),
            "investigate_by": h.investigate_by.isoformat() if h.investigate_by else None,
            "status": h.status,
        }

    def list(self, status: str = "", kind: str = "") -> list[dict[str, Any]]:
        with self.app.db.session() as session:
            query = select(Hazard).order_by(Hazard.id)
            if status == "open":
                query = query.where(Hazard.status.in_(("open", "confirmed")))
            elif status:
                query = query.where(Hazard.status == status)
            if kind:
                query = query.where(Hazard.kind == kind)
            return [self.view(h) for h in session.scalars(query)]

    def show(self, hazard_id: int) -> dict[str, Any]:
        with self.app.db.session() as session:
            return self.view(self._get(session, hazard_id))

    # builtins.list below: in this class, ``list`` is the method above (``complaints hazard list``).
    def for_case(self, session: Session, case_id: int) -> builtins.list[dict[str, Any]]:
        rows = session.scalars(select(Hazard).where(Hazard.case_id == case_id).order_by(Hazard.id))
        return [self.contract_view(h) for h in rows]

    def show_service_request(self, ref: str) -> dict[str, Any]:
        """``case show SR-...``: the request with its hazards (SPEC section 11)."""
        with self.app.db.session() as session:
            sr = session.scalar(select(ServiceRequest).where(ServiceRequest.ref == ref.strip()))
            if sr is None:
                raise UserError(f"no service request {ref.strip()!r}")
            hazards = session.scalars(
                select(Hazard).where(Hazard.service_request_id == sr.id).order_by(Hazard.id)
            )
            sent = session.scalars(
                select(Letter).where(Letter.service_request_id == sr.id).order_by(Letter.id)
            )
            return {
                "ref": sr.ref,
                "type": "service_request",
                "status": sr.status,
                "received": sr.received.isoformat(),
                "due_by": sr.due_by.isoformat(),
                "subject": sr.subject,
                "summary": sr.summary,
                "letters": [
                    {"kind": x.kind, "sent_at": x.sent_at.isoformat() if x.sent_at else None}
                    for x in sent
                ],
                "hazards": [self.contract_view(h) for h in hazards],
            }

    def emergencies(self, session: Session) -> builtins.list[dict[str, Any]]:
        """Open emergency hazards, soonest deadline first, for the top of the console."""
        rows = session.scalars(
            select(Hazard)
            .where(Hazard.severity == "emergency", Hazard.status.in_(("open", "confirmed")))
            .order_by(Hazard.investigate_by_at)
        )
        out = []
        for h in rows:
            v = self.view(h)
            if v["clock_state"] in ("complete", "dismissed"):
                continue
            v["due_text"] = _when(_aware(h.investigate_by_at))
            out.append(v)
        return out

    def counts_by_state(self, session: Session) -> dict[tuple[str, str], int]:
        """Hazards not yet closed, by severity and clock state (for /metrics)."""
        counts: Counter[tuple[str, str]] = Counter()
        now = self.app.clock.now()
        calendar = statutory_calendar(self.app)
        for h in session.scalars(select(Hazard).where(Hazard.status.in_(("open", "confirmed")))):
            counts[(h.severity, rules_mod.clock_state(progress_of(h), now, calendar))] += 1
            if rules_mod.needs_alternative_accommodation(progress_of(h), now, calendar):
                counts[(h.severity, "alternative_accommodation_needed")] += 1
        return dict(counts)

    # -- writes --

    def _get(self, session: Session, hazard_id: int) -> Hazard:
        h = session.get(Hazard, hazard_id)
        if h is None:
            raise UserError(f"no hazard {hazard_id}")
        return h

    def record(
        self, hazard_id: int, event: str, *, by: str, reason: str = "", at: str = ""
    ) -> dict[str, Any]:
        """Record one event that confirms, dismisses or stops a clock, with who and when."""
        if event not in rules_mod.EVENTS:
            raise UserError(
                f"unknown event {event!r}; expected one of {', '.join(rules_mod.EVENTS)}"
            )
        who = by.strip()
        if not who:
            raise UserError("recording a hazard event needs the name of who did it (--by)")
        now = self.app.clock.now()
        moment = parse_moment(at) if at.strip() else now
        if moment > now:
            raise UserError("the event cannot be in the future")
        with self.app.db.session() as session:
            h = self._get(session, hazard_id)
            if moment < _aware(h.aware_at):
                raise UserError("the event cannot be before the hazard was reported")
            if h.status == "dismissed" and event != "confirmed":
                raise UserError(f"hazard {hazard_id} was dismissed; confirm it first")
            if event == "dismissed":
                if not reason.strip():
                    raise UserError("dismissing a hazard needs the reason (--reason)")
                h.status, h.decided_by, h.decision_reason = "dismissed", who, reason.strip()
            elif event == "confirmed":
                h.status, h.decided_by = "confirmed", who
                h.decision_reason = reason.strip() or h.decision_reason
            elif event == "no_further_work":
                if h.investigated_at is None:
                    raise UserError("record the investigation first")
                h.no_further_work = True
            else:
                column = _EVENT_COLUMNS[event]
                if (
                    event != "investigated"
                    and event != "alternative_accommodation"
                    and (h.severity == "significant" and h.investigated_at is None)
                ):
                    raise UserError("record the investigation first")
                setattr(h, column, moment)
                if h.status == "open":
                    h.status = "confirmed"  # a person acted on it
            h.events = [
                *(h.events or []),
                {
                    "event": event,
                    "at": moment.isoformat(),
                    "by": who,
                    "reason": reason.strip(),
                    "recorded_at": now.isoformat(),
                },
            ]
            progress = progress_of(h)
            if h.status == "confirmed" and not rules_mod.open_clocks(
                progress, statutory_calendar(self.app)
            ):
                h.status = "closed"
            audit(
                session,
                who,
                f"hazard.{event}",
                reason.strip() or rules_mod.EVENTS[event],
                case_id=h.case_id,
                hazard_id=h.id,
                at=moment.isoformat(),
            )
            session.flush()
            return self.view(h, now)

    def send_summary(
        self,
        hazard_id: int,
        *,
        findings: str,
        works: Sequence[tuple[str, date]],
        no_work_reason: str,
        keep_safe: str,
        by: str,
    ) -> dict[str, Any]:
        """Reg 9: the written summary to the resident; records ``summary_sent``."""
        from worker import letter_facts
        from worker.adapters.db_models import Resident
        from worker.stages.compose import LetterRefused, queue_letter

        if not by.strip():
            raise UserError("sending the summary needs the name of who did it (--by)")
        with self.app.db.session() as session:
            h = self._get(session, hazard_id)
            if h.investigated_at is None:
                raise UserError(
                    "record the investigation first (hazard record --event investigated)"
                )
            case = session.get(Case, h.case_id) if h.case_id else None
            sr = session.get(ServiceRequest, h.service_request_id) if h.service_request_id else None
            resident_id = case.resident_id if case else sr.resident_id if sr else None
            resident = session.get(Resident, resident_id) if resident_id else None
            if resident is None:
                raise UserError(f"hazard {hazard_id} has no resident to write to")
            context = letters.hazard_summary(
                self.app.landlord,
                letter_facts.recipient(resident),
                ref=h.ref,
                hazard=h.title,
                investigated=rules_mod.london_day(_aware(h.investigated_at)),
                findings=findings,
                works=[letters.Action(t, d) for t, d in works],
                no_work_reason=no_work_reason,
                keep_safe=keep_safe,
            )
            try:
                letter = queue_letter(
                    session,
                    self.app,
                    kind="hazard_summary",
                    context=context,
                    dedupe_key=f"hazard:{h.id}:hazard_summary",
                    recipient=letter_facts.recipient(resident).email,
                    recipient_name=resident.name,
                    case=case,
                    service_request=sr if case is None else None,
                    automatic=False,
                    actor=by.strip(),
                )
            except LetterRefused as exc:
                raise UserError(str(exc)) from None
            letter_id = letter.id
        self.app.jobs.enqueue("send", [letter_id])
        return self.record(hazard_id, "summary_sent", by=by, reason="written summary sent")

    # -- reports and calendar --

    def report(
        self, year: int | None = None, start: date | None = None, end: date | None = None
    ) -> dict[str, Any]:
        """Hazards by kind, time to investigate, clocks met and missed, per month (a calendar
        ``year``, or the reporting year ``start``..``end`` of the annual report)."""
        now = self.app.clock.now()
        calendar = statutory_calendar(self.app)
        months: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "reported": 0,
                "by_kind": Counter(),
                "met": Counter(),
                "missed": Counter(),
                "investigate_hours": [],
            }
        )
        with self.app.db.session() as session:
            for h in session.scalars(select(Hazard).order_by(Hazard.aware_at)):
                aware = _aware(h.aware_at)
                day = rules_mod.london_day(aware)
                if year is not None and day.year != year:
                    continue
                if (start is not None and day < start) or (end is not None and day > end):
                    continue
                m = months[f"{day.year:04d}-{day.month:02d}"]
                m["reported"] += 1
                m["by_kind"][h.kind] += 1
                if h.status == "dismissed":
                    m["by_kind"]["dismissed"] += 1
                    continue
                for clock in rules_mod.clocks(progress_of(h), calendar).all():
                    if clock.met is True:
                        m["met"][clock.name] += 1
                    elif clock.met is False or (
                        clock.done_at is None and now > clock.due_at and not clock.provisional
                    ):
                        m["missed"][clock.name] += 1
                if h.investigated_at is not None:
                    taken = (_aware(h.investigated_at) - aware).total_seconds() / 3600
                    m["investigate_hours"].append(taken)
        out = []
        for month in sorted(months):
            m = months[month]
            hours = sorted(m["investigate_hours"])
            out.append(
                {
                    "month": month,
                    "reported": m["reported"],
                    "by_kind": dict(sorted(m["by_kind"].items())),
                    "clocks_met": dict(sorted(m["met"].items())),
                    "clocks_missed": dict(sorted(m["missed"].items())),
                    "investigated": len(hours),
                    "median_hours_to_investigate": round(hours[len(hours) // 2], 1)
                    if hours
                    else None,
                }
            )
        return {"year": year, "months": out}

    def recompute(self, session: Session, actor: str, why: str) -> builtins.list[str]:
        return recompute(session, self.app, statutory_calendar(self.app), actor, why)


def recompute(session: Session, app: App, calendar: Calendar, actor: str, why: str) -> list[str]:
    """Open significant hazards' investigate-by dates under ``calendar`` (SPEC section 4: open
    deadlines follow a calendar change); each move audited. The later clocks are computed when
    read, so they follow by themselves."""
    lines: list[str] = []
    rows = session.scalars(
        select(Hazard).where(
            Hazard.severity == "significant",
            Hazard.status.in_(("open", "confirmed")),
            Hazard.investigated_at.is_(None),
        )
    )
    for h in rows:
        c = rules_mod.clocks(progress_of(h), calendar)
        new = c.investigate_by.due_on
        if new is None or new == h.investigate_by:
            continue
        line = (
            f"hazard {h.id} ({h.ref}, {h.title}): investigate by "
            f"{h.investigate_by.isoformat() if h.investigate_by else '-'} -> {new.isoformat()}"
        )
        h.investigate_by = new
        h.investigate_by_at = c.investigate_by.due_at
        audit(
            session,
            actor,
            "hazard.deadlines_recomputed",
            why,
            case_id=h.case_id,
            hazard_id=h.id,
            changes=[line],
        )
        lines.append(line)
    return lines


def recompute_for_calendar(
    session: Session, app: App, new_calendar: Calendar, actor: str, why: str
) -> list[str]:
    """The hook ``worker.calendar_changes`` calls with the landlord's new calendar."""
    return recompute(
        session,
        app,
        rules_mod.statutory_calendar(new_calendar, load_rules(app.settings)),
        actor,
        why or "calendar changed",
    )
