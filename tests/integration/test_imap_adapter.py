"""ImapMailbox against a real Dovecot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import ImapServer, free_port
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
