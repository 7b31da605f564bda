"""ImapMailbox against a real Dovecot."""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator

import pytest

from tests.support.dovecot import ImapServer, free_port
from worker.adapters import imap as imap_module
from worker.adapters.imap import ImapMailbox, parse_imap_url
from worker.domain.errors import ConfigurationError, TransientError
from worker.ports import Mailbox, RawInbound

pytestmark = pytest.mark.integration


def make_raw(n: int) -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\n"
        f"To: complaints@landlord.example\r\n"
        f"Subject: Damp in flat {n}\r\n"
        f"Message-ID: <msg{n}@example.org>\r\n"
        f"Date: Mon, 06 Jan 2025 09:0{n}:00 +0000\r\n"
        f"\r\n"
        f"The damp in my flat {n} has not been fixed.\r\n"
    ).encode()


@pytest.fixture
def box(imap_mailbox: ImapServer) -> Iterator[ImapMailbox]:
    mailbox = ImapMailbox.from_url(imap_mailbox.url, timeout=5)
    yield mailbox
    mailbox.close()


def test_fetch_new_returns_messages_oldest_first_without_marking_them_seen(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    raws = [make_raw(n) for n in (1, 2, 3)]
    uids = [imap_mailbox.append(raw) for raw in raws]

    items = box.fetch_new()

    assert isinstance(box, Mailbox)
    assert [i.uid for i in items] == uids
    assert [i.raw for i in items] == raws
    assert {i.uidvalidity for i in items} == {imap_mailbox.uidvalidity()}
    assert {i.mailbox for i in items} == {box.name}
    assert box.name == f"imap://{imap_mailbox.user}@127.0.0.1:{imap_mailbox.port}/INBOX"
    assert all("\\Seen" not in flags for flags in imap_mailbox.fetch_flags().values())


def test_fetch_new_honours_the_limit(imap_mailbox: ImapServer, box: ImapMailbox) -> None:
    uids = [imap_mailbox.append(make_raw(n)) for n in (1, 2, 3)]
    assert [i.uid for i in box.fetch_new(limit=2)] == uids[:2]


def test_mark_processed_moves_to_the_processed_folder_and_is_not_fetched_again(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    for n in (1, 2, 3):
        imap_mailbox.append(make_raw(n))
    items = box.fetch_new()

    box.mark_processed(items[0])
    box.mark_processed(items[1])

    assert [i.uid for i in box.fetch_new()] == [items[2].uid]
    assert imap_mailbox.list_uids("INBOX") == [items[2].uid]
    assert len(imap_mailbox.list_uids("Processed")) == 2
    moved = {
        imap_mailbox.fetch_raw(uid, "Processed") for uid in imap_mailbox.list_uids("Processed")
    }
    assert moved == {items[0].raw, items[1].raw}

    box.mark_processed(items[2])
    assert box.fetch_new() == []


def test_moving_an_already_moved_message_is_a_no_op(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    imap_mailbox.append(make_raw(1))
    imap_mailbox.append(make_raw(2))
    first, second = box.fetch_new()

    box.mark_processed(first)
    box.mark_processed(first)  # e.g. a retry after a crash between commit and move
    ImapMailbox.from_url(imap_mailbox.url).mark_processed(first)

    assert imap_mailbox.list_uids("INBOX") == [second.uid]
    assert len(imap_mailbox.list_uids("Processed")) == 1


def test_processed_folder_name_is_configurable(imap_mailbox: ImapServer) -> None:
    imap_mailbox.append(make_raw(1))
    with ImapMailbox.from_url(imap_mailbox.url, processed_folder="Done") as box:
        box.mark_processed(box.fetch_new()[0])
    assert len(imap_mailbox.list_uids("Done")) == 1
    assert imap_mailbox.list_uids("INBOX") == []


def test_reads_the_folder_named_in_the_url(imap_mailbox: ImapServer) -> None:
    imap_mailbox.append(make_raw(1))
    uid = imap_mailbox.append(make_raw(2), folder="Complaints")
    with ImapMailbox.from_url(imap_mailbox.folder_url("Complaints")) as box:
        items = box.fetch_new()
        assert [(i.uid, i.raw) for i in items] == [(uid, make_raw(2))]
        assert box.name.endswith("/Complaints")


def test_a_stale_uidvalidity_is_never_moved(imap_mailbox: ImapServer, box: ImapMailbox) -> None:
    imap_mailbox.append(make_raw(1))
    item = box.fetch_new()[0]
    stale = RawInbound(item.mailbox, item.uidvalidity + 1, item.uid, item.raw)
    box.mark_processed(stale)
    assert imap_mailbox.list_uids("INBOX") == [item.uid]


def test_reconnects_after_the_server_restarts(imap_mailbox: ImapServer, box: ImapMailbox) -> None:
    imap_mailbox.append(make_raw(1))
    first = box.fetch_new()
    assert len(first) == 1

    imap_mailbox.instance.restart()  # drops every open connection
    imap_mailbox.append(make_raw(2))

    items = box.fetch_new()
    assert [i.raw for i in items] == [make_raw(1), make_raw(2)]
    box.mark_processed(items[0])
    assert imap_mailbox.list_uids("INBOX") == [items[1].uid]


def test_server_down_raises_transient_error_and_recovers(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    imap_mailbox.append(make_raw(1))
    assert len(box.fetch_new()) == 1
    imap_mailbox.instance.stop()
    try:
        with pytest.raises(TransientError):
            box.fetch_new()
        with pytest.raises(TransientError):
            ImapMailbox.from_url(imap_mailbox.url, timeout=5).fetch_new()
    finally:
        imap_mailbox.instance.start()
    assert len(box.fetch_new()) == 1


def test_nothing_listening_raises_transient_error() -> None:
    box = ImapMailbox.from_url(f"imap://u:p@127.0.0.1:{free_port()}/INBOX", timeout=2)
    with pytest.raises(TransientError):
        box.fetch_new()


def test_wrong_password_is_a_configuration_error(imap_mailbox: ImapServer) -> None:
    url = imap_mailbox.url.replace("s3cret", "wrong")
    with pytest.raises(ConfigurationError, match="login refused"):
        ImapMailbox.from_url(url, timeout=5).fetch_new()


def test_missing_folder_is_a_configuration_error(imap_mailbox: ImapServer) -> None:
    with pytest.raises(ConfigurationError, match="Nope"):
        ImapMailbox.from_url(imap_mailbox.folder_url("Nope"), timeout=5).fetch_new()


@pytest.mark.parametrize(
    "url",
    [
        "http://u:p@host/INBOX",
        "imap://host/INBOX",
        "imap://user@host/INBOX",
        "imap://u:p@/INBOX",
        "imap://u:p@host:notaport/INBOX",
        "imaps://u:p@host/INBOX?starttls=1",
        "",
    ],
)
def test_bad_url_raises_configuration_error_with_one_line(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ImapMailbox.from_url(url)
    assert "\n" not in str(info.value)
    assert "p@" not in str(info.value)


def test_url_parts_are_decoded() -> None:
    s = parse_imap_url("imaps://jo%40example.org:p%3Ass%20w@mail.example.org/Shared%20Inbox")
    assert (s.user, s.password, s.host, s.port, s.folder, s.tls) == (
        "jo@example.org",
        "p:ss w",
        "mail.example.org",
        993,
        "Shared Inbox",
        True,
    )
    assert "p:ss" not in repr(s)
    assert parse_imap_url("imap://u:p@h").port == 143
    assert parse_imap_url("imap://u:p@h").folder == "INBOX"
    assert parse_imap_url("imap://u:p@h:1143/?starttls=1").starttls is True


def test_mail_appended_while_connected_is_seen_on_the_next_poll(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    # The poller keeps its connection open between polls; mail delivered by another session in
    # between must still be found (the server only reports it once asked to sync).
    imap_mailbox.append(make_raw(1))
    first = box.fetch_new()
    assert len(first) == 1
    box.mark_processed(first[0])
    imap_mailbox.append(make_raw(2))
    second = box.fetch_new()
    assert [item.raw for item in second] == [make_raw(2)]


# --- batches ---------------------------------------------------------------------------------


def append_many(server: ImapServer, raws: list[bytes], folder: str = "INBOX") -> list[int]:
    """Deliver many messages over one connection (one login per message would be slow)."""
    client = server.connect()
    try:
        uids = []
        for raw in raws:
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", (typ, data)
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert match, data
            uids.append(int(match.group(1)))
        return uids
    finally:
        client.logout()


@pytest.fixture
def sent_commands(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every command line any IMAP client sends during the test (literals included)."""
    sent: list[bytes] = []
    real_send = imaplib.IMAP4.send

    def recording_send(self: imaplib.IMAP4, data: bytes) -> None:
        sent.append(bytes(data))
        real_send(self, data)

    monkeypatch.setattr(imaplib.IMAP4, "send", recording_send)
    return sent


def uid_commands(sent: list[bytes], command: bytes) -> list[bytes]:
    return [line for line in sent if re.match(rb"\S+ UID " + command + rb" ", line)]


def test_a_batch_of_250_is_moved_with_one_uid_move(
    imap_mailbox: ImapServer, box: ImapMailbox, sent_commands: list[bytes]
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(250)])
    items = box.fetch_new(limit=500)
    assert len(items) == 250

    sent_commands.clear()
    box.mark_processed_many(items)

    assert len(uid_commands(sent_commands, b"MOVE")) == 1
    assert imap_mailbox.list_uids("INBOX") == []
    assert len(imap_mailbox.list_uids("Processed")) == 250
    assert box.fetch_new(limit=500) == []


def test_moving_a_batch_already_moved_is_a_no_op(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(5)])
    items = box.fetch_new()
    box.mark_processed_many(items[:3])

    box.mark_processed_many(items[:3])  # a retry after a crash between commit and move
    with ImapMailbox.from_url(imap_mailbox.url, timeout=5) as other:
        other.mark_processed_many(items[:3])

    assert imap_mailbox.list_uids("INBOX") == [i.uid for i in items[3:]]
    assert len(imap_mailbox.list_uids("Processed")) == 3


def test_only_the_uids_in_the_batch_are_moved_never_their_neighbours(
    imap_mailbox: ImapServer, box: ImapMailbox, sent_commands: list[bytes]
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(10)])
    items = box.fetch_new()
    batch = [items[i] for i in (0, 1, 2, 3, 5, 8, 9)]

    sent_commands.clear()
    box.mark_processed_many(batch)

    (move,) = uid_commands(sent_commands, b"MOVE")
    uids = [i.uid for i in items]
    assert f" {uids[0]}:{uids[3]},{uids[5]},{uids[8]}:{uids[9]} ".encode() in move
    assert imap_mailbox.list_uids("INBOX") == [uids[4], uids[6], uids[7]]


def test_long_uid_sets_are_split_to_keep_command_lines_short(
    imap_mailbox: ImapServer,
    box: ImapMailbox,
    sent_commands: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(40)])
    items = box.fetch_new()
    every_other = items[::2]  # no two consecutive UIDs, so no ranges to shorten the set
    monkeypatch.setattr(imap_module, "_MAX_COMMAND_CHARS", 60)

    sent_commands.clear()
    box.mark_processed_many(every_other)

    moves = uid_commands(sent_commands, b"MOVE")
    assert len(moves) > 1
    assert all(len(line) <= 60 + 40 for line in moves)  # the set, plus tag, command and folder
    assert imap_mailbox.list_uids("INBOX") == [i.uid for i in items[1::2]]
    assert len(imap_mailbox.list_uids("Processed")) == 20


def test_without_move_the_batch_is_copied_flagged_and_expunged(
    imap_mailbox: ImapServer, box: ImapMailbox, sent_commands: list[bytes]
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(6)])
    items = box.fetch_new()
    assert box._box is not None
    box._box.client.capabilities = tuple(
        c for c in box._box.client.capabilities if c != "MOVE"
    )  # a server without RFC 6851

    sent_commands.clear()
    box.mark_processed_many(items[:4])
    box.mark_processed_many(items[:4])  # a retry: nothing left to copy or expunge

    assert uid_commands(sent_commands, b"MOVE") == []
    assert len(uid_commands(sent_commands, b"COPY")) == 2
    assert len(uid_commands(sent_commands, b"EXPUNGE")) == 2
    assert imap_mailbox.list_uids("INBOX") == [i.uid for i in items[4:]]
    assert {
        imap_mailbox.fetch_raw(uid, "Processed") for uid in imap_mailbox.list_uids("Processed")
    } == {i.raw for i in items[:4]}


def test_a_batch_moves_current_items_and_leaves_stale_uidvalidity_ones(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(3)])
    first, second, third = box.fetch_new()
    stale = RawInbound(second.mailbox, second.uidvalidity + 1, second.uid, second.raw)

    box.mark_processed_many([first, stale, third])

    assert imap_mailbox.list_uids("INBOX") == [second.uid]
    assert len(imap_mailbox.list_uids("Processed")) == 2


def test_a_batch_with_an_item_from_another_mailbox_is_refused_whole(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    append_many(imap_mailbox, [make_raw(n) for n in range(2)])
    first, second = box.fetch_new()
    foreign = RawInbound("imap://someone@elsewhere:143/INBOX", second.uidvalidity, 99, b"")

    with pytest.raises(ValueError):
        box.mark_processed_many([first, foreign])
    with pytest.raises(ValueError):
        box.mark_processed(foreign)

    assert imap_mailbox.list_uids("INBOX") == [first.uid, second.uid]


def test_an_empty_batch_does_not_connect() -> None:
    box = ImapMailbox.from_url(f"imap://u:p@127.0.0.1:{free_port()}/INBOX", timeout=2)
    box.mark_processed_many([])  # nothing listens on that port: connecting would fail


# --- batches bounded by size -----------------------------------------------------------------


def sized_raw(n: int, size: int) -> bytes:
    head = make_raw(n)
    return head + b"x" * (size - len(head) - 2) + b"\r\n"


def test_a_batch_stops_before_it_would_pass_max_bytes(
    imap_mailbox: ImapServer, box: ImapMailbox, sent_commands: list[bytes]
) -> None:
    raws = [sized_raw(n, 10_000) for n in range(5)]
    uids = append_many(imap_mailbox, raws)

    sent_commands.clear()
    items = box.fetch_new(limit=5, max_bytes=25_000)

    assert [(i.uid, i.raw) for i in items] == list(zip(uids[:2], raws[:2], strict=True))
    assert len(uid_commands(sent_commands, b"SEARCH")) == 1
    assert len(uid_commands(sent_commands, b"FETCH")) == 2  # sizes, then the chosen bodies
    box.mark_processed_many(items)
    assert [i.uid for i in box.fetch_new(limit=5, max_bytes=25_000)] == uids[2:4]


def test_a_message_larger_than_max_bytes_still_comes_alone(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    big = sized_raw(1, 2_000_000)
    uids = append_many(imap_mailbox, [big, make_raw(2)])

    items = box.fetch_new(limit=10, max_bytes=1_000_000)

    assert [(i.uid, i.raw) for i in items] == [(uids[0], big)]


def test_the_default_batch_is_bounded_by_limit_not_size(
    imap_mailbox: ImapServer, box: ImapMailbox
) -> None:
    uids = append_many(imap_mailbox, [sized_raw(n, 50_000) for n in range(4)])
    assert [i.uid for i in box.fetch_new(limit=3)] == uids[:3]


@pytest.mark.parametrize(
    ("uids", "max_chars", "expected"),
    [
        ([], 100, []),
        ([7], 100, ["7"]),
        ([9, 5, 6, 7, 8, 12, 5], 100, ["5:9,12"]),
        ([1, 3, 5, 7], 3, ["1,3", "5,7"]),
        ([1, 2, 3, 10, 20, 21], 5, ["1:3", "10", "20:21"]),
    ],
)
def test_uid_sets_are_compact_and_split_by_length(
    uids: list[int], max_chars: int, expected: list[str]
) -> None:
    assert imap_module._uid_sets(uids, max_chars) == expected
