"""Stage: receive. Store each raw message with its mailbox, UIDVALIDITY, UID and Message-ID in one
transaction; only after that commit is it moved on the server; then its id goes on the queue.

At-least-once intake, exactly-once effects: a second delivery of the same (mailbox, uid) is a
no-op, and the same Message-ID under a new UID is recorded as a duplicate, never a second case.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from worker.adapters.db_models import InboundMessage, MessageKey, PollState
from worker.bootstrap import App
from worker.ports import Mailbox, RawInbound


def _message_id(raw: bytes) -> str:
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw[:65536], headersonly=True)
        value = str(headers.get("Message-ID", "") or "")
    except Exception:  # noqa: BLE001 - any header garbage just means "no usable id"
        return ""
    return "".join(ch for ch in value if ch.isprintable()).strip().strip("<>").strip()[:490]


def dedupe_key(raw: bytes, message_id: str) -> str:
    if message_id:
        return "mid:" + message_id.lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def store(app: App, item: RawInbound, source: str = "email") -> tuple[int, bool]:
    """Store one raw message. Returns (inbound id, whether it needs processing)."""
    message_id = _message_id(item.raw)
    key = dedupe_key(item.raw, message_id)
    try:
        with app.db.session() as session:
            existing = session.scalar(
                select(InboundMessage).where(
                    InboundMessage.mailbox == item.mailbox,
                    InboundMessage.uidvalidity == item.uidvalidity,
                    InboundMessage.uid == item.uid,
                )
            )
            if existing is not None:
                return existing.id, False
            row = InboundMessage(
                source=source,
                mailbox=item.mailbox,
                uidvalidity=item.uidvalidity,
                uid=item.uid,
                message_id=message_id,
                dedupe_key=key,
                raw=item.raw,
                size=len(item.raw),
                stored_at=app.clock.now(),
            )
            session.add(row)
            session.flush()
            fresh = True
            try:
                with session.begin_nested():
                    session.add(MessageKey(dedupe_key=key, inbound_id=row.id))
            except IntegrityError:
                first = session.get(MessageKey, key)
                row.status = "duplicate"
                row.outcome = "duplicate"
                row.duplicate_of = first.inbound_id if first else None
                fresh = False
            _note_poll(session, item, app.clock.now())
            return row.id, fresh
    except IntegrityError:
        # Another poller stored the same (mailbox, uid) between our check and our insert.
        with app.db.session() as session:
            existing_id = session.scalar(
                select(InboundMessage.id).where(
                    InboundMessage.mailbox == item.mailbox,
                    InboundMessage.uidvalidity == item.uidvalidity,
                    InboundMessage.uid == item.uid,
                )
            )
        if existing_id is None:
            raise
        return existing_id, False


def _note_poll(session, item: RawInbound, now: datetime) -> None:  # type: ignore[no-untyped-def]
    state = session.get(PollState, item.mailbox)
    if state is None:
        state = PollState(mailbox=item.mailbox)
        session.add(state)
    if state.uidvalidity != item.uidvalidity:
        # UIDVALIDITY changed: the server renumbered the folder, so old UIDs mean nothing now.
        state.uidvalidity = item.uidvalidity
        state.last_uid = 0
    state.last_uid = max(state.last_uid or 0, item.uid)
    state.last_poll_at = now


def poll_once(app: App, mailbox: Mailbox, limit: int = 100) -> list[int]:
    """Fetch, store, then move; returns the ids queued for parsing."""
    queued: list[int] = []
    items = mailbox.fetch_new(limit)
    for item in items:
        inbound_id, fresh = store(app, item)
        mailbox.mark_processed(item)
        if fresh:
            app.jobs.enqueue("parse", inbound_id)
            queued.append(inbound_id)
    with app.db.session() as session:
        state = session.get(PollState, mailbox.name)
        if state is None:
            session.add(PollState(mailbox=mailbox.name, last_poll_at=app.clock.now()))
        else:
            state.last_poll_at = app.clock.now()
            state.last_error = ""
    return queued


def record_poll_error(app: App, mailbox_name: str, error: str) -> None:
    with app.db.session() as session:
        state = session.get(PollState, mailbox_name)
        if state is None:
            state = PollState(mailbox=mailbox_name)
            session.add(state)
        state.last_error = f"{datetime.now(UTC).isoformat()} {error}"[:1000]
