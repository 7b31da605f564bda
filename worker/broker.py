"""The dramatiq broker on Redis. Configure it before importing worker.actors."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

# New mail arrives on the parse queue, and the pipeline carries each batch through the later
# stages in the same job: only that queue is on the path to an acknowledgement. The others (and
# every delay queue) hold retries, staff letters and re-queued work, for which a second is soon
# enough. An idle consumer asks Redis for work every ``timeout`` ms (a Lua script each time), and
# a process has one consumer per queue: polling them all every 100 ms was a fifth of a worker's
# CPU at a steady 10 messages a second (py-spy).
FAST_QUEUES = frozenset({"complaints_parse"})
SLOW_POLL_MS = 1000


class PipelineBroker(RedisBroker):
    """dramatiq's Redis broker, polling the queues off the acknowledgement path less often."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name not in FAST_QUEUES:
            timeout = max(timeout, SLOW_POLL_MS)
        return super().consume(queue_name, prefetch, timeout)


def configure_broker(redis_url: str, heartbeat_timeout_ms: int = 15000) -> RedisBroker:
    # A short heartbeat timeout: messages held by a killed worker are re-delivered quickly.
    broker = PipelineBroker(url=redis_url, heartbeat_timeout=heartbeat_timeout_ms)
    dramatiq.set_broker(broker)
    return broker
