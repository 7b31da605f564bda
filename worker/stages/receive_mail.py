"""Stage: receive. Store each raw message with its mailbox, UIDVALIDITY, UID and Message-ID in one
transaction; only after that commit is it moved on the server; then its id goes on the queue.

At-least-once intake, exactly-once effects: a second delivery of the same (mailbox, uid) is a
no-op, and the same Message-ID under a new UID is recorded as a duplicate, never a second case.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from worker.adapters.attachment_store import (
    DEFAULT_STREAM_BYTES,
    Layout,
    discard_spools,
    item_size,
    plan,
    store_bodies,
)
from worker.adapters.db_models import (
    Case,
    InboundMessage,
    Letter,
    MessageKey,
    PollState,
    ServiceRequest,
)
from worker.bootstrap import App
from worker.jobs import BATCH_SIZE, chunks
from worker.ports import Mailbox, RawInbound
from worker.records import insert_many
from worker.stages.parse import BIG_MESSAGE, close_connection_later

_HEADERS_READ = 65536  # a Message-ID further in than this is not looked for


def header_block(raw: bytes, limit: int = _HEADERS_READ) -> bytes:
    """The start of ``raw`` up to the end of its header section: through the line break before
    the first empty line (or all of the first ``limit`` bytes when there is none in them).

    A header parser gives the same headers for this as for the whole message, since it stops at
    that empty line; it just does not go on to split the body into lines for nothing, which was
    most of the cost of reading a Message-ID from a 3 KB message. Line breaks are CRLF, LF or
    a lone CR, as the email package takes them, so an empty line begins wherever a break is
    directly followed by another: LF LF, CR CR, or LF CR."""
    if raw[:1] in (b"\n", b"\r"):
        return b""  # an empty first line: no headers at all
    # One pass that stops at the first empty line (three finds would each read to the end of a
    # message that has no LF LF, say, attachments and all).
    end = _EMPTY_LINE.search(raw, 0, limit)
    return raw[: end.start() + 1] if end is not None else raw[:limit]


_EMPTY_LINE = re.compile(rb"\n\n|\r\r|\n\r")


# A header block of printable ASCII in which every line is a field ("Name: value", the name
# without spaces) or the continuation of one, each line ended by CRLF or LF: the header parser
# reads such a block line by line into exactly these fields, so its Message-ID is the first
# field of that name, continuation lines and all, read here by two patterns instead.
_PLAIN_HEADER_BLOCK = re.compile(rb"(?:[!-9;-~]+:[\t -~]*\r?\n(?:[\t ][\t -~]*\r?\n)*)+")
_MESSAGE_ID_FIELD = re.compile(rb"(?im)^message-id:([\t -~]*\r?\n(?:[\t ][\t -~]*\r?\n)*)")
_TABS_AND_BREAKS = dict.fromkeys(map(ord, "\t\r\n"))


def _message_id(raw: bytes) -> str:
    block = header_block(raw)
    if _PLAIN_HEADER_BLOCK.fullmatch(block):
        # The parser's value for the field, less the tabs and line breaks the line below takes
        # out anyway: the same result in a third of the time the parser takes to build headers.
        field = _MESSAGE_ID_FIELD.search(block)
        value = field.group(1).decode("ascii").translate(_TABS_AND_BREAKS) if field else ""
    else:
        try:
            headers = BytesHeaderParser(policy=compat32).parsebytes(block, headersonly=True)
            value = str(headers.get("Message-ID", "") or "")
        except Exception:  # noqa: BLE001 - any header garbage just means "no usable id"
            return ""
    return "".join(ch for ch in value if ch.isprintable()).strip().strip("<>").strip()[:490]


def dedupe_key(raw: bytes, message_id: str) -> str:
    if message_id:
        return "mid:" + message_id.lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _new_row(
    item: RawInbound, source: str, now: datetime, address: str = "", layout: Layout | None = None
) -> InboundMessage:
    return InboundMessage(**_new_values(item, source, now, address, layout))


def _new_values(
    item: RawInbound, source: str, now: datetime, address: str = "", layout: Layout | None = None
) -> dict[str, Any]:
    """The columns of a new inbound row (the others take their defaults)."""
    raw = layout.skeleton if layout is not None else item.raw
    message_id = _message_id(raw)
    if layout is not None and not message_id:
        key = "sha256:" + layout.sha256  # of the whole message, as dedupe_key would hash it
    else:
        key = dedupe_key(raw, message_id)
    return {
        "source": source,
        "mailbox": item.mailbox,
        "mailbox_address": address,
        "uidvalidity": item.uidvalidity,
        "uid": item.uid,
        "message_id": message_id,
        "dedupe_key": key,
        "raw": raw,
        "size": layout.size if layout is not None else len(item.raw),
        "stored_at": now,
        "touched_at": now,
    }


@dataclass
class _Stored:
    """A row ``_store_batch`` wrote: its id (once written) and redelivery key."""

    id: int
    dedupe_key: str


def _stream_threshold(app: App) -> int:
    return int(getattr(app.settings, "attachment_stream_bytes", 0) or DEFAULT_STREAM_BYTES)


def store(app: App, item: RawInbound, source: str = "email", address: str = "") -> tuple[int, bool]:
    """Store one raw message. Returns (inbound id, whether it needs processing)."""
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
            layout = plan(item, _stream_threshold(app))
            row = _new_row(item, source, app.clock.now(), address, layout)
            key = row.dedupe_key
            session.add(row)
            session.flush()
            if layout is not None:
                store_bodies(session, row.id, item, layout)
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


def store_batch(
    app: App, items: Sequence[RawInbound], source: str = "email", address: str = ""
) -> list[tuple[int, bool]]:
    """Store a batch of raw messages in one transaction; returns (inbound id, needs processing)
    per item, in order. Same guarantees as ``store``: a (mailbox, UIDVALIDITY, UID) already
    stored is a no-op and a Message-ID already seen is recorded as a duplicate. If another poller
    races us to the same messages the batch falls back to storing one at a time. `address` is
    the address the batch's mailbox receives mail at (letters answering it come from there)."""
    if not items:
        return []
    try:
        return _store_batch(app, items, source, address)
    except IntegrityError:
        return [store(app, item, source, address) for item in items]


