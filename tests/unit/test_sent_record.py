"""What the send stage records of letters the server accepted: status, time, Message-ID and
an audit entry each, whether or not the sender kept the Message-ID the letter was queued with."""

from __future__ import annotations

import email.message
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.apps import embedded_app
from tests.support.letters import queue_acknowledgements
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Letter
from worker.bootstrap import App
from worker.stages import send

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


class _RenamingSender:
    """Sends everything; letters whose Message-ID contains "rename" go out under another."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(
        self, message: email.message.EmailMessage, before_data: Callable[[], None] | None = None
    ) -> str:
        if before_data is not None:
            before_data()
        message_id = str(message["Message-ID"])
        if "rename" in message_id:
            message_id = message_id.replace("rename", "given-by-relay")
        self.sent.append(message_id)
        return message_id


@pytest.fixture
def app(tmp_path: Path) -> App:
    return embedded_app(tmp_path, clock=FixedClock(NOW), sender=_RenamingSender())


def test_accepted_letters_are_sent_with_the_id_they_went_out_under_and_audited_in_order(
    app: App,
) -> None:
    ids = queue_acknowledgements(app, NOW, ["ack", "rename", "ack", "rename", "ack"])
    send.run(app, ids)
    with app.db.session() as session:
        rows = session.scalars(select(Letter).where(Letter.id.in_(ids)).order_by(Letter.id)).all()
        assert [r.status for r in rows] == ["sent"] * 5
        assert all(r.sent_at is not None and r.last_error == "" for r in rows)
        assert [r.message_id for r in rows] == [
            "<ack.1@landlord.example>",
            "<given-by-relay.2@landlord.example>",
            "<ack.3@landlord.example>",
            "<given-by-relay.4@landlord.example>",
            "<ack.5@landlord.example>",
        ]
        audit = session.execute(
            select(AuditEvent.letter_id, AuditEvent.why)
            .where(AuditEvent.action == "letter.sent")
            .order_by(AuditEvent.id)
        ).all()
    assert [letter_id for letter_id, _why in audit] == ids
    assert audit[1][1] == "stage1_acknowledgement sent to resident2@example.org"
    assert sorted(app.sender.sent) == sorted(r.message_id for r in rows)  # type: ignore[attr-defined]
