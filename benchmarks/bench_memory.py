"""Memory of one ``complaints worker`` process (issue: at most 250 MiB RSS on the benchmark; a 30 MB
message must not add a multiple of its size).

Three sections, each printing its figures (RSS from /proc/PID/status, peaks from VmHWM after
``echo 5 > /proc/PID/clear_refs``; MiB throughout):

* ``imports``: a fresh interpreter importing the worker's dependencies one group at a time, then
  loading and running the triage model: RSS, anonymous and file-backed.
* ``inprocess``: one N MB message (a complaint with a base64 attachment) stored with
  ``store_batch`` and carried through ``run_stage`` stage by stage in this process (no Redis, the
  PostgreSQL service, letters to a file outbox), with tracemalloc: per stage the traced peak
  (Python allocations; psycopg/libpq's C buffers are not traced, RSS shows them), RSS and VmHWM;
  then after gc and after ``malloc_trim(0)``. Each variant runs in its own interpreter.
* ``worker``: a real ``complaints worker`` in service mode (PostgreSQL, Redis db 11 flushed, a
  private Dovecot, an SMTP sink): idle after start-up, after one message (model loaded), peak and
  after N messages, then one N MB message (before, peak, after), each time also after
  ``malloc_trim(0)`` (the worker is started through a shim, ``bench_memory.py _worker``, that calls
  it on SIGUSR2 and otherwise runs ``worker.cli.main`` unchanged).

Variants (``--variants``) simulate proposed changes by patching at start-up, nothing on disk:
``base`` (none), ``arena2`` (env MALLOC_ARENA_MAX=2), ``mmap`` (env MALLOC_MMAP_THRESHOLD_=131072:
buffers over 128 KiB always mmapped, so returned to the OS when freed), ``chunked`` (the email
parser fed 64 KiB at a time instead of ``BytesParser.parsebytes``), ``defer`` (triage and route load
rows without ``raw``), ``trim`` (``malloc_trim(0)`` after every job); combine with ``+``::

    .venv/bin/python benchmarks/bench_memory.py                       # everything, defaults
    .venv/bin/python benchmarks/bench_memory.py --section imports
    .venv/bin/python benchmarks/bench_memory.py --section inprocess --big-mb 30 \\
        --variants base,chunked,chunked+defer,chunked+defer+mmap
    .venv/bin/python benchmarks/bench_memory.py --section worker --messages 2000 \\
        --variants base,arena2,mmap+arena2+chunked+defer+trim

Services: PostgreSQL at --pg-url (a database complaints_mem_<random> is created and dropped),
Redis at --redis-url (db 11, flushed before and after), /usr/sbin/dovecot.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
PYTHON = sys.executable
SELF = str(Path(__file__).resolve())

# --- /proc ----------------------------------------------------------------------------------------


def status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile in MiB, and Threads."""
    text = Path(f"/proc/{pid}/status").read_text()
    out: dict[str, float] = {}
    for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
        m = re.search(rf"^{key}:\s+(\d+)", text, re.M)
        out[key] = int(m.group(1)) / 1024 if m else 0.0
    m = re.search(r"^Threads:\s+(\d+)", text, re.M)
    out["Threads"] = float(m.group(1)) if m else 0.0
    return out