def _store_batch(
    app: App, items: Sequence[RawInbound], source: str, address: str = ""
) -> list[tuple[int, bool]]:
    now = app.clock.now()
    with app.db.session() as session:
        existing: dict[tuple[str, int, int], int] = {}
        for mailbox, uidvalidity in {(i.mailbox, i.uidvalidity) for i in items}:
            uids = [i.uid for i in items if (i.mailbox, i.uidvalidity) == (mailbox, uidvalidity)]
            for row_id, uid in session.execute(
                select(InboundMessage.id, InboundMessage.uid).where(
                    InboundMessage.mailbox == mailbox,
                    InboundMessage.uidvalidity == uidvalidity,
                    InboundMessage.uid.in_(uids),
                )
            ):
                existing[(mailbox, uidvalidity, uid)] = row_id
        new: list[tuple[int, RawInbound, _Stored]] = []
        values: list[dict[str, Any]] = []
        layouts: dict[int, Layout] = {}
        threshold = _stream_threshold(app)
        for position, item in enumerate(items):
            if (item.mailbox, item.uidvalidity, item.uid) in existing:
                continue
            layout = plan(item, threshold)
            if layout is not None:
                layouts[position] = layout
            values.append(_new_values(item, source, now, address, layout))
            existing[(item.mailbox, item.uidvalidity, item.uid)] = -1  # a repeat in the batch
            new.append((position, item, _Stored(0, values[-1]["dedupe_key"])))
        # Written straight to the table rather than as ORM objects (whose bookkeeping cost more
        # than the insert): nothing later in this transaction reads the rows as objects.
        for (_p, _i, row), row_id in zip(
            new, insert_many(session, InboundMessage.__tablename__, values, keys=True), strict=True
        ):
            row.id = row_id
        # Big attachment bodies go to their own table a chunk at a time, in this transaction.
        for position, item, row in new:
            if position in layouts:
                store_bodies(session, row.id, item, layouts[position])
        keys = {row.dedupe_key for _p, _i, row in new}
        seen = {
            key: inbound_id
            for key, inbound_id in session.execute(
                select(MessageKey.dedupe_key, MessageKey.inbound_id).where(
                    MessageKey.dedupe_key.in_(keys)
                )
            )
        }
        fresh_rows: dict[int, bool] = {}
        duplicates: list[dict[str, Any]] = []
        for _position, _item, row in new:
            first = seen.get(row.dedupe_key)
            if first is not None:
                duplicates.append({"row_id": row.id, "first": first})
                fresh_rows[row.id] = False
            else:
                seen[row.dedupe_key] = row.id
                fresh_rows[row.id] = True
        insert_many(
            session,
            MessageKey.__tablename__,
            [
                {"dedupe_key": row.dedupe_key, "inbound_id": row.id}
                for _p, _i, row in new
                if fresh_rows[row.id]
            ],
        )
        if duplicates:
            table = InboundMessage.__table__
            session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(status="duplicate", outcome="duplicate", duplicate_of=bindparam("first")),
                duplicates,
            )
        for item in {i.mailbox: i for i in items}.values():
            newest = max(
                (i for i in items if i.mailbox == item.mailbox),
                key=lambda i: (i.uidvalidity, i.uid),
            )
            _note_poll(session, newest, now)
        if any(item_size(item) > BIG_MESSAGE for item in items):
            # libpq keeps its output buffer at the largest message sent: close this connection
            # when it is given back rather than keep that buffer in the pool.
            close_connection_later(session)
        results: list[tuple[int, bool]] = []
        by_position = {position: row for position, _item, row in new}
        for position, item in enumerate(items):
            row = by_position.get(position)
            if row is not None:
                results.append((row.id, fresh_rows[row.id]))
            else:
                key = (item.mailbox, item.uidvalidity, item.uid)
                first_id = existing[key]
                if first_id == -1:  # the same UID twice in one batch: the first one counts
                    first_id = next(
                        r.id for _p, i, r in new if (i.mailbox, i.uidvalidity, i.uid) == key
                    )
                results.append((first_id, False))
    return results


