"""End-to-end benchmark of ``complaints worker``: mail APPENDed to a real IMAP server in, letters
out over SMTP, with PostgreSQL and Redis, the worker run as a user runs it (a subprocess).

It starts a private Dovecot (tests/support/dovecot.py) on a free port, an SMTP recorder that
timestamps every letter on arrival, and creates its own PostgreSQL database for every phase
(complaints_bench_<random>, dropped afterwards) and flushes its Redis database (db 12) before,
between and after phases. Each phase gets a fresh mailbox, a fresh database and freshly started
workers, which are first warmed up with one message per worker process (model loaded,
connections open) so start-up is not measured. Messages are generated complaints in residents'
words (2-4 KB of text, a third with a 20-60 KB JPEG attachment, half multipart/alternative,
distinct senders and Message-IDs); the classifier takes them as clear complaints, so each should
get one stage 1 acknowledgement. A letter is matched to its message by In-Reply-To; the
benchmark checks To is the sender, and counts letter kinds, doubles and missing letters.

Figures, and how to reproduce each (every run also prints the machine, the versions of
PostgreSQL, Redis and Dovecot, and the worker's git revision):

* **throughput**: N messages APPENDed as fast as Dovecot takes them, 50 to a MULTIAPPEND
  over 4 parallel IMAP sessions (``--append-batch 1`` for one message an APPEND; the append rate
  is printed, so you can see whether appending was the limit: per-message APPENDs cost Dovecot an
  fsync each); the figure is N / (last letter received - first APPEND sent)::

      .venv/bin/python benchmarks/bench_e2e.py --messages 10000 --skip latency
      .venv/bin/python benchmarks/bench_e2e.py --messages 10000 --repeat 3 --skip latency

* **acknowledgement latency** p50/p95/max at a steady 10 and 50 msg/s: message k is APPENDed at
  start + k/rate over 4 sessions for ``--steady-seconds`` (default 30); a session that finds
  several messages already due sends them together, so the offered rate holds on a busy machine
  (the achieved rate is printed). Latency = letter arrival - APPEND completed::

      .venv/bin/python benchmarks/bench_e2e.py --skip throughput --skip ceilings

* **peak RSS**: of all worker processes, the sum over each ``complaints worker`` process tree,
  sampled from /proc every 0.2 s, plus the largest single process; printed per phase and overall.
* **stage ceilings**, in the same run, on the same services: raw IMAP bulk fetch (UID FETCH
  BODY.PEEK[] of N messages in chunks of 200 over one session), SMTP over 20 persistent aiosmtplib
  connections to the same recorder (N messages of about 3 KB, from a separate process), and
  PostgreSQL batched insert (N rows of about 3 KB of bytea, 100 rows per transaction). Every
  worker figure is also printed as a ratio: throughput to each ceiling; latency p95 to the 2 s
  target and RSS to the 250 MiB per-process target of issue 12 (these have no ceiling)::

      .venv/bin/python benchmarks/bench_e2e.py --messages 10000 --skip latency --skip throughput

* **poll cost against mailbox history** (``--history N``): the Processed folder is pre-filled
  with N already-processed (\\Seen) messages by MULTIAPPEND over 4 sessions before the worker
  starts, then 10 new messages arrive one a second and their latency is compared with the same on
  an empty mailbox. Equal figures show that the poll cost does not grow with history (the
  database is not pre-filled: this isolates the mailbox)::

      .venv/bin/python benchmarks/bench_e2e.py --history 100000 \\
          --skip throughput --skip latency --skip ceilings

Worker configurations: ``--worker-args "--threads 8"`` is passed to every ``complaints worker``,
``--workers M`` starts M worker processes, ``--poll-interval S`` sets COMPLAINTS_POLL_INTERVAL
(default: the worker's own), ``--smtp-pool N`` the SMTP connections each worker process keeps
(``?pool=N`` on the SMTP URL), ``--env NAME=VALUE`` sets anything else. ``--quick`` (400 messages,
steady phases of 10 s) is what CI runs: it fails only on a real error (letters missing after
``--no-progress-timeout`` seconds, default 120, without a new letter; a worker that exits; a
service that is down), never on a timing. Exit status: 0 done, 1 such an error (what is missing
is printed), 2 bad arguments.

Services: PostgreSQL at --pg-url (postgresql://postgres@127.0.0.1:5432), Redis at --redis-url
(redis://127.0.0.1:6379/12), /usr/sbin/dovecot; ``bash scripts/test.sh`` installs and starts
them. Clean-up (workers SIGTERM then SIGKILL after 10 s, Dovecot, the databases, the Redis
database) runs on success, error and Ctrl-C; worker logs are kept only when the run fails.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._e2e_support import (  # noqa: E402
    AppendRun,
    Ceiling,
    ImapLogin,
    Inbound,
    LetterAudit,
    LetterRecorder,
    MessageFactory,
    MiB,
    Postgres,
    RssSampler,
    WorkerGroup,
    append_batches,
    append_paced,
    audit_letters,
    dovecot_version,
    imap_fetch_ceiling,
    machine,
    percentile,
    pg_insert_ceiling,
    redis_flush,
    redis_version,
    smtp_ceiling,
    worker_revision,
)
from tests.support.dovecot import DovecotInstance, ImapServer  # noqa: E402

PROCESSED = "Processed"
LATENCY_TARGET_S = 2.0  # issue 12: p95 at 50 msg/s
RSS_TARGET_MIB = 250.0  # issue 12: one worker process
HISTORY_PROBES = 10


class BenchError(Exception):
    """A real failure (not a slow figure): the run stops and exits with status 1."""


# --- results -------------------------------------------------------------------------------------


@dataclass
class PhaseMemory:
    peak_total: int = 0
    peak_single: int = 0
    processes: int = 0
    cpu_seconds: float = 0.0  # after the warm-up: start-up and model loading are not in it
    cpu_at_start: float = 0.0


@dataclass
class Throughput:
    messages: int
    append: AppendRun
    seconds: float
    audit: LetterAudit
    memory: PhaseMemory

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@dataclass
class Latency:
    label: str
    offered: float
    append: AppendRun
    latencies: list[float]
    delivered_rate: float
    audit: LetterAudit
    memory: PhaseMemory

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


@dataclass
class Results:
    ceilings: dict[str, Ceiling] = field(default_factory=dict)
    throughput: list[Throughput] = field(default_factory=list)
    latency: list[Latency] = field(default_factory=list)
    history: list[Latency] = field(default_factory=list)
    peak_total: int = 0
    peak_single: int = 0


@dataclass
class Env:
    """One phase's fresh mailbox, database and running workers."""

    label: str
    mailbox: ImapServer
    workers: WorkerGroup
    sampler: RssSampler
    factory: MessageFactory
    memory: PhaseMemory


