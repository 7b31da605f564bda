"""A fresh batch is parsed, triaged and routed in one transaction (worker/pipeline.py,
``_together``). What it leaves in the database must be exactly what the three stages leave when
each runs on its own: the same cases and numbers, deadlines, letters, audit trail, service
requests, triage queue and quarantine, on SQLite and on PostgreSQL. And when anything in the
shared transaction fails, nothing of it stays: the stages then run one at a time and the failing
message is isolated as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, select

from benchmarks._e2e_support import MessageFactory
from tests.support.services import fresh_pg_database
from worker import pipeline
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Base, InboundMessage
from worker.bootstrap import App, bootstrap
from worker.ports import RawInbound
from worker.settings import load_settings
from worker.stages import triage
from worker.stages.receive_mail import store_batch

SAMPLES = Path(__file__).resolve().parents[2] / "worker" / "sample_mailbox"
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def _app(tmp_path: Path, database_url: str) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": database_url,
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_MAX_ATTEMPTS": "3",
        },
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=FixedClock(NOW), replay=True)
    app.db.upgrade()
    return app


def _follow_up(subject: str, in_reply_to: str, body: str) -> bytes:
    """A resident writing again in the same batch, quoting the first message."""
    msg = EmailMessage()
    msg["From"] = "Dana Price <dana.price@example.org>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = "<follow-up.1@example.org>"
    msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return bytes(msg)


def _batch() -> list[RawInbound]:
    """The demo mailbox (complaints, service requests, excluded matters, bounces, spam, an
    unparsable message), generated complaints with attachments, and messages that depend on
    each other inside the batch (the same Message-ID twice, the same resident twice)."""
    raws = [p.read_bytes() for p in sorted((SAMPLES / "cur").iterdir()) if p.is_file()]
    raws += [p.read_bytes() for p in sorted((SAMPLES / "new").iterdir()) if p.is_file()]
    factory = MessageFactory("together", seed=3, to="complaints@thrivehomes.org.uk")
    generated = [factory.message(i).raw for i in range(40)]
    raws += generated
    raws.append(generated[0])  # a redelivery under a new UID: a duplicate, not a second case
    raws.append(
        _follow_up(
            "Re: my complaint",
            "<not-ours@example.org>",
            "I wrote on Monday about the mould in my son's bedroom and nobody has come. "
            "I want to make a formal complaint about how long this is taking.",
        )
    )
    raws.append(b"\x00\x01 not mail at all")
    return [RawInbound("maildir:/together", 1, uid, raw) for uid, raw in enumerate(raws, 1)]


# Made afresh by each run whichever way it goes: a letter's Message-ID (time, process and a
# random number) and the instance id of the worker that claimed it.
_EACH_RUN_ITS_OWN = {("letters", "message_id"), ("letters", "claimed_by")}


def _dump(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, without the columns holding the time a row was
    written (taken from the real clock by the database or at flush) or made afresh each run."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with app.db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                c
                for c in table.columns
                if not isinstance(c.type, DateTime)
                and (table.name, c.name) not in _EACH_RUN_ITS_OWN
            ]
            keys = list(table.primary_key.columns) or columns
            rows = session.execute(select(*columns).order_by(*keys)).all()
            out[table.name] = [tuple(row) for row in rows]
    return out


def _run(
    app: App, batch: list[RawInbound], together: bool, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    stored = store_batch(app, batch)
    ids = [inbound_id for inbound_id, fresh in stored if fresh]
    real = pipeline._together
    outcomes: list[object] = []

    def spy(app_: App, batch_ids: list[int]) -> Any:
        found = real(app_, batch_ids) if together else None
        outcomes.append(found)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_together", spy)
        pipeline.run_stage(app, "parse", ids)
    # The shared transaction was taken (not fallen back from), or avoided, as asked.
    assert outcomes and all((found is not None) == together for found in outcomes)
    return _dump(app)


@pytest.fixture
def sqlite_urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"


@pytest.fixture
def pg_urls() -> Iterator[tuple[str, str]]:
    with fresh_pg_database() as first, fresh_pg_database() as second:
        yield first, second


def _same_as_one_stage_at_a_time(
    tmp_path: Path, urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _batch()  # once: generated messages carry the time they were made
    together = _run(_app(tmp_path / "together", urls[0]), batch, True, monkeypatch)
    alone = _run(_app(tmp_path / "alone", urls[1]), batch, False, monkeypatch)
    assert together.keys() == alone.keys()
    for table in together:
        assert len(together[table]) == len(alone[table]), table
        for mine, theirs in zip(together[table], alone[table], strict=True):
            assert mine == theirs, (
                table,
                [(a, b) for a, b in zip(mine, theirs, strict=True) if a != b],
            )
    # The batch really did all of it: cases, letters sent, a quarantined message.
    assert together["cases"] and together["letters"] and together["quarantine"]


def test_a_batch_together_leaves_what_the_stages_leave_one_at_a_time_on_sqlite(
    tmp_path: Path, sqlite_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_one_stage_at_a_time(tmp_path, sqlite_urls, monkeypatch)


def test_a_batch_together_leaves_what_the_stages_leave_one_at_a_time_on_postgresql(
    tmp_path: Path, pg_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_one_stage_at_a_time(tmp_path, pg_urls, monkeypatch)


def test_a_failure_inside_the_shared_transaction_leaves_nothing_of_it_and_isolates_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    stored = store_batch(app, _batch())
    ids = [inbound_id for inbound_id, fresh in stored if fresh]
    poison = ids[5]
    real_record = triage._record
    calls = {"together": 0}

    def record(session: Any, row: InboundMessage, result: Any, now: Any) -> None:
        if row.id == poison:
            raise RuntimeError("triage broke on this message")
        real_record(session, row, result, now)

    real_together = pipeline._together

    def together(app_: App, batch: list[int]) -> Any:
        calls["together"] += 1
        found = real_together(app_, batch)
        assert found is None  # rolled back: the stages run one at a time next
        with app_.db.session() as session:
            # Nothing of the shared transaction stayed: every message is still only stored.
            statuses = set(
                session.scalars(select(InboundMessage.status).where(InboundMessage.id.in_(batch)))
            )
            assert statuses == {"stored"}
            assert not session.scalars(
                select(AuditEvent).where(AuditEvent.action == "inbound.triaged")
            ).all()
        return found

    monkeypatch.setattr(triage, "_record", record)
    monkeypatch.setattr(pipeline, "_together", together)
    pipeline.run_stage(app, "parse", ids)
    assert calls["together"] == 1
    with app.db.session() as session:
        rows = {r.id: r for r in session.scalars(select(InboundMessage))}
    assert rows[poison].status == "parsed"
    assert "triage broke on this message" in rows[poison].error
    others = [rows[i] for i in ids if i != poison]
    assert all(r.status in ("done", "quarantined", "duplicate") for r in others)
    assert sum(r.status == "done" for r in others) > 40
