"""How the send stage records a batch sent in groups: each group's results go to the database in
the same transaction as the next group's "transmitting" mark (one transaction a group, not
two), the last group's at the end, and what the server has answered is recorded even when the
batch stops part-way."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select

from tests.support.apps import embedded_app
from tests.support.letters import queue_acknowledgements
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Letter
from worker.bootstrap import App
from worker.domain.errors import PermanentError
from worker.ports import SendResult
from worker.stages import send

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


class _Stopped(Exception):
    """What the sender raises to stop a batch part-way (as a time limit would)."""


class _GroupSender:
    """Sends in groups of ``size`` as the SMTP pool does: before_data for a group, then its
    results, then the next group. Notes the letters' statuses each time before_data returns,
    refuses the recipients named in ``refuse`` and stops before the group ``stop_at``."""

    def __init__(
        self, app: App, size: int, refuse: Sequence[str] = (), stop_at: int | None = None
    ) -> None:
        self.app = app
        self.size = size
        self.refuse = set(refuse)
        self.stop_at = stop_at
        self.seen: list[dict[str, str]] = []

    def send(
        self, message: email.message.EmailMessage, before_data: Callable[[], None] | None = None
    ) -> str:
        raise AssertionError("the stage sends batches to a sender that has send_batch")

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        results: list[SendResult] = []
        for group_no, start in enumerate(range(0, len(messages), self.size)):
            if group_no == self.stop_at:
                raise _Stopped("stopped before this group")
            group = range(start, min(start + self.size, len(messages)))
            refused = [i for i in group if str(messages[i]["To"]) in self.refuse]
            results += [
                SendResult(i, str(messages[i]["Message-ID"]), PermanentError("550 no such user"))
                for i in refused
            ]
            ready = [i for i in group if i not in refused]
            before_data(ready)
            self.seen.append(_statuses(self.app))
            answered = [SendResult(i, str(messages[i]["Message-ID"])) for i in ready]
            results += answered
            if after_data is not None:
                after_data(answered)
        return results


_reading: list[bool] = []


def _statuses(app: App) -> dict[str, str]:
    _reading.append(True)
    try:
        with app.db.session() as session:
            return dict(session.execute(select(Letter.recipient, Letter.status)).all())
    finally:
        _reading.pop()


@pytest.fixture
def app(tmp_path: Path) -> App:
    return embedded_app(tmp_path, clock=FixedClock(NOW))


def _queue(app: App, count: int) -> list[int]:
    return queue_acknowledgements(app, NOW, ["ack"] * count, recipient="r{n}@example.org")


def _commits(app: App) -> list[int]:
    """The stage's commits from now on (those of ``_statuses`` left out)."""
    counted: list[int] = []

    def commit(_conn: object) -> None:
        if not _reading:
            counted.append(1)

    event.listen(app.db.engine, "commit", commit)
    return counted


def test_a_groups_results_are_written_with_the_next_groups_transmitting_mark(app: App) -> None:
    ids = _queue(app, 6)
    sender = _GroupSender(app, size=2)
    app.sender = sender
    commits = _commits(app)
    send.run(app, ids)
    first, second, third = sender.seen
    assert [first[f"r{n}@example.org"] for n in range(1, 7)] == ["transmitting"] * 2 + [
        "sending"
    ] * 4
    # The first group is recorded as sent by the time the second is marked, in that write.
    assert [second[f"r{n}@example.org"] for n in range(1, 7)] == ["sent"] * 2 + [
        "transmitting"
    ] * 2 + ["sending"] * 2
    assert [third[f"r{n}@example.org"] for n in range(1, 7)] == ["sent"] * 4 + ["transmitting"] * 2
    assert set(_statuses(app).values()) == {"sent"}
    # The claim, the read to build the letters, one write a group, and the last group's record.
    assert len(commits) == 1 + 1 + 3 + 1


def test_every_letter_is_recorded_once_with_refusals_among_the_groups(app: App) -> None:
    ids = _queue(app, 5)
    app.sender = _GroupSender(app, size=2, refuse=["r2@example.org", "r5@example.org"])
    send.run(app, ids)
    statuses = _statuses(app)
    assert [statuses[f"r{n}@example.org"] for n in range(1, 6)] == [
        "sent",
        "failed",
        "sent",
        "sent",
        "failed",
    ]
    with app.db.session() as session:
        audited = session.execute(select(AuditEvent.action, AuditEvent.letter_id)).all()
    assert sorted(letter_id for action, letter_id in audited if action == "letter.sent") == [
        ids[0],
        ids[2],
        ids[3],
    ]
    assert sorted(letter_id for action, letter_id in audited if action == "letter.failed") == [
        ids[1],
        ids[4],
    ]


def test_a_batch_stopped_part_way_still_records_the_group_the_server_answered(app: App) -> None:
    ids = _queue(app, 6)
    app.sender = _GroupSender(app, size=2, stop_at=1)
    with pytest.raises(_Stopped):
        send.run(app, ids)
    statuses = _statuses(app)
    # Sent, as the server said; the rest still claimed and never handed over, for the
    # recovery sweep to free (not "transmitting": nothing of theirs reached the server).
    assert [statuses[f"r{n}@example.org"] for n in range(1, 7)] == ["sent"] * 2 + ["sending"] * 4
