"""Stage: send. Deliver one outbox letter and record the Message-ID sent.

A letter is claimed (pending -> sending) with one conditional UPDATE, so two workers never send
the same letter. Transient failures go back to pending with a backoff; permanent ones are
quarantined and shown to staff. An SMTP outage delays letters; it never loses or doubles one.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import update

from worker.adapters.db_models import Letter, Quarantine
from worker.bootstrap import App
from worker.domain.errors import DeliveryUncertain, PermanentError, TransientError
from worker.domain.mail_safety import outgoing_auto_headers
from worker.domain.parsing import safe_header_value
from worker.records import audit

MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


def build_message(app: App, letter: Letter) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{safe_header_value(app.landlord.name)} <{app.from_address}>"
    msg["To"] = letter.recipient
    msg["Subject"] = letter.subject
    msg["Date"] = format_datetime(app.clock.now())
    msg["Message-ID"] = letter.message_id
    if letter.in_reply_to:
        msg["In-Reply-To"] = letter.in_reply_to
        msg["References"] = letter.in_reply_to
    msg["X-Complaints-Case-Ref"] = letter.ref
    msg["X-Complaints-Letter-Kind"] = letter.kind
    if letter.automatic:
        for name, value in outgoing_auto_headers(f"{app.from_address} {letter.ref}").items():
            msg[name] = value
    msg.set_content(letter.text)
    msg.add_alternative(letter.html, subtype="html")
    return msg


def run(app: App, letter_id: int) -> list[tuple[str, int]]:
    now = app.clock.now()
    with app.db.session() as session:
        claimed = session.execute(
            update(Letter)
            .where(Letter.id == letter_id, Letter.status == "pending")
            .values(
                status="sending",
                claimed_at=now,
                claimed_by=app.instance_id,
                attempts=Letter.attempts + 1,
            )
        ).rowcount
    if not claimed:
        return []  # sent already, suppressed, or another worker has it
    with app.db.session() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        message = build_message(app, letter)

    def before_data() -> None:
        # Past this point a crash leaves the letter "transmitting": it may have been delivered,
        # so the recovery sweep hands it to a person instead of sending it twice.
        with app.db.session() as session:
            session.execute(
                update(Letter).where(Letter.id == letter_id).values(status="transmitting")
            )

    try:
        sent_id = app.sender.send(message, before_data)
    except TransientError as exc:
        with app.db.session() as session:
            letter = session.get(Letter, letter_id)
            assert letter is not None
            letter.status = "pending"
            letter.last_error = str(exc)[:1000]
            letter.next_attempt_at = app.clock.now() + backoff(letter.attempts)
            audit(session, "sender", "letter.retry", str(exc), letter_id=letter_id)
        raise
    except DeliveryUncertain as exc:
        # It may have been delivered: never sent again automatically; a person checks and
        # resends if needed (as the recovery sweep does for a worker that died mid-delivery).
        with app.db.session() as session:
            letter = session.get(Letter, letter_id)
            assert letter is not None
            letter.status = "uncertain"
            letter.last_error = str(exc)[:1000]
            reason = f"{letter.kind} to {letter.recipient}: {exc}"[:1000]
            session.add(Quarantine(letter_id=letter_id, kind="uncertain_delivery", reason=reason))
            audit(
                session,
                "sender",
                "letter.uncertain",
                reason,
                letter_id=letter_id,
                case_id=letter.case_id,
            )
        return []
    except PermanentError as exc:
        with app.db.session() as session:
            letter = session.get(Letter, letter_id)
            assert letter is not None
            letter.status = "failed"
            letter.last_error = str(exc)[:1000]
            session.add(
                Quarantine(letter_id=letter_id, kind="smtp_permanent", reason=str(exc)[:1000])
            )
            audit(
                session,
                "sender",
                "letter.failed",
                str(exc),
                letter_id=letter_id,
                case_id=letter.case_id,
            )
        return []
    with app.db.session() as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        letter.status = "sent"
        letter.sent_at = app.clock.now()
        letter.message_id = sent_id or letter.message_id
        letter.last_error = ""
        audit(
            session,
            "sender",
            "letter.sent",
            f"{letter.kind} sent to {letter.recipient}",
            letter_id=letter_id,
            case_id=letter.case_id,
        )
    return []
