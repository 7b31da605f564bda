"""``complaints worker``: the poller, the job workers, the recovery sweep and the deadline watcher.

With ``COMPLAINTS_REDIS_URL`` set, jobs are dramatiq messages on Redis and this process runs a
dramatiq worker; any number of such processes may run on any number of machines (``--procs N``
starts N here). Each process runs these on their own threads, so none waits for another:

- the poller: while it holds the mailbox's lease (a short Redis lease it renews; a dead poller's
  lease runs out within seconds and a live process takes over), it stores whatever is in the
  folder in batches, then waits for new mail with IMAP IDLE (a Maildir is watched with a short
  poll), falling back to polling every ``COMPLAINTS_POLL_INTERVAL`` seconds;
- the deadline watcher, every ``COMPLAINTS_DEADLINE_INTERVAL`` seconds, in one process at a time;
- the main thread: the heartbeat and the recovery sweep.

Without Redis, everything runs on one thread in this process.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Any

from worker.bootstrap import App, bootstrap, make_mailboxes
from worker.calendar_changes import recompute_all
from worker.domain.errors import ConfigurationError, TransientError, UserError
from worker.ports import Mailbox
from worker.settings import load_settings
from worker.stages import watch_deadlines
from worker.stages.receive_mail import poll_batch, record_poll_error
from worker.stages.recover import sweep

log = logging.getLogger("complaints.worker")

SWEEP_EVERY = 15.0  # seconds: the sweep only catches what a crash or an outage lost
# Job threads a worker process runs (``--threads``). Python runs one thread at a time in a
# process; beyond two, threads mostly take turns with each other: bench_e2e.py measured 9.0 ms of
# worker CPU a message with four and 8.3 with two (150 msg/s against 141), and a lower p95
# acknowledgement latency at a steady 50 msg/s. One was no quicker and made acknowledgements wait
# behind whole batches (p95 2.3 s at 50 msg/s): a second thread keeps a process busy while the
# other waits on the database or the SMTP server.
DEFAULT_THREADS = 2
LEASE_SECONDS = 10  # a dead poller's mailbox is taken over within this (plus a second)
FETCH_LIMIT = 200  # messages per poll batch (also bounded by size in the IMAP adapter)


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


def run_worker(
    threads: int | None = None, poll: bool = True, once: bool = False, procs: int | None = None
) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    threads = DEFAULT_THREADS if threads is None else threads
    if procs is None:
        # Python runs one thread at a time per process: one process per core uses the machine
        # (as dramatiq's own command does). Without Redis the jobs live in this one process.
        procs = (os.cpu_count() or 1) if settings.service_mode else 1
    if procs > 1 and not once:
        if not settings.service_mode:
            raise UserError(
                "--procs needs COMPLAINTS_REDIS_URL: without Redis, jobs run in one process"
            )
        return _supervise(procs, threads, poll)
    _tune_malloc()
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if settings.service_mode:
        return _run_service(settings, stop.event, threads=threads, poll=poll, once=once)
    return _run_embedded(settings, stop.event, poll=poll, once=once)


def _tune_malloc() -> None:
    """glibc malloc, set before any thread starts (as MALLOC_ARENA_MAX=2 and
    MALLOC_MMAP_THRESHOLD_=131072 would): at most 2 arenas, not one per busy thread each keeping
    what it freed; and buffers over 128 KiB always mmapped, so given back when freed (by default
    the threshold rises to the largest buffer freed, up to 32 MiB, after which a big message's
    buffers stay on the heap). An environment variable the operator set wins."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


# --- embedded: one thread ------------------------------------------------------------------------


