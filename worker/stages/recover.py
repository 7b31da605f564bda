"""Stage: recover. Re-queue whatever a killed worker, a lost job or an outage left behind.

Every stage is idempotent, so re-queueing something already queued is harmless. An item whose
attempts keep failing (or keep killing its worker, which dramatiq does not count as a retry) is
quarantined with its reason instead of looping forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import load_only

from worker.adapters.clock import aware
from worker.adapters.db_models import InboundMessage, Letter, Quarantine
from worker.bootstrap import App
from worker.jobs import chunks
from worker.records import audit
from worker.stages.send import sending_now

NEXT_STAGE = {"stored": "parse", "parsed": "triage", "triaged": "route"}
STALE_SENDING = timedelta(minutes=5)
DEAD_GRACE = timedelta(seconds=10)
REQUEUE_GAP = timedelta(seconds=60)


def _claim_abandoned(app: App, letter: Letter, now: datetime) -> bool:
    """A claim is abandoned when its worker's heartbeat has stopped; when it is this process's
    own and no send here holds it any more (a send that failed part-way); or, with no
    heartbeats to ask, when it is older than any send could take."""
    claimed_at = aware(letter.claimed_at) if letter.claimed_at else now
    if claimed_at <= now - STALE_SENDING:
        return True
    if letter.claimed_by == app.instance_id:
        return letter.id not in sending_now()
    if app.heartbeats is None:
        return False
    return not app.heartbeats.alive(letter.claimed_by)


def sweep(app: App, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Queue stuck inbound items and due letters; returns how many jobs were queued."""
    now = app.clock.now()
    queued = 0
    with app.db.session() as session:
        # Only items nothing has happened to for a while: an item waiting its turn in a long
        # queue was touched when it was queued, and is not queued twice.
        last_touched = func.coalesce(InboundMessage.touched_at, InboundMessage.stored_at)
        stuck = session.scalars(
            select(InboundMessage)
            # Not the raw bytes and text of a whole backlog: only what the sweep decides on (the
            # raw message is loaded for the rare one quarantined).
            .options(
                load_only(
                    InboundMessage.id,
                    InboundMessage.status,
                    InboundMessage.attempts,
                    InboundMessage.error,
                )
            )
            .where(
                InboundMessage.status.in_(tuple(NEXT_STAGE)),
                last_touched <= now - older_than,
            )
            # Rows a job or another process's sweep holds are theirs: two sweeps must not both
            # quarantine one message.
            .with_for_update(skip_locked=True, of=InboundMessage)
        ).all()
        jobs: list[tuple[str, list[int]]] = []
        by_stage: dict[str, list[int]] = {}
        for row in stuck:
            if row.attempts >= app.settings.max_attempts:
                step = NEXT_STAGE[row.status]
                row.status = "quarantined"
                row.outcome = "quarantined"
                reason = (
                    f"failed {row.attempts} times at the {step} step; "
                    f"last error: {row.error or 'the worker stopped while handling it'}"
                )
                session.add(
                    Quarantine(inbound_id=row.id, kind="poison", reason=reason, raw=row.raw)
                )
                audit(session, "system", "inbound.quarantined", reason, inbound_id=row.id)
                continue
            # (An item tried before is run alone when its job comes: see pipeline.run_stage.)
            by_stage.setdefault(NEXT_STAGE[row.status], []).append(row.id)
        requeued = [i for ids in by_stage.values() for i in ids]
        for batch in chunks(requeued, 1000):
            session.execute(
                update(InboundMessage).where(InboundMessage.id.in_(batch)).values(touched_at=now)
            )
        for stage, ids in by_stage.items():
            jobs.extend((stage, batch) for batch in chunks(ids))
        abandoned = session.scalars(
            select(Letter)
            .where(
                Letter.status.in_(("sending", "transmitting")),
                Letter.claimed_at <= now - DEAD_GRACE,
            )
            # Two processes sweeping at once (both just started) must not both hand the same
            # letter to a person.
            .with_for_update(skip_locked=True, of=Letter)
        )
        for letter in abandoned:
            if not _claim_abandoned(app, letter, now):
                continue
            if letter.status == "sending":
                # The worker died before handing the letter over: sending again is safe.
                letter.status = "pending"
                audit(
                    session,
                    "system",
                    "letter.reclaimed",
                    "the worker sending it stopped before delivery began",
                    letter_id=letter.id,
                    case_id=letter.case_id,
                    claimed_by=letter.claimed_by,
                )
                continue
            # It died while handing the letter over: it may have been delivered. Sending again
            # could give the resident a second copy, so a person checks and resends if needed.
            letter.status = "uncertain"
            reason = (
                f"{letter.kind} to {letter.recipient}: the worker stopped while the mail server "
                "was receiving it; it may or may not have been delivered. Check before resending."
            )
            session.add(Quarantine(letter_id=letter.id, kind="uncertain_delivery", reason=reason))
            audit(
                session,
                "system",
                "letter.uncertain",
                reason,
                letter_id=letter.id,
                case_id=letter.case_id,
            )
        due = session.scalars(
            select(Letter).where(Letter.status == "pending", Letter.next_attempt_at <= now)
        ).all()
        for letter in due:
            # Not again until this job has had time to run: a long outage or backlog must not
            # fill the queue with copies of the same job.
            letter.next_attempt_at = now + REQUEUE_GAP
        jobs.extend(("send", batch) for batch in chunks([letter.id for letter in due]))
    for stage, ids in jobs:
        app.jobs.enqueue(stage, ids)
        queued += len(ids)
    return queued
