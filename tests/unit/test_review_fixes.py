"""Regression tests for defects found in review."""

from __future__ import annotations

import mailbox
import os
from pathlib import Path

from worker.adapters.maildir import MaildirMailbox


def _deliver(root: Path, n: int) -> None:
    path = root / "new" / f"{1700000000 + n}.M{n}P1.testhost"
    path.write_bytes(
        f"From: r{n}@example.org\nSubject: Repair {n}\nMessage-ID: <m{n}@example.org>\n\nFix it.\n"
        .encode()
    )
    os.utime(path, (1700000000 + n, 1700000000 + n))


def test_read_only_maildir_hands_over_every_message_past_the_fetch_limit(tmp_path: Path) -> None:
    # `complaints demo --maildir` reads a Maildir read-only and polls in batches: with more
    # messages than one batch, the later ones were never fetched (silently lost).
    mailbox.Maildir(tmp_path / "inbox", create=True)
    root = tmp_path / "inbox"
    for n in range(1, 6):
        _deliver(root, n)
    box = MaildirMailbox(root, read_only=True)

    seen: list[int] = []
    for _ in range(5):
        batch = box.fetch_new(limit=2)
        if not batch:
            break
        for item in batch:
            seen.append(item.uid)
            box.mark_processed(item)

    assert seen == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in (root / "new").iterdir()) != []  # nothing was moved