def _run_embedded(settings: Any, stop: threading.Event, *, poll: bool, once: bool) -> int:
    app = bootstrap(settings)
    mailboxes = make_mailboxes(settings) if poll else []
    log.info(
        "worker started: in-process jobs, mailbox %s",
        ", ".join(m.name for m in mailboxes) or "-",
    )
    sweep(app, older_than=timedelta(0))
    _drain(app)
    recompute_all(app, app.calendar, by="system")
    last_sweep = last_watch = time.monotonic()
    watch_deadlines.run_all(app)
    try:
        while not stop.is_set():
            try:
                for mailbox in mailboxes:
                    _poll_until_empty(app, mailbox, stop, drain=True)
                now = time.monotonic()
                if now - last_sweep >= SWEEP_EVERY:
                    sweep(app, older_than=timedelta(seconds=60))
                    _drain(app)
                    last_sweep = now
                if now - last_watch >= settings.deadline_interval:
                    watch_deadlines.run_all(app)
                    _daily_retention(app, None)
                    last_watch = now
            except _OUTAGES as exc:
                log.warning("round skipped, a service is unreachable: %s", _first_line(exc))
            if once:
                break
            try:
                _wait_for_any(mailboxes, stop, settings.poll_interval)
            except _OUTAGES as exc:
                # The next fetch reconnects; meanwhile, no busy loop.
                log.warning("mailbox wait failed: %s", _first_line(exc))
                stop.wait(settings.poll_interval)
    finally:
        for mailbox in mailboxes:
            mailbox.close()
        _close_sender(app)
        app.db.dispose()
    return 0


# --- service: dramatiq on Redis, a thread each for polling and deadlines -----------------------


def _run_service(
    settings: Any, stop: threading.Event, *, threads: int, poll: bool, once: bool
) -> int:
    import dramatiq
    import redis

    _check_redis(settings.redis_url.reveal())
    from worker.broker import configure_broker

    broker = configure_broker(settings.redis_url.reveal())
    from worker import actors

    app = bootstrap(settings, jobs=actors.DramatiqJobs())
    actors.set_app(app)
    client = redis.Redis.from_url(settings.redis_url.reveal())
    app.heartbeats = RedisHeartbeats(client, ttl=max(15, int(settings.poll_interval * 6)))
    app.heartbeats.beat(app.instance_id)
    dramatiq_worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    _warm_up(app)
    _settle_heap()
    dramatiq_worker.start()
    mailboxes = make_mailboxes(settings) if poll else []
    log.info(
        "worker started: dramatiq/redis, %d threads, mailbox %s",
        threads,
        ", ".join(m.name for m in mailboxes) or "(not polling)",
    )
    helpers: list[threading.Thread] = []
    try:
        # Pick up whatever an earlier, killed worker left behind, straight away.
        _guarded(lambda: sweep(app, older_than=timedelta(0)))
        # A newer holidays package or a closure day added to the profile moves open deadlines.
        with _singleton(client, "calendar") as mine:
            if mine:
                _guarded(lambda: recompute_all(app, app.calendar, by="system"))
        if once:
            for mailbox in mailboxes:
                _guarded(lambda mailbox=mailbox: _poll_until_empty(app, mailbox, stop))
            _guarded(lambda: watch_deadlines.run_all(app))
            dramatiq_worker.join()
            return 0
        for n, mailbox in enumerate(mailboxes):
            # One poller (and one lease) per mailbox: a slow or failing mailbox never holds
            # up another.
            helpers.append(
                _thread(f"poller-{n}", lambda mailbox=mailbox: _poller(app, mailbox, client, stop))
            )
        helpers.append(_thread("deadlines", lambda: _deadline_watcher(app, client, stop)))
        last_sweep = time.monotonic()
        while not stop.wait(1.0):
            _guarded(lambda: app.heartbeats.beat(app.instance_id) if app.heartbeats else None)
            if time.monotonic() - last_sweep >= SWEEP_EVERY:
                _guarded(lambda: sweep(app, older_than=timedelta(seconds=60)))
                last_sweep = time.monotonic()
    finally:
        stop.set()
        for helper in helpers:
            helper.join(timeout=LEASE_SECONDS + 5)
        dramatiq_worker.stop()
        for mailbox in mailboxes:
            mailbox.close()
        _close_sender(app)
        app.db.dispose()
    return 0


def _warm_up(app: App) -> None:
    """Load the triage model and run it once before taking jobs: otherwise the first batch each
    process takes waits for the model to load and its code paths to be imported (about 2 s of
    CPU, measured with py-spy), and its residents wait for their acknowledgements."""
    from datetime import date

    from classifiers.triage import TriageInput

    started = time.monotonic()
    try:
        app.triager.triage_many(
            [
                TriageInput(
                    id="warm-up",
                    subject="Complaint about a repair",
                    body="The repair to my boiler was not done and nobody called me back.",
                    from_addr="warm-up@example.invalid",
                    received=date(2026, 1, 5),
                    channel="email",
                )
            ]
        )
    except Exception as exc:  # noqa: BLE001 - the triage stage reports the same problem per message
        log.warning("triage model not ready at start: %s", _first_line(exc))
        return
    log.info("triage model loaded in %.1f s", time.monotonic() - started)


