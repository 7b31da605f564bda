"""`complaints report self-assessment`: the Code's Appendix A, drafted from a real SQLite database
built through the pipeline and the staff services; and the small calculations behind it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from worker import cli
from worker.adapters.clock import FixedClock
from worker.bootstrap import App, bootstrap
from worker.domain import reporting as rp
from worker.ports import RawInbound
from worker.residents import ResidentService
from worker.self_assessment import (
    LANDLORD,
    PARTLY,
    YES,
    Event,
    Message,
    StageHandlers,
    complaints_without_the_word,
    extension_summary,
    judge,
    letters_needing,
    load_provisions,
    refusal_deciders,
    stage2_handlers,
)
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import store

D = date

# ---------------------------------------------------------------------------------------------
# The shipped provisions and the pure calculations


def test_every_provision_of_appendix_a_is_shipped_with_its_requirement() -> None:
    provisions = load_provisions()
    numbers = [p.number for p in provisions]
    assert numbers[0] == "1.2" and numbers[-1] == "9.8"
    assert len(numbers) == len(set(numbers)) == 72
    assert {p.section for p in provisions} == {str(n) for n in range(1, 10)}
    by_number = {p.number: p for p in provisions}
    assert by_number["1.3"].requirement.startswith("A resident does not have to use the word")
    assert "professional body." in by_number["9.8"].requirement
    assert "Changing policies, procedures or practices." in by_number["7.1"].requirement
    assert by_number["6.13"].section_heading == "Complaints Stages"
    assert by_number["8.1"].section_heading == "Self-assessment, reporting and compliance"


def test_judge() -> None:
    assert judge(0, 0) is None
    assert judge(3, 0) == YES
    assert judge(3, 1) == PARTLY
    assert judge(0, 2) == "no"


def test_complaints_without_the_word() -> None:
    messages = [
        Message(D(2026, 6, 1), "complaint", "Damp\nThe damp is still there."),
        Message(D(2026, 6, 1), "complaint", "Formal complaint\nAbout repairs."),
        Message(D(2026, 6, 1), "complaint", "I want to complain about the noise."),
        Message(D(2026, 6, 1), "service_request", "Please fix my tap."),
    ]
    assert complaints_without_the_word(messages) == (3, 1)


def test_refusal_deciders_counts_people_and_the_system() -> None:
    events = [
        Event(D(2026, 6, 1), "Sam Patel", "triage.refuse", "court claim filed"),
        Event(D(2026, 6, 1), "Sam Patel", "case.refuse", "court claim filed"),
        Event(D(2026, 6, 2), "system", "triage.refuse", ""),
        Event(D(2026, 6, 2), "Alice", "triage.accept", "fine"),
    ]
    assert refusal_deciders(events) == (1, 1, 1)


def test_extension_summary_within_limit_approved_and_late_notice() -> None:
    base = dict(case_ref="X", received=D(2026, 6, 1), original_respond_by=D(2026, 6, 15))
    stages = [
        rp.StageFacts(stage=1, extension_days=5, extension_notified=D(2026, 6, 10), **base),
        rp.StageFacts(
            stage=1,
            extension_days=15,
            extension_notified=D(2026, 6, 12),
            good_reason="specialist survey",
            approved_by="Manager",
            **base,
        ),
        rp.StageFacts(stage=1, extension_days=12, extension_notified=D(2026, 6, 16), **base),
        rp.StageFacts(stage=2, extension_days=12, extension_notified=D(2026, 6, 10), **base),
    ]
    s1 = extension_summary(stages, 1)
    assert (s1.within_limit, s1.beyond_approved, s1.beyond_unapproved) == (1, 1, 1)
    assert (s1.notified_in_time, s1.notified_late) == (2, 1)
    s2 = extension_summary(stages, 2)
    assert (s2.within_limit, s2.beyond_unapproved) == (1, 0)  # 12 is within stage 2's 20


def test_stage2_handlers() -> None:
    cases = [
        StageHandlers("A", "Alice", "Bob"),
        StageHandlers("B", "Alice", " alice "),
        StageHandlers("C", "Alice", ""),
    ]
    assert stage2_handlers(cases) == (1, 1, 1)


def test_letters_needing_the_ombudsman() -> None:
    kinds = letters_needing("ombudsman")
    assert {"refusal", "extension_notice", "stage1_response", "stage2_final_response"} <= set(kinds)
    assert "service_request_acknowledgement" not in kinds


# ---------------------------------------------------------------------------------------------
# A database built through the pipeline and the services

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
_uid = iter(range(1, 10_000))


def _deliver(app: App, subject: str, body: str, sender: str) -> None:
    msg = EmailMessage()
    msg["From"] = f"Resident <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    inbound_id, fresh = store(app, RawInbound("test", 1, next(_uid), bytes(msg)))
    assert fresh
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]


def _refs(app: App) -> dict[str, str]:
    from sqlalchemy import select

    from worker.adapters.db_models import Case, Resident

    with app.db.session() as session:
        rows = session.execute(select(Resident.email, Case.ref, Case.status).join(Case.resident))
        return {email: f"{ref}:{status}" for email, ref, status in rows}


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    env = {
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COMPLAINTS_LANDLORD", raising=False)
    app = bootstrap(load_settings(env, cwd=tmp_path), clock=FixedClock(NOW))
    try:
        # A complaint that never uses the word: acknowledged, asking for what is missing.
        _deliver(
            app,
            "Damp in my bedroom",
            "I am unhappy that the damp in my bedroom has still not been treated. It has been "
            "there since March and the wallpaper is peeling off. Nobody has come back to me.",
            "kim.lowe@example.org",
        )
        # A proposed exclusion, refused by a named person.
        _deliver(
            app,
            "Disrepair claim",
            "Our solicitors issued a claim against you in the County Court on 3 November 2026, "
            "claim number K7QZ1234, about the disrepair in my flat.",
            "lee.park@example.org",
        )
        refs = _refs(app)
        damp = refs["kim.lowe@example.org"].split(":")[0]
        claim, status = refs["lee.park@example.org"].split(":")
        assert status == "pending_triage"
        staff = StaffService(app)
        staff.decide_triage(
            claim,
            decision="refuse",
            reason="The matters in your complaint are now before the County Court.",
            by="Sam Patel",
        )
        staff.extend(damp, days=5, reason="waiting for a damp survey", by="Alice Jones")
        staff.respond(
            damp,
            decision="partly_upheld",
            reasons="The damp treatment was booked late, against our repairs policy.",
            remedy="£50 for the delay",
            remedy_amount=50,
            actions=[("Treat the damp and redecorate", D(2026, 12, 1))],
            by="Alice Jones",
        )
        staff.escalate(damp, by="Sam Patel")
        staff.respond(
            damp,
            decision="upheld",
            reasons="On review the delay was longer than we accepted at stage 1.",
            no_remedy_reason="The stage 1 remedy stands.",
            by="Bob Reid",
        )
        residents = ResidentService(app)
        residents.record_adjustments(
            "kim.lowe@example.org",
            adjustments="Large print letters",
            review_on=D(2027, 5, 1),
            by="Sam Patel",
        )
        residents.record_restriction(
            "lee.park@example.org",
            description="Contact by email only",
            reasons="Repeated abusive phone calls to staff",
            review_on=D(2027, 2, 10),
            by="Sam Patel",
        )
    finally:
        app.db.dispose()
    return tmp_path


def _provision(html: str, number: str) -> str:
    """The HTML of one provision, from its heading to the next."""
    start = html.index(f"<h3>Provision {number}</h3>")
    following = html.find("<h3>Provision ", start + 1)
    section = html.find("<h2>", start + 1)
    ends = [e for e in (following, section) if e != -1]
    return html[start : min(ends) if ends else len(html)]


def _comply(block: str) -> str:
    match = re.search(r'<th scope="row">Comply \(suggested\)</th><td>([^<]*)</td>', block)
    assert match, block
    return match.group(1)


def test_self_assessment_html_from_the_database(database: Path) -> None:
    out = database / "self-assessment.html"
    assert cli.main(["report", "self-assessment", "--year", "2026", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in html
    assert "<caption>Provision 1.2: requirement and suggested answer</caption>" in html
    assert html.count("<h3>Provision ") == 72
    assert "<h2>Section 6: Complaints Stages</h2>" in html

    p13 = _provision(html, "1.3")
    assert "1 of them never use the word" in p13 or "them never use the word" in p13
    assert _comply(p13) == YES

    p21 = _provision(html, "2.1")
    assert "1 decided by a named person, 0 by the system" in p21
    assert _comply(p21) == YES
    assert "1 refusal letter for 1 refusal" in _provision(html, "2.4")

    p37 = _provision(html, "3.7")
    assert "refusal" in p37 and "extension notice" in p37
    assert "Source: the product: required elements" in p37

    p56 = _provision(html, "5.6")
    assert "2 acknowledgements written in the year" in p56
    assert "2 asked the resident" in p56  # neither message said what outcome was wanted

    p62 = _provision(html, "6.2")
    assert "1 acknowledged within 5 working days" in p62
    assert _comply(p62) == YES

    p64 = _provision(html, "6.4")
    assert "1 within 10 working days" in p64 and "1 told to the resident" in p64
    assert _comply(p64) == YES

    p613 = _provision(html, "6.13")
    assert "1 handled by a different person" in p613 and "0 by the same person" in p613
    assert _comply(p613) == YES

    p71 = _provision(html, "7.1")
    assert "£50.00" in p71

    p510 = _provision(html, "5.10")
    assert "1 resident with reasonable adjustments recorded" in p510

    p514 = _provision(html, "5.14")
    assert "1 restriction recorded (1 in force): 0 set by the system" in p514
    assert _comply(p514) == YES

    assert "complaints report annual --year 2026" in _provision(html, "8.1")
    p94 = _provision(html, "9.4")
    assert _comply(p94) == LANDLORD
    assert "Evidence for the landlord to attach" in p94


def test_self_assessment_markdown_to_stdout(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "self-assessment", "--year", "2026"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# ")
    assert "## Section 1: Definition of a complaint" in text
    assert "### Provision 9.8" in text
    assert "| Comply (suggested) | yes |" in text


def test_self_assessment_for_an_empty_year_leaves_judgements_to_the_landlord(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "self-assessment", "--year", "2024"]) == 0
    text = capsys.readouterr().out
    block = text[text.index("### Provision 6.2") : text.index("### Provision 6.3")]
    assert f"| Comply (suggested) | {LANDLORD} |" in block
