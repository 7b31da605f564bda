"""Running one stage over a batch: each message in its own savepoint, so one failure is recorded
on that message and the rest of the batch carries on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from worker.adapters.db_models import InboundMessage

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)

T = TypeVar("T")

# The stages a batch goes on to, with the ids that reached each.
Next = list[tuple[str, list[int]]]


def each(
    session: Session,
    stage: str,
    items: Sequence[T],
    work: Callable[[T], bool],
    item_id: Callable[[T], int],
    on_error: Callable[[T, Exception], None] | None = None,
) -> list[int]:
    """Run ``work`` on every item in its own savepoint; returns the ids for which it returned
    True. One item's exception rolls back only that item's changes: it is logged (and given to
    ``on_error``, which runs outside the savepoint) and the batch carries on."""
    passed: list[int] = []
    for item in items:
        try:
            with _savepoint(session):
                if work(item):
                    passed.append(item_id(item))
        except Exception as exc:  # noqa: BLE001 - isolated to this item; retried by the sweep
            log.warning("%s: item %s failed: %s: %s", stage, item_id(item), type(exc).__name__, exc)
            if on_error is not None:
                on_error(item, exc)
    return passed


@contextmanager
def _savepoint(session: Session) -> Iterator[None]:
    with session.begin_nested():
        yield


def note_inbound_error(stage: str) -> Callable[[InboundMessage, Exception], None]:
    def note(row: InboundMessage, exc: Exception) -> None:
        row.error = f"{stage}: {type(exc).__name__}: {exc}"[:2000]

    return note


def run_batch(
    app: App,
    stage: str,
    load: Callable[[Session], Sequence[T]],
    work: Callable[[Session, Sequence[T]], Callable[[T], bool]],
    item_id: Callable[[T], int],
    on_error: Callable[[T, Exception], None] | None = None,
) -> list[int]:
    """Run a stage over a batch in one transaction; returns the ids ``work`` passed on.

    ``load`` selects the batch's items still at this stage; ``work`` prepares what the whole batch
    shares (one query, one model call) and returns the function for one item. The whole batch is
    tried first without savepoints (a savepoint per message costs more statements than the work).
    If any message fails, that transaction is rolled back and the batch is run again with each
    message in its own savepoint, so the failure is recorded on that message alone and the rest
    go on."""
    try:
        with app.db.session() as session:
            items = load(session)
            one = work(session, items)
            return [item_id(item) for item in items if one(item)]
    except Exception as exc:  # noqa: BLE001 - isolated below; a database outage fails there too
        log.info("%s: batch failed (%s: %s); one message at a time", stage, type(exc).__name__, exc)
    with app.db.session() as session:
        items = load(session)
        one = work(session, items)
        return each(session, stage, items, one, item_id, on_error)


@dataclass(frozen=True)
class Plan(Generic[T]):
    """One stage's work on one batch, in parts, so that it can run on its own
    (``run_plan``) or in a transaction shared with the stages before it (worker/pipeline.py).

    ``load`` selects the batch's items still at this stage; ``work`` prepares what the batch
    shares and returns the function for one item (True: it goes on); ``finish`` turns the ids
    that went on into the next stages' batches, once the transaction is committed."""

    stage: str
    load: Callable[[Session], Sequence[T]]
    work: Callable[[Session, Sequence[T]], Callable[[T], bool]]
    item_id: Callable[[T], int]
    finish: Callable[[list[int]], Next]
    on_error: Callable[[T, Exception], None] | None = None


def run_plan(app: App, plan: Plan[T]) -> Next:
    """The stage on its own: ``run_batch`` in its own transaction, then ``finish``."""
    done = run_batch(app, plan.stage, plan.load, plan.work, plan.item_id, plan.on_error)
    return plan.finish(done)


def write_alike(rows: Sequence[object]) -> None:
    """Have every changed row of a batch (one model) write the same columns, so that their
    UPDATEs go out as one statement over all the rows.

    The unit of work leaves out of a row's UPDATE each column whose value did not change, and
    sends one statement for each combination of columns it finds: a parsed and triaged batch of
    100 had about thirty (a Message-ID already known or not, defects or none, a trusted sender
    or not), so thirty statements, each converted, sent and planned on its own. Writing a
    column's unchanged value again changes nothing."""
    states = [inspect(row) for row in rows]
    changed = [state for state in states if state.committed_state]
    if len(changed) < 2:
        return
    columns = set(changed[0].mapper.column_attrs.keys())
    touched: set[str] = set()
    for state in changed:
        touched.update(key for key in state.committed_state if key in columns)
    for state in changed:
        for key in touched:
            if key in state.dict:  # loaded (a deferred column never read is left alone)
                flag_modified(state.obj(), key)
