"""`complaints report` against a real SQLite database built through the models and the state
machine: CH01/CH02 figures as JSON, and the annual and MRC reports as HTML and Markdown."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from worker import cli
from worker.adapters.db_models import Case, CaseAction
from worker.bootstrap import bootstrap
from worker.domain import cases as machine
from worker.records import audit, new_case, record_transition, resident_for, save_state
from worker.settings import DEFAULT_LANDLORD_FILE, load_settings

D = date


def _build_database(tmp: Path) -> None:
    """Six cases in June 2026 (reporting year 2026-27) and one from the year before.

    A: stage 1 on time, upheld, £150 remedy.       B: stage 1 late, not upheld.
    C: stage 1 extended in time and answered within the extension, partly upheld; escalated,
       stage 2 on time, upheld.                    D: waiting in triage (not a complaint yet).
    E: refused by staff as legal proceedings.      F: stage 1 received in March 2026 (last year).
    """
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp}/c.db",
            "COMPLAINTS_OUTBOX_DIR": str(tmp / "outbox"),
        },
        cwd=tmp,
    )
    app = bootstrap(settings)
    cal = app.calendar
    try:
        with app.db.session() as session:

            def case(
                email: str, received: date, understanding: str, pending: bool = False
            ) -> tuple[Case, machine.CaseState]:
                row = new_case(
                    session,
                    resident_for(session, email),
                    received,
                    status="stage1_open",
                    understanding=understanding,
                )
                state, event = machine.open_case(row.ref, received, cal, pending_triage=pending)
                save_state(session, row, state)
                record_transition(session, row, event)
                return row, state

            a, s = case("a@example.org", D(2026, 6, 1), "The boiler has been broken for weeks")
            s, _ = machine.acknowledge(s, D(2026, 6, 1), cal)
            assert s.stage1.respond_by == D(2026, 6, 15)
            s, _ = machine.respond(s, D(2026, 6, 12), "Alice", "upheld")
            save_state(session, a, s)
            session.add(
                CaseAction(
                    case_id=a.id, stage=1, kind="remedy", text="Compensation", amount_pence=15000
                )
            )

            b, s = case("b@example.org", D(2026, 6, 1), "Mould in the bathroom")
            s, _ = machine.acknowledge(s, D(2026, 6, 2), cal)
            assert s.stage1.respond_by == D(2026, 6, 16)
            s, _ = machine.respond(s, D(2026, 6, 18), "Alice", "not_upheld")
            save_state(session, b, s)

            c, s = case("c@example.org", D(2026, 6, 1), "The repair to my window was missed")
            s, _ = machine.acknowledge(s, D(2026, 6, 1), cal)
            s, _ = machine.extend(s, 5, "waiting for a surveyor", "Alice", D(2026, 6, 10), cal)
            assert s.stage1.respond_by == D(2026, 6, 22)
            s, _ = machine.respond(s, D(2026, 6, 19), "Alice", "partly_upheld")
            s, _ = machine.request_escalation(s, D(2026, 6, 22), cal, "system")
            s, _ = machine.acknowledge(s, D(2026, 6, 22), cal)
            assert s.stage2 is not None and s.stage2.respond_by == D(2026, 7, 20)
            s, _ = machine.respond(s, D(2026, 7, 10), "Bob", "upheld")
            save_state(session, c, s)

            case("d@example.org", D(2026, 6, 3), "Unsure what this is", pending=True)

            e, s = case("e@example.org", D(2026, 6, 4), "My court claim", pending=True)
            e.proposed_reason = "legal_proceedings"
            s, event = machine.refuse(s, "Carol", D(2026, 6, 5), "a claim is filed at court")
            save_state(session, e, s)
            record_transition(session, e, event)
            audit(session, "Carol", "triage.refuse", "court", case_id=e.id, exclusion="")

            f, s = case("f@example.org", D(2026, 3, 10), "Old rent complaint")
            s, _ = machine.acknowledge(s, D(2026, 3, 10), cal)
            save_state(session, f, s)
    finally:
        app.db.dispose()


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp_path}/c.db")
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("COMPLAINTS_LANDLORD", raising=False)
    _build_database(tmp_path)
    return tmp_path


def test_tsm_report_gives_ch01_and_ch02(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "tsm", "--year", "2026"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["year"] == "2026-27"
    assert data["homes"] == 4000
    # A, B, C at stage 1 (D waits in triage, E was refused, F was last year); C at stage 2.
    assert data["CH01"] == {
        "stage1_per_1000": 0.75,
        "stage2_per_1000": 0.25,
        "stage1_count": 3,
        "stage2_count": 1,
    }
    ch02 = data["CH02"]
    # A on time, B late, C on time within a proper extension.
    assert ch02["stage1_within_timescale"] == 0.6667
    assert (ch02["stage1_responded"], ch02["stage1_within_count"]) == (3, 2)
    assert ch02["stage2_within_timescale"] == 1.0
    assert (ch02["stage2_responded"], ch02["stage2_within_count"]) == (1, 1)


def test_tsm_report_for_the_year_before(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "tsm", "--year", "2025"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["year"] == "2025-26"
    assert data["CH01"]["stage1_count"] == 1
    assert data["CH02"]["stage1_within_timescale"] is None


def test_no_homes_gives_null_ch01_with_a_note(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = database / "landlord.toml"
    text = DEFAULT_LANDLORD_FILE.read_text(encoding="utf-8")
    profile.write_text(re.sub(r"(?m)^homes_owned = \d+", "homes_owned = 0", text), "utf-8")
    monkeypatch.setenv("COMPLAINTS_LANDLORD", str(profile))
    assert cli.main(["report", "tsm", "--year", "2026"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["homes"] == 0
    assert data["CH01"]["stage1_per_1000"] is None
    assert data["CH01"]["stage2_per_1000"] is None
    assert data["CH01"]["stage1_count"] == 3
    assert "homes_owned" in data["CH01"]["note"]


def test_annual_report_as_html_has_every_section(database: Path) -> None:
    out = database / "annual.html"
    assert cli.main(["report", "annual", "--year", "2026", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in page
    assert "annual complaints performance and service improvement report 2026-27" in page
    for heading in (
        "Key figures",
        "How many complaints we received",
        "What complaints were about",
        "Outcomes",
        "Timeliness",
        "Types of complaint we refused to accept",
        "Learning and service improvements",
    ):
        assert f">{heading}</h2>" in page, heading
    assert "<caption>" in page
    assert page.count("<svg") >= 3
    assert page.count('role="img"') == page.count("<svg")
    assert page.count("<title id=") == page.count("<svg")
    assert "Legal proceedings already started" in page
    assert "£150.00" in page
    assert "66.7%" in page  # CH02 stage 1
    # the learning section lists the upheld and partly upheld complaints' definitions
    assert "The boiler has been broken for weeks" in page
    assert "The repair to my window was missed" in page
    assert "Mould in the bathroom" not in page.split("Learning and service improvements")[1]


def test_annual_report_in_markdown_to_stdout(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "annual", "--year", "2026"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# ")
    assert "## Types of complaint we refused to accept" in text
    assert "| Jun 2026 | 3 | 1 | 4 |" in text
    assert "█" in text


def test_mrc_report(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "mrc", "--year", "2026"]) == 0
    text = capsys.readouterr().out
    assert "Member Responsible for Complaints" in text
    assert "Open complaints" in text
    assert "Ombudsman investigations (9.7c)" in text


def test_missing_schema_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    assert cli.main(["report", "tsm"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "complaints db upgrade" in err
