"""Big attachments are stored apart from their message, a chunk at a time (issue 7, part 4):
the exact bytes come back, the parser still lists the attachment and reads the text, a re-run
stores nothing twice, a worker killed mid-store leaves nothing half-written, and a 30 MB
message is processed without holding it in memory several times over. Real SQLite and
PostgreSQL, a real Maildir and a real Dovecot."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from worker.adapters.attachment_store import (
    CHUNK_BYTES,
    SpooledInbound,
    full_raw,
    plan,
    scan,
    stored_bodies,
)
from worker.adapters.db_models import InboundMessage, StoredBody, StoredBodyChunk
from worker.adapters.maildir import MaildirMailbox
from worker.bootstrap import bootstrap
from worker.domain.parsing import parse_message
from worker.ports import RawInbound
from worker.settings import load_settings
from worker.stages.receive_mail import poll_batch, store_batch

REPO = Path(__file__).resolve().parents[2]
WORDS = "The ceiling in my kitchen collapsed after the leak you were told about in May."

pytestmark = pytest.mark.integration


def big_message(n: int, megabytes: float, *, photos: int = 1, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <resident{n}@example.org>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = "Photos of the collapsed ceiling"
    msg["Date"] = "Mon, 02 Nov 2026 09:13:52 +0000"
    msg["Message-ID"] = f"<big-{n}-{seed}@example.org>"
    msg.set_content(f"{WORDS}\nI want it repaired and compensation for the damage.")
    each = int(megabytes * 1_000_000 * 3 / 4 / photos)
    for i in range(photos):
        msg.add_attachment(
            rng.randbytes(each), maintype="image", subtype="jpeg", filename=f"ceiling-{i}.jpg"
        )
    msg.add_attachment(b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="a.pdf")
    return bytes(msg)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'complaints.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    settings = replace(
        load_settings({}, cwd=tmp_path), database_url=url, outbox_dir=tmp_path / "outbox"
    )
    application = bootstrap(settings)
    yield application
    application.db.dispose()


def test_a_big_message_is_kept_apart_and_given_back_byte_for_byte(app: Any) -> None:
    raw = big_message(1, 5, photos=2)
    [(inbound_id, fresh)] = store_batch(app, [RawInbound("test", 1, 1, raw)])
    assert fresh
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row.size == len(raw)
        assert len(row.raw) < 10_000  # the skeleton: headers, text, the small PDF
        bodies = stored_bodies(session, inbound_id)
        assert [(b.filename, b.content_type) for b in bodies] == [
            ("ceiling-0.jpg", "image/jpeg"),
            ("ceiling-1.jpg", "image/jpeg"),
        ]
        chunks = session.scalar(select(func.count()).select_from(StoredBodyChunk))
        assert chunks == sum(-(-b.length // CHUNK_BYTES) for b in bodies)
        assert full_raw(session, row) == raw
        skeleton = bytes(row.raw)
    parsed, original = parse_message(skeleton), parse_message(raw)
    assert parsed.text == original.text and WORDS in parsed.text
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        (a.filename, a.content_type) for a in original.attachments
    ]
    for mine, theirs in zip(parsed.attachments, original.attachments, strict=True):
        assert abs(mine.size - theirs.size) <= 3  # base64 padding


def test_storing_the_same_message_again_writes_nothing_twice(app: Any) -> None:
    item = RawInbound("test", 1, 7, big_message(2, 3))
    first = store_batch(app, [item])
    again = store_batch(app, [item])
    assert again == [(first[0][0], False)]
    with app.db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredBody)) == 1
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_text_parts_and_small_messages_are_never_split() -> None:
    small = big_message(3, 0.2)
    assert plan(RawInbound("t", 1, 1, small), 1024 * 1024) is None
    long_text = EmailMessage()
    long_text["From"] = "a@example.org"
    long_text.set_content(("I am still waiting for the repair. " * 40 + "\n") * 2000)
    raw = bytes(long_text)
    layout = scan(io.BytesIO(raw), 64 * 1024)
    assert layout.ranges == () and layout.skeleton == raw


def test_a_placeholder_typed_by_a_resident_changes_nothing(app: Any) -> None:
    sneaky = EmailMessage()
    sneaky["From"] = "a@example.org"
    sneaky["Message-ID"] = "<sneaky@example.org>"
    sneaky.set_content(
        "[complaints: attachment body stored apart: 5 bytes decoded, 5 as received]\n" * 3
    )
    sneaky.add_attachment(os.urandom(2_000_000), maintype="image", subtype="png", filename="x.png")
    raw = bytes(sneaky)
    [(inbound_id, _)] = store_batch(app, [RawInbound("test", 1, 9, raw)])
    with app.db.session() as session:
        assert full_raw(session, session.get(InboundMessage, inbound_id)) == raw


def test_maildir_hands_over_a_big_file_without_reading_it_and_the_demo_accounts_for_it(
    tmp_path: Path,
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    raw = big_message(4, 6)
    (maildir / "new" / "1795000000.M1P1.big").write_bytes(raw)
    (maildir / "new" / "1795000001.M2P1.small").write_bytes(big_message(5, 0.01))
    items = MaildirMailbox(maildir, read_only=True).fetch_new(10)
    assert isinstance(items[0], SpooledInbound) and not items[0].owned
    assert items[0].size == len(raw) and len(items[0].raw) <= 64 * 1024
    assert not isinstance(items[1], SpooledInbound)

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--maildir", str(maildir), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(e["source"] for e in summary) == [
        "new/1795000000.M1P1.big",
        "new/1795000001.M2P1.small",
    ]
    assert all(e.get("label") == "complaint" for e in summary), summary
    assert (maildir / "new" / "1795000000.M1P1.big").read_bytes() == raw  # never changed


def test_imap_fetches_a_big_message_in_pieces_and_deletes_its_spool(
    imap_mailbox: Any, tmp_path: Path
) -> None:
    from worker.adapters.imap import ImapMailbox

    settings = replace(
        load_settings({}, cwd=tmp_path),
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        outbox_dir=tmp_path / "outbox",
    )
    app = bootstrap(settings)
    raw = big_message(6, 6)
    imap_mailbox.append(raw)
    imap_mailbox.append(big_message(7, 0.01))
    spools: list[Path] = []
    box = ImapMailbox.from_url(imap_mailbox.url)
    real_fetch = box.fetch_new

    def fetch_and_note(*args: Any, **kwargs: Any) -> list[RawInbound]:
        items = real_fetch(*args, **kwargs)
        spools.extend(i.path for i in items if isinstance(i, SpooledInbound))
        return items

    box.fetch_new = fetch_and_note  # type: ignore[method-assign]
    try:
        read, queued = poll_batch(app, box, 10)
    finally:
        box.close()
    assert read == 2 and len(queued) == 2
    assert len(spools) == 1 and not spools[0].exists()
    with app.db.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.uid)).all()
        assert full_raw(session, rows[0]).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    app.db.dispose()


KILLER = r"""
import os, signal, sys
from dataclasses import replace
from worker.bootstrap import bootstrap
from worker.ports import RawInbound
from worker.settings import load_settings
from worker.stages.receive_mail import store_batch

