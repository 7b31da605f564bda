"""``complaints status``: queue health in a terminal (the numbers of ``/metrics``, as a table).

Exit status 0 when the numbers were read, 2 when the database is not set up (one line saying how
to fix it), 1 when it cannot be reached.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from worker.metrics import OUTBOX_STATUSES


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]], out: TextIO) -> None:
    print(title, file=out)
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=out,
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths), file=out)
    print(file=out)


def render(data: dict[str, Any], out: TextIO) -> None:
    """The readable table of one ``collect`` result."""
    print(f"complaints status at {data['generated_at']}", file=out)
    print(file=out)
    _table(
        "Inbound queue",
        ("status", "items", "oldest"),
        [(s, r["count"], _age(r["oldest_age_seconds"])) for s, r in data["inbound_queue"].items()],
        out,
    )
    polls = data["polls"]
    _table(
        "Mailbox polls",
        ("mailbox", "lag", "last error"),
        [(m, _age(r["lag_seconds"]), r["last_error"][:60] or "-") for m, r in polls.items()]
        or [("(none yet)", "-", "-")],
        out,
    )
    ack = data["acknowledgement"]
    oldest = ack["oldest"]
    rows: list[tuple[Any, ...]] = [
        ("open triage queue items", data["triage_queue_open"]),
        ("unacknowledged cases", ack["unacknowledged_cases"]),
        (
            "oldest unacknowledged",
            f"{oldest['ref']}: {oldest['working_days']} of {ack['budget_working_days']} "
            "working days"
            if oldest
            else "none",
        ),
        ("deadlines on track", data["deadlines"]["on_track"]),
        ("deadlines due within 2 working days", data["deadlines"]["due_soon"]),
        ("deadlines overdue", data["deadlines"]["overdue"]),
    ]
    _table("Cases", ("measure", "value"), rows, out)
    outbox = data["outbox"]
    _table(
        "Outbox",
        ("status", "letters"),
        [(s, outbox[s]) for s in OUTBOX_STATUSES]
        + [("oldest pending", _age(outbox["oldest_pending_age_seconds"]))],
        out,
    )
    _table(
        "Triage labels",
        ("label", "items"),
        list(data["triage_labels"].items()) or [("(none yet)", 0)],
        out,
    )
    loop = data["loop_breaker"]
    _table(
        "Mail safety",
        ("measure", "count"),
        [(f"not answered: {r}", n) for r, n in loop["not_resident_mail"].items()]
        + [
            ("automatic letters suppressed", loop["letters_suppressed"]),
            ("letters refused (missing element)", data["letters_refused"]),
        ]
        + [(f"dead letters: {k}", n) for k, n in data["dead_letters"].items()]
        + ([] if data["dead_letters"] else [("dead letters", 0)]),
        out,
    )
    queues = data.get("redis_queues")
    if queues is None:
        print("Jobs run in-process (no COMPLAINTS_REDIS_URL).", file=out)
    elif "error" in queues:
        print(f"Redis queues: cannot read: {queues['error']}", file=out)
    else:
        _table(
            "Redis queues",
            ("queue", "waiting", "in flight", "delayed", "dead"),
            [(q, r["waiting"], r["in_flight"], r["delayed"], r["dead"]) for q, r in queues.items()],
            out,
        )


def print_status(as_json: bool = False) -> int:
    from worker.bootstrap import existing_database
    from worker.metrics import collect

    with existing_database() as app:
        data = collect(app)
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        render(data, sys.stdout)
    return 0
