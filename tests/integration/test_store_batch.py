"""Storing a fetched batch (receive stage): one row per new message, in one transaction, with
redeliveries recognised by their Message-ID, in the batch and across batches, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.apps import embedded_app
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import InboundMessage, MessageKey, PollState
from worker.bootstrap import App
from worker.ports import RawInbound
from worker.stages.receive_mail import store_batch


@pytest.fixture
def app(either_database_url: str, tmp_path: Path) -> App:
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    return embedded_app(tmp_path, either_database_url, clock=clock)


def _mail(uid: int, message_id: str | None, body: str = "The damp is back.") -> RawInbound:
    header = f"Message-ID: <{message_id}>\r\n" if message_id else ""
    raw = (
        f"From: Ada <ada@example.org>\r\nTo: complaints@landlord.example\r\n{header}"
        f"Subject: damp {uid}\r\n\r\n{body}\r\n"
    ).encode()
    return RawInbound(mailbox="INBOX", uidvalidity=7, uid=uid, raw=raw)


def _rows(app: App) -> dict[int, tuple[str, str, int | None, str]]:
    with app.db.session() as session:
        return {
            r.uid: (r.status, r.outcome, r.duplicate_of, r.dedupe_key)
            for r in session.scalars(select(InboundMessage))
        }


def test_new_mail_redeliveries_and_repeats_in_one_batch_are_told_apart(app: App) -> None:
    first = store_batch(app, [_mail(1, "one@x"), _mail(2, None, "no id here")])
    assert [fresh for _id, fresh in first] == [True, True]
    one_id = first[0][0]

    stored = store_batch(
        app,
        [
            _mail(3, "three@x"),
            _mail(4, "ONE@x"),  # the first message again, redelivered (ids compare caseless)
            _mail(5, "five@x"),
            _mail(6, "five@x"),  # a repeat within the batch
            _mail(5, "five@x"),  # the same UID twice in one fetch
            # No Message-ID, the same bytes as UID 2: the same message, known by its hash.
            RawInbound(mailbox="INBOX", uidvalidity=7, uid=7, raw=_mail(2, None, "no id here").raw),
        ],
    )
    ids = [row_id for row_id, _fresh in stored]
    assert [fresh for _id, fresh in stored] == [True, False, True, False, False, False]
    assert ids[4] == ids[2]  # the repeated UID answers with the row stored for it
    rows = _rows(app)
    assert set(rows) == {1, 2, 3, 4, 5, 6, 7}  # one row a UID
    assert rows[3][:3] == ("stored", "", None)
    assert rows[4][:3] == ("duplicate", "duplicate", one_id)
    assert rows[6][:3] == ("duplicate", "duplicate", ids[2])
    assert rows[7][:3] == ("duplicate", "duplicate", first[1][0])
    assert rows[5][3] == "mid:five@x" and rows[7][3].startswith("sha256:")
    with app.db.session() as session:
        keys = dict(session.execute(select(MessageKey.dedupe_key, MessageKey.inbound_id)).all())
        state = session.get(PollState, "INBOX")
    assert keys == {
        "mid:one@x": one_id,
        rows[2][3]: first[1][0],
        "mid:three@x": ids[0],
        "mid:five@x": ids[2],
    }
    assert state is not None and state.last_uid == 7 and state.uidvalidity == 7

    # Fetched again (the move to the processed folder failed, say): nothing new is stored.
    again = store_batch(app, [_mail(3, "three@x"), _mail(6, "five@x")])
    assert again == [(ids[0], False), (ids[3], False)]
    assert len(_rows(app)) == 7