written = []
def execute_then_die(self, statement, *a, **k):
    result = orig_execute(self, statement, *a, **k)
    # Dies after the third chunk of the first body, mid-transaction.
    if "stored_body_chunks" in str(statement):
        written.append(1)
        if len(written) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
    return result
from sqlalchemy.orm import Session
orig_execute = Session.execute
Session.execute = execute_then_die
settings = replace(load_settings({}), database_url=sys.argv[1])
app = bootstrap(settings)
store_batch(app, [RawInbound("test", 1, 5, open(sys.argv[2], "rb").read())])
print("not killed")
"""


def test_a_worker_killed_while_storing_leaves_nothing_and_the_rerun_stores_it_whole(
    pg_url: str, tmp_path: Path
) -> None:
    raw = big_message(8, 6)
    source = tmp_path / "big.eml"
    source.write_bytes(raw)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    proc = subprocess.run(
        [sys.executable, str(script), pg_url, str(source)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert proc.returncode == -9, proc.stdout + proc.stderr[-2000:]
    settings = replace(load_settings({}, cwd=tmp_path), database_url=pg_url)
    app = bootstrap(settings)
    try:
        with app.db.session() as session:
            for table in (InboundMessage, StoredBody, StoredBodyChunk):
                assert session.scalar(select(func.count()).select_from(table)) == 0
        [(inbound_id, fresh)] = store_batch(app, [RawInbound("test", 1, 5, raw)])
        assert fresh
        with app.db.session() as session:
            row = session.get(InboundMessage, inbound_id)
            assert hashlib.sha256(full_raw(session, row)).digest() == hashlib.sha256(raw).digest()
    finally:
        app.db.dispose()


def _rss_peak_script() -> str:
    return r"""