# --- output --------------------------------------------------------------------------------------


def out(text: str = "") -> None:
    print(text, flush=True)


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def mib(n: int) -> str:
    return f"{n / MiB:,.0f} MiB"


def rate(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def kinds(audit: LetterAudit) -> str:
    text = ", ".join(f"{k} {n}" for k, n in audit.kinds.most_common()) or "none"
    problems = [
        f"{label} {n}"
        for label, n in (
            ("missing", len(audit.missing)),
            ("doubled", audit.doubled),
            ("to the wrong address", audit.wrong_recipient),
            ("unmatched", audit.stray),
        )
        if n
    ]
    staff = ", ".join(f"{k} {n}" for k, n in audit.to_staff.most_common())
    text += f"; to staff: {staff}" if staff else ""
    return text + (f"; {', '.join(problems)}" if problems else "")


def memory_line(m: PhaseMemory, messages: int) -> str:
    per = f" = {1000 * m.cpu_seconds / messages:.1f} ms per message" if messages else ""
    return (
        f"workers' peak RSS {mib(m.peak_total)} over {m.processes} process(es), largest "
        f"{mib(m.peak_single)}; their CPU after warm-up {m.cpu_seconds:.1f} s{per}"
    )


# --- the benchmark -------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.complaints = self._complaints_binary()
        self.run_id = os.urandom(3).hex()
        self.scratch = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
        self.pg = Postgres(args.pg_url)
        self.recorder = LetterRecorder()
        self.dovecot: DovecotInstance | None = None
        self.results = Results()
        self.phase_no = 0
        self.pg_version = self.redis_version = "?"

    # -- set-up and clean-up --------------------------------------------------------------------

    def _complaints_binary(self) -> str:
        if self.args.complaints:
            return str(self.args.complaints)
        local = ROOT / ".venv" / "bin" / "complaints"
        found = str(local) if local.exists() else shutil.which("complaints")
        if not found:
            raise BenchError("no `complaints` command: create .venv (bash scripts/test.sh)")
        return found

    def start_services(self) -> None:
        try:
            redis_flush(self.args.redis_url)
            self.pg_version = self.pg.version()
            self.redis_version = redis_version(self.args.redis_url)
        except Exception as exc:  # noqa: BLE001 - any driver error means the service is not usable
            raise BenchError(
                f"PostgreSQL or Redis is not usable ({type(exc).__name__}: {exc}); "
                "bash scripts/test.sh starts them"
            ) from None
        self.dovecot = DovecotInstance()
        try:
            self.dovecot.start()
        except RuntimeError as exc:
            raise BenchError(f"Dovecot: {exc}") from None
        self.recorder.start()

    def close(self, failed: bool) -> None:
        """Everything the run started or created goes, whatever happened before."""
        problems: list[str] = []
        for step, action in (
            ("SMTP recorder", self.recorder.stop),
            ("Dovecot", self.dovecot.close if self.dovecot else lambda: None),
            ("Redis flush", lambda: redis_flush(self.args.redis_url)),
        ):
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - clean-up carries on
                problems.append(f"{step}: {exc}")
        left = self.pg.drop_all()
        if left:
            problems.append(f"databases not dropped: {', '.join(left)}")
        for problem in problems:
            print(f"bench_e2e: clean-up: {problem}", file=sys.stderr)
        if failed:
            print(f"bench_e2e: worker logs kept in {self.scratch}", file=sys.stderr)
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def worker_env(self, mailbox: ImapServer, database: str, scratch: Path) -> dict[str, str]:
        # Nothing COMPLAINTS_* leaks in from the caller's shell: the run says what it measures.
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
        env.update(
            {
                "COMPLAINTS_DATABASE_URL": self.pg.sqlalchemy_url(database),
                "COMPLAINTS_REDIS_URL": self.args.redis_url,
                "COMPLAINTS_IMAP_URL": mailbox.url,
                "COMPLAINTS_IMAP_PROCESSED_FOLDER": PROCESSED,
                "COMPLAINTS_SMTP_URL": self.recorder.url
                + (f"?pool={self.args.smtp_pool}" if self.args.smtp_pool else ""),
                # Every message is from a new sender, but keep any per-sender cap out of the way.
                "COMPLAINTS_SENDER_DAILY_CAP": "1000000000",
                "COMPLAINTS_OUTBOX_DIR": str(scratch / "outbox"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.args.poll_interval:
            env["COMPLAINTS_POLL_INTERVAL"] = str(self.args.poll_interval)
        for item in self.args.env:
            name, _, value = item.partition("=")
            env[name] = value
        return env

    @contextlib.contextmanager
    def environment(
        self, label: str, prepare: Callable[[ImapServer], None] | None = None
    ) -> Iterator[Env]:
        """A fresh mailbox, database and Redis, ``complaints db upgrade``, M workers started and
        warmed up; all of it stopped and removed afterwards, also on error or Ctrl-C."""
        assert self.dovecot is not None
        self.phase_no += 1
        mailbox = self.dovecot.mailbox(f"bench{self.run_id}p{self.phase_no}")
        scratch = self.scratch / f"{self.phase_no:02d}-{label}"
        scratch.mkdir()
        redis_flush(self.args.redis_url)
        database = self.pg.create()
        env = self.worker_env(mailbox, database, scratch)
        workers = WorkerGroup(
            [self.complaints, "worker", *shlex.split(self.args.worker_args)],
            env,
            self.args.workers,
            scratch,
        )
        sampler = RssSampler(lambda: workers.pids)
        memory = PhaseMemory()
        try:
            upgrade = subprocess_run([self.complaints, "db", "upgrade"], env, scratch)
            if upgrade.returncode != 0:
                raise BenchError(f"complaints db upgrade failed:\n{upgrade.output}")
            if prepare is not None:
                prepare(mailbox)
            workers.start()
            sampler.start()
            e = Env(label, mailbox, workers, sampler, self.factory(label), memory)
            self.warm_up(e)
            memory.cpu_at_start = sampler.cpu_seconds()
            yield e
        except BenchError:
            print(workers.log_tail(), file=sys.stderr)
            raise
        finally:
            with no_interrupts():
                self._tear_down(workers, sampler, memory, database, mailbox)

    def _tear_down(
        self,
        workers: WorkerGroup,
        sampler: RssSampler,
        memory: PhaseMemory,
        database: str,
        mailbox: ImapServer,
    ) -> None:
        assert self.dovecot is not None
        sampler.stop()
        # Read before the workers stop: shutting down is not work done for the messages.
        memory.cpu_seconds = max(0.0, sampler.cpu_seconds() - memory.cpu_at_start)
        workers.stop()
        memory.peak_total, memory.peak_single = sampler.peak_total, sampler.peak_single
        memory.processes = len(sampler.processes_seen)
        self.results.peak_total = max(self.results.peak_total, memory.peak_total)
        self.results.peak_single = max(self.results.peak_single, memory.peak_single)
        with contextlib.suppress(Exception):
            self.pg.drop(database)
        with contextlib.suppress(Exception):
            redis_flush(self.args.redis_url)
        # The mailbox is not needed again; a 10,000-message run leaves ~200 MB otherwise.
        shutil.rmtree(self.dovecot.base / "mail" / mailbox.user, ignore_errors=True)

    def factory(self, label: str) -> MessageFactory:
        return MessageFactory(f"b{self.run_id}-{label}")

    def warm_up(self, env: Env) -> None:
        """One message per worker process, answered before the phase starts: the model is loaded
        and connections are open, so start-up time is not in any figure."""
        factory = self.factory(f"{env.label}-warm")
        count = self.args.workers
        expected = {factory.identity(i)[0]: factory.identity(i)[1] for i in range(count)}
        progress(f"[{env.label}] warming up {count} worker process(es)")
        append_batches(self.login(env.mailbox), factory.message, count, 1, 1)
        self.wait(env, expected, f"{env.label} warm-up", lambda: True)
        self.recorder.reset()

    def login(self, mailbox: ImapServer) -> ImapLogin:
        return ImapLogin(mailbox.host, mailbox.port, mailbox.user, mailbox.password)

    # -- waiting ---------------------------------------------------------------------------------

    def wait(
        self, env: Env, expected: dict[str, str], label: str, appending_done: Callable[[], bool]
    ) -> None:
        """Until every expected message has a letter; BenchError after the no-progress timeout
        (no new letter, and nothing being appended) or when a worker exits."""
        timeout = self.args.no_progress_timeout
        ids = list(expected)
        last_count, last_change, last_report = -1, time.monotonic(), time.monotonic()
        report_count = 0
        while True:
            done = appending_done()
            got = self.recorder.answered(ids)
            now = time.monotonic()
            if got >= len(ids) and done:
                return
            if got != last_count or not done:
                last_count, last_change = got, now
            exited = env.workers.exited()
            if exited:
                raise BenchError(
                    f"{label}: worker process(es) exited: "
                    + ", ".join(f"pid {pid} status {rc}" for pid, rc in exited)
                )
            if now - last_change > timeout:
                audit = audit_letters(self.recorder, expected)
                sample = "\n".join(f"    {mid}" for mid in audit.missing[:10])
                raise BenchError(
                    f"{label}: {len(audit.missing)} of {len(ids)} messages have no letter after "
                    f"{timeout:.0f} s without a new one (first missing Message-IDs below)\n{sample}"
                )
            if now - last_report >= 5:
                speed = (got - report_count) / (now - last_report)
                progress(
                    f"[{label}] {got:,}/{len(ids):,} letters, {speed:,.1f}/s over the last "
                    f"{now - last_report:.0f} s; workers RSS {mib(env.sampler.current_total)}"
                )
                last_report, report_count = now, got
            time.sleep(0.25)

    def in_background(
        self, fn: Callable[[], AppendRun]
    ) -> tuple[Callable[[], bool], Callable[[], AppendRun]]:
        """Run an appender in a thread so the waiting loop reports progress and notices a dead
        worker meanwhile; returns (is it done?, its result or its exception)."""
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                box["error"] = exc

        thread = threading.Thread(target=run, name="appender", daemon=True)
        thread.start()

        def done() -> bool:
            if not thread.is_alive() and "error" in box:
                raise BenchError(f"appending failed: {box['error']}") from box["error"]
            return not thread.is_alive()

        def result() -> AppendRun:
            thread.join()
            done()
            return box["result"]  # type: ignore[no-any-return]

        return done, result

    # -- phases ----------------------------------------------------------------------------------

    def ceilings(self) -> None:
        assert self.dovecot is not None
        n = self.args.messages
        out(f"stage ceilings ({n:,} items each):")
        factory = self.factory("ceil")
        mailbox = self.dovecot.mailbox(f"bench{self.run_id}ceil")
        try:
            progress(f"[ceilings] filling a mailbox with {n:,} messages for the fetch")
            fill = append_batches(self.login(mailbox), factory.message, n, 4, 200).rate
            imap = imap_fetch_ceiling(self.login(mailbox))
        finally:
            shutil.rmtree(self.dovecot.base / "mail" / mailbox.user, ignore_errors=True)
        if imap.count != n:
            raise BenchError(f"IMAP ceiling fetched {imap.count} of {n} messages")
        self.results.ceilings["imap"] = imap
        out(
            f"  IMAP bulk fetch (UID FETCH BODY.PEEK[], 200 a command) {rate(imap.rate):>9} "
            f"msg/s   (mailbox filled by MULTIAPPEND at {rate(fill)} msg/s)"
        )
        progress("[ceilings] SMTP, 20 connections")
        self.recorder.reset()
        # A separate process: the client must not share a GIL with the recorder's thread.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            smtp = pool.submit(smtp_ceiling, self.recorder.host, self.recorder.port, n, 20).result()
        received = self.recorder.count()
        self.recorder.reset()
        if received != n:
            raise BenchError(f"SMTP ceiling: the recorder got {received} of {n} messages")
        self.results.ceilings["smtp"] = smtp
        out(f"  SMTP, 20 persistent connections, ~3 KB messages        {rate(smtp.rate):>9} msg/s")
        progress("[ceilings] PostgreSQL batched insert")
        database = self.pg.create()
        try:
            pg = pg_insert_ceiling(self.pg.conninfo(database), n)
        finally:
            self.pg.drop(database)
        self.results.ceilings["pg"] = pg
        out(f"  PostgreSQL insert, ~3 KB bytea, 100 rows a transaction  {rate(pg.rate):>9} rows/s")

    def throughput(self, k: int) -> Throughput:
        n = self.args.messages
        with self.environment(f"tp{k}") as env:
            ids = [env.factory.identity(i) for i in range(n)]
            expected = {mid: sender for mid, sender, _, _ in ids}
            conns, batch = self.args.append_connections, self.args.append_batch
            progress(f"[throughput {k}] appending {n:,} messages over {conns} IMAP sessions")
            done, result = self.in_background(
                lambda: append_batches(
                    self.login(env.mailbox), env.factory.message, n, conns, batch
                )
            )
            self.wait(env, expected, f"throughput {k}", done)
            appended = result()
            first = self.recorder.first_letters(expected)
            seconds = max(x.arrived for x in first.values()) - appended.started
            audit = audit_letters(self.recorder, expected)
        item = Throughput(n, appended, seconds, audit, env.memory)
        attachments = sum(1 for i in range(n) if i % 3 == 2)
        out(
            f"throughput run {k}: {rate(item.rate)} msg/s ({n:,} messages, {attachments:,} with "
            f"an attachment, first APPEND to last letter {seconds:,.1f} s)"
        )
        out(
            f"  appended in {appended.finished - appended.started:,.1f} s = "
            f"{rate(appended.rate)} msg/s over {conns} IMAP sessions, "
            + (f"{batch} messages a MULTIAPPEND" if batch > 1 else "one message an APPEND")
        )
        out(f"  letters: {kinds(audit)} (mean {audit.mean_size / 1024:.1f} KB)")
        out(f"  {memory_line(env.memory, n)}")
        return item

    def steady(self, offered: float, seconds: float) -> Latency:
        label = f"r{offered:g}"
        with self.environment(label) as env:
            item = self.paced(env, offered, seconds, f"{offered:g} msg/s")
        out(
            f"latency at a steady {offered:g} msg/s for {seconds:g} s: p50 {item.p(50):.2f} s, "
            f"p95 {item.p(95):.2f} s, max {item.p(100):.2f} s "
            f"(p95 = {item.p(95) / LATENCY_TARGET_S:.2f} x the {LATENCY_TARGET_S:g} s target)"
        )
        out(
            f"  {len(item.latencies):,} messages appended at {rate(item.append.rate)} msg/s; "
            f"letters delivered at {rate(item.delivered_rate)} msg/s "
            f"= {item.delivered_rate / offered:.2f} x the offered rate"
        )
        out(f"  letters: {kinds(item.audit)}")
        out(f"  {memory_line(env.memory, len(item.latencies))}")
        return item

    def paced(self, env: Env, offered: float, seconds: float, label: str) -> Latency:
        """Append at ``offered`` msg/s for ``seconds``, wait for every letter, and measure each
        message's latency: its letter's arrival minus the moment its APPEND completed."""
        factory = env.factory
        count = max(1, round(offered * seconds))
        expected = dict(factory.identity(i)[:2] for i in range(count))
        progress(f"[{label}] appending {count:,} messages over {seconds:g} s")
        done, result = self.in_background(
            lambda: append_paced(
                self.login(env.mailbox),
                factory.message,
                offered,
                seconds,
                connections=self.args.append_connections,
            )
        )
        self.wait(env, expected, label, done)
        appended = result()
        first = self.recorder.first_letters(appended.done_at)
        latencies = [first[mid].arrived - at for mid, at in appended.done_at.items()]
        span = max(x.arrived for x in first.values()) - appended.started
        return Latency(
            env.label,
            offered,
            appended,
            latencies,
            len(first) / max(span, 1e-9),
            audit_letters(self.recorder, expected),
            env.memory,
        )

    def history(self, size: int) -> None:
        out(
            f"poll cost against mailbox history ({HISTORY_PROBES} new messages, one a second, "
            f"with {size:,} processed messages in {PROCESSED} and without):"
        )
        for prefill in (0, size):
            label = f"h{prefill}"
            with self.environment(label, self.prefiller(prefill)) as env:
                item = self.paced(env, 1.0, HISTORY_PROBES, f"history {prefill:,}")
            self.results.history.append(item)
            out(
                f"  {prefill:>9,} processed: p50 {item.p(50):.2f} s, max {item.p(100):.2f} s; "
                f"letters: {kinds(item.audit)}; {memory_line(env.memory, 0)}"
            )
        base, full = self.results.history[-2], self.results.history[-1]
        out(f"  ratio with history / without: p50 {full.p(50) / max(base.p(50), 1e-9):.2f}")

    def prefiller(self, count: int) -> Callable[[ImapServer], None] | None:
        if not count:
            return None
        return lambda mailbox: self.prefill(mailbox, count)

    def prefill(self, mailbox: ImapServer, count: int) -> None:
        """Fill Processed with ``count`` \\Seen messages. A few hundred messages are rendered
        and given new Message-IDs, so 100,000 take seconds, not minutes, to produce."""
        factory = self.factory("hist")
        bases = [factory.message(i, attachment=False).raw for i in range(300)]

        def render(i: int) -> Inbound:
            raw = bases[i % len(bases)].replace(b"Message-ID: <", b"Message-ID: <h%d." % i, 1)
            return Inbound(f"h{i}", "", raw, attachment=False, alternative=False)

        last = [time.monotonic()]

        def report(done: int) -> None:
            if time.monotonic() - last[0] >= 5:
                last[0] = time.monotonic()
                progress(f"[history] {done:,}/{count:,} messages in {PROCESSED}")

        filled = append_batches(
            self.login(mailbox), render, count, 4, 200, PROCESSED, "\\Seen", report
        )
        out(
            f"  ({count:,} messages put in {PROCESSED} in "
            f"{filled.finished - filled.started:,.1f} s, {rate(filled.rate)} msg/s by MULTIAPPEND)"
        )

    # -- the whole run ---------------------------------------------------------------------------

    def header(self) -> None:
        a = self.args
        out("bench_e2e: complaints worker end to end")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        # Other work on the machine shows here; figures from a loaded machine are not comparable.
        out(f"machine:  {machine()}; load average {load} at the start")
        out(
            f"versions: Python {sys.version.split()[0]}, PostgreSQL {self.pg_version}, "
            f"Redis {self.redis_version}, Dovecot {dovecot_version()}"
        )
        out(f"worker:   {ROOT} at {worker_revision()}")
        extra = f" {a.worker_args}" if a.worker_args else ""
        poll = f"{a.poll_interval:g} s" if a.poll_interval else "the worker's default"
        out(
            f"command:  complaints worker{extra}  x {a.workers} process(es); poll interval "
            f"{poll}{''.join(f'; {e}' for e in a.env)}"
        )
        parts = []
        if "ceilings" not in a.skip:
            parts.append(f"ceilings on {a.messages:,} items")
        if "throughput" not in a.skip:
            parts.append(f"{a.messages:,} messages a throughput run x {a.repeat}")
        if "latency" not in a.skip:
            rates = ", ".join(f"{r:g}" for r in a.rates)
            parts.append(f"steady {rates} msg/s for {a.steady_seconds:g} s each")
        if a.history:
            parts.append(f"history {a.history:,}")
        out(f"run:      {'; '.join(parts) or 'nothing'}" + (" (quick)" if a.quick else ""))
        out()

    def run(self) -> None:
        a = self.args
        self.start_services()
        self.header()
        if "ceilings" not in a.skip:
            self.ceilings()
            out()
        if "throughput" not in a.skip:
            for k in range(1, a.repeat + 1):
                self.results.throughput.append(self.throughput(k))
                out()
        if "latency" not in a.skip:
            for offered in a.rates:
                self.results.latency.append(self.steady(offered, a.steady_seconds))
                out()
        if a.history:
            self.history(a.history)
            out()
        self.summary()

    def summary(self) -> None:
        r = self.results
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        out(f"summary (load average {load} at the end)")
        names = {
            "imap": ("IMAP bulk fetch", "msg/s"),
            "smtp": ("SMTP 20 connections", "msg/s"),
            "pg": ("PostgreSQL insert", "rows/s"),
        }
        for key, (name, unit) in names.items():
            if key in r.ceilings:
                out(f"  ceiling: {name:<22} {rate(r.ceilings[key].rate):>9} {unit}")
        if r.throughput:
            rates = [t.rate for t in r.throughput]
            median = statistics.median(rates)
            each = ", ".join(rate(x) for x in rates)
            runs = f"median of {len(rates)} runs ({each})" if len(rates) > 1 else "1 run"
            ratios = "; ".join(
                f"{median / r.ceilings[key].rate:.3f} x {names[key][0]}"
                for key in ("smtp", "imap", "pg")
                if key in r.ceilings
            )
            out(f"  throughput: {rate(median)} msg/s, {runs}" + (f" = {ratios}" if ratios else ""))
        for item in r.latency:
            out(
                f"  latency at {item.offered:g} msg/s: p50 {item.p(50):.2f} s, p95 "
                f"{item.p(95):.2f} s = {item.p(95) / LATENCY_TARGET_S:.2f} x the "
                f"{LATENCY_TARGET_S:g} s target; delivered {item.delivered_rate / item.offered:.2f}"
                " x offered"
            )
        if len(r.history) == 2:
            base, full = r.history
            out(
                f"  history: p50 {base.p(50):.2f} s empty, {full.p(50):.2f} s with "
                f"{self.args.history:,} processed = {full.p(50) / max(base.p(50), 1e-9):.2f} x"
            )
        if r.peak_total:
            out(
                f"  peak RSS: {mib(r.peak_total)} all worker processes, largest process "
                f"{mib(r.peak_single)} = {r.peak_single / MiB / RSS_TARGET_MIB:.2f} x the "
                f"{RSS_TARGET_MIB:g} MiB target"
            )


@dataclass
class Completed:
    returncode: int
    output: str


def subprocess_run(command: list[str], env: dict[str, str], cwd: Path) -> Completed:
    import subprocess

    try:
        done = subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        return Completed(1, f"{shlex.join(command)} did not finish in 600 s")
    return Completed(done.returncode, (done.stdout + done.stderr).strip())


# --- command line --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_e2e.py",
        description="End-to-end benchmark of `complaints worker` (see the module docstring).",
    )
    parser.add_argument("--messages", type=int, help="messages per throughput run (default 10000)")
    parser.add_argument(
        "--quick", action="store_true", help="CI mode: 400 messages, steady phases of 10 s"
    )
    parser.add_argument("--repeat", type=int, default=1, help="throughput runs (median printed)")
    parser.add_argument(
        "--steady-seconds", type=float, help="length of each steady-rate phase (default 30)"
    )
    parser.add_argument(
        "--rates", default="10,50", help="steady rates in msg/s, comma-separated (default 10,50)"
    )
    parser.add_argument("--history", type=int, default=0, metavar="N", help="history comparison")
    parser.add_argument("--worker-args", default="", help='e.g. "--threads 8"')
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--poll-interval", type=float, help="sets COMPLAINTS_POLL_INTERVAL")
    parser.add_argument(
        "--smtp-pool",
        type=int,
        metavar="N",
        help="SMTP connections a worker process keeps (?pool=N on the SMTP URL; default the "
        "worker's own)",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="more worker settings"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("ceilings", "throughput", "latency"),
        help="leave out a part (repeatable)",
    )
    parser.add_argument(
        "--append-connections", type=int, default=4, help="IMAP sessions appending (default 4)"
    )
    parser.add_argument(
        "--append-batch",
        type=int,
        default=50,
        help="messages a MULTIAPPEND in the throughput phase; 1 = one an APPEND (default 50)",
    )
    parser.add_argument("--no-progress-timeout", type=float, default=120.0)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--complaints", help="the complaints command (default .venv/bin/complaints)"
    )
    args = parser.parse_args(argv)
    if args.messages is None:
        args.messages = 400 if args.quick else 10_000
    if args.steady_seconds is None:
        args.steady_seconds = 10.0 if args.quick else 30.0
    if args.smtp_pool is not None and not 1 <= args.smtp_pool <= 500:
        parser.error("--smtp-pool must be from 1 to 500")
    try:
        args.rates = [float(x) for x in args.rates.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--rates must be numbers separated by commas, got {args.rates!r}")
    for name in ("messages", "repeat", "workers", "append_connections", "append_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if any(r <= 0 for r in args.rates) or args.steady_seconds <= 0 or args.history < 0:
        parser.error("rates, --steady-seconds and --history must be positive")
    if any("=" not in e for e in args.env):
        parser.error("--env takes NAME=VALUE")
    return args


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Clean-up must finish even if Ctrl-C is pressed again (or SIGTERM comes) while it runs."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP take the same path as Ctrl-C, so every clean-up on the way out runs.
    # SIGINT is set too: a shell starts background jobs with it ignored, and Python keeps that.
    print(
        f"bench_e2e: stopping on {signal.Signals(signum).name}; cleaning up (workers get 10 s)",
        file=sys.stderr,
        flush=True,
    )
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    bench: Bench | None = None
    failed = True
    try:
        bench = Bench(args)
        bench.run()
        failed = False
        return 0
    except BenchError as exc:
        print(f"bench_e2e: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - a service or client failure: say so, clean up, exit 1
        traceback.print_exc()
        print("bench_e2e: error: unexpected failure (traceback above)", file=sys.stderr)
        return 1
    finally:
        if bench is not None:
            with no_interrupts():
                bench.close(failed)


if __name__ == "__main__":
    sys.exit(main())
