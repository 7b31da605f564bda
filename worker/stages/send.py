"""Stage: send. Deliver outbox letters and record the Message-IDs sent.

Letters go in batches. A batch is claimed (pending -> sending) with one conditional UPDATE, so two
workers never send the same letter; each group the sender hands over together is marked
"transmitting" in one write just before DATA. Transient failures go back to pending with a
backoff; permanent ones are quarantined and shown to staff. An SMTP outage delays letters; it
never loses or doubles one.
"""

from __future__ import annotations

import binascii
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from worker.adapters.db_models import Base, Letter, Quarantine
from worker.bootstrap import App
from worker.domain.errors import DeliveryUncertain, PermanentError, TransientError
from worker.domain.mail_safety import outgoing_auto_headers
from worker.domain.parsing import safe_header_value
from worker.ports import MailSender, SendResult
from worker.records import AuditEntry, audit, audit_now
from worker.stages.receive_mail import reply_from_addresses

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


_UNFOLDED = frozenset({"message-id", "in-reply-to", "references"})


# Header values compat32 writes back exactly as they are when their line is short enough: ASCII
# printing characters, spaces and tabs (the other control characters are line breaks to it).
_PLAIN_VALUE = re.compile(r"[\t\x20-\x7e]*")
_FOLD_AT = 78


