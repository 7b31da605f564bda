"""The dramatiq broker on Redis. Configure it before importing worker.actors."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker


def configure_broker(redis_url: str, heartbeat_timeout_ms: int = 15000) -> RedisBroker:
    # A short heartbeat timeout: messages held by a killed worker are re-delivered quickly.
    broker = RedisBroker(url=redis_url, heartbeat_timeout=heartbeat_timeout_ms)
    dramatiq.set_broker(broker)
    return broker
