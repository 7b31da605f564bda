"""Benchmark one deadline-watcher round: the full scan it replaced against the indexed round.

Reproduce::

    .venv/bin/python benchmarks/bench_watch_deadlines.py     # 20,000 open cases, 50 due, SQLite
    .venv/bin/python benchmarks/bench_watch_deadlines.py --history 20000 --explain
    .venv/bin/python benchmarks/bench_watch_deadlines.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The database must be empty (SQLite: a temporary file unless given). The caseload is bulk-inserted,
not run through the pipeline: ``--open-cases`` open cases whose deadlines are weeks away except
``--due`` of them, and ``--history`` ended cases (closed after a response, one in ten withdrawn)
with the events the watcher raised while they were open. "Before" is the full scan kept as the
reference in tests/integration/test_watch_deadlines.py (the round as it was before migration
0003), "after" is worker.stages.watch_deadlines.run. Prints the first round (raising the due
events) and the median of later rounds (nothing new to raise, the worker's usual round), with the
statements each sends.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tests.integration.test_watch_deadlines import full_scan, seed_caseload  # noqa: E402
from worker.adapters.clock import FixedClock  # noqa: E402
from worker.bootstrap import App, bootstrap  # noqa: E402
from worker.settings import load_settings  # noqa: E402
from worker.stages import watch_deadlines  # noqa: E402

TODAY = date(2026, 11, 10)


def timed(app: App, work: Callable[[], int]) -> tuple[float, int, int]:
    """Seconds, events raised and statements sent by ``work``."""
    sent = 0

    def count(*_: Any) -> None:
        nonlocal sent
        sent += 1

    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        raised = work()
        return time.perf_counter() - started, raised, sent
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)


def before(app: App, *, keep: bool) -> int:
    """One full-scan round; ``keep=False`` rolls its events back so "after" raises them too."""
    with Session(app.db.engine) as session:
        raised = len(full_scan(session, TODAY, app.calendar))
        if keep:
            session.commit()
        else:
            session.flush()  # write them, as the round would, then forget them
            session.rollback()
    return raised


def after(app: App) -> int:
    return len(watch_deadlines.run(app))


def explain(app: App) -> None:
    """The query plans of one indexed round's SELECTs."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, params))

    event.listen(app.db.engine, "before_cursor_execute", record)
    try:
        watch_deadlines.run(app)
    finally:
        event.remove(app.db.engine, "before_cursor_execute", record)
    sqlite = app.db.engine.dialect.name == "sqlite"
    raw = app.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, params in sent:
            print("\n" + " ".join(statement.split())[:300])
            cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
            for row in cursor.fetchall():
                print("    " + " ".join(str(c) for c in row))
    finally:
        raw.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-cases", type=int, default=20000)
    parser.add_argument("--due", type=int, default=50)
    parser.add_argument("--history", type=int, default=0, help="ended cases, 1 in 10 withdrawn")
    parser.add_argument("--rounds", type=int, default=5, help="later rounds to take the median of")
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite)")
    parser.add_argument("--explain", action="store_true", help="print the indexed round's plans")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "COMPLAINTS_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.db",
            "COMPLAINTS_OUTBOX_DIR": f"{tmp}/outbox",
        }
        clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 10, tzinfo=UTC))
        app = bootstrap(load_settings(env, cwd=Path(tmp)), clock=clock)
        started = time.perf_counter()
        seed_caseload(
            app, open_cases=args.open_cases, due=args.due, today=TODAY, history=args.history
        )
        with app.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")  # statistics, as a database in service has them
        print(
            f"{app.db.engine.dialect.name}: {args.open_cases:,} open cases, {args.due} due, "
            f"{args.history:,} ended; seeded in {time.perf_counter() - started:.1f} s"
        )
        rows = [
            ("before, first round", timed(app, lambda: before(app, keep=False))),
            ("after,  first round", timed(app, lambda: after(app))),
        ]
        for label, work in (
            ("before, later rounds", lambda: before(app, keep=True)),
            ("after,  later rounds", lambda: after(app)),
        ):
            runs = [timed(app, work) for _ in range(args.rounds)]
            seconds = statistics.median(r[0] for r in runs)
            rows.append((f"{label} (median of {args.rounds})", (seconds, runs[0][1], runs[0][2])))
        for label, (seconds, raised, sent) in rows:
            print(
                f"  {label:<36} {seconds * 1000:9.1f} ms  {raised:4d} raised  {sent:5d} statements"
            )
        if args.explain:
            explain(app)
        app.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
