"""``complaints worker``: the poller and the job workers.

With ``COMPLAINTS_REDIS_URL`` set, jobs are dramatiq messages on Redis and this process runs a
dramatiq worker; any number of such processes may run on any number of machines. Only one poller
per mailbox is active at a time (a Redis lock), though ingestion stays safe if two run. Without
Redis, jobs run in this process.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType

from worker.bootstrap import App, bootstrap, make_mailbox
from worker.calendar_changes import recompute_all
from worker.domain.errors import TransientError
from worker.settings import load_settings
from worker.stages import watch_deadlines
from worker.stages.receive_mail import poll_once, record_poll_error
from worker.stages.recover import sweep

log = logging.getLogger("complaints.worker")


def _outages() -> tuple[type[BaseException], ...]:
    import redis
    from sqlalchemy.exc import OperationalError

    return (TransientError, OperationalError, redis.exceptions.ConnectionError)


_OUTAGES = _outages()


class _Stop:
    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        log.info("stopping on signal %s", signum)
        self.event.set()


def run_worker(threads: int = 4, poll: bool = True, once: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    dramatiq_worker = None
    lock_client = None
    if settings.service_mode:
        _check_redis(settings.redis_url.reveal())
        from worker.broker import configure_broker

        broker = configure_broker(settings.redis_url.reveal())
        from worker import actors

        app = bootstrap(settings, jobs=actors.DramatiqJobs())
        actors.set_app(app)
        import dramatiq

        dramatiq_worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
        dramatiq_worker.start()
        import redis

        lock_client = redis.Redis.from_url(settings.redis_url.reveal())
        app.heartbeats = RedisHeartbeats(lock_client, ttl=max(15, int(settings.poll_interval * 6)))
        app.heartbeats.beat(app.instance_id)
    else:
        app = bootstrap(settings)
    mailbox = make_mailbox(settings) if poll else None
    log.info(
        "worker started: %s jobs, mailbox %s",
        "dramatiq/redis" if settings.service_mode else "in-process",
        mailbox.name if mailbox else "(not polling)",
    )
    # Pick up whatever an earlier, killed worker left behind, straight away.
    sweep(app, older_than=timedelta(0))
    _drain(app)
    # A newer holidays package or a closure day added to the profile moves open deadlines.
    with _singleton(lock_client, "calendar") as mine:
        if mine:
            recompute_all(app, app.calendar, by="system")
    try:
        while not stop.event.is_set():
            try:
                _one_round(app, mailbox, lock_client, settings.poll_interval)
            except _OUTAGES as exc:
                # The database or Redis is away: nothing is lost (mail stays on the server,
                # letters in the outbox); try again next round.
                log.warning("round skipped, a service is unreachable: %s", _first_line(exc))
            if once:
                break
            stop.event.wait(settings.poll_interval)
    finally:
        if mailbox is not None:
            mailbox.close()
        if dramatiq_worker is not None:
            if once:
                dramatiq_worker.join()
            dramatiq_worker.stop()
        app.db.dispose()
    return 0


_SWEEP_EVERY = 15.0  # seconds
_last_sweep = 0.0


def _one_round(app: App, mailbox, lock_client, interval: float) -> None:  # type: ignore[no-untyped-def]
    global _last_sweep
    if app.heartbeats is not None:
        app.heartbeats.beat(app.instance_id)
    if mailbox is not None:
        _poll_with_lock(app, mailbox, lock_client, interval)
    if time.monotonic() - _last_sweep >= max(_SWEEP_EVERY, interval):
        # Jobs are on the queue already; the sweep only catches what a crash or an outage lost,
        # so it need not run every round.
        sweep(app, older_than=timedelta(seconds=60))
        _last_sweep = time.monotonic()
    _drain(app)
    with _singleton(lock_client, "deadline-watcher") as mine:
        if mine:
            watch_deadlines.run(app)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _check_redis(url: str) -> None:
    import redis

    from worker.settings import redact_url

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.exceptions.RedisError as exc:
        raise TransientError(f"Redis at {redact_url(url)} is unreachable: {exc}") from None


class RedisHeartbeats:
    """Each worker process refreshes a key with a short expiry; a missing key means it died."""

    def __init__(self, client, ttl: int) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.ttl = ttl

    def beat(self, instance_id: str) -> None:
        self.client.set(f"complaints:alive:{instance_id}", "1", ex=self.ttl)

    def alive(self, instance_id: str) -> bool:
        return bool(self.client.exists(f"complaints:alive:{instance_id}"))


@contextmanager
def _singleton(lock_client, name: str) -> Iterator[bool]:  # type: ignore[no-untyped-def]
    """True for the one worker that holds the named lock (always true without Redis)."""
    if lock_client is None:
        yield True
        return
    lock = lock_client.lock(f"complaints:{name}", timeout=120)
    mine = lock.acquire(blocking=False)
    try:
        yield mine
    finally:
        if mine:
            try:
                lock.release()
            except Exception:  # noqa: BLE001 - expired; nothing to release
                pass


def _drain(app: App) -> None:
    run = getattr(app.jobs, "run_until_idle", None)
    if run is not None:
        run()


def _poll_with_lock(app: App, mailbox, lock_client, interval: float) -> None:  # type: ignore[no-untyped-def]
    lock = None
    if lock_client is not None:
        lock = lock_client.lock(
            f"complaints:poller:{mailbox.name}", timeout=max(60, int(interval * 10))
        )
        if not lock.acquire(blocking=False):
            return  # another poller has this mailbox
    try:
        started = time.monotonic()
        queued = poll_once(app, mailbox)
        if queued:
            log.info("stored %d new messages in %.2fs", len(queued), time.monotonic() - started)
    except TransientError as exc:
        log.warning("mailbox %s unreachable: %s", mailbox.name, exc)
        record_poll_error(app, mailbox.name, str(exc))
    finally:
        if lock is not None:
            try:
                lock.release()
            except Exception:  # noqa: BLE001 - lock expired; nothing to release
                pass
