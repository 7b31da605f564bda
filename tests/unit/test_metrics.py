"""Queue health numbers computed from the database (worker/metrics.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from tests.browser.seed import make_app, seed
from worker.adapters.db_models import AuditEvent, InboundMessage, Letter, PollState, Quarantine
from worker.metrics import collect, registry_for


def test_collect_counts_what_the_database_holds(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    seeded = seed(app)
    now = datetime.now(UTC)
    with app.db.session() as s:
        for n, (label, reason) in enumerate(
            [("not_resident_mail", "bounce"), ("not_resident_mail", "auto_reply")], start=10
        ):
            s.add(
                InboundMessage(
                    source="email",
                    mailbox="m",
                    uidvalidity=1,
                    uid=n,
                    dedupe_key=f"k{n}",
                    raw=b"x",
                    status="done",
                    label=label,
                    reason=reason,
                )
            )
        s.add(
            InboundMessage(
                source="email",
                mailbox="m",
                uidvalidity=1,
                uid=99,
                dedupe_key="k99",
                raw=b"x",
                status="stored",
                stored_at=now - timedelta(minutes=10),
            )
        )
        s.add(Quarantine(kind="unparsable", reason="bad MIME", raw=b"x"))
        s.add(Quarantine(kind="spam", reason="spam", raw=b"x", resolved_at=now))
        s.add(AuditEvent(actor="system", action="letter.refused", why="missing remedy"))
        s.add(PollState(mailbox="imap://u@h/INBOX", last_poll_at=now - timedelta(seconds=90)))
        s.add(PollState(mailbox="webform", last_poll_at=now - timedelta(days=3)))
        s.add(
            Letter(
                dedupe_key="x1",
                ref="CMP-X",
                kind="receipt",
                recipient="a@example.org",
                subject="s",
                text="t",
                html="h",
                message_id="<m1@x>",
                status="suppressed",
            )
        )
    data = collect(app)
    assert data["inbound_queue"]["stored"]["count"] == 1
    assert data["inbound_queue"]["stored"]["oldest_age_seconds"] >= 590
    assert data["triage_labels"] == {"complaint": 3, "excluded": 1, "not_resident_mail": 2}
    assert data["triage_queue_open"] == 1
    assert data["dead_letters"] == {"unparsable": 1}
    assert data["loop_breaker"] == {
        "not_resident_mail": {"auto_reply": 1, "bounce": 1},
        "letters_suppressed": 1,
    }
    assert data["letters_refused"] == 1
    assert list(data["polls"]) == ["imap://u@h/INBOX"]  # the web form is not polled
    assert 85 <= data["polls"]["imap://u@h/INBOX"]["lag_seconds"] < 200
    # seeded: one overdue, two on track (acknowledged, triage), one responded (nothing due)
    assert data["deadlines"] == {"on_track": 2, "due_soon": 0, "overdue": 1}
    ack = data["acknowledgement"]
    assert ack["unacknowledged_cases"] == 1
    assert ack["oldest"]["ref"] == seeded.triage
    assert ack["budget_working_days"] == 5
    assert data["redis_queues"] is None


def test_metrics_text_agrees_with_collect(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    seed(app)
    text = generate_latest(registry_for(app)).decode()
    assert 'complaints_deadlines{risk="overdue"} 1.0' in text
    assert 'complaints_triaged_messages_total{label="complaint"} 3.0' in text
    assert "complaints_acknowledgement_budget_working_days 5.0" in text
    assert "complaints_database_up 1.0" in text


def test_unreadable_database_is_reported_not_raised(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.db.engine.dispose()
    (tmp_path / "complaints.db").unlink()
    (tmp_path / "complaints.db").mkdir()  # a directory where the database file was
    text = generate_latest(registry_for(app)).decode()
    assert "complaints_database_up 0.0" in text
