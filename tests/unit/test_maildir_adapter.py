"""MaildirMailbox on a real temporary Maildir folder."""

from __future__ import annotations

import errno
import mailbox
import os
from pathlib import Path

import pytest

from worker.adapters import maildir as maildir_module
from worker.adapters.maildir import MaildirMailbox
from worker.domain.errors import ConfigurationError
from worker.ports import Mailbox, RawInbound


def make_raw(n: int) -> bytes:
    return (
        f"From: resident{n}@example.org\nTo: complaints@landlord.example\n"
        f"Subject: Repair {n}\nMessage-ID: <m{n}@example.org>\n\nPlease fix it ({n}).\n"
    ).encode()


def deliver(root: Path, n: int, *, sub: str = "new", mtime: float | None = None) -> Path:
    """Deliver like an MTA would: unique name, new/ (or cur/ with flags)."""
    name = f"{1700000000 + n}.M{n}P1.testhost"
    if sub == "cur":
        name += ":2,S"
    path = root / sub / name
    path.write_bytes(make_raw(n))
    stamp = mtime if mtime is not None else 1700000000 + n
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    mailbox.Maildir(tmp_path / "inbox", create=True)
    return tmp_path / "inbox"


def test_returns_new_and_cur_messages_oldest_first_with_raw_bytes(root: Path) -> None:
    deliver(root, 2, sub="cur")
    deliver(root, 1)
    deliver(root, 3)

    box = MaildirMailbox(root)
    items = box.fetch_new()

    assert isinstance(box, Mailbox)
    assert [i.raw for i in items] == [make_raw(1), make_raw(2), make_raw(3)]
    assert [i.uid for i in items] == [1, 2, 3]
    assert {i.mailbox for i in items} == {f"maildir:{root.resolve()}"}
    assert len({i.uidvalidity for i in items}) == 1


def test_fetching_changes_nothing_in_the_folder(root: Path) -> None:
    paths = [deliver(root, 1), deliver(root, 2, sub="cur")]
    MaildirMailbox(root).fetch_new()
    assert all(p.exists() for p in paths)


def test_uids_and_uidvalidity_are_stable_across_instances(root: Path) -> None:
    deliver(root, 1)
    deliver(root, 2)
    first = MaildirMailbox(root).fetch_new()

    deliver(root, 3, mtime=1600000000)  # arrives later, whatever its timestamp says
    second = MaildirMailbox(root).fetch_new()

    assert [(i.uid, i.raw) for i in second[:2]] == [(i.uid, i.raw) for i in first]
    assert second[2].uid == 3 and second[2].raw == make_raw(3)
    assert {i.uidvalidity for i in first + second} == {first[0].uidvalidity}


def test_uid_survives_a_client_moving_the_file_to_cur_with_flags(root: Path) -> None:
    path = deliver(root, 1)
    (item,) = MaildirMailbox(root).fetch_new()
    path.rename(root / "cur" / (path.name + ":2,S"))
    assert MaildirMailbox(root).fetch_new() == [item]


def test_mark_processed_moves_to_processed_subfolder(root: Path) -> None:
    deliver(root, 1)
    deliver(root, 2)
    box = MaildirMailbox(root)
    first, second = box.fetch_new()

    box.mark_processed(first)
    box.mark_processed(first)  # a repeat is a no-op

    assert box.fetch_new() == [second]
    moved = list((root / ".Processed" / "cur").iterdir())
    assert [p.read_bytes() for p in moved] == [first.raw]
    assert (root / ".Processed" / "maildirfolder").exists()
    # The Processed folder is itself a Maildir a mail client can open.
    assert len(mailbox.Maildir(root / ".Processed", create=False)) == 1
    # And a new instance agrees.
    assert MaildirMailbox(root).fetch_new() == [second]


def test_limit(root: Path) -> None:
    for n in (1, 2, 3):
        deliver(root, n)
    assert [i.uid for i in MaildirMailbox(root).fetch_new(limit=2)] == [1, 2]


def test_a_message_from_another_mailbox_is_refused(root: Path, tmp_path: Path) -> None:
    deliver(root, 1)
    box = MaildirMailbox(root)
    with pytest.raises(ValueError):
        box.mark_processed(RawInbound("maildir:/elsewhere", box.uidvalidity, 1, b""))


