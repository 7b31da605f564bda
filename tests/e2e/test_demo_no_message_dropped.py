"""Nothing dropped: `complaints demo --maildir` reads a mailbox to its end, however many of its
messages are duplicates, and `summary.json` accounts for every file once (issue 7, part 3).

The mailbox is laid out so that a whole fetch is duplicates: 500 originals, then 240 resent
copies with a photo attached (same Message-ID, about 220 KB each, so the 32 MB fetch budget
fills with them alone), then 400 more originals and 60 byte-identical redeliveries. A reader that
stops at the first batch with nothing new would never reach the last 460 files.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ORIGINALS = 900
RESENT_WITH_PHOTO = 240
IDENTICAL_COPIES = 60

pytestmark = pytest.mark.integration


def complaint(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <resident{n}@example.org>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = f"Repair still not done at flat {n}"
    msg["Date"] = "Mon, 02 Nov 2026 09:13:52 +0000"
    msg["Message-ID"] = f"<dup-test-{n}@example.org>"
    msg.set_content(
        f"I reported a leaking pipe under the sink at flat {n} three weeks ago and nobody has "
        "come. I am unhappy with how this has been handled and want it fixed this week."
    )
    return msg


def with_photo(n: int, rng: random.Random) -> bytes:
    msg = complaint(n)
    msg["Received"] = "from relay.example.org by mx.thrivehomes.org.uk; Mon, 2 Nov 2026 10:00 +0000"
    msg.add_attachment(
        rng.randbytes(160_000), maintype="image", subtype="jpeg", filename=f"sink-{n}.jpg"
    )
    return bytes(msg)


def write(maildir: Path, seq: int, data: bytes) -> str:
    # Maildir names start with the arrival time, which is the order the mailbox hands them over.
    name = f"{1795000000 + seq}.M{seq:06d}P{os.getpid()}.dup-test"
    (maildir / "new" / name).write_bytes(data)
    return f"new/{name}"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("dup-maildir")
    maildir = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    rng = random.Random(7)
    originals = {n: bytes(complaint(n)) for n in range(ORIGINALS)}
    files: dict[str, str] = {}  # relative path -> Message-ID
    seq = 0

    def add(data: bytes, n: int) -> None:
        nonlocal seq
        files[write(maildir, seq, data)] = f"dup-test-{n}@example.org"
        seq += 1

    for n in range(500):
        add(originals[n], n)
    for n in rng.sample(range(500), RESENT_WITH_PHOTO):
        add(with_photo(n, rng), n)
    for n in range(500, ORIGINALS):
        add(originals[n], n)
    for n in rng.sample(range(ORIGINALS), IDENTICAL_COPIES):
        add(originals[n], n)
    before = sorted(p.name for p in (maildir / "new").iterdir())

    out = root / "out"
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--maildir", str(maildir), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")},
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    after = sorted(p.name for p in (maildir / "new").iterdir())
    return {
        "files": files,
        "summary": summary,
        "stdout": result.stdout,
        "untouched": before == after,
    }


def test_the_mailbox_really_holds_1200_messages_of_which_300_repeat_a_message_id(
    demo_run: dict[str, object],
) -> None:
    files = demo_run["files"]
    assert isinstance(files, dict)
    assert len(files) == 1200
    assert len(set(files.values())) == ORIGINALS


def test_every_file_of_the_maildir_has_exactly_one_summary_entry(
    demo_run: dict[str, object],
) -> None:
    files, summary = demo_run["files"], demo_run["summary"]
    assert isinstance(files, dict) and isinstance(summary, list)
    sources = Counter(entry["source"] for entry in summary)
    assert len(summary) == 1200
    assert set(sources) == set(files)
    assert max(sources.values()) == 1
    for entry in summary:
        assert entry["message_id"] == files[entry["source"]]


def test_each_message_id_is_handled_once_and_its_repeats_are_marked_duplicates(
    demo_run: dict[str, object],
) -> None:
    summary = demo_run["summary"]
    assert isinstance(summary, list)
    firsts = [e for e in summary if "duplicate_of" not in e]
    repeats = [e for e in summary if "duplicate_of" in e]
    assert len(repeats) == RESENT_WITH_PHOTO + IDENTICAL_COPIES
    assert len(firsts) == ORIGINALS
    assert len({e["message_id"] for e in firsts}) == ORIGINALS
    for entry in repeats:
        assert entry["duplicate_of"] == entry["message_id"]
        assert entry["letters"] == []  # a repeat never gets a second letter
    assert all(not e.get("quarantined") for e in summary)
    # Every original was read and answered: each opened a case or a request with one letter.
    for entry in firsts:
        assert entry["label"], entry
        # One letter to the resident (a hazard notice to the landlord's own team may join it).
        to_sender = [kind for kind in entry["letters"] if kind != "hazard_notification"]
        assert len(to_sender) == 1, entry
    assert "Read 1200 messages" in str(demo_run["stdout"])


def test_the_demo_leaves_the_maildir_it_reads_unchanged(demo_run: dict[str, object]) -> None:
    assert demo_run["untouched"] is True


def test_imap_intake_reads_the_folder_to_its_end_through_whole_batches_of_duplicates(
    imap_mailbox: Any, tmp_path: Path
) -> None:
    """The same on IMAP (a private Dovecot): 1,200 messages, 300 repeating a Message-ID in one
    run, read 100 at a time as the worker does until a fetch returns nothing."""
    from dataclasses import replace

    from sqlalchemy import func, select

    from worker.adapters.db_models import InboundMessage
    from worker.adapters.imap import ImapMailbox
    from worker.bootstrap import bootstrap
    from worker.settings import load_settings
    from worker.stages.receive_mail import poll_batch

    client = imap_mailbox.connect()
    try:
        order = [*range(400), *range(100, 400), *range(400, 900)]
        for n in order:
            typ, _ = client.append("INBOX", None, None, bytes(complaint(n)))
            assert typ == "OK"
    finally:
        client.logout()
    settings = replace(
        load_settings({}, cwd=tmp_path),
        database_url=f"sqlite:///{tmp_path / 'complaints.db'}",
        outbox_dir=tmp_path / "outbox",
    )
    app = bootstrap(settings)
    box = ImapMailbox.from_url(imap_mailbox.url)
    fetches = []
    try:
        while True:
            read, queued = poll_batch(app, box, 100)
            fetches.append((read, len(queued)))
            if not read:
                break
    finally:
        box.close()
    with app.db.session() as session:
        total = session.scalar(select(func.count()).select_from(InboundMessage))
        duplicates = session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.status == "duplicate")
        )
    app.db.dispose()
    assert (100, 0) in fetches  # a whole batch of duplicates came, and reading went on
    assert sum(read for read, _ in fetches) == 1200
    assert (total, duplicates) == (1200, 300)
    assert imap_mailbox.list_uids("INBOX") == []
    assert len(imap_mailbox.list_uids("Processed")) == 1200
