"""The pipeline as data: each stage takes an id, loads, calls pure code, saves, and names the next.

    IMAP / Maildir ──> receive (store raw, then move) ──> parse ──> triage ──> route ──> send
                                                           │                     │
                                              dead letters (quarantine)   case + deadlines + letter
                                                                          service request + letter
                                                                          triage queue + receipt
                                                                          threaded reply / stage 2

Jobs carry ids only. Each stage function is idempotent: it checks the item's status first, so a
redelivered job does nothing. ``run_stage`` counts attempts in their own transaction before the
work, so a job that kills its worker is still counted and eventually quarantined.
"""

from __future__ import annotations

from collections.abc import Callable

from worker.adapters.db_models import InboundMessage
from worker.bootstrap import App
from worker.stages import parse, route, send, triage

StageFn = Callable[[App, int], list[tuple[str, int]]]

STAGES: dict[str, StageFn] = {
    "parse": parse.run,
    "triage": triage.run,
    "route": route.run,
    "send": send.run,
}
INBOUND_STAGES = {"parse": "stored", "triage": "parsed", "route": "triaged"}


def _count_attempt(app: App, stage: str, item_id: int) -> bool:
    """Record the attempt before doing the work. False when the item is not at this stage."""
    expected = INBOUND_STAGES.get(stage)
    if expected is None:
        return True  # letters count their own attempts when claimed
    with app.db.session() as session:
        row = session.get(InboundMessage, item_id)
        if row is None or row.status != expected:
            return False
        if row.attempts >= app.settings.max_attempts:
            return False  # the recovery sweep quarantines it with its reason
        row.attempts += 1
    return True


def run_stage(app: App, stage: str, item_id: int, *, chain: bool = True) -> list[tuple[str, int]]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if not _count_attempt(app, stage, item_id):
        return []
    try:
        following = STAGES[stage](app, item_id)
    except Exception as exc:
        _note_error(app, stage, item_id, exc)
        raise
    if chain:
        for next_stage, next_id in following:
            app.jobs.enqueue(next_stage, next_id)
    return following


def _note_error(app: App, stage: str, item_id: int, exc: Exception) -> None:
    if stage not in INBOUND_STAGES:
        return
    with app.db.session() as session:
        row = session.get(InboundMessage, item_id)
        if row is not None:
            row.error = f"{stage}: {type(exc).__name__}: {exc}"[:2000]
