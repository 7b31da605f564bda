"""Job queues: ids go on queues, never objects.

In the embedded default jobs run in-process from a simple FIFO; in service mode they are dramatiq
messages on the Redis broker (worker/actors.py). Both call the same stage functions listed in
worker/pipeline.py, so the two modes run the same code.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Jobs(Protocol):
    def enqueue(self, stage: str, item_id: int) -> None: ...


class InProcessJobs:
    """Runs jobs one after another in this process; a failing job is left to the recovery sweep,
    exactly as a dramatiq job that exhausted its retries would be."""

    def __init__(self) -> None:
        self._queue: deque[tuple[str, int]] = deque()
        self.runner: Callable[[str, int], None] | None = None
        self.failures: list[tuple[str, int, str]] = []

    def enqueue(self, stage: str, item_id: int) -> None:
        self._queue.append((stage, item_id))

    def pending(self) -> int:
        return len(self._queue)

    def run_until_idle(self) -> int:
        if self.runner is None:
            raise RuntimeError("InProcessJobs.runner is not set (bootstrap wires it)")
        done = 0
        while self._queue:
            stage, item_id = self._queue.popleft()
            try:
                self.runner(stage, item_id)
            except Exception as exc:  # noqa: BLE001 - recorded on the item; the sweep retries
                log.warning("%s %s failed: %s: %s", stage, item_id, type(exc).__name__, exc)
                self.failures.append((stage, item_id, f"{type(exc).__name__}: {exc}"))
            done += 1
        return done