def reset_peak(pid: int | str = "self") -> None:
    """VmHWM := VmRSS (Linux 4.0+)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# --- variants: simulations of the proposed changes ------------------------------------------------

ENV_VARIANTS = {
    "arena2": {"MALLOC_ARENA_MAX": "2"},
    "mmap": {"MALLOC_MMAP_THRESHOLD_": "131072"},
}
CODE_VARIANTS = ("chunked", "defer", "lazyraw", "binraw", "drop", "trim", "skops")
BIG = 1 << 20  # a message over 1 MiB is "big" for the "drop" variant


def variant_env(variant: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for part in variant.split("+"):
        if part in ENV_VARIANTS:
            env.update(ENV_VARIANTS[part])
        elif part not in CODE_VARIANTS and part != "base":
            raise SystemExit(f"bench_memory: unknown variant {part!r}")
    return env


def apply_patches(variant: str) -> None:
    """Patch the worker's code as the proposed diffs would change it (see the report)."""
    parts = set(variant.split("+"))
    if "chunked" in parts:
        from email.feedparser import BytesFeedParser

        import worker.domain.parsing as parsing

        class ChunkedBytesParser:
            def __init__(self, policy: Any) -> None:
                self.policy = policy

            def parsebytes(self, data: bytes) -> Any:
                parser = BytesFeedParser(policy=self.policy)
                view = memoryview(data)
                for start in range(0, len(view), 65536):
                    parser.feed(view[start : start + 65536].tobytes())
                return parser.close()

        parsing.BytesParser = ChunkedBytesParser  # type: ignore[misc,assignment]
    if "defer" in parts:
        from sqlalchemy import select
        from sqlalchemy.orm import defer

        import worker.stages.route as route
        import worker.stages.triage as triage
        from worker.adapters.db_models import InboundMessage

        def inbound_without_raw(session: Any, ids: list[int], status: str) -> Any:
            return session.scalars(
                select(InboundMessage)
                .options(defer(InboundMessage.raw))
                .where(InboundMessage.id.in_(ids), InboundMessage.status == status)
                .order_by(InboundMessage.id)
            ).all()

        triage.inbound_at = inbound_without_raw  # type: ignore[assignment]
        route.inbound_at = inbound_without_raw  # type: ignore[assignment]
    if parts & {"lazyraw", "binraw"}:
        _patch_parse_raw(binary="binraw" in parts)
    if "drop" in parts:
        _patch_drop_connections()
    if "skops" in parts:
        _patch_skops_import()
    if "trim" in parts:
        import worker.pipeline as pipeline

        real = pipeline.run_stage

        def run_stage_then_trim(*args: Any, **kwargs: Any) -> Any:
            try:
                return real(*args, **kwargs)
            finally:
                malloc_trim()

        pipeline.run_stage = run_stage_then_trim  # type: ignore[assignment]
        with contextlib.suppress(ImportError, RuntimeError):
            import worker.actors as actors  # only importable once the broker is configured

            actors.run_stage = run_stage_then_trim  # type: ignore[assignment]


def _patch_parse_raw(binary: bool) -> None:
    """parse loads its rows without ``raw`` and each message's bytes only while parsing it, then
    forgets them (``session.expire``); with ``binary`` the bytes come in PostgreSQL's binary
    format (libpq holds 1x the size, not 2x as hex text)."""
    from sqlalchemy import select
    from sqlalchemy.orm import defer
    from sqlalchemy.orm.attributes import set_committed_value

    import worker.stages.parse as parse
    from worker.adapters.db_models import InboundMessage

    def inbound_at(session: Any, ids: list[int], status: str) -> Any:
        return session.scalars(
            select(InboundMessage)
            .options(defer(InboundMessage.raw))
            .where(InboundMessage.id.in_(ids), InboundMessage.status == status)
            .order_by(InboundMessage.id)
        ).all()

    real_parse_one = parse._parse_one

    def parse_one(app: Any, session: Any, row: Any, now: Any) -> bool:
        if binary and session.bind.dialect.name == "postgresql":
            driver = session.connection().connection.driver_connection
            with driver.cursor(binary=True) as cur:
                cur.execute("SELECT raw FROM inbound_messages WHERE id = %s", (row.id,))
                found = cur.fetchone()
            set_committed_value(row, "raw", found[0] if found else b"")
            del found
        try:
            return real_parse_one(app, session, row, now)  # row.raw lazy-loads if not set
        finally:
            session.expire(row, ["raw"])

    parse.inbound_at = inbound_at  # type: ignore[assignment]
    parse._parse_one = parse_one  # type: ignore[assignment]


def _patch_skops_import() -> None:
    """skops.io builds its default trusted-type list from ``sklearn.utils.all_estimators()``,
    which imports every sklearn module (and pytest); the triage model names its own trusted
    types, so that list is not needed."""
    import classifiers.triage as triage

    real_load = triage.Triager.load.__func__  # type: ignore[attr-defined]

    def load(cls: Any, path: Any = None) -> Any:
        if "skops.io" not in sys.modules:
            import sklearn.utils

            real_all = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = lambda *a, **k: []
            try:
                import skops.io  # noqa: F401
            finally:
                sklearn.utils.all_estimators = real_all
        return real_load(cls, path)

    triage.Triager.load = classmethod(load)  # type: ignore[assignment,method-assign]