class _LetterPolicy(Compat32):
    """compat32, but message ids are never folded onto a second line: legal, yet some mail
    systems then fail to thread the resident's reply to our letter.

    A short plain header is written as it is: compat32 would build an ``email.header.Header``
    for each one, only to give back the same line (a test compares the two), and that was a
    third of the time it took to turn a letter into bytes."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and (
            name.lower() in _UNFOLDED
            or (len(name) + 2 + len(value) <= _FOLD_AT and _PLAIN_VALUE.fullmatch(value))
        ):
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))  # type: ignore[misc]


_POLICY = _LetterPolicy()


def build_message(app: App, letter: Letter, from_address: str = "") -> Message:
    """The letter as a MIME message (multipart/alternative: text, then accessible HTML).

    Built with the classic (compat32) classes: the modern API parses every header we set back
    into objects, which cost more than the rest of sending put together. Our values are already
    clean (``safe_header_value`` on everything from a resident); non-ASCII ones are written as
    RFC 2047 encoded words, and the result parses without defects under ``policy.default``."""
    # A boundary of our own, so the generator need not make one and compile a pattern to check
    # the parts for it: "=_" never occurs in quoted-printable text (an "=" there is always
    # followed by two hex digits or a line end), nor in the parts' own headers.
    msg = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}", policy=_POLICY)
    # From the mailbox the resident wrote to (several mailboxes, issue 8), else the default.
    sender = from_address or app.from_address
    msg["From"] = formataddr((safe_header_value(app.landlord.name), sender), "utf-8")
    msg["To"] = letter.recipient
    msg["Subject"] = _header(letter.subject)
    msg["Date"] = format_datetime(app.clock.now())
    msg["Message-ID"] = letter.message_id
    if letter.in_reply_to:
        msg["In-Reply-To"] = letter.in_reply_to
        msg["References"] = letter.in_reply_to
    msg["X-Complaints-Case-Ref"] = letter.ref
    msg["X-Complaints-Letter-Kind"] = letter.kind
    if letter.automatic:
        for name, value in outgoing_auto_headers(f"{sender} {letter.ref}").items():
            msg[name] = value
    msg.attach(_text_part(letter.text, "plain"))
    msg.attach(_text_part(letter.html, "html"))
    return msg


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    """A text part in UTF-8, quoted-printable: the headers ``MIMEText`` writes, with the body
    encoded by ``binascii.b2a_qp`` (C) instead of the email package's encoder (Python), which
    was most of the time it took to build a letter.

    Lines end in "\n" in the part, as that encoder ends them; the generator writes them as CRLF
    on the wire. Unlike that encoder, characters Python counts as line breaks inside a line
    (form feed, U+2028 and the like) are kept, encoded, rather than turned into new lines."""
    part = MIMENonMultipart("text", subtype, policy=_POLICY, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    lines = body.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii")
    part.set_payload(_within_qp_limit(encoded))
    return part


_QP_LINE = 76  # RFC 2045 6.7: encoded lines are at most 76 characters


def _within_qp_limit(encoded: str) -> str:
    """``b2a_qp`` lets a line reach 77 characters when it ends in an encoded space or tab
    ("...=20"): such a line is broken once more, with a soft line break that never splits an
    "=XX" escape."""
    lines = encoded.split("\n")
    if max(map(len, lines)) <= _QP_LINE:
        return encoded
    out: list[str] = []
    for line in lines:
        while len(line) > _QP_LINE:
            cut = _QP_LINE - 1  # room for the "=" of the soft line break
            if line[cut - 1] == "=":
                cut -= 1
            elif line[cut - 2] == "=":
                cut -= 2
            out.append(line[:cut] + "=")
            line = line[cut:]
        out.append(line)
    return "\n".join(out)


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


# The letters this process is sending at this moment. A claim of this process's that is not here
# belongs to a send that stopped part-way (the database went away after the claim, say): the
# recovery sweep frees it at once rather than after STALE_SENDING, as it would a dead worker's.
_sending_now: set[int] = set()
_sending_lock = threading.Lock()


def sending_now() -> frozenset[int]:
    with _sending_lock:
        return frozenset(_sending_now)


@contextmanager
def _sending(ids: set[int]) -> Iterator[None]:
    with _sending_lock:
        _sending_now.update(ids)
    try:
        yield
    finally:
        with _sending_lock:
            _sending_now.difference_update(ids)


def run(app: App, letter_ids: list[int]) -> list[tuple[str, list[int]]]:
    """Send a batch of letters: one claim, one "transmitting" mark per group the sender hands
    over together, and one write of the outcomes."""
    now = app.clock.now()
    with app.db.session() as session:
        claimed = set(
            session.scalars(
                update(Letter)
                .where(Letter.id.in_(letter_ids), Letter.status == "pending")
                .values(
                    status="sending",
                    claimed_at=now,
                    claimed_by=app.instance_id,
                    attempts=Letter.attempts + 1,
                )
                .returning(Letter.id)
            ).all()
        )
    if not claimed:
        return []  # sent already, suppressed, or another worker has them
    with _sending(claimed):
        _send_claimed(app, [i for i in letter_ids if i in claimed])
    return []


@dataclass(frozen=True)
class _Sendable:
    """What recording a letter as sent needs of it, kept from when it was read to be built
    rather than read again for each group the sender hands over."""

    kind: str
    recipient: str
    case_id: int | None
    message_id: str


def _send_claimed(app: App, ids: list[int]) -> None:
    messages: list[Message] = []
    built: list[int] = []
    broken: dict[int, Exception] = {}
    with app.db.session() as session:
        by_id = {
            letter.id: letter
            for letter in session.scalars(select(Letter).where(Letter.id.in_(ids)))
        }
        sendable = {
            letter.id: _Sendable(letter.kind, letter.recipient, letter.case_id, letter.message_id)
            for letter in by_id.values()
        }
        reply_from = reply_from_addresses(session, list(by_id.values()))
        for letter_id in ids:
            try:
                messages.append(build_message(app, by_id[letter_id], reply_from.get(letter_id, "")))
                built.append(letter_id)
            except Exception as exc:  # noqa: BLE001 - this letter fails alone
                broken[letter_id] = PermanentError(f"the letter could not be built: {exc}")

    # Each group's results wait here to be recorded in the same transaction as the next
    # group's "transmitting" mark: one transaction a group rather than two. The next group's
    # recipients are accepted in between (a round trip on a live connection), so a crash can
    # still leave only the group just answered "transmitting", for a person to check; the last
    # group's results, and any left when something fails, are recorded at the end.
    answered: list[SendResult] = []
    recorded: set[int] = set()

    def record_answered(session: Session) -> None:
        if answered:
            _record_outcomes_in(
                session,
                {built[r.index]: (r.message_id, r.error) for r in answered},
                sendable,
                app.clock.now(),
            )

    def before_data(indices: Sequence[int]) -> None:
        # Past this point a crash leaves these letters "transmitting": they may have been
        # delivered, so the recovery sweep hands them to a person instead of sending them twice.
        with app.db.session() as session:
            record_answered(session)
            session.execute(
                update(Letter)
                .where(Letter.id.in_([built[i] for i in indices]))
                .values(status="transmitting")
                # This session holds no letters to bring up to date.
                .execution_options(synchronize_session=False)
            )
        recorded.update(r.index for r in answered)
        answered.clear()

    def after_data(results: Sequence[SendResult]) -> None:
        answered.extend(results)

    outcomes: dict[int, tuple[str, Exception | None]] = {
        letter_id: ("", exc) for letter_id, exc in broken.items()
    }
    try:
        results = _send_batch(app.sender, messages, before_data, after_data) if messages else []
    except BaseException:
        # A group's mark failed (the database went away) or this thread was stopped: what the
        # server has answered is still worth recording, if the database lets us.
        if answered:
            try:
                with app.db.session() as session:
                    record_answered(session)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("could not record %d letters the server answered", len(answered))
        raise
    for result in results:
        if result.index not in recorded:
            outcomes[built[result.index]] = (result.message_id, result.error)
    if outcomes:
        _record_outcomes(app, outcomes, sendable)


def _send_batch(
    sender: MailSender,
    messages: Sequence[Message],
    before_data: Callable[[Sequence[int]], None],
    after_data: Callable[[Sequence[SendResult]], None],
) -> list[SendResult]:
    batch = getattr(sender, "send_batch", None)
    if batch is not None:
        results: list[SendResult] = batch(messages, before_data, after_data)
        return results
    # A sender without batches (a test double): one letter at a time, same guarantees.
    out: list[SendResult] = []
    for index, message in enumerate(messages):
        try:
            sent_id = sender.send(message, lambda i=index: before_data([i]))
            out.append(SendResult(index, sent_id))
        except (TransientError, PermanentError, DeliveryUncertain) as exc:
            out.append(SendResult(index, str(message.get("Message-ID", "")), exc))
    return out


def _record_sent(
    session: Session, sent: dict[int, str], now: datetime, sendable: dict[int, _Sendable]
) -> None:
    """Letters the server accepted: marked sent in one statement (a renamed letter aside), with
    their audit entries written at once (straight to the database: the rows exist, the session
    holds none of them).
    What the record says of each letter was kept from when it was built: nothing is read."""
    ids = sorted(sent)  # the audit trail in the letters' order
    letters = Base.metadata.tables[Letter.__tablename__]
    # A letter goes with the Message-ID it was given when it was queued, so its id is already
    # right and all of them are marked in one UPDATE; one given another id on the way (by a
    # sender that names letters itself) has it written with its own row.
    renamed = [i for i in ids if sent[i] and sent[i] != sendable[i].message_id]
    kept = sorted(set(ids).difference(renamed))
    if kept:
        session.execute(
            update(letters)
            .where(letters.c.id.in_(kept))
            .values(status="sent", sent_at=now, last_error="")
        )
    if renamed:
        session.execute(
            update(letters)
            .where(letters.c.id == bindparam("letter_id"))
            .values(status="sent", sent_at=now, message_id=bindparam("sent_id"), last_error=""),
            [{"letter_id": i, "sent_id": sent[i]} for i in renamed],
        )
    audit_now(
        session,
        "sender",
        "letter.sent",
        [
            AuditEntry(
                f"{sendable[i].kind} sent to {sendable[i].recipient}",
                case_id=sendable[i].case_id,
                letter_id=i,
            )
            for i in ids
        ],
    )


def _record_outcomes(
    app: App,
    outcomes: dict[int, tuple[str, Exception | None]],
    sendable: dict[int, _Sendable],
) -> None:
    with app.db.session() as session:
        _record_outcomes_in(session, outcomes, sendable, app.clock.now())


def _record_outcomes_in(
    session: Session,
    outcomes: dict[int, tuple[str, Exception | None]],
    sendable: dict[int, _Sendable],
    now: datetime,
) -> None:
    sent = {letter_id: sent_id for letter_id, (sent_id, error) in outcomes.items() if error is None}
    if sent:
        _record_sent(session, sent, now, sendable)
    unsent = [letter_id for letter_id in outcomes if letter_id not in sent]
    letters = session.scalars(select(Letter).where(Letter.id.in_(unsent))).all() if unsent else []
    for letter in letters:
        _sent_id, error = outcomes[letter.id]
        if isinstance(error, DeliveryUncertain):
            # It may have been delivered: never sent again automatically; a person checks
            # and resends if needed (as the recovery sweep does for a worker that died
            # mid-delivery).
            letter.status = "uncertain"
            letter.last_error = str(error)[:1000]
            reason = f"{letter.kind} to {letter.recipient}: {error}"[:1000]
            session.add(Quarantine(letter_id=letter.id, kind="uncertain_delivery", reason=reason))
            audit(
                session,
                "sender",
                "letter.uncertain",
                reason,
                letter_id=letter.id,
                case_id=letter.case_id,
            )
        elif isinstance(error, PermanentError):
            letter.status = "failed"
            letter.last_error = str(error)[:1000]
            session.add(
                Quarantine(letter_id=letter.id, kind="smtp_permanent", reason=str(error)[:1000])
            )
            audit(
                session,
                "sender",
                "letter.failed",
                str(error),
                letter_id=letter.id,
                case_id=letter.case_id,
            )
        else:
            # Transient (or unexpected): back to pending with a backoff; the recovery sweep
            # queues it again when due, so an outage of any length neither loses nor
            # doubles it.
            letter.status = "pending"
            letter.last_error = str(error)[:1000]
            letter.next_attempt_at = now + backoff(letter.attempts)
            audit(session, "sender", "letter.retry", str(error), letter_id=letter.id)