def test_not_a_maildir_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a Maildir"):
        MaildirMailbox(tmp_path)


def test_read_only_folder_reads_everything_and_never_writes(root: Path) -> None:
    deliver(root, 2)
    deliver(root, 1, sub="cur")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))

    box = MaildirMailbox(root, read_only=True)
    items = box.fetch_new()
    box.mark_processed(items[0])  # no-op: idempotency rests on the database's unique key

    assert box.read_only
    assert [i.raw for i in items] == [make_raw(1), make_raw(2)]  # sorted by unique name
    again = MaildirMailbox(root, read_only=True).fetch_new()
    assert again == items  # same uids and uidvalidity from a second instance
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_read_only_folder_uses_a_shipped_uid_file(root: Path) -> None:
    deliver(root, 1)
    deliver(root, 2)
    writable = MaildirMailbox(root).fetch_new()
    assert [i.uid for i in MaildirMailbox(root, read_only=True).fetch_new()] == [
        i.uid for i in writable
    ]
    assert MaildirMailbox(root, read_only=True).uidvalidity == writable[0].uidvalidity


def test_read_only_is_detected_when_writing_is_refused(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(root, 1)
    real_open = os.open

    def refuse_writes(path: object, flags: int, *args: object, **kw: object) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(maildir_module.os, "open", refuse_writes)
    box = MaildirMailbox(root)
    assert box.read_only
    assert [i.raw for i in box.fetch_new()] == [make_raw(1)]


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_of_250_is_moved_in_one_call(root: Path) -> None:
    for n in range(250):
        deliver(root, n, sub="cur" if n % 2 else "new")
    box = MaildirMailbox(root)
    items = box.fetch_new(limit=500)
    assert len(items) == 250

    box.mark_processed_many(items)

    assert list((root / "new").iterdir()) == [] and list((root / "cur").iterdir()) == []
    assert len(list((root / ".Processed" / "cur").iterdir())) == 250
    assert box.fetch_new(limit=500) == []


def test_moving_a_batch_already_moved_is_a_no_op(root: Path) -> None:
    for n in range(5):
        deliver(root, n)
    box = MaildirMailbox(root)
    items = box.fetch_new()
    box.mark_processed_many(items[:3])

    box.mark_processed_many(items[:3])
    MaildirMailbox(root).mark_processed_many(items[:3])

    assert box.fetch_new() == items[3:]
    assert len(list((root / ".Processed" / "cur").iterdir())) == 3


def test_a_batch_moves_current_items_and_leaves_stale_uidvalidity_ones(root: Path) -> None:
    for n in range(3):
        deliver(root, n)
    box = MaildirMailbox(root)
    first, second, third = box.fetch_new()
    stale = RawInbound(second.mailbox, second.uidvalidity + 1, second.uid, second.raw)

    box.mark_processed_many([first, stale, third])

    assert box.fetch_new() == [second]


def test_a_batch_with_an_item_from_another_mailbox_is_refused_whole(root: Path) -> None:
    deliver(root, 1)
    box = MaildirMailbox(root)
    (item,) = box.fetch_new()
    foreign = RawInbound("maildir:/elsewhere", box.uidvalidity, 1, b"")

    with pytest.raises(ValueError):
        box.mark_processed_many([item, foreign])

    assert box.fetch_new() == [item]


def test_read_only_batch_is_remembered_and_not_fetched_again(root: Path) -> None:
    for n in range(4):
        deliver(root, n)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    box = MaildirMailbox(root, read_only=True)
    items = box.fetch_new()

    box.mark_processed_many(items[:3])

    assert box.fetch_new() == items[3:]
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_a_batch_stops_before_it_would_pass_max_bytes(root: Path) -> None:
    for n in range(5):
        deliver(root, n)
    size = len(make_raw(0))
    box = MaildirMailbox(root)

    assert [i.uid for i in box.fetch_new(max_bytes=2 * size + size // 2)] == [1, 2]
    assert [i.uid for i in box.fetch_new(max_bytes=1)] == [1]  # at least one, however large
