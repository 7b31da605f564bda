"""``complaints demo``: the whole pipeline on the embedded defaults (Maildir in, SQLite, jobs
in-process, letters as .eml files), on the bundled sample mailbox or any Maildir.

The demo replays the mailbox as a worker running at the time would have handled it: each message
is acknowledged on the day it arrived. It never changes the Maildir it reads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from worker.adapters.attachment_store import ids_with_stored_bodies, iter_raw
from worker.adapters.db_models import (
    Case,
    Hazard,
    InboundMessage,
    Letter,
    Quarantine,
    ServiceRequest,
)
from worker.adapters.maildir import MaildirMailbox
from worker.bootstrap import SAMPLE_MAILBOX, bootstrap
from worker.domain.errors import UserError
from worker.jobs import BATCH_SIZE
from worker.settings import load_settings
from worker.stages.receive_mail import poll_batch
from worker.stages.recover import sweep


def _maildir_files(root: Path) -> dict[str, list[str]]:
    """sha256 of each message file -> its paths relative to the Maildir, for summary.json.

    Byte-identical copies (a redelivery) share a digest, so each keeps a list, taken in the
    order the mailbox hands messages over (by file name, which starts with the arrival time).
    """
    found: dict[str, list[str]] = {}
    paths = [
        path
        for sub in ("cur", "new")
        if (root / sub).is_dir()
        for path in (root / sub).iterdir()
        if path.is_file() and not path.name.startswith(".")
    ]
    for path in sorted(paths, key=lambda p: p.name):
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        found.setdefault(digest, []).append(f"{path.parent.name}/{path.name}")
    return found


def run_demo(maildir: str | None, out: str) -> int:
    source = Path(maildir).expanduser() if maildir else SAMPLE_MAILBOX
    if not source.is_dir() or not ((source / "cur").is_dir() or (source / "new").is_dir()):
        raise UserError(f"--maildir {source} is not a Maildir (it needs cur/ or new/ folders)")
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    # Each run starts clean, so the output always describes this mailbox and no earlier one.
    for stale in ("complaints.db", "complaints.db-wal", "complaints.db-shm", "summary.json"):
        (out_dir / stale).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "outbox", ignore_errors=True)
    settings = replace(
        load_settings(),
        database_url=f"sqlite:///{out_dir / 'complaints.db'}",
        outbox_dir=out_dir / "outbox",
    )
    settings = replace(settings, smtp_url=type(settings.smtp_url)(""))
    settings = replace(settings, redis_url=type(settings.redis_url)(""), dev_recipient_override="")
    app = bootstrap(settings, replay=True)
    mailbox = MaildirMailbox(source, read_only=True)
    started = time.perf_counter()
    read = 0
    while True:
        # Until the mailbox is exhausted: a batch of nothing but duplicates is not the end.
        count, _queued = poll_batch(app, mailbox, limit=BATCH_SIZE * 5)
        app.jobs.run_until_idle()  # type: ignore[attr-defined]
        read += count
        if not count:
            break
    # A step that failed (say the model file was briefly unreadable) is retried as the worker's
    # recovery sweep would, until it succeeds or is quarantined after its last attempt.
    for _ in range(app.settings.max_attempts + 1):
        if not sweep(app, older_than=timedelta(0)):
            break
        app.jobs.run_until_idle()  # type: ignore[attr-defined]
    files = _maildir_files(source)
    summary = build_summary(app, files)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print_summary(summary, out_dir)
    elapsed = time.perf_counter() - started
    print(
        f"Read {read} messages in {elapsed:.1f} s: {read / elapsed if elapsed else 0:.0f} "
        "messages a second (mail in to letter written, summary included)."
    )
    return 0


def build_summary(app: Any, files: dict[str, list[str]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    with app.db.session() as session:
        rows = session.scalars(
            select(InboundMessage).options(undefer(InboundMessage.raw)).order_by(InboundMessage.id)
        ).all()
        split = ids_with_stored_bodies(session)
        for row in rows:
            hasher = hashlib.sha256()
            # A big message is kept as a skeleton plus its attachment bodies: hash what came in.
            for piece in iter_raw(session, row.id, row.raw) if row.id in split else [row.raw]:
                hasher.update(piece)
            digest = hasher.hexdigest()
            candidates = files.get(digest) or []
            source = candidates.pop(0) if candidates else f"{row.mailbox}#{row.uid}"
            if row.status == "quarantined":
                q = session.scalar(select(Quarantine).where(Quarantine.inbound_id == row.id))
                entries.append(
                    {
                        "source": source,
                        "message_id": row.message_id,
                        "quarantined": True,
                        "reason": q.reason if q else row.error,
                    }
                )
                continue
            origin = row
            if row.status == "duplicate" and row.duplicate_of:
                origin = session.get(InboundMessage, row.duplicate_of) or row
            ref = ""
            letters: list[str] = []
            if origin.case_id:
                case = session.get(Case, origin.case_id)
                ref = case.ref if case else ""
            if origin.service_request_id:
                sr = session.get(ServiceRequest, origin.service_request_id)
                ref = sr.ref if sr else ""
            if row.status != "duplicate":
                letters = _letters_caused_by(session, origin)
            entry: dict[str, Any] = {
                "source": source,
                "message_id": row.message_id,
                "label": origin.label,
                "reason": origin.reason,
                "needs_review": bool(origin.needs_review),
                "case_ref": ref,
                "letters": letters,
            }
            if row.status == "duplicate":
                entry["duplicate_of"] = origin.message_id
            if origin.outcome:
                entry["outcome"] = "duplicate" if row.status == "duplicate" else origin.outcome
            entries.append(entry)
    return entries


def _letters_caused_by(session: Any, row: InboundMessage) -> list[str]:
    """Letters sent because of this message: its answers, and the notices to the landlord's
    teams of a hazard it reported (SPEC section 11), so every file in the outbox is listed."""
    notices = select(Hazard.notified_letter_id).where(Hazard.inbound_id == row.id)
    letters = session.scalars(
        select(Letter)
        .where((Letter.cause_inbound_id == row.id) | Letter.id.in_(notices))
        .where(Letter.status.in_(("sent", "pending", "sending", "transmitting", "uncertain")))
        .order_by(Letter.id)
    ).all()
    return [letter.kind for letter in letters]


def print_summary(summary: list[dict[str, Any]], out_dir: Path) -> None:
    header = f"{'source':<44} {'label':<18} {'reason':<22} {'review':<6} {'ref':<15} letters"
    print(header)
    print("-" * len(header))
    counts: dict[str, int] = {}
    for entry in summary:
        source = entry["source"]
        if len(source) > 43:
            source = "..." + source[-40:]
        if entry.get("quarantined"):
            label = "QUARANTINED"
            print(f"{source:<44} {label:<18} {str(entry['reason'])[:60]}")
            counts[label] = counts.get(label, 0) + 1
            continue
        label = entry["label"] + (" (dup)" if "duplicate_of" in entry else "")
        counts[entry["label"]] = counts.get(entry["label"], 0) + 1
        print(
            f"{source:<44} {label:<18} {entry['reason'] or '-':<22} "
            f"{'yes' if entry['needs_review'] else 'no':<6} {entry['case_ref'] or '-':<15} "
            f"{', '.join(entry['letters']) or '-'}"
        )
    print()
    print(
        f"{len(summary)} messages: "
        + ", ".join(f"{count} {label}" for label, count in sorted(counts.items()))
    )
    letters = sorted((out_dir / "outbox").glob("*.eml"))
    print(f"{len(letters)} letters written to {out_dir / 'outbox'}")
    print(f"database: {out_dir / 'complaints.db'}")
    print(f"summary:  {out_dir / 'summary.json'}")
