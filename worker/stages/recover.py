"""Stage: recover. Re-queue whatever a killed worker, a lost job or an outage left behind.

Every stage is idempotent, so re-queueing something already queued is harmless. An item whose
attempts keep failing (or keep killing its worker, which dramatiq does not count as a retry) is
quarantined with its reason instead of looping forever.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from worker.adapters.db_models import InboundMessage, Letter, Quarantine
from worker.bootstrap import App
from worker.records import audit

NEXT_STAGE = {"stored": "parse", "parsed": "triage", "triaged": "route"}
STALE_SENDING = timedelta(minutes=5)


def sweep(app: App, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Queue stuck inbound items and due letters; returns how many jobs were queued."""
    now = app.clock.now()
    queued = 0
    with app.db.session() as session:
        stuck = session.scalars(
            select(InboundMessage).where(
                InboundMessage.status.in_(tuple(NEXT_STAGE)),
                InboundMessage.stored_at <= now - older_than,
            )
        ).all()
        jobs: list[tuple[str, int]] = []
        for row in stuck:
            if row.attempts >= app.settings.max_attempts:
                row.status = "quarantined"
                row.outcome = "quarantined"
                reason = (
                    f"failed {row.attempts} times at the {NEXT_STAGE.get(row.status, '')} step; "
                    f"last error: {row.error or 'the worker stopped while handling it'}"
                )
                session.add(
                    Quarantine(inbound_id=row.id, kind="poison", reason=reason, raw=row.raw)
                )
                audit(session, "system", "inbound.quarantined", reason, inbound_id=row.id)
                continue
            jobs.append((NEXT_STAGE[row.status], row.id))
        for letter in session.scalars(
            select(Letter).where(
                Letter.status == "sending", Letter.claimed_at <= now - STALE_SENDING
            )
        ):
            # The worker died mid-send. Resending risks a duplicate only if the first attempt
            # reached the server; the fixed Message-ID lets mail systems drop such a copy.
            letter.status = "pending"
            audit(
                session,
                "system",
                "letter.reclaimed",
                "worker stopped while sending",
                letter_id=letter.id,
            )
        due = session.scalars(
            select(Letter.id).where(Letter.status == "pending", Letter.next_attempt_at <= now)
        ).all()
        jobs.extend(("send", letter_id) for letter_id in due)
    for stage, item_id in jobs:
        app.jobs.enqueue(stage, item_id)
        queued += 1
    return queued
