"""The pipeline as data: each stage takes a batch of ids, loads, calls pure code, saves, and names
the next stage with the ids that reached it.

    IMAP / Maildir ──> receive (store a batch, then move) ──> parse ──> triage ──> route ──> send
                                                           │                     │
                                              dead letters (quarantine)   case + deadlines + letter
                                                                          service request + letter
                                                                          triage queue + receipt
                                                                          threaded reply / stage 2

Jobs carry lists of ids. Each stage is idempotent per message: it only takes the items still at
its step, so a redelivered job does nothing. ``run_stage`` counts every item's attempt in one
statement before the work, so a batch that kills its worker is still counted; the recovery sweep
then retries each of those items on its own, so one poison message is quarantined alone and never
holds back the rest of its batch. Within a batch each message has its own savepoint: one failure
is recorded on that message and the others carry on.

A batch runs through the following stages in the same job (no queue hop between stages: that
is what keeps acknowledgement latency low). If a later stage fails as a whole (the database went
away) its ids are put on its queue, to be retried there.

A batch never tried before is parsed, triaged and routed in one transaction (``_together``): each
message's row is then loaded once, written twice rather than three times (in one statement for
the batch each time, see ``write_alike``), and its attempt counted once, not three times.
Should anything in it fail, it is rolled back whole and the batch runs one stage at a time, each
with its own per-message isolation, as above; a worker killed inside it leaves its messages
stored, to come back as the parse stage's (counted) retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from worker.adapters.db_models import InboundMessage
from worker.jobs import as_ids
from worker.records import held_rows
from worker.stages import parse, route, send, triage
from worker.stages.batch import Next, write_alike

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)

StageFn = Callable[["App", list[int]], Next]

STAGES: dict[str, StageFn] = {
    "parse": parse.run,
    "triage": triage.run,
    "route": route.run,
    "send": send.run,
}
INBOUND_STAGES = {"parse": "stored", "triage": "parsed", "route": "triaged"}


def _count_attempts(app: App, stage: str, ids: list[int], *, first_only: bool) -> list[int]:
    """Record the attempt before doing the work, for the whole batch in one statement. Returns
    the ids still at this stage and under the attempt limit (the sweep quarantines the rest).
    ``first_only``: only items never tried before."""
    expected = INBOUND_STAGES.get(stage)
    if expected is None:
        return ids  # letters count their own attempts when claimed
    conditions = [
        InboundMessage.id.in_(ids),
        InboundMessage.status == expected,
        InboundMessage.attempts < app.settings.max_attempts,
    ]
    if first_only:
        conditions.append(InboundMessage.attempts == 0)
    with app.db.session() as session:
        counted = session.scalars(
            update(InboundMessage)
            .where(*conditions)
            .values(attempts=InboundMessage.attempts + 1)
            .returning(InboundMessage.id)
        ).all()
    keep = set(counted)
    return [i for i in ids if i in keep]


def run_stage(app: App, stage: str, ids: int | Iterable[int], *, chain: bool = True) -> Next:
    """Run one stage on a batch; with ``chain``, carry the batch through the following stages.

    Items of the batch never tried before run together. Items tried before (their batch failed,
    or died with its worker and came back from the queue or the recovery sweep) run one at a
    time, each attempt counted just before that item runs: a poison message then uses up only
    its own attempts, never its neighbours', and is quarantined alone."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    wanted = as_ids(ids)
    if stage not in INBOUND_STAGES:
        return _run_counted(app, stage, wanted, chain)
    fresh = _count_attempts(app, stage, wanted, first_only=True)
    following = _run_counted(app, stage, fresh, chain, together=chain) if fresh else []
    counted = set(fresh)
    for item in _tried_before(app, stage, [i for i in wanted if i not in counted]):
        alone = _count_attempts(app, stage, [item], first_only=False)
        if alone:
            following += _run_counted(app, stage, alone, chain)
    return following


