"""Job queues: lists of ids go on queues, never objects.

A job names a stage and a batch of ids. In the embedded default jobs run in-process; in service
mode they are dramatiq messages on the Redis broker (worker/actors.py). Both call the same stage
functions listed in worker/pipeline.py, so the two modes run the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

# The largest batch one job carries: big enough that per-batch costs (a commit, a model call, an
# SMTP round) are shared by many messages, small enough that a batch takes about a second.
BATCH_SIZE = 100
# Stage order, so the in-process runner finishes what is furthest along first.
ORDER = ("parse", "triage", "route", "send")


def as_ids(ids: int | Iterable[int]) -> list[int]:
    """One id or many, as a list without repeats (order kept)."""
    if isinstance(ids, int):
        return [ids]
    return list(dict.fromkeys(int(i) for i in ids))


def chunks(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


class Jobs(Protocol):
    def enqueue(self, stage: str, ids: int | Sequence[int]) -> None: ...


class InProcessJobs:
    """Runs jobs in this process, merging queued ids of a stage into batches; a failing job is
    left to the recovery sweep, exactly as a dramatiq job that exhausted its retries would be."""

    def __init__(self) -> None:
        self._pending: dict[str, list[int]] = {}
        self.runner: Callable[[str, list[int]], None] | None = None
        self.failures: list[tuple[str, int, str]] = []

    def enqueue(self, stage: str, ids: int | Sequence[int]) -> None:
        self._pending.setdefault(stage, []).extend(as_ids(ids))

    def pending(self) -> int:
        return sum(len(v) for v in self._pending.values())

    def _next(self) -> tuple[str, list[int]] | None:
        stages = [s for s in ORDER if self._pending.get(s)]
        stages += [s for s in self._pending if self._pending[s] and s not in ORDER]
        if not stages:
            return None
        # Earlier stages first, so a batch travels the whole pipeline together (and a later
        # stage receives one big batch rather than many small ones).
        stage = stages[0]
        queue = self._pending[stage]
        batch, self._pending[stage] = as_ids(queue[:BATCH_SIZE]), queue[BATCH_SIZE:]
        return stage, batch

    def run_until_idle(self) -> int:
        if self.runner is None:
            raise RuntimeError("InProcessJobs.runner is not set (bootstrap wires it)")
        done = 0
        while (job := self._next()) is not None:
            stage, batch = job
            try:
                self.runner(stage, batch)
            except Exception as exc:  # noqa: BLE001 - recorded on the items; the sweep retries
                log.warning("%s %s failed: %s: %s", stage, batch, type(exc).__name__, exc)
                self.failures.extend((stage, i, f"{type(exc).__name__}: {exc}") for i in batch)
            done += len(batch)
        return done