def poll_once(app: App, mailbox: Mailbox, limit: int = BATCH_SIZE) -> list[int]:
    """Fetch a batch, store it in one transaction, then move it on the server; returns the ids
    queued for parsing (as one job per batch)."""
    return poll_batch(app, mailbox, limit)[1]


def poll_batch(app: App, mailbox: Mailbox, limit: int = BATCH_SIZE) -> tuple[int, list[int]]:
    """``poll_once`` that also says how many messages it read: a caller draining a mailbox stops
    when nothing was read, not when nothing was new (a batch of duplicates is not the end)."""
    queued: list[int] = []
    items = mailbox.fetch_new(limit)
    try:
        if items:
            stored = store_batch(app, items, address=getattr(mailbox, "address", "") or "")
            # Only now, with the batch committed, may the messages leave the folder.
            _mark_processed(mailbox, items)
            queued = [inbound_id for inbound_id, fresh in stored if fresh]
            for batch in chunks(queued):
                app.jobs.enqueue("parse", batch)
    finally:
        # Temporary copies of big messages: stored now, or fetched again next time.
        discard_spools(items)
    with app.db.session() as session:
        state = session.get(PollState, mailbox.name)
        if state is None:
            session.add(PollState(mailbox=mailbox.name, last_poll_at=app.clock.now()))
        else:
            state.last_poll_at = app.clock.now()
            state.last_error = ""
    return len(items), queued


def _mark_processed(mailbox: Mailbox, items: Sequence[RawInbound]) -> None:
    many = getattr(mailbox, "mark_processed_many", None)
    if many is not None:
        many(items)
        return
    for item in items:
        mailbox.mark_processed(item)


def record_poll_error(app: App, mailbox_name: str, error: str) -> None:
    with app.db.session() as session:
        state = session.get(PollState, mailbox_name)
        if state is None:
            state = PollState(mailbox=mailbox_name)
            session.add(state)
        state.last_error = f"{datetime.now(UTC).isoformat()} {error}"[:1000]


def reply_from_addresses(session: Any, letters: Sequence[Letter]) -> dict[int, str]:
    """Letter id -> the address the resident wrote to, for letters that answer mail read from
    one of several mailboxes: the message the letter answers, else the one that opened its case
    or service request. Letters with none (the web form, a phone call) are left out, and go
    from the default address."""
    wanted: dict[int, list[int]] = {}
    case_ids = {letter.case_id for letter in letters if letter.case_id}
    request_ids = {letter.service_request_id for letter in letters if letter.service_request_id}
    case_origin = (
        dict(
            session.execute(
                select(Case.id, Case.origin_inbound_id).where(Case.id.in_(case_ids))
            ).all()
        )
        if case_ids
        else {}
    )
    request_origin = (
        dict(
            session.execute(
                select(ServiceRequest.id, ServiceRequest.origin_inbound_id).where(
                    ServiceRequest.id.in_(request_ids)
                )
            ).all()
        )
        if request_ids
        else {}
    )
    for letter in letters:
        candidates = [
            letter.cause_inbound_id,
            case_origin.get(letter.case_id),
            request_origin.get(letter.service_request_id),
        ]
        wanted[letter.id] = [c for c in candidates if c]
    inbound_ids = {i for ids in wanted.values() for i in ids}
    if not inbound_ids:
        return {}
    addresses = {
        row_id: address
        for row_id, address in session.execute(
            select(InboundMessage.id, InboundMessage.mailbox_address).where(
                InboundMessage.id.in_(inbound_ids), InboundMessage.mailbox_address != ""
            )
        )
    }
    result: dict[int, str] = {}
    for letter_id, ids in wanted.items():
        found = next((addresses[i] for i in ids if i in addresses), "")
        if found:
            result[letter_id] = found
    return result