def _tried_before(app: App, stage: str, ids: list[int]) -> list[int]:
    """Those of ``ids`` still at this stage (the rest went on already: a repeated job)."""
    if not ids:
        return []
    with app.db.session() as session:
        still = set(
            session.scalars(
                select(InboundMessage.id).where(
                    InboundMessage.id.in_(ids), InboundMessage.status == INBOUND_STAGES[stage]
                )
            )
        )
    return [i for i in ids if i in still]


def _run_counted(
    app: App, stage: str, batch: list[int], chain: bool, together: bool = False
) -> Next:
    if not batch:
        return []
    following = _together(app, batch) if together and stage == "parse" else None
    if following is None:
        try:
            following = STAGES[stage](app, batch)
        except Exception as exc:
            _note_error(app, stage, batch, exc)
            raise
    if chain:
        for next_stage, next_ids in following:
            if not next_ids:
                continue
            try:
                run_stage(app, next_stage, next_ids)
            except Exception as exc:  # noqa: BLE001 - handed to the queue to be retried there
                log.warning(
                    "%s of %d items failed (%s: %s); queued for retry",
                    next_stage,
                    len(next_ids),
                    type(exc).__name__,
                    exc,
                )
                app.jobs.enqueue(next_stage, next_ids)
    return following


def _together(app: App, ids: list[int]) -> Next | None:
    """Parse, triage and route a fresh batch in one transaction; what routing passes on (the
    letters to send), or None when anything failed (all of it rolled back: the caller runs the
    stages one at a time, which finds and isolates the failure).

    Each stage sees exactly what it would see on its own: the rows the previous stage passed
    on, in arrival order, already locked by this transaction (as ``inbound_at`` would select
    them). Nothing is written between parse and triage, which read no inbound rows from the
    database (triage looks up residents' closed cases): each row's parse and triage changes go
    out as one UPDATE, flushed before routing, whose look-ups (threads, duplicates, residents)
    must see them as they would after a commit."""
    parsing = parse.plan(app, ids)
    try:
        # The batch's audit and correspondence rows are written at the end, many to a statement
        # (held_rows): nothing here reads them back, and a failure rolls back the lot.
        with app.db.session() as session, held_rows(session):
            rows = loaded = parsing.load(session)
            with session.no_autoflush:
                rows = _went_on(rows, parsing.work(session, rows), "parsed")
                for row in rows:
                    # The raw bytes are not read again (triage and route use the parsed fields):
                    # not kept in memory for the rest of the batch.
                    session.expire(row, ["raw"])
                triaging = triage.plan(app, [row.id for row in rows])
                rows = _went_on(rows, triaging.work(session, rows), "triaged")
            write_alike(loaded)  # one UPDATE for the batch's rows, not one per column set
            session.flush()
            routing = route.plan(app, [row.id for row in rows])
            one = routing.work(session, rows)
            routed = [routing.item_id(row) for row in rows if one(row)]
            write_alike(loaded)  # and again for what routing changed, written at the commit
    except Exception as exc:  # noqa: BLE001 - rolled back; the stages one at a time isolate it
        log.info(
            "parse, triage and route of %d items together failed (%s: %s); one stage at a time",
            len(ids),
            type(exc).__name__,
            exc,
        )
        return None
    return routing.finish(routed)


def _went_on(
    rows: Sequence[InboundMessage], one: Callable[[InboundMessage], bool], status: str
) -> list[InboundMessage]:
    """The rows ``one`` passed on (run on every row, in order) that reached ``status``."""
    return [row for row in rows if one(row) and row.status == status]


def _note_error(app: App, stage: str, ids: list[int], exc: Exception) -> None:
    if stage not in INBOUND_STAGES:
        return
    try:
        with app.db.session() as session:
            session.execute(
                update(InboundMessage)
                .where(InboundMessage.id.in_(ids))
                .values(error=f"{stage}: {type(exc).__name__}: {exc}"[:2000])
            )
    except Exception:  # noqa: BLE001 - the database may be what failed; the attempt is counted
        log.warning("could not record the %s failure on %d items", stage, len(ids))
