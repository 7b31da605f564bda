"""Dramatiq actors: one small actor per pipeline stage, each on its own queue, taking a list of
ids. A job carries its batch on through the following stages (worker/pipeline.py).

Import this module only after ``worker.broker.configure_broker`` has set the Redis broker: dramatiq
binds actors to the broker that is current at import time, and its default broker is not ours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from worker.bootstrap import App, bootstrap
from worker.domain.errors import PermanentError, TransientError
from worker.jobs import as_ids
from worker.pipeline import STAGES, run_stage

log = logging.getLogger(__name__)

_app: App | None = None
_lock = threading.Lock()


if not isinstance(dramatiq.get_broker(), RedisBroker):
    raise RuntimeError("worker.actors imported before worker.broker.configure_broker()")


def set_app(app: App) -> None:
    global _app
    _app = app


def current_app() -> App:
    global _app
    with _lock:
        if _app is None:
            _app = bootstrap(jobs=DramatiqJobs(), upgrade=False)
        return _app


def _make_actor(stage: str) -> Any:
    def job(ids: int | list[int]) -> None:
        # A list of ids; a single id is still accepted from jobs queued by an older version.
        try:
            run_stage(current_app(), stage, ids)
        except TransientError as exc:
            # Left pending with its backoff; the recovery sweep re-queues it when due, so an
            # outage of any length neither loses the item nor burns dramatiq's retries.
            log.warning("%s %s: transient failure: %s", stage, ids, exc)

    job.__name__ = f"stage_{stage}"
    return dramatiq.actor(
        job,
        actor_name=f"complaints_{stage}",
        queue_name=f"complaints_{stage}",
        max_retries=3,
        min_backoff=500,
        max_backoff=30_000,
        throws=(PermanentError,),
    )


ACTORS: dict[str, Any] = {stage: _make_actor(stage) for stage in STAGES}


class DramatiqJobs:
    def enqueue(self, stage: str, ids: int | Sequence[int]) -> None:
        ACTORS[stage].send(as_ids(ids))