import gc, json, re, sys
from dataclasses import replace
from pathlib import Path

def status():
    text = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1)) / 1024
            for k in ("VmRSS", "VmHWM")}

from worker.adapters.attachment_store import spooled
from worker.bootstrap import bootstrap
from worker.pipeline import run_stage
from worker.settings import load_settings
from worker.stages.receive_mail import store_batch

settings = replace(load_settings({}), database_url=sys.argv[1], outbox_dir=Path(sys.argv[3]))
app = bootstrap(settings)
app.triager  # the model is loaded first: it is not what is measured
gc.collect()
Path("/proc/self/clear_refs").write_text("5")
before = status()
item = spooled("test", 1, 1, Path(sys.argv[2]), owned=False)
ids = [i for i, _ in store_batch(app, [item])]
todo = [("parse", ids)]
while todo:
    stage, batch = todo.pop(0)
    todo += [(s, i) for s, i in run_stage(app, stage, batch, chain=False) if i]
after = status()
print(json.dumps({"before": before["VmRSS"], "peak": after["VmHWM"]}))
"""


def test_a_30_mb_message_goes_through_the_pipeline_without_copies_of_itself(
    pg_url: str, tmp_path: Path
) -> None:
    raw = big_message(9, 30, photos=2)
    source = tmp_path / "big.eml"
    source.write_bytes(raw)
    del raw
    script = tmp_path / "measure.py"
    script.write_text(_rss_peak_script())
    upgrade = subprocess.run(
        [sys.executable, "-m", "worker.cli", "db", "upgrade"],
        env={**os.environ, "COMPLAINTS_DATABASE_URL": pg_url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    proc = subprocess.run(
        [sys.executable, str(script), pg_url, str(source), str(tmp_path / "outbox")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    # The message is 30 MB: holding it even once more than the file on disk would add 30 MiB.
    assert figures["peak"] - figures["before"] < 30, figures
    letters = [p.name for p in (tmp_path / "outbox").glob("*.eml")]
    assert any("acknowledgement" in name for name in letters), letters  # and it was answered


CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "emails"


@pytest.mark.parametrize("threshold", [16, 200])
def test_splitting_is_exact_and_parses_the_same_on_every_fixture(threshold: int) -> None:
    """With a tiny threshold every non-text body is split off: the skeleton and the ranges give
    back the exact bytes, and the skeleton parses to the same text and attachments."""
    split = 0
    for path in sorted(CORPUS.rglob("*.eml")):
        raw = path.read_bytes()
        layout = scan(io.BytesIO(raw), threshold)
        rebuilt, position = bytearray(), 0
        for stored in layout.ranges:
            rebuilt += layout.skeleton[position : stored.skeleton_offset]
            rebuilt += raw[stored.source_offset : stored.source_offset + stored.length]
            position = stored.skeleton_offset + stored.placeholder_len
        rebuilt += layout.skeleton[position:]
        assert bytes(rebuilt) == raw, path.name
        assert layout.size == len(raw) and layout.sha256 == hashlib.sha256(raw).hexdigest()
        split += len(layout.ranges)
        if "nesting_1000" in path.name:
            continue  # its parse is slow and there is nothing to split in it
        whole, skeleton = parse_message(raw), parse_message(layout.skeleton)
        assert skeleton.text == whole.text, path.name
        assert [(a.filename, a.content_type) for a in skeleton.attachments] == [
            (a.filename, a.content_type) for a in whole.attachments
        ], path.name
    assert split >= 1  # the corpus has attachments to split
