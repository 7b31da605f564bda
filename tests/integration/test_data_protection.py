"""Personal data as UK GDPR requires (SPEC section 10), on PostgreSQL: the retention schedule on a
generated six-year history, legal holds, the subject access export, erasure and the access log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, func, inspect, select
from starlette.testclient import TestClient

from tests.browser.seed import PASSWORD, SECRET, directory
from worker import cli
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import (
    AuditEvent,
    Base,
    Case,
    CaseAction,
    Correspondence,
    InboundMessage,
    Letter,
    MessageKey,
    Quarantine,
    Resident,
    ServiceRequest,
)
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain import reporting as rp
from worker.domain.errors import ConfigurationError, UserError
from worker.records import audit, new_case, new_service_request, record_transition, save_state
from worker.reports import Context, load_facts, tsm_json
from worker.service import data_protection as dp
from worker.settings import DEFAULT_LANDLORD_FILE, load_landlord, load_settings

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
# Six years after closure: cases that ended on or before this day have expired on TODAY.
LAST_EXPIRED_END = date(2020, 11, 2)


def _app(url: str, tmp: Path) -> App:
    settings = load_settings(
        {"COMPLAINTS_DATABASE_URL": url, "COMPLAINTS_OUTBOX_DIR": str(tmp / "outbox")}, cwd=tmp
    )
    return bootstrap(settings, clock=FixedClock(NOW))


@pytest.fixture
def app(pg_url: str, tmp_path: Path) -> Iterator[App]:
    app = _app(pg_url, tmp_path)
    yield app
    app.db.dispose()


def _raw(
    sender: str, subject: str, body: str, attachment: tuple[str, bytes] | None = None
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject, body)))}@example.org>"
    msg.set_content(body)
    if attachment:
        msg.add_attachment(attachment[1], maintype="image", subtype="jpeg", filename=attachment[0])
    return msg.as_bytes()


@dataclass
class History:
    expired_cases: set[str] = field(default_factory=set)
    kept_cases: set[str] = field(default_factory=set)
    held: str = ""
    expired_srs: set[str] = field(default_factory=set)
    kept_srs: set[str] = field(default_factory=set)
    expired_mail: set[int] = field(default_factory=set)
    kept_mail: set[int] = field(default_factory=set)
    expired_quarantine: set[int] = field(default_factory=set)
    kept_quarantine: set[int] = field(default_factory=set)
    expired_audit: set[int] = field(default_factory=set)
    kept_audit: set[int] = field(default_factory=set)
    residents_gone: set[str] = field(default_factory=set)
    residents_kept: set[str] = field(default_factory=set)


class Builder:
    def __init__(self, app: App, session: Any) -> None:
        self.app = app
        self.s = session
        self.n = 0

    def message(
        self,
        sender: str,
        subject: str,
        body: str,
        received: date,
        *,
        label: str = "complaint",
        reason: str = "",
        status: str = "done",
        attachment: tuple[str, bytes] | None = None,
        case: Case | None = None,
        sr: ServiceRequest | None = None,
    ) -> InboundMessage:
        self.n += 1
        raw = _raw(sender, subject, body, attachment)
        row = InboundMessage(
            source="email",
            mailbox="INBOX",
            uidvalidity=1,
            uid=self.n,
            message_id=f"m{self.n}-{sender}",
            dedupe_key=f"mid:m{self.n}-{sender}",
            raw=raw,
            size=len(raw),
            stored_at=datetime.combine(received, datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=9),
            received_on=received,
            status=status,
            from_addr=sender,
            from_name=sender.split("@")[0].title(),
            subject=subject,
            text=body,
            label=label,
            reason=reason,
            triage_reasons=[f"words: {body[:30]}"],
            case_id=case.id if case else None,
            service_request_id=sr.id if sr else None,
        )
        self.s.add(row)
        self.s.flush()
        self.s.add(MessageKey(dedupe_key=row.dedupe_key, inbound_id=row.id))
        if case is not None or sr is not None:
            self.s.add(
                Correspondence(
                    case_id=case.id if case else None,
                    service_request_id=sr.id if sr else None,
                    inbound_id=row.id,
                    direction="in",
                    kind="complaint",
                )
            )
        return row

    def letter(
        self, case: Case | None, kind: str, to: str, when: date, text: str, sr=None
    ) -> Letter:  # type: ignore[no-untyped-def]
        self.n += 1
        row = Letter(
            dedupe_key=f"{kind}:{self.n}",
            case_id=case.id if case else None,
            service_request_id=sr.id if sr else None,
            ref=case.ref if case else sr.ref,
            kind=kind,
            recipient=to,
            recipient_name=to.split("@")[0].title(),
            subject=f"Your complaint {case.ref if case else sr.ref}",
            text=text,
            html=f"<p>{text}</p>",
            message_id=f"<letter-{self.n}@thrivehomes.org.uk>",
            status="sent",
            created_at=datetime.combine(when, datetime.min.time(), tzinfo=UTC),
            sent_at=datetime.combine(when, datetime.min.time(), tzinfo=UTC),
        )
        self.s.add(row)
        self.s.flush()
        return row

    def case(
        self,
        email: str,
        name: str,
        received: date,
        *,
        respond_after: int | None = 8,
        close: bool = True,
        escalate: bool = False,
        refuse: bool = False,
        extension: bool = False,
        attachment: tuple[str, bytes] | None = None,
        body: str = "",
    ) -> Case:
        from worker.records import resident_for

        cal = self.app.calendar
        resident = resident_for(self.s, email, name)
        text = body or f"Complaint from {name} about repairs received {received.isoformat()}"
        row = new_case(
            self.s, resident, received, status="stage1_open", understanding=text,
            subject=f"Repairs {received.isoformat()}", outcome_sought="Fix it",
        )  # fmt: skip
        state, event = machine.open_case(row.ref, received, cal, pending_triage=refuse)
        save_state(self.s, row, state)
        record_transition(self.s, row, event)
        message = self.message(email, row.subject, text, received, case=row, attachment=attachment)
        row.origin_inbound_id = message.id
        self.letter(row, "stage1_acknowledgement", email, received, f"Dear {name}, thank you.")
        if refuse:
            state, event = machine.refuse(state, "Carol", received + timedelta(days=1), "court")
            save_state(self.s, row, state)
            record_transition(self.s, row, event)
            row.proposed_reason = "legal_proceedings"
            audit(
                self.s, "Carol", "triage.refuse", f"{name} has a claim in court",
                case_id=row.id, exclusion="legal_proceedings",
            )  # fmt: skip
            return row
        state, _ = machine.acknowledge(state, received, cal)
        if extension:
            state, _ = machine.extend(
                state, 15, "waiting for a surveyor", "Alice", received + timedelta(days=2), cal,
                good_reason=f"{name} asked for a second visit", approved_by="Morgan",
            )  # fmt: skip
        if respond_after is not None:
            state, _ = machine.respond(
                state, received + timedelta(days=respond_after), "Alice", "upheld"
            )
            self.s.add(
                CaseAction(
                    case_id=row.id, stage=1, kind="remedy", text=f"£50 to {name}",
                    amount_pence=5000, completed_on=received + timedelta(days=20),
                )
            )  # fmt: skip
            if escalate:
                state, _ = machine.request_escalation(
                    state, received + timedelta(days=12), cal, "system"
                )
                state, _ = machine.acknowledge(state, received + timedelta(days=12), cal)
                state, _ = machine.respond(
                    state, received + timedelta(days=30), "Bob", "not_upheld"
                )
        save_state(self.s, row, state)
        if close and respond_after is not None:
            last = max(s.responded for s in state_records(state))
            row.status = "closed"
            row.closed_on = last + timedelta(days=1)
        return row


def state_records(state: machine.CaseState) -> list[machine.StageRecord]:
    return [r for r in (state.stage1, state.stage2) if r is not None and r.responded]


def _ended(case: Case) -> date:
    return case.closed_on or max(s.responded or s.received for s in case.stages)


def build_history(app: App) -> History:
    """Cases received every few months from 2019 to 2026, each closed after its response; some
    escalated, refused, extended or still open; a held case; service requests; spam,
    auto-replies and quarantined mail; audit entries of every age."""
    h = History()
    with app.db.session() as s:
        b = Builder(app, s)
        n = 0
        day = date(2019, 1, 7)
        while day < date(2026, 10, 1):
            n += 1
            email = f"resident{n}@example.org"
            case = b.case(
                email,
                f"Resident Number{n}",
                day,
                escalate=n % 4 == 0,
                refuse=n % 7 == 0,
                extension=n % 5 == 0,
                respond_after=None if n % 9 == 0 else 8,
            )
            s.flush()
            if case.status in dp._TERMINAL and _ended(case) <= LAST_EXPIRED_END:
                h.expired_cases.add(case.ref)
                h.residents_gone.add(email)
            else:
                h.kept_cases.add(case.ref)
                h.residents_kept.add(email)
            day += timedelta(days=41)
        # A case closed in 2019 but on legal hold, and a resident with an expired case and a
        # kept one (their record stays).
        held = b.case("held@example.org", "Hilda Held", date(2019, 3, 4))
        h.held = held.ref
        h.residents_kept.add("held@example.org")
        old = b.case("twice@example.org", "Tom Twice", date(2019, 5, 6))
        new = b.case("twice@example.org", "Tom Twice", date(2025, 5, 6))
        h.expired_cases.add(old.ref)
        h.kept_cases.update({held.ref, new.ref})
        h.residents_kept.add("twice@example.org")
        s.flush()
        from worker.records import resident_for

        for received, keep in ((date(2019, 6, 3), False), (date(2024, 6, 3), True)):
            resident = resident_for(s, f"sr{received.year}@example.org", "Sam Request")
            sr = new_service_request(
                s, resident, received, subject="Leaking tap", summary="Tap leaks",
                due_by=received + timedelta(days=20),
            )  # fmt: skip
            b.message(resident.email, "Leaking tap", "My tap leaks", received, sr=sr,
                      label="service_request")  # fmt: skip
            b.letter(None, "service_request_acknowledgement", resident.email, received,
                     "Dear Sam, logged.", sr=sr)  # fmt: skip
            (h.kept_srs if keep else h.expired_srs).add(sr.ref)
            (h.residents_kept if keep else h.residents_gone).add(resident.email)
        # Spam (30 days) and auto-replies (3 months), either side of their limit.
        for received, keep in ((date(2026, 10, 1), False), (date(2026, 10, 20), True)):
            m = b.message("spammer@spam.example", "Win", "Cheap pills", received,
                          label="not_resident_mail", reason="spam")  # fmt: skip
            (h.kept_mail if keep else h.expired_mail).add(m.id)
        for received, keep in ((date(2026, 7, 1), False), (date(2026, 9, 1), True)):
            m = b.message("noreply@portal.example", "Out of office", "Away", received,
                          label="not_resident_mail", reason="auto_reply")  # fmt: skip
            (h.kept_mail if keep else h.expired_mail).add(m.id)
        # Mail still on its way through the pipeline is never touched, however old.
        stuck = b.message("slow@example.org", "Stuck", "Waiting", date(2019, 1, 1), status="parsed")
        h.kept_mail.add(stuck.id)
        # Quarantine: one unreadable message over a year old, one recent.
        for created, keep in ((datetime(2025, 9, 1, tzinfo=UTC), False),
                              (datetime(2026, 9, 1, tzinfo=UTC), True)):  # fmt: skip
            m = b.message("broken@example.org", "??", "", created.date(), status="quarantined")
            q = Quarantine(inbound_id=m.id, kind="unparsable", reason="bad MIME",
                           raw=b"broken", created_at=created)  # fmt: skip
            s.add(q)
            s.flush()
            (h.kept_quarantine if keep else h.expired_quarantine).add(q.id)
            (h.kept_mail if keep else h.expired_mail).add(m.id)
        # Audit entries not tied to a case: kept six years.
        for at, keep in ((datetime(2020, 1, 5, tzinfo=UTC), False),
                         (datetime(2021, 1, 5, tzinfo=UTC), True)):  # fmt: skip
            event = AuditEvent(actor="Sam", action="staff.login", at=at, why="", details={})
            s.add(event)
            s.flush()
            (h.kept_audit if keep else h.expired_audit).add(event.id)
    from worker.service.data_protection import place_hold

    place_hold(app, h.held, reason="Claim at county court", by="Morgan")
    return h


def figures(app: App) -> dict[str, Any]:
    """CH01, CH02 and the annual report's counts for every reporting year of the history."""
    with app.db.session() as s:
        facts = load_facts(s)
    out = {}
    for start in range(2018, 2027):
        year = rp.ReportingYear(start)
        ctx = Context(year, 4000, TODAY, app.calendar, "Thrive Homes")
        out[year.label] = {
            "tsm": tsm_json(facts, ctx),
            "outcomes": [rp.outcomes(facts.stages, year, stage) for stage in (1, 2)],
            "volumes": [asdict(v) for v in rp.volumes_by_month(facts.stages, year)],
            "refused": rp.refused_types(facts.refusals, year),
            "remedies": rp.remedies_total_pence(facts.remedies, year),
            "categories": sorted(
                (s.case_ref, s.category, s.label) for s in facts.stages if year.contains(s.received)
            ),
            "inbound": sorted(
                (d.isoformat(), label) for d, label in facts.inbound if year.contains(d)
            ),
        }
    return out


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_env(app: App, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", pg_url)
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("COMPLAINTS_LANDLORD", raising=False)
    # The command line reads the system clock: the history is placed relative to NOW, which is
    # close enough to today for these tests only if today is NOW; pin it instead.
    monkeypatch.setattr("worker.bootstrap.SystemClock", lambda: FixedClock(NOW))
    return app


# -- retention --------------------------------------------------------------------------------


def test_dry_run_reports_and_apply_removes_exactly_the_expired_records(
    cli_env: App, capsys: pytest.CaptureFixture[str]
) -> None:
    app = cli_env
    h = build_history(app)
    assert len(h.expired_cases) >= 10 and len(h.kept_cases) >= 30
    before = figures(app)

    code, out, err = run_cli(["retention", "apply", "--dry-run"], capsys)
    assert code == 0, err
    dry = json.loads(out)
    assert dry["dry_run"] is True
    assert set(dry["records"]["closed_cases"]) == h.expired_cases
    assert set(dry["records"]["service_requests"]) == h.expired_srs
    assert dry["kept_on_legal_hold"] == [h.held]
    assert dry["expired"]["audit_log"] == len(h.expired_audit)
    # A dry run changes nothing.
    with app.db.session() as s:
        assert s.scalar(select(func.count()).where(Case.anonymised_on.is_not(None))) == 0

    code, out, err = run_cli(["retention", "apply", "--by", "DPO"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["expired"] == dry["expired"]
    with app.db.session() as s:
        cases = {c.ref: c for c in s.scalars(select(Case))}
        for ref in h.expired_cases:
            c = cases[ref]
            assert c.anonymised_on == TODAY and c.understanding == "" and c.subject == ""
            assert c.resident.email == dp.PLACEHOLDER_EMAIL
            for m in s.scalars(select(InboundMessage).where(InboundMessage.case_id == c.id)):
                assert m.raw == b"" and m.text == "" and m.from_addr == "" and m.anonymised_on
            for letter in s.scalars(select(Letter).where(Letter.case_id == c.id)):
                assert letter.text == "" and letter.recipient == ""
        for ref in h.kept_cases:
            c = cases[ref]
            assert c.anonymised_on is None and c.understanding, ref
            assert c.resident.email != dp.PLACEHOLDER_EMAIL
            for m in s.scalars(select(InboundMessage).where(InboundMessage.case_id == c.id)):
                assert m.raw and m.text
        srs = {r.ref: r for r in s.scalars(select(ServiceRequest))}
        assert all(srs[r].anonymised_on == TODAY for r in h.expired_srs)
        assert all(srs[r].anonymised_on is None and srs[r].subject for r in h.kept_srs)
        messages = {m.id: m for m in s.scalars(select(InboundMessage))}
        assert all(
            messages[i].anonymised_on == TODAY and messages[i].raw == b"" for i in h.expired_mail
        )
        assert all(messages[i].anonymised_on is None and messages[i].raw for i in h.kept_mail)
        quarantine = set(s.scalars(select(Quarantine.id)))
        assert quarantine == h.kept_quarantine
        audit_ids = set(s.scalars(select(AuditEvent.id)))
        assert not (audit_ids & h.expired_audit) and h.kept_audit <= audit_ids
        emails = set(s.scalars(select(Resident.email)))
        assert h.residents_kept <= emails
        assert not (h.residents_gone & emails)
        run = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.applied")).one()
        assert run.actor == "DPO" and run.details["expired"] == result["expired"]

    # Past years' CH01/CH02 and the annual report's counts are unchanged.
    assert figures(app) == before

    # A second run finds nothing more to do.
    code, out, _ = run_cli(["retention", "apply"], capsys)
    assert code == 0 and not any(json.loads(out)["expired"].values())


def test_a_legal_hold_keeps_a_case_until_it_is_released(app: App) -> None:
    h = build_history(app)
    dp.apply_retention(app)
    with app.db.session() as s:
        held = s.scalars(select(Case).where(Case.ref == h.held)).one()
        assert held.anonymised_on is None and held.resident.email == "held@example.org"
    with pytest.raises(UserError, match="already on legal hold"):
        dp.place_hold(app, h.held, reason="again", by="Morgan")
    dp.release_hold(app, h.held, reason="claim settled", by="Morgan")
    result = dp.apply_retention(app)
    assert result["records"]["closed_cases"] == [h.held]
    with app.db.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert "case.legal_hold_placed" in actions and "case.legal_hold_released" in actions


def test_the_daily_run_happens_once_a_day(app: App) -> None:
    build_history(app)
    first = dp.daily_retention(app)
    assert first is not None and first["expired"]["closed_cases"] > 0
    assert dp.daily_retention(app) is None  # the same day: nothing runs
    app.clock = FixedClock(NOW + timedelta(days=1, minutes=1))
    again = dp.daily_retention(app)
    assert again is not None and not any(again["expired"].values())


def test_a_bad_retention_schedule_is_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "landlord.toml"
    text = DEFAULT_LANDLORD_FILE.read_text(encoding="utf-8")
    profile.write_text(text.replace('spam = "30 days"', 'spam = "a month"'), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_landlord(profile)
    assert str(caught.value).startswith("landlord profile: retention.spam must look like")
    assert "\n" not in str(caught.value)


# -- subject access export --------------------------------------------------------------------

PHOTO = b"\xff\xd8\xff\xe0 a photo of the mould " + bytes(range(256))


def _two_residents(app: App) -> tuple[list[str], list[str]]:
    with app.db.session() as s:
        b = Builder(app, s)
        one = b.case("amara@example.org", "Amara Jones", date(2026, 6, 1),
                     attachment=("mould.jpg", PHOTO), body="Mould in the nursery wall")  # fmt: skip
        two = b.case("amara@example.org", "Amara Jones", date(2026, 9, 1), respond_after=None,
                     body="Broken boiler since August")  # fmt: skip
        other = b.case("zed@example.net", "Zedekiah Other", date(2026, 9, 2),
                       body="Noisy neighbour Zedekiah complaint")  # fmt: skip
        b.message("amara@example.org", "Thanks", "More photos to follow", date(2026, 9, 3),
                  case=two)  # fmt: skip
        return [one.ref, two.ref], [other.ref]


def test_export_holds_every_record_of_the_resident_and_nothing_of_anyone_else(
    cli_env: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = cli_env
    mine, theirs = _two_residents(app)
    from worker.residents import ResidentService

    ResidentService(app).record_adjustments(
        "amara@example.org", adjustments="Large print letters; calls after 2pm",
        disclosed_disability="Partial sight", large_print=True, review_on=date(2027, 5, 1),
        by="Sam",
    )  # fmt: skip
    ResidentService(app).set_representative(
        "amara@example.org",
        name="Rita Rep",
        rep_email="rita@advice.example",
        consent=True,
        by="Sam",
    )
    ResidentService(app).record_adjustments(
        "zed@example.net", adjustments="Zed needs phone calls", review_on=date(2027, 5, 1), by="Sam"
    )
    code, out, err = run_cli(
        ["resident", "export", "amara@example.org", "--out", str(tmp_path / "sar")], capsys
    )
    assert code == 0, err
    result = json.loads(out)
    folder = Path(result["folder"])
    data = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    page = (folder / "export.html").read_text(encoding="utf-8")
    everything = json.dumps(data) + page

    with app.db.session() as s:
        me = s.scalars(select(Resident).where(Resident.email == "amara@example.org")).one()
        my_cases = list(s.scalars(select(Case).where(Case.resident_id == me.id)))
        assert (
            sorted(c["ref"] for c in data["cases"])
            == sorted(mine)
            == sorted(c.ref for c in my_cases)
        )
        ids = [c.id for c in my_cases]
        my_messages = set(
            s.scalars(select(InboundMessage.id).where(InboundMessage.case_id.in_(ids)))
        )
        exported = {m["id"] for c in data["cases"] for m in c["messages"]}
        assert exported == my_messages and len(exported) == 3
        my_letters = list(s.scalars(select(Letter).where(Letter.case_id.in_(ids))))
        assert sum(len(c["letters"]) for c in data["cases"]) == len(my_letters) == 2
        for letter in my_letters:
            assert letter.text in everything
        my_events = set(s.scalars(select(AuditEvent.id).where(AuditEvent.case_id.in_(ids))))
        assert len(data["audit_entries"]) >= len(my_events) + 2  # + adjustments, representative
        others = list(s.scalars(select(Resident).where(Resident.email == "zed@example.net")))
        their_messages = list(
            s.scalars(
                select(InboundMessage)
                .join(Case, Case.id == InboundMessage.case_id)
                .where(Case.ref.in_(theirs))
            )  # fmt: skip
        )
    assert data["resident"]["adjustments"] == "Large print letters; calls after 2pm"
    assert data["resident"]["disclosed_disability"] == "Partial sight"
    assert data["resident"]["representative"]["email"] == "rita@advice.example"
    stages = [st for c in data["cases"] for st in c["stages"]]
    assert {st["stage"] for st in stages} == {1}
    assert all(c["triage_decisions"] == [] or c["triage_decisions"] for c in data["cases"])
    assert all(m["triage"]["label"] == "complaint" for c in data["cases"] for m in c["messages"])
    # The attachment, byte for byte.
    attachments = [a for c in data["cases"] for m in c["messages"] for a in m["attachments"]]
    assert [a["file_name"] for a in attachments] == ["mould.jpg"]
    assert (folder / attachments[0]["saved_as"]).read_bytes() == PHOTO
    assert "Partial sight" in page and "mould.jpg" in page and 'lang="en-GB"' in page
    # Nothing about anyone else.
    for other in others:
        assert other.email not in everything and other.name not in everything
        assert other.adjustments not in everything
    for message in their_messages:
        assert message.text not in everything
    assert not any(ref in everything for ref in theirs)
    with app.db.session() as s:
        entry = s.scalars(select(AuditEvent).where(AuditEvent.action == "resident.exported")).one()
        assert entry.resident_id is not None and entry.actor.endswith("(command line)")


# -- erasure ------------------------------------------------------------------------------------


def _text_columns() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        cols = [
            c.name for c in table.columns if isinstance(c.type, (String, Text, JSON, LargeBinary))
        ]
        if cols:
            found[table.name] = cols
    return found


def _scan(app: App, needles: list[str]) -> list[str]:
    """Every (table, column, row) whose text holds one of ``needles``, case-insensitively, in
    every table of the database (read from the database itself, not only our models)."""
    hits = []
    with app.db.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        for table in names:
            columns = [
                c["name"] for c in inspect(conn).get_columns(table)
                if str(c["type"]).split("(")[0] in ("VARCHAR", "TEXT", "JSON", "BYTEA", "JSONB")
            ]  # fmt: skip
            for column in columns:
                rows = conn.exec_driver_sql(f'SELECT "{column}" FROM "{table}"').all()
                for (value,) in rows:
                    if value is None:
                        continue
                    text = (
                        bytes(value).decode("utf-8", "replace")
                        if isinstance(value, (bytes, memoryview))
                        else json.dumps(value)
                        if not isinstance(value, str)
                        else value
                    )
                    for needle in needles:
                        if needle.lower() in text.lower():
                            hits.append(f"{table}.{column}: {needle}")
    return hits


def test_erase_refuses_an_open_case_then_leaves_no_personal_field(
    cli_env: App, capsys: pytest.CaptureFixture[str]
) -> None:
    app = cli_env
    mine, theirs = _two_residents(app)
    from worker.residents import ResidentService

    residents = ResidentService(app)
    residents.record_adjustments(
        "amara@example.org", adjustments="Wheelchair access needed",
        disclosed_disability="Uses a wheelchair", review_on=date(2027, 5, 1), by="Sam",
    )  # fmt: skip
    residents.set_representative(
        "amara@example.org", name="Rita Representative", rep_email="rita@advice.example",
        consent=True, by="Sam",
    )  # fmt: skip
    residents.add_other_email("amara@example.org", "amara.j@work.example", by="Sam")
    residents.record_restriction(
        "amara@example.org", description="Contact by email only", reasons="Many calls a day",
        review_on=date(2027, 1, 1), by="Morgan Manager",
    )  # fmt: skip
    before = figures(app)

    code, _, err = run_cli(
        ["resident", "erase", "amara@example.org", "--reason", "Article 17 request", "--by", "DPO"],
        capsys,
    )
    assert code == 2
    assert err.count("\n") == 1 and mine[1] in err and "still open" in err

    with app.db.session() as s:
        case = s.scalars(select(Case).where(Case.ref == mine[1])).one()
        case.status = "closed"
        case.closed_on = TODAY
    dp.place_hold(app, mine[0], reason="Ombudsman investigation", by="Morgan")
    code, _, err = run_cli(
        ["resident", "erase", "amara@example.org", "--reason", "Article 17", "--by", "DPO"], capsys
    )
    assert code == 2 and "legal hold" in err and err.count("\n") == 1
    dp.release_hold(app, mine[0], reason="closed by the Ombudsman", by="Morgan")

    code, out, err = run_cli(
        ["resident", "erase", "amara@example.org", "--reason",
         "Request from Amara Jones by letter", "--by", "DPO"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["cases_anonymised"] == 2

    needles = [
        "amara@example.org", "amara.j@work.example", "Amara Jones", "Amara", "rita@advice.example",
        "Rita Representative", "Wheelchair access", "Uses a wheelchair", "Mould in the nursery",
        "Broken boiler since", "More photos to follow", "Many calls a day", "Contact by email only",
        "mould.jpg", "a photo of the mould",
    ]  # fmt: skip
    assert _scan(app, needles) == []
    # The other resident is untouched, and the statistics are the same.
    assert _scan(app, ["zed@example.net", "Noisy neighbour Zedekiah"])
    after = figures(app)
    assert after == before
    with app.db.session() as s:
        erased = s.scalars(select(AuditEvent).where(AuditEvent.action == "resident.erased")).one()
        assert erased.actor == "DPO" and erased.why == "Request from [the resident] by letter"
    code, _, err = run_cli(["resident", "export", "amara@example.org", "--out", "x"], capsys)
    assert code == 2 and "no resident" in err


# -- access log ---------------------------------------------------------------------------------


def test_viewing_a_case_in_the_console_writes_an_access_entry(
    app: App, capsys: pytest.CaptureFixture[str], cli_env: App
) -> None:
    from worker.web.app import create_app

    mine, _ = _two_residents(app)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={"username": "hana", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        page = client.get(f"/cases/{mine[0]}")
        assert page.status_code == 200
        assert "Export everything held" not in page.text  # handlers see no export button
        assert client.get(f"/cases/{mine[0]}/export").status_code == 403
        with app.db.session() as s:
            entry = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "access.case_viewed")
            ).one()
            case = s.scalars(select(Case).where(Case.ref == mine[0])).one()
            assert entry.actor == "Hana Handler" and entry.case_id == case.id
            assert entry.resident_id == case.resident_id

        client.post("/logout", data={"csrf_token": token.group(1)})
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login", data={"username": "mo", "password": PASSWORD, "csrf_token": token.group(1)}
        )
        page = client.get(f"/cases/{mine[0]}")
        assert "Export everything held" in page.text and "Hana Handler" in page.text
        download = client.get(f"/cases/{mine[0]}/export")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert "attachment" in download.headers["content-disposition"]

    code, out, err = run_cli(["audit", "access", mine[0]], capsys)
    assert code == 0, err
    accesses = json.loads(out)["accesses"]
    assert [(a["by"], a["action"]) for a in accesses] == [
        ("Mo Manager", "resident.exported"),
        ("Mo Manager", "access.case_viewed"),
        ("Hana Handler", "access.case_viewed"),
    ]
    code, out, err = run_cli(["audit", "access", "amara@example.org"], capsys)
    assert code == 0, err
    by_resident = [(a["by"], a["action"]) for a in json.loads(out)["accesses"]]
    assert ("Mo Manager", "resident.exported") in by_resident
    assert ("Hana Handler", "access.case_viewed") in by_resident
