"""ImapMailbox.wait_for_mail against a real Dovecot: IMAP IDLE, and NOOP polling without it."""

from __future__ import annotations

import imaplib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.dovecot import ImapServer, free_port
from worker.adapters import imap as imap_module
from worker.adapters.imap import ImapMailbox
from worker.domain.errors import TransientError

pytestmark = pytest.mark.integration

# Generous: a waiter that returns True before this did so because mail was reported.
WAIT = 20.0
# How long the test itself waits for something it expects (a thread, the IDLE to start).
DEADLINE = 60.0


def make_raw(n: int) -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\n"
        f"To: complaints@landlord.example\r\n"
        f"Subject: Leak {n}\r\n"
        f"Message-ID: <idle{n}@example.org>\r\n"
        f"\r\n"
        f"Water is coming through the ceiling ({n}).\r\n"
    ).encode()


class _IdleStarted(logging.Handler):
    """Set once the adapter logs that the server has accepted IDLE ("+ idling")."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith(": idling"):
            self.event.set()


@pytest.fixture
def idling(caplog: pytest.LogCaptureFixture) -> Iterator[threading.Event]:
    """An Event set each time a waiter is inside IDLE (clear it before starting another)."""
    caplog.set_level(logging.DEBUG, logger=imap_module.__name__)
    handler = _IdleStarted()
    logger = logging.getLogger(imap_module.__name__)
    logger.addHandler(handler)
    yield handler.event
    logger.removeHandler(handler)


@pytest.fixture
def box(imap_mailbox: ImapServer) -> Iterator[ImapMailbox]:
    mailbox = ImapMailbox.from_url(imap_mailbox.url, timeout=5)
    yield mailbox
    mailbox.close()


@pytest.fixture
def waiter() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


@pytest.fixture
def sent_commands(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    sent: list[bytes] = []
    real_send = imaplib.IMAP4.send

    def recording_send(self: imaplib.IMAP4, data: bytes) -> None:
        sent.append(bytes(data))
        real_send(self, data)

    monkeypatch.setattr(imaplib.IMAP4, "send", recording_send)
    return sent


def idle_commands(sent: list[bytes]) -> list[bytes]:
    return [line for line in sent if re.fullmatch(rb"\S+ IDLE\r\n", line)]


def start_waiting(
    executor: ThreadPoolExecutor, box: ImapMailbox, idling: threading.Event, timeout: float = WAIT
) -> Future[bool]:
    idling.clear()
    future = executor.submit(box.wait_for_mail, timeout)
    assert idling.wait(DEADLINE), "wait_for_mail never entered IDLE"
    return future


def test_mail_appended_by_another_connection_wakes_the_waiter(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    idling: threading.Event,
) -> None:
    assert box.fetch_new() == []
    connection = box._box

    future = start_waiting(waiter, box, idling)
    uid = imap_mailbox.append(make_raw(1))

    assert future.result(timeout=DEADLINE) is True
    assert [(i.uid, i.raw) for i in box.fetch_new()] == [(uid, make_raw(1))]
    assert box._box is connection  # left ready for the next command, not reconnected


def test_a_quiet_mailbox_waits_out_the_timeout_and_stays_usable(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    assert box.fetch_new() == []
    connection = box._box

    assert box.wait_for_mail(1.0) is False

    uid = imap_mailbox.append(make_raw(1))
    items = box.fetch_new()
    assert [i.uid for i in items] == [uid]
    box.mark_processed_many(items)
    assert imap_mailbox.list_uids("INBOX") == []
    assert box._box is connection


def test_repeated_wait_fetch_move_cycles_share_one_connection(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    idling: threading.Event,
) -> None:
    assert box.fetch_new() == []
    connection = box._box
    for n in range(3):
        future = start_waiting(waiter, box, idling)
        imap_mailbox.append(make_raw(n))
        assert future.result(timeout=DEADLINE) is True
        items = box.fetch_new()
        assert [i.raw for i in items] == [make_raw(n)]
        box.mark_processed_many(items)
    assert box.wait_for_mail(0.5) is False
    assert box._box is connection
    assert len(imap_mailbox.list_uids("Processed")) == 3


def test_mail_delivered_between_fetch_and_wait_is_reported_at_once(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    assert box.fetch_new() == []
    uid = imap_mailbox.append(make_raw(1))

    assert box.wait_for_mail(WAIT) is True
    assert [i.uid for i in box.fetch_new()] == [uid]


def test_mail_a_batch_left_behind_is_reported_at_once(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    uids = [imap_mailbox.append(make_raw(n)) for n in range(3)]
    first = box.fetch_new(limit=2)
    box.mark_processed_many(first)

    assert box.wait_for_mail(WAIT) is True
    assert [i.uid for i in box.fetch_new(limit=2)] == uids[2:]
    assert box.wait_for_mail(0.5) is False  # and nothing is left now


def test_mail_fetched_but_not_yet_moved_does_not_wake_the_waiter(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    # A batch whose commit failed stays in the folder; waking for it would spin the poller.
    imap_mailbox.append(make_raw(1))
    assert len(box.fetch_new()) == 1
    assert box.wait_for_mail(1.0) is False


def test_another_poller_moving_mail_out_does_not_wake_the_waiter(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    idling: threading.Event,
) -> None:
    imap_mailbox.append(make_raw(1))
    assert len(box.fetch_new()) == 1
    future = start_waiting(waiter, box, idling, timeout=3.0)

    with ImapMailbox.from_url(imap_mailbox.url, timeout=5) as other:
        other.mark_processed_many(other.fetch_new())  # the waiter hears "* 1 EXPUNGE"

    assert future.result(timeout=DEADLINE) is False
    assert box.fetch_new() == []


def test_without_a_connection_the_waiter_returns_at_once_so_the_caller_fetches() -> None:
    # Nothing listens there: the waiter must not try to connect, fetch_new reconnects.
    box = ImapMailbox.from_url(f"imap://u:p@127.0.0.1:{free_port()}/INBOX", timeout=2)
    assert box.wait_for_mail(WAIT) is True


def test_long_waits_reissue_idle(
    box: ImapMailbox, sent_commands: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # RFC 2177: a client re-issues IDLE at least every 29 minutes (here: every 0.3 s).
    monkeypatch.setattr(imap_module, "_MAX_IDLE_SECONDS", 0.3)
    assert box.fetch_new() == []
    sent_commands.clear()

    assert box.wait_for_mail(1.5) is False

    assert len(idle_commands(sent_commands)) >= 2
    assert sent_commands.count(b"DONE\r\n") == len(idle_commands(sent_commands))
    assert box.fetch_new() == []


def test_without_idle_the_waiter_polls_with_noop(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    sent_commands: list[bytes],
) -> None:
    assert box.fetch_new() == []
    assert box._box is not None
    client = box._box.client
    client.capabilities = tuple(c for c in client.capabilities if c != "IDLE")  # RFC 2177 absent

    assert box.wait_for_mail(1.5) is False
    future = waiter.submit(box.wait_for_mail, WAIT)
    uid = imap_mailbox.append(make_raw(1))

    assert future.result(timeout=DEADLINE) is True
    assert idle_commands(sent_commands) == []
    assert [i.uid for i in box.fetch_new()] == [uid]


def test_a_server_restart_while_waiting_raises_transient_error_then_fetch_reconnects(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    idling: threading.Event,
) -> None:
    assert box.fetch_new() == []
    future = start_waiting(waiter, box, idling)

    imap_mailbox.instance.restart()

    with pytest.raises(TransientError):
        future.result(timeout=DEADLINE)
    uid = imap_mailbox.append(make_raw(1))
    assert [i.uid for i in box.fetch_new()] == [uid]


def test_a_server_that_stops_answering_cannot_hold_the_waiter(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    waiter: ThreadPoolExecutor,
    idling: threading.Event,
) -> None:
    assert box.fetch_new() == []
    future = start_waiting(waiter, box, idling, timeout=1.0)
    # Freeze every Dovecot process: the connection stays open but DONE is never answered.
    proc = imap_mailbox.instance._proc
    assert proc is not None
    group = os.getpgid(proc.pid)
    os.killpg(group, signal.SIGSTOP)
    try:
        with pytest.raises(TransientError):
            future.result(timeout=DEADLINE)
    finally:
        os.killpg(group, signal.SIGCONT)
    assert box._box is None  # dropped, never reused mid-IDLE
    uid = imap_mailbox.append(make_raw(1))
    assert [i.uid for i in box.fetch_new()] == [uid]


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_a_response_already_buffered_is_seen_without_waiting_for_the_socket(
    socket_pair: tuple[socket.socket, socket.socket],
) -> None:
    # Two lines in one packet ("+ idling" and "* 1 EXISTS"): after imaplib reads the first,
    # the second sits in its buffered file and the socket itself has nothing more to read.
    ours, theirs = socket_pair
    client: Any = SimpleNamespace(sock=ours, file=ours.makefile("rb"))
    assert imap_module._response_ready(client, 0) is False

    theirs.sendall(b"+ idling\r\n* 1 EXISTS\r\n")
    assert imap_module._response_ready(client, DEADLINE) is True
    assert client.file.readline() == b"+ idling\r\n"

    assert imap_module._response_ready(client, 0) is True
    assert client.file.readline() == b"* 1 EXISTS\r\n"
    assert imap_module._response_ready(client, 0) is False
    assert ours.gettimeout() == 5  # the peek left the socket's timeout as it was
