"""Redis queue depth in /metrics and `complaints status`, read the way dramatiq stores queues."""

from __future__ import annotations

from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from prometheus_client import generate_latest

from tests.browser.seed import make_app
from worker.health import check_health
from worker.metrics import collect, registry_for
from worker.settings import load_settings


def test_redis_queue_depth_and_broker_health(tmp_path: Path, redis_url: str) -> None:
    app = make_app(tmp_path)
    app.settings = load_settings(
        {"COMPLAINTS_DATABASE_URL": app.settings.database_url, "COMPLAINTS_REDIS_URL": redis_url},
        cwd=tmp_path,
    )
    broker = RedisBroker(url=redis_url)
    actor = dramatiq.Actor(
        lambda item_id: None,
        broker=broker,
        actor_name="complaints_parse",
        queue_name="complaints_parse",
        priority=0,
        options={},
    )
    for n in range(3):
        actor.send(n)
    actor.send_with_options(args=(9,), delay=60_000)

    queues = collect(app)["redis_queues"]
    assert queues["complaints_parse"] == {"waiting": 3, "in_flight": 0, "delayed": 1, "dead": 0}
    assert queues["complaints_send"]["waiting"] == 0
    text = generate_latest(registry_for(app)).decode()
    assert 'complaints_redis_queue_messages{queue="complaints_parse",state="waiting"} 3.0' in text
    assert "complaints_redis_up 1.0" in text
    health = check_health(app)
    assert health["checks"]["broker"]["ok"] is True
    broker.client.close()


def test_broker_down_fails_health(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": app.settings.database_url,
            "COMPLAINTS_REDIS_URL": "redis://127.0.0.1:1/0",
        },
        cwd=tmp_path,
    )
    health = check_health(app)
    assert health["ok"] is False
    assert health["checks"]["broker"]["ok"] is False
    assert "error" in collect(app)["redis_queues"]


def test_mailbox_health_logs_in_to_imap(tmp_path: Path, dovecot) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path)
    base = {"COMPLAINTS_DATABASE_URL": app.settings.database_url}
    app.settings = load_settings({**base, "COMPLAINTS_IMAP_URL": dovecot.url}, cwd=tmp_path)
    result = check_health(app)["checks"]["mailbox"]
    assert result["ok"] is True, result
    assert "IMAP login ok" in result["detail"]
    wrong = dovecot.url.replace("://tester:", "://tester:wrong")
    app.settings = load_settings({**base, "COMPLAINTS_IMAP_URL": wrong}, cwd=tmp_path)
    result = check_health(app)["checks"]["mailbox"]
    assert result["ok"] is False
    assert "wrong" not in result["detail"]