def _patch_drop_connections() -> None:
    """A session that stored or parsed a big message gives back its connection soft-invalidated:
    libpq keeps its input/output buffers at the largest message the connection ever carried (2x
    the size for bytea as hex text), so the pool closes it at its next checkout."""
    import worker.stages.parse as parse
    import worker.stages.receive_mail as receive_mail

    real_note_poll = receive_mail._note_poll
    real_parse_one = parse._parse_one

    def note_poll(session: Any, item: Any, now: Any) -> None:
        real_note_poll(session, item, now)
        if len(item.raw) > BIG:  # the simulation looks at the newest item of the batch only
            session.connection().connection.invalidate(soft=True)

    def parse_one(app: Any, session: Any, row: Any, now: Any) -> bool:
        big = (row.size or 0) > BIG
        try:
            return real_parse_one(app, session, row, now)
        finally:
            if big:
                session.connection().connection.invalidate(soft=True)

    receive_mail._note_poll = note_poll  # type: ignore[assignment]
    parse._parse_one = parse_one  # type: ignore[assignment]


# --- messages -------------------------------------------------------------------------------------


def big_message(factory: Any, i: int, megabytes: float) -> tuple[str, bytes]:
    """Message ``i`` of the factory (a clear complaint) with a base64 attachment making the whole
    message ``megabytes`` MB (10**6 bytes). Returns (Message-ID, raw)."""
    inbound = factory.message(i, attachment=False)
    head, body = inbound.raw.split(b"\r\n\r\n", 1)
    keep = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith((b"content-type", b"content-transfer", b"mime-version"))
    ]
    target = int(megabytes * 1_000_000)
    payload = os.urandom(max(0, target - len(inbound.raw) - 400) * 3 // 4 // 57 * 57)
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    del payload
    raw = b"".join(
        [
            b"\r\n".join(keep),
            b'\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="big-part"\r\n\r\n',
            b"--big-part\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
            body,
            b'\r\n--big-part\r\nContent-Type: application/pdf; name="scan.pdf"\r\n',
            b'Content-Disposition: attachment; filename="scan.pdf"\r\n',
            b"Content-Transfer-Encoding: base64\r\n\r\n",
            encoded,
            b"--big-part--\r\n",
        ]
    )
    return inbound.message_id, raw


# --- output ---------------------------------------------------------------------------------------


def out(text: str = "") -> None:
    print(text, flush=True)


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def child_json(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> Any:
    proc = subprocess.run(
        [PYTHON, SELF, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("{", "["))]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


# --- section 1: imports ---------------------------------------------------------------------------

IMPORT_STEPS = [
    ("python 3.11 interpreter", "pass"),
    ("email (stdlib parser, policy)", "import email.parser, email.policy, email.feedparser"),
    ("sqlalchemy + orm", "import sqlalchemy, sqlalchemy.orm"),
    ("psycopg 3 (binary, libpq+openssl)", "import psycopg"),
    ("alembic (migrations, at start-up)", "import alembic.command, alembic.config"),
    ("redis + dramatiq", "import redis, dramatiq, dramatiq.brokers.redis"),
    (
        "imap_tools, aiosmtplib, jinja2",
        "import imap_tools, jinja2\ntry:\n import aiosmtplib\nexcept ImportError: pass",
    ),
    ("numpy (+openblas)", "import numpy"),
    (
        "worker.* (run_worker, pipeline, adapters)",
        "import worker.run_worker, worker.pipeline, worker.adapters.imap, worker.adapters.smtp",
    ),
    (
        "triage model loaded (Triager.load: compiled copy)",
        "from classifiers.triage import Triager\nT = Triager.load()",
    ),
    (
        "model run on 100 texts",
        "T.probabilities(['my boiler has been broken for weeks and nobody came'] * 100)",
    ),
    # What a worker would add were the compiled copy missing or stale (classifiers/linear_model.py).
    ("without the compiled copy: scipy.sparse", "import scipy.sparse"),
    (
        "without the compiled copy: sklearn",
        "import sklearn.pipeline, sklearn.feature_extraction.text, sklearn.calibration\n"
        "import sklearn.svm, sklearn.linear_model",
    ),
    (
        "without the compiled copy: skops.io",
        "from classifiers import triage\n"
        "getattr(triage, '_skops_io', lambda: __import__('skops.io'))()",
    ),
    (
        "without the compiled copy: the skops model loaded",
        "from classifiers.triage import _load_bundle, DEFAULT_MODEL_PATH\n"
        "B = Triager(_load_bundle(DEFAULT_MODEL_PATH))",
    ),
]


def child_imports() -> None:
    rows = []
    for label, code in IMPORT_STEPS:
        exec(code, globals())  # noqa: S102 - fixed strings above
        gc.collect()
        rows.append([label, status()])
    print(json.dumps(rows))


def section_imports() -> None:
    out("1. imports: one interpreter importing in this order (MiB; cumulative RSS, step delta)")
    rows = child_json(["_imports"])
    out(f"   {'step':50s} {'delta':>6s} {'RSS':>6s} {'anon':>6s} {'file':>6s}")
    previous = 0.0
    for label, s in rows:
        out(
            f"   {label:50s} {s['VmRSS'] - previous:+6.1f} {s['VmRSS']:6.1f} "
            f"{s['RssAnon']:6.1f} {s['RssFile']:6.1f}"
        )
        previous = s["VmRSS"]
    out()


# --- services -------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(pg_url: str) -> Iterator[tuple[Any, str]]:
    from benchmarks._e2e_support import Postgres

    pg = Postgres(pg_url)
    name = pg.create("complaints_mem")
    try:
        yield pg, name
    finally:
        left = pg.drop_all()
        if left:
            print(f"bench_memory: databases not dropped: {left}", file=sys.stderr)


# --- section 2: one big message in this process ---------------------------------------------------


def child_inprocess(variant: str, big_mb: float, pg_url: str) -> None:
    apply_patches(variant)
    import tracemalloc

    from benchmarks._e2e_support import MessageFactory

    scratch = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    result: dict[str, Any] = {"stages": []}
    with database(pg_url) as (pg, name):
        os.environ.update(
            COMPLAINTS_DATABASE_URL=pg.sqlalchemy_url(name),
            COMPLAINTS_OUTBOX_DIR=str(scratch / "outbox"),
        )
        for key in ("COMPLAINTS_REDIS_URL", "COMPLAINTS_IMAP_URL", "COMPLAINTS_SMTP_URL"):
            os.environ.pop(key, None)
        from worker.bootstrap import bootstrap
        from worker.pipeline import STAGES
        from worker.ports import RawInbound
        from worker.stages.receive_mail import store_batch

        app = bootstrap()
        try:
            app.triager  # noqa: B018 - load the model first: it is not what is measured
            factory = MessageFactory("mem")

            def through(ids: list[int], record: Callable[[str], None] | None) -> None:
                import worker.pipeline as pipeline

                todo = [("parse", ids)]
                while todo:
                    stage, batch = todo.pop(0)
                    if record:
                        reset_peak()
                        tracemalloc.reset_peak()
                    following = pipeline.run_stage(app, stage, batch, chain=False)
                    if record:
                        record(stage)
                    todo += [(s, i) for s, i in following if i]

            warm = store_batch(app, [RawInbound("mem", 1, 1, factory.message(0).raw)])
            through([i for i, _ in warm], None)
            _mid, raw = big_message(factory, 1, big_mb)
            result["size"] = len(raw) / MiB
            gc.collect()
            malloc_trim()
            result["before"] = status()
            tracemalloc.start(1)

            def record(stage: str) -> None:
                _cur, peak = tracemalloc.get_traced_memory()
                result["stages"].append([stage, peak / MiB, status()])

            item = RawInbound("mem", 1, 2, raw)
            del raw
            reset_peak()
            tracemalloc.reset_peak()
            stored = store_batch(app, [item])
            del item
            record("store")
            through([i for i, _ in stored], record)
            assert set(STAGES) >= {s for s, _p, _st in result["stages"][1:]}
            gc.collect()
            result["after_gc"] = status()
            malloc_trim()
            result["after_trim"] = status()
        finally:
            app.db.dispose()
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


def section_inprocess(args: argparse.Namespace) -> None:
    out(
        f"2. one {args.big_mb:g} MB message in-process: store_batch + run_stage per stage, "
        "tracemalloc (MiB)"
    )
    for variant in args.variants:
        r = child_json(
            ["_inprocess", variant, str(args.big_mb), args.pg_url], env=variant_env(variant)
        )
        b = r["before"]
        out(f"   [{variant}] message {r['size']:.1f} MiB; RSS before {b['VmRSS']:.0f}")
        for stage, traced, s in r["stages"]:
            out(
                f"     {stage:7s} traced peak {traced:6.1f}   RSS after {s['VmRSS']:6.0f} "
                f"(+{s['VmRSS'] - b['VmRSS']:5.0f})   VmHWM {s['VmHWM']:6.0f} "
                f"(+{s['VmHWM'] - b['VmRSS']:5.0f})"
            )
        g, t = r["after_gc"], r["after_trim"]
        out(
            f"     after gc +{g['VmRSS'] - b['VmRSS']:.0f}; after malloc_trim(0) "
            f"+{t['VmRSS'] - b['VmRSS']:.0f}"
        )
    out()


# --- section 3: the real worker -------------------------------------------------------------------


def child_worker(variant: str, argv: list[str]) -> int:
    """The worker, unchanged but for the variant's patches; SIGUSR2 calls malloc_trim(0)."""
    signal.signal(signal.SIGUSR2, lambda *_: malloc_trim())
    if variant != "base":
        import worker.broker as broker

        real_configure = broker.configure_broker

        def configure_then_patch(*a: Any, **k: Any) -> Any:
            found = real_configure(*a, **k)
            apply_patches(variant)  # worker.actors is importable from here on
            return found

        broker.configure_broker = configure_then_patch  # type: ignore[assignment]
    from worker.cli import main

    return main(argv)


class Sampler:
    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, status(self.pid)["VmRSS"])
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def trimmed(pid: int) -> dict[str, float]:
    os.kill(pid, signal.SIGUSR2)
    time.sleep(1.5)  # the main thread runs the handler within its 1 s wait
    return status(pid)


def rollup(pid: int) -> dict[str, float]:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return {k: int(v) / 1024 for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}


def run_worker_variant(args: argparse.Namespace, variant: str, dovecot: Any, recorder: Any) -> dict:
    from benchmarks._e2e_support import ImapLogin, MessageFactory, append_batches, redis_flush

    result: dict[str, Any] = {"variant": variant}
    tag = os.urandom(3).hex()
    mailbox = dovecot.mailbox(f"mem{tag}")
    login = ImapLogin(mailbox.host, mailbox.port, mailbox.user, mailbox.password)
    factory = MessageFactory(f"m{tag}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-mem-worker-"))
    redis_flush(args.redis_url)
    with database(args.pg_url) as (pg, name):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPLAINTS_", "MALLOC_"))}
        env.update(
            COMPLAINTS_DATABASE_URL=pg.sqlalchemy_url(name),
            COMPLAINTS_REDIS_URL=args.redis_url,
            COMPLAINTS_IMAP_URL=mailbox.url,
            COMPLAINTS_IMAP_PROCESSED_FOLDER="Processed",
            COMPLAINTS_SMTP_URL=recorder.url,
            COMPLAINTS_SENDER_DAILY_CAP="1000000000",
            COMPLAINTS_OUTBOX_DIR=str(scratch / "outbox"),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(ROOT),
            **variant_env(variant),
        )
        subprocess.run(
            [PYTHON, "-m", "worker.cli", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        log_path = scratch / "worker.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [PYTHON, SELF, "_worker", variant, "--", "worker", *worker_args(args)],
                env=env,
                cwd=scratch,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid = proc.pid
        try:
            wait_until(
                lambda: b"worker started" in log_path.read_bytes(), 120, "start-up", proc, log_path
            )
            time.sleep(3)
            result["idle"] = status(pid)
            result["idle_rollup"] = rollup(pid)
            result["idle_trim"] = trimmed(pid)

            def deliver(expected: list[str], timeout: float) -> None:
                wait_until(
                    lambda: recorder.answered(expected) >= len(expected),
                    timeout,
                    "letters",
                    proc,
                    log_path,
                )

            first = factory.message(0)
            append_batches(login, lambda i: factory.message(i), 1, 1, 1)
            deliver([first.message_id], 120)
            time.sleep(2)
            result["warm"] = status(pid)
            result["warm_trim"] = trimmed(pid)

            n = args.messages
            expected = [factory.identity(i)[0] for i in range(1, n + 1)]
            reset_peak(pid)
            sampler = Sampler(pid)
            started = time.monotonic()
            append_batches(login, lambda i: factory.message(i + 1), n, 4, 50)
            deliver(expected, 600)
            result["load_seconds"] = time.monotonic() - started
            result["load_peak_sampled"] = sampler.stop()
            result["load_hwm"] = status(pid)["VmHWM"]
            time.sleep(3)
            result["after_load"] = status(pid)
            result["after_load_rollup"] = rollup(pid)
            result["after_load_trim"] = trimmed(pid)

            mid, raw = big_message(factory, n + 1, args.big_mb)
            result["big_size"] = len(raw) / MiB
            time.sleep(1)
            result["big_before"] = status(pid)
            reset_peak(pid)
            mailbox.append(raw)
            del raw
            deliver([mid], 300)
            time.sleep(3)
            result["big_hwm"] = status(pid)["VmHWM"]
            result["big_after"] = status(pid)
            result["big_trim"] = trimmed(pid)
            result["overall_hwm"] = max(result["load_hwm"], result["big_hwm"])
        finally:
            os.killpg(pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                proc.wait(timeout=5)
            redis_flush(args.redis_url)
            shutil.rmtree(dovecot.base / "mail" / mailbox.user, ignore_errors=True)
            if args.keep_logs:
                progress(f"worker log kept in {log_path}")
            else:
                shutil.rmtree(scratch, ignore_errors=True)
    return result


def worker_args(args: argparse.Namespace) -> list[str]:
    """One process: ``--procs`` defaults to one per core, and its children would not be ours."""
    given = args.worker_args.split()
    return given if "--procs" in given else [*given, "--procs", "1"]


def wait_until(done: Callable[[], bool], timeout: float, what: str, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError(
                f"worker: {what} did not happen (exit {proc.poll()}):\n" + "\n".join(tail)
            )
        time.sleep(0.1)


def section_worker(args: argparse.Namespace) -> None:
    from benchmarks._e2e_support import LetterRecorder, redis_flush
    from tests.support.dovecot import DovecotInstance

    out(
        f"3. one `complaints worker {' '.join(worker_args(args))}` process, service mode (RSS MiB; "
        "'trim' = after malloc_trim(0) on SIGUSR2)"
    )
    redis_flush(args.redis_url)
    dovecot = DovecotInstance()
    recorder = LetterRecorder()
    dovecot.start()
    recorder.start()
    try:
        for variant in args.variants:
            progress(f"[worker {variant}] running")
            r = run_worker_variant(args, variant, dovecot, recorder)

            def f(key: str, r: dict[str, Any] = r) -> float:
                return float(r[key]["VmRSS"])

            if r["idle"]["Threads"] < 3:
                raise RuntimeError("the worker runs no threads: is it another process's parent?")
            out(f"   [{variant}] threads {r['idle']['Threads']:.0f}")
            out(
                f"     idle after start-up   {f('idle'):6.0f}  trim {f('idle_trim'):6.0f}   "
                f"(anon {r['idle_rollup'].get('Anonymous', 0):.0f}, file-backed "
                f"{r['idle']['RssFile']:.0f})"
            )
            out(f"     after 1 msg (model)   {f('warm'):6.0f}  trim {f('warm_trim'):6.0f}")
            out(
                f"     {args.messages} msgs in {r['load_seconds']:.0f} s: peak {r['load_hwm']:6.0f}"
                f" (sampled {r['load_peak_sampled']:.0f}); after {f('after_load'):.0f}, "
                f"trim {f('after_load_trim'):.0f}"
            )
            out(
                f"     {r['big_size']:.1f} MiB message: before {f('big_before'):.0f}, peak "
                f"{r['big_hwm']:.0f} (+{r['big_hwm'] - f('big_before'):.0f}), after "
                f"{f('big_after'):.0f}, trim {f('big_trim'):.0f}"
            )
            out(f"     process peak (VmHWM) {r['overall_hwm']:.0f}")
    finally:
        recorder.stop()
        dovecot.close()
        redis_flush(args.redis_url)
    out()


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if argv[:1] == ["_imports"]:
        child_imports()
        return 0
    if argv[:1] == ["_inprocess"]:
        child_inprocess(argv[1], float(argv[2]), argv[3])
        return 0
    if argv[:1] == ["_worker"]:
        rest = argv[2:]
        return child_worker(argv[1], rest[1:] if rest[:1] == ["--"] else rest)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--section", action="append", choices=["imports", "inprocess", "worker"])
    p.add_argument(
        "--variants", default="base", type=lambda s: [v.strip() for v in s.split(",") if v.strip()]
    )
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--big-mb", type=float, default=30.0)
    p.add_argument("--worker-args", default="", help='e.g. "--threads 8"')
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    p.add_argument("--keep-logs", action="store_true")
    args = p.parse_args(argv)
    for v in args.variants:
        variant_env(v)
    sections = args.section or ["imports", "inprocess", "worker"]
    out(
        f"bench_memory: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    if "imports" in sections:
        section_imports()
    if "inprocess" in sections:
        section_inprocess(args)
    if "worker" in sections:
        section_worker(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
