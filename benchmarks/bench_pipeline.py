"""Benchmark the whole intake pipeline: mail in -> stored, parsed, triaged, routed, letter out.

Reproduce::

    .venv/bin/python benchmarks/bench_pipeline.py                 # 1,000 messages, SQLite
    .venv/bin/python benchmarks/bench_pipeline.py --quick         # smoke run, 150 messages
    .venv/bin/python benchmarks/bench_pipeline.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python benchmarks/bench_pipeline.py --batch 2     # small batches, as at 50 msg/s
    .venv/bin/python benchmarks/bench_pipeline.py --mail e2e    # bench_e2e.py's complaints

Messages are the bundled sample mailbox, each copy given a fresh Message-ID and sender so every
one is new work (a case, service request, receipt or record); with ``--mail e2e``, the generated
complaints of ``bench_e2e.py`` instead (each a complaint, a third with an attachment), so that
the worker's own CPU for that benchmark's mail can be measured here, where nothing else runs:
under ``valgrind --tool=callgrind`` its instruction count is the same from run to run, which a
time on a shared machine is not. They are stored and run in batches
of 100, as the worker does; the per-stage figures share each batch's time out per message. Jobs
run in-process, letters are written as .eml files: the embedded default. Prints messages per
second end to end, the time spent in each stage, and the process's peak memory. A fresh batch is
parsed, triaged and routed in one transaction: that time is printed as "parse+triage+route"; the
separate stages then show only what ran on its own (retries).
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from worker import pipeline  # noqa: E402
from worker.bootstrap import SAMPLE_MAILBOX, bootstrap  # noqa: E402
from worker.domain.errors import ComplaintsError  # noqa: E402
from worker.jobs import BATCH_SIZE  # noqa: E402
from worker.ports import RawInbound  # noqa: E402
from worker.settings import load_settings  # noqa: E402
from worker.stages.receive_mail import store_batch  # noqa: E402


def sample_messages() -> list[bytes]:
    return [
        p.read_bytes()
        for sub in ("cur", "new")
        for p in sorted((SAMPLE_MAILBOX / sub).iterdir())
        if p.is_file() and not p.name.startswith(".")
    ]


def variant(raw: bytes, n: int) -> bytes:
    """The same message as a new one: another Message-ID and another resident."""
    raw = re.sub(
        rb"(?im)^Message-ID:[^\r\n]*", f"Message-ID: <bench{n}@example.org>".encode(), raw, count=1
    )
    return re.sub(
        rb"(?im)^(From:[^<\r\n]*<)([^@>]+)@",
        rb"\g<1>\g<2>+b" + str(n).encode() + b"@",
        raw,
        count=1,
    )


def mail(kind: str, total: int) -> list[bytes]:
    if kind == "e2e":
        from _e2e_support import MessageFactory  # benchmarks/, beside this file

        factory = MessageFactory("pipeline")
        return [factory.message(n).raw for n in range(total)]
    samples = sample_messages()
    return [variant(samples[n % len(samples)], n) for n in range(total)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="150 messages")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--mail",
        choices=("sample", "e2e"),
        default="sample",
        help="sample: the sample mailbox's messages, each made new (default); e2e: the "
        "complaints bench_e2e.py appends (2-4 KB, a third with a 20-60 KB attachment)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=BATCH_SIZE,
        help="messages a batch, each run through the pipeline before the next is stored "
        f"(default {BATCH_SIZE}, the worker's largest batch; 2 is about what a steady 50 msg/s "
        "gives): shows what each batch costs besides its messages",
    )
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    total = 150 if args.quick else args.messages
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "COMPLAINTS_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
            "COMPLAINTS_OUTBOX_DIR": f"{tmp}/outbox",
            # Many copies of one sender would trip the per-sender cap; the bench wants letters.
            "COMPLAINTS_SENDER_DAILY_CAP": "1000000",
        }
        try:
            app = bootstrap(load_settings(env, cwd=Path(tmp)), replay=True)
        except ComplaintsError as exc:  # an unreachable database, a bad URL: one line
            print(f"bench_pipeline: {exc}", file=sys.stderr)
            return 2
        started = time.perf_counter()
        app.triager  # noqa: B018 - load the model outside the timed stages
        load_seconds = time.perf_counter() - started
        spent: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        original = dict(pipeline.STAGES)

        def timed(name: str, fn):  # type: ignore[no-untyped-def]
            def wrapper(app_, ids):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                try:
                    return fn(app_, ids)
                finally:
                    # Stages take batches: time is shared out per message of the batch.
                    spent[name] += time.perf_counter() - t
                    counts[name] += len(ids)

            return wrapper

        for name in original:
            pipeline.STAGES[name] = timed(name, original[name])
        # A fresh batch is parsed, triaged and routed in one transaction (the stages above then
        # run only for retries): timed as one.
        original_together = pipeline._together
        pipeline._together = timed("together", original_together)
        # Database work a message costs: statements sent and transactions committed.
        statements = [0]
        commits = [0]
        event.listen(
            app.db.engine,
            "before_cursor_execute",
            lambda *a: statements.__setitem__(0, statements[0] + 1),
        )
        event.listen(app.db.engine, "commit", lambda *a: commits.__setitem__(0, commits[0] + 1))
        started = time.perf_counter()
        raws = [RawInbound("bench", 1, n + 1, raw) for n, raw in enumerate(mail(args.mail, total))]
        for start in range(0, total, args.batch):
            r = time.perf_counter()
            stored = store_batch(app, raws[start : start + args.batch])
            spent["receive"] += time.perf_counter() - r
            app.jobs.enqueue("parse", [i for i, fresh in stored if fresh])
            if args.batch < BATCH_SIZE:
                app.jobs.run_until_idle()  # type: ignore[attr-defined]
        counts["receive"] = total
        app.jobs.run_until_idle()  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started
        letters = len(list(Path(f"{tmp}/outbox").glob("*.eml")))
        pipeline._together = original_together
        pipeline.STAGES.update(original)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = env["COMPLAINTS_DATABASE_URL"].split(":")[0]
    print(f"pipeline benchmark ({'quick' if args.quick else 'full'}), {backend}")
    print(f"{'messages':<34}{total:>10}")
    print(f"{'messages a batch':<34}{args.batch:>10}")
    print(f"{'mail':<34}{args.mail:>10}")
    print(f"{'letters written':<34}{letters:>10}")
    print(f"{'model load (once per process)':<34}{load_seconds * 1000:>9.0f} ms")
    print(f"{'end-to-end throughput':<34}{total / elapsed:>9.1f} msgs/s")
    for name in ("receive", "together", "parse", "triage", "route", "send"):
        if counts[name]:
            mean_ms = spent[name] / counts[name] * 1000
            label = "parse+triage+route" if name == "together" else name
            print(f"{'  ' + label + ' (mean per item)':<34}{mean_ms:>9.2f} ms")
    print(f"{'SQL statements a message':<34}{statements[0] / total:>10.1f}")
    print(f"{'transactions a message':<34}{commits[0] / total:>10.1f}")
    print(f"{'peak RSS':<34}{peak_mib:>9.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
