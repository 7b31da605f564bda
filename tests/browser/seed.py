"""Test data for the web console tests (integration and browser): a database with cases in the
states the pages show, made through the real schema, state machine and helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests.support.apps import embedded_app
from worker.adapters.db_models import InboundMessage, Letter, Resident, ReviewItem
from worker.bootstrap import App
from worker.domain import cases as machine
from worker.records import new_case, record_transition, save_state
from worker.web.auth import StaffDirectory, StaffUser, hash_password

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-" + "x" * 40


def directory() -> StaffDirectory:
    hashed = hash_password(PASSWORD)
    return StaffDirectory(
        {
            "hana": StaffUser("hana", "Hana Handler", "handler", hashed),
            "mo": StaffUser("mo", "Mo Manager", "manager", hashed),
            "ops": StaffUser("ops", "Olu Operations", "operations", hashed),
        }
    )


def make_app(tmp: Path, database_url: str | None = None) -> App:
    return embedded_app(tmp, database_url)


@dataclass
class Seeded:
    acknowledged: str  # stage 1, acknowledged, on track
    overdue: str  # stage 1, acknowledged long ago, response overdue
    triage: str  # pending_triage with an open review item (proposed exclusion)
    triage_item: int
    responded: str  # stage 1 responded: can be escalated


def _inbound(session, n: int, subject: str, text: str, html: str = "", received=None):  # type: ignore[no-untyped-def]
    row = InboundMessage(
        source="email",
        mailbox="seed",
        uidvalidity=1,
        uid=n,
        message_id=f"seed-{n}@example.org",
        dedupe_key=f"mid:seed-{n}@example.org",
        raw=f"Subject: {subject}\n\n{text}".encode(),
        status="done",
        from_addr=f"resident{n}@example.org",
        from_name=f"Resident {n}",
        subject=subject,
        text=text,
        html=html,
        received_on=received,
        label="complaint",
    )
    session.add(row)
    session.flush()
    return row


def _resident(session, message):  # type: ignore[no-untyped-def]
    # Made directly: worker.records.resident_for compares a JSON column, which PostgreSQL refuses.
    resident = Resident(email=message.from_addr, name=message.from_name)
    session.add(resident)
    session.flush()
    return resident


def seed(app: App) -> Seeded:
    today = app.clock.today()
    cal = app.calendar
    with app.db.session() as s:
        # 1. acknowledged today, response due in 10 working days: on track
        m1 = _inbound(
            s,
            1,
            "Damp in the bedroom",
            "The damp has come back and nobody has fixed it.",
            html='<p>The damp <b>has come back</b><script>alert("x")</script>'
            '<img src="https://tracker.example/p.gif"></p>',
            received=today,
        )
        r1 = _resident(s, m1)
        c1 = new_case(
            s,
            r1,
            today,
            status="stage1_open",
            origin_inbound_id=m1.id,
            subject=m1.subject,
            understanding="Damp in the bedroom has come back after a repair.",
            outcome_sought="Fix the damp properly",
        )
        m1.case_id = c1.id
        state, ev = machine.open_case(c1.ref, today, cal)
        save_state(s, c1, state)
        record_transition(s, c1, ev)
        state, ev = machine.acknowledge(state, today, cal)
        state.stage1.handler = "Hana Handler"
        save_state(s, c1, state)
        record_transition(s, c1, ev)

        # 2. received 30 days ago, acknowledged then, never answered: overdue
        old = today - timedelta(days=30)
        m2 = _inbound(s, 2, "Broken boiler, no answer", "Still no heating.", received=old)
        r2 = _resident(s, m2)
        c2 = new_case(
            s,
            r2,
            old,
            status="stage1_open",
            origin_inbound_id=m2.id,
            subject=m2.subject,
            understanding="Boiler broken; repair not done.",
            priority=True,
        )
        m2.case_id = c2.id
        state, ev = machine.open_case(c2.ref, old, cal)
        state, ev = machine.acknowledge(state, cal.roll_forward(old), cal)
        state.stage1.handler = "Mo Manager"
        save_state(s, c2, state)
        record_transition(s, c2, ev)

        # 3. waiting in triage: proposed exclusion (legal proceedings)
        m3 = _inbound(
            s,
            3,
            "Court claim about my lease",
            "My solicitor has filed a claim at court about the service charge.",
            received=today,
        )
        m3.label = "excluded"
        m3.reason = "legal_proceedings"
        r3 = _resident(s, m3)
        c3 = new_case(
            s,
            r3,
            today,
            status="pending_triage",
            origin_inbound_id=m3.id,
            subject=m3.subject,
            understanding="Service charge dispute now at court.",
            proposed_label="excluded",
            proposed_reason="legal_proceedings",
        )
        m3.case_id = c3.id
        state, ev = machine.open_case(c3.ref, today, cal, pending_triage=True)
        save_state(s, c3, state)
        record_transition(s, c3, ev)
        item = ReviewItem(
            inbound_id=m3.id,
            case_id=c3.id,
            proposed_label="excluded",
            proposed_reason="legal_proceedings",
            confidence=0.62,
            evidence=["legal_proceedings: 'filed a claim at court'"],
        )
        s.add(item)

        # 4. stage 1 responded: may be escalated
        earlier = today - timedelta(days=14)
        m4 = _inbound(s, 4, "Rude contractor", "The contractor was rude to me.", received=earlier)
        r4 = _resident(s, m4)
        c4 = new_case(
            s,
            r4,
            earlier,
            status="stage1_open",
            origin_inbound_id=m4.id,
            subject=m4.subject,
            understanding="A contractor was rude during a visit.",
        )
        m4.case_id = c4.id
        state, ev = machine.open_case(c4.ref, earlier, cal)
        state, ev = machine.acknowledge(state, cal.roll_forward(earlier), cal)
        state.stage1.handler = "Hana Handler"
        state, ev = machine.respond(state, today, "Hana Handler", "not_upheld")
        save_state(s, c4, state)
        record_transition(s, c4, ev)
        s.add(
            Letter(
                dedupe_key=f"{c4.ref}:stage1_response",
                case_id=c4.id,
                ref=c4.ref,
                kind="stage1_response",
                automatic=False,
                recipient=r4.email,
                subject=f"Your complaint {c4.ref}: our response",
                text="Dear resident ...",
                html="<p>Dear resident ...</p>",
                message_id=f"<seed.{c4.ref}@example.org>",
                status="sent",
            )
        )
        s.flush()
        return Seeded(
            acknowledged=c1.ref,
            overdue=c2.ref,
            triage=c3.ref,
            triage_item=item.id,
            responded=c4.ref,
        )