# Young objects a collection of the youngest generation waits for (Python's default is 700). A
# batch of 100 messages makes hundreds of thousands of short-lived objects (rows, matches,
# letters); at 700 the collector ran thousands of times a batch, each time walking the survivors.
_GC_YOUNGEST = 20_000


def _settle_heap() -> None:
    """Move what is loaded by now (modules, the triage model, the ORM's mappings) out of the
    collector's sight, and let it run less often.

    None of it is ever freed while the worker runs, yet every full collection walked it again
    (tens of milliseconds each, a few times a batch: 3 to 4 % of the worker's CPU under load,
    measured with perf). gc.freeze() is the interpreter's own means for this; freeing still
    works as before for everything made later, and reference counting frees most objects
    without the collector at all."""
    gc.collect()
    gc.freeze()
    _youngest, middle, oldest = gc.get_threshold()
    gc.set_threshold(_GC_YOUNGEST, middle, oldest)


def _thread(name: str, target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _guarded(step: Callable[[], object]) -> None:
    """Run one step of a loop; an outage is logged and the loop goes on (nothing is lost: mail
    stays on the server, letters in the outbox)."""
    try:
        step()
    except _OUTAGES as exc:
        log.warning("a service is unreachable: %s", _first_line(exc))


def _poller(app: App, mailbox: Mailbox, client: Any, stop: threading.Event) -> None:
    """Poll the mailbox while this process holds its lease; otherwise wait to take it over."""
    interval = app.settings.poll_interval
    lease = Lease(client, f"complaints:poller:{mailbox.name}", LEASE_SECONDS)
    while not stop.is_set():
        try:
            if not lease.hold():
                stop.wait(1.0)  # another process polls; take over when its lease runs out
                continue
            _poll_until_empty(app, mailbox, stop, lease=lease)
            if lease.hold():
                # Wake on new mail, and in any case in time to renew the lease.
                _wait_for_mail(mailbox, stop, min(interval, LEASE_SECONDS / 3))
        except (TransientError, ConfigurationError) as exc:
            # ConfigurationError: a login or token refused; recorded so /healthz and
            # `complaints status` show it, and tried again in case an administrator fixes it.
            log.warning("mailbox %s unreachable: %s", mailbox.name, exc)
            _guarded(lambda exc=exc: record_poll_error(app, mailbox.name, str(exc)))
            stop.wait(interval)
        except _OUTAGES as exc:
            log.warning("poll skipped, a service is unreachable: %s", _first_line(exc))
            stop.wait(interval)
        except Exception:  # noqa: BLE001 - the poller must outlive any one bad round
            log.exception("poll round failed")
            stop.wait(interval)
    lease.release()


def _poll_until_empty(
    app: App,
    mailbox: Mailbox,
    stop: threading.Event,
    *,
    lease: Lease | None = None,
    drain: bool = False,
) -> int:
    """Store batches until the folder is empty; returns how many messages were read."""
    total = 0
    while not stop.is_set():
        started = time.monotonic()
        read, queued = poll_batch(app, mailbox, FETCH_LIMIT)
        if drain:
            _drain(app)
        if queued:
            log.info("stored %d new messages in %.2fs", len(queued), time.monotonic() - started)
        total += read
        if read == 0:
            # Only an empty read means the folder is exhausted: a batch is also cut short by the
            # byte budget of one fetch, and the rest must not wait for the next poll.
            break
        if lease is not None and not lease.hold():
            break  # lost the lease (this process was paused too long): another has it now
    return total


def _wait_for_mail(mailbox: Mailbox | None, stop: threading.Event, timeout: float) -> None:
    if mailbox is None:
        stop.wait(timeout)
        return
    wait = getattr(mailbox, "wait_for_mail", None)
    if wait is None:
        stop.wait(timeout)
        return
    deadline = time.monotonic() + timeout
    # In slices, so a stop request is seen within a second.
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        if wait(min(left, 1.0)):
            return


def _wait_for_any(mailboxes: list[Mailbox], stop: threading.Event, timeout: float) -> None:
    """One thread, several mailboxes (the embedded worker): wait on each in turn in short
    slices, so new mail in any of them is seen within about a second."""
    if len(mailboxes) <= 1:
        _wait_for_mail(mailboxes[0] if mailboxes else None, stop, timeout)
        return
    deadline = time.monotonic() + timeout
    slice_ = max(0.1, 1.0 / len(mailboxes))
    while not stop.is_set() and deadline - time.monotonic() > 0:
        for mailbox in mailboxes:
            wait = getattr(mailbox, "wait_for_mail", None)
            if wait is None:
                stop.wait(slice_)
            elif wait(slice_):
                return


def _deadline_watcher(app: App, client: Any, stop: threading.Event) -> None:
    while True:
        with _singleton(client, "deadline-watcher") as mine:
            if mine:
                try:
                    raised = watch_deadlines.run_all(app)
                    if raised:
                        log.info("deadline watcher raised %s events", raised)
                except _OUTAGES as exc:
                    log.warning("deadline watch skipped: %s", _first_line(exc))
                except Exception:  # noqa: BLE001 - try again next time
                    log.exception("deadline watch failed")
        _daily_retention(app, client)
        if stop.wait(app.settings.deadline_interval):
            return


def _daily_retention(app: App, client: Any) -> None:
    """The retention schedule, once a day: the lock keeps two workers from running it at once,
    and the last run's audit entry keeps the second from running it again the same day."""
    from worker.service.data_protection import daily_retention

    with _singleton(client, "retention") as mine:
        if not mine:
            return
        try:
            result = daily_retention(app)
            if result is not None:
                log.info("retention applied: %s", result["expired"])
        except _OUTAGES as exc:
            log.warning("retention skipped: %s", _first_line(exc))
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("retention failed")


# --- several processes ---------------------------------------------------------------------------


def _supervise(procs: int, threads: int, poll: bool) -> int:
    """Run ``procs`` worker processes (Python runs one thread at a time per process; several
    processes use several cores) and restart any that dies, until asked to stop."""
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    command = [
        sys.executable, "-m", "worker.cli", "worker", "--threads", str(threads), "--procs", "1"
    ]  # fmt: skip
    if not poll:
        command.append("--no-poller")
    children: list[subprocess.Popen[bytes]] = [subprocess.Popen(command) for _ in range(procs)]
    log.info("started %d worker processes: %s", procs, " ".join(str(c.pid) for c in children))
    try:
        while not stop.event.wait(1.0):
            for n, child in enumerate(children):
                if child.poll() is not None:
                    log.warning("worker process %s stopped (%s); starting another", child.pid,
                                child.returncode)  # fmt: skip
                    children[n] = subprocess.Popen(command)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


# --- small parts ---------------------------------------------------------------------------------


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


def _drain(app: App) -> None:
    run = getattr(app.jobs, "run_until_idle", None)
    if run is not None:
        run()


def _close_sender(app: App) -> None:
    close = getattr(app.sender, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - stopping anyway
            pass


class RedisHeartbeats:
    """Each worker process refreshes a key with a short expiry; a missing key means it died."""

    def __init__(self, client: Any, ttl: int) -> None:
        self.client = client
        self.ttl = ttl

    def beat(self, instance_id: str) -> None:
        self.client.set(f"complaints:alive:{instance_id}", "1", ex=self.ttl)

    def alive(self, instance_id: str) -> bool:
        return bool(self.client.exists(f"complaints:alive:{instance_id}"))


class Lease:
    """A short Redis lease, renewed by its holder each time it asks: a holder that dies (kill -9,
    a lost machine) loses it within ``seconds``, and another process takes over."""

    _RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
    )
    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('del', KEYS[1]) else return 0 end"
    )

    def __init__(self, client: Any, key: str, seconds: int) -> None:
        self.client = client
        self.key = key
        self.ms = seconds * 1000
        self.token = f"{os.getpid()}:{threading.get_ident()}:{time.time_ns()}"

    def hold(self) -> bool:
        """Renew the lease if it is ours, else try to take it. True when we hold it now."""
        if self.client.eval(self._RENEW, 1, self.key, self.token, self.ms):
            return True
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ms))

    def release(self) -> None:
        try:
            self.client.eval(self._RELEASE, 1, self.key, self.token)
        except Exception:  # noqa: BLE001 - it expires anyway
            pass


@contextmanager
def _singleton(lock_client: Any, name: str) -> Iterator[bool]:
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
