"""MaildirMailbox.wait_for_mail on a real temporary Maildir folder."""

from __future__ import annotations

import mailbox
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from worker.adapters import maildir as maildir_module
from worker.adapters.maildir import MaildirMailbox

# Generous: a waiter that returns True before this did so because mail arrived.
WAIT = 20.0
# How long the test itself waits for something it expects.
DEADLINE = 60.0


def make_raw(n: int) -> bytes:
    return f"From: resident{n}@example.org\nSubject: Boiler {n}\n\nNo heating ({n}).\n".encode()


def deliver(root: Path, n: int) -> Path:
    """Deliver as an MTA does: write in tmp/, then rename into new/."""
    name = f"{1700000000 + n}.M{n}P1.testhost"
    (root / "tmp" / name).write_bytes(make_raw(n))
    os.rename(root / "tmp" / name, root / "new" / name)
    return root / "new" / name


@pytest.fixture
def root(tmp_path: Path) -> Path:
    mailbox.Maildir(tmp_path / "inbox", create=True)
    return tmp_path / "inbox"


@pytest.fixture
def waiter() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def start_waiting(executor: ThreadPoolExecutor, box: MaildirMailbox) -> Future[bool]:
    """Start `box.wait_for_mail(WAIT)` and return once it has looked and found nothing."""
    looked = threading.Event()
    real = box._has_unfetched

    def spy() -> bool:
        found = real()
        if not found:
            looked.set()
        return found

    box._has_unfetched = spy  # type: ignore[method-assign]
    future = executor.submit(box.wait_for_mail, WAIT)
    assert looked.wait(DEADLINE), "wait_for_mail never looked at the folder"
    return future


def test_a_delivery_wakes_the_waiter(root: Path, waiter: ThreadPoolExecutor) -> None:
    box = MaildirMailbox(root)
    assert box.fetch_new() == []

    future = start_waiting(waiter, box)
    deliver(root, 1)

    assert future.result(timeout=DEADLINE) is True
    assert [i.raw for i in box.fetch_new()] == [make_raw(1)]


def test_a_quiet_folder_waits_out_the_timeout(root: Path) -> None:
    box = MaildirMailbox(root)
    assert box.fetch_new() == []
    assert box.wait_for_mail(0.5) is False


def test_mail_waiting_before_any_fetch_is_reported_at_once(root: Path) -> None:
    deliver(root, 1)
    assert MaildirMailbox(root).wait_for_mail(WAIT) is True


def test_mail_delivered_between_fetch_and_wait_is_reported_at_once(root: Path) -> None:
    box = MaildirMailbox(root)
    assert box.fetch_new() == []
    deliver(root, 1)
    assert box.wait_for_mail(WAIT) is True


def test_mail_a_batch_left_behind_is_reported_at_once(root: Path) -> None:
    for n in range(3):
        deliver(root, n)
    box = MaildirMailbox(root)
    box.mark_processed_many(box.fetch_new(limit=2))

    assert box.wait_for_mail(WAIT) is True
    box.mark_processed_many(box.fetch_new(limit=2))
    assert box.wait_for_mail(0.3) is False


def test_mail_fetched_but_not_yet_moved_does_not_wake_the_waiter(root: Path) -> None:
    # A batch whose commit failed stays in the folder; waking for it would spin the poller.
    deliver(root, 1)
    box = MaildirMailbox(root)
    assert len(box.fetch_new()) == 1
    assert box.wait_for_mail(0.5) is False


def test_a_client_flagging_a_fetched_message_does_not_wake_the_waiter(root: Path) -> None:
    path = deliver(root, 1)
    box = MaildirMailbox(root)
    assert len(box.fetch_new()) == 1
    path.rename(root / "cur" / (path.name + ":2,S"))  # same message, now in cur/ and seen
    assert box.wait_for_mail(0.5) is False


def test_a_delivery_in_the_same_mtime_tick_as_the_last_look_is_not_missed(
    root: Path, waiter: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Coarse directory timestamps: the delivery leaves new/'s mtime as it was when the waiter
    # last looked. A recently changed directory is listed again rather than trusted (the window
    # is widened here so a slow machine cannot push the test past it).
    monkeypatch.setattr(maildir_module, "_MTIME_SETTLE_NS", 600 * 10**9)
    box = MaildirMailbox(root)
    assert box.fetch_new() == []
    os.utime(root / "new")  # "now"
    before = (root / "new").stat()

    future = start_waiting(waiter, box)
    deliver(root, 1)
    os.utime(root / "new", ns=(before.st_atime_ns, before.st_mtime_ns))

    assert future.result(timeout=DEADLINE) is True


def test_a_read_only_folder_wakes_for_new_mail_but_not_for_processed_mail(
    root: Path, waiter: ThreadPoolExecutor
) -> None:
    for n in range(2):
        deliver(root, n)
    box = MaildirMailbox(root, read_only=True)
    box.mark_processed_many(box.fetch_new())
    assert box.wait_for_mail(0.5) is False

    future = start_waiting(waiter, box)
    deliver(root, 5)

    assert future.result(timeout=DEADLINE) is True
    assert [i.raw for i in box.fetch_new()] == [make_raw(5)]


def test_a_fresh_read_only_object_reports_the_folder_contents(root: Path) -> None:
    deliver(root, 1)
    assert MaildirMailbox(root, read_only=True).wait_for_mail(WAIT) is True
