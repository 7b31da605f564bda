"""SmtpSender's connection pool and send_batch against a real SMTP server (aiosmtpd).

The server here is the shared test sink with a watch on it: it counts connections, notes when
each DATA command arrives, and can refuse or drop chosen letters.
"""

from __future__ import annotations

import asyncio
import email.message
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, syntax

from tests.support.dovecot import free_port
from tests.support.smtp import SmtpServer, _RecordingHandler
from worker.adapters.smtp import DEFAULT_POOL_SIZE, SmtpSender
from worker.domain.errors import DeliveryUncertain, PermanentError, TransientError
from worker.ports import MailSender, SendResult

pytestmark = pytest.mark.integration


# --- a watched server ----------------------------------------------------------------------------


def address(i: int) -> str:
    return f"resident{i}@example.org"


def index_of(rcpt: str) -> int:
    return int(rcpt.removeprefix("resident").partition("@")[0])


class WatchedSmtpServer(SmtpServer):
    """SmtpServer that also counts connections, records events in order and can misbehave for
    chosen recipients."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.connections_made = 0
        self.open_connections = 0
        self.most_open = 0
        self.noops = 0
        self.quits = 0
        # ("before", indices) from before_data, ("data", index) when a DATA command arrives.
        self.events: list[tuple[str, Any]] = []
        self.rcpt_by_address: dict[str, str] = {}
        self.data_by_address: dict[str, str] = {}
        self.drop_in_data: set[str] = set()
        self.drop_kept_connections_at_mail = False
        self.fail_noop = False

    def note(self, kind: str, value: Any) -> None:
        with self.lock:
            self.events.append((kind, value))

    def start(self) -> None:
        if self._controller is None:
            controller = _WatchedController(self, hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller

    def message_ids(self) -> list[str]:
        return [str(m.message["Message-ID"]) for m in self.messages]


class _WatchedSMTP(SMTP):
    watch: WatchedSmtpServer
    counted = False

    # Counted at EHLO, not at connect: the controller's own readiness probe connects too.
    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802 - aiosmtpd's command method
        if not self.counted:
            self.counted = True
            with self.watch.lock:
                self.watch.connections_made += 1
                self.watch.open_connections += 1
                self.watch.most_open = max(self.watch.most_open, self.watch.open_connections)
        await super().smtp_EHLO(hostname)

    def connection_lost(self, error: Exception | None) -> None:
        if self.counted:
            with self.watch.lock:
                self.watch.open_connections -= 1
        super().connection_lost(error)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method name
        if self.envelope is not None and self.envelope.rcpt_tos:
            for rcpt in self.envelope.rcpt_tos:
                self.watch.note("data", index_of(rcpt))
        await super().smtp_DATA(arg)


class _WatchedHandler(_RecordingHandler):
    server: WatchedSmtpServer

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.server.drop_kept_connections_at_mail and getattr(session, "delivered", 0) > 0:
            # As a server does to a session it has kept too long: answer 421 and hang up.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.4.2 Idle too long, closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.server.rcpt_by_address:
            return self.server.rcpt_by_address[address]
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.drop_in_data.intersection(envelope.rcpt_tos):
            # The whole message has arrived; the connection goes before the answer does.
            server.transport.close()
            return "250 never heard by the client"
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.server.data_by_address:
                return self.server.data_by_address[rcpt]
        status = await super().handle_DATA(server, session, envelope)
        session.delivered = getattr(session, "delivered", 0) + 1
        return status

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:  # noqa: N802
        with self.server.lock:
            self.server.noops += 1
        if self.server.fail_noop:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.4.2 Closing connection"
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.server.lock:
            self.server.quits += 1
        return "221 Bye"


class _WatchedController(Controller):
    def __init__(self, watch: WatchedSmtpServer, hostname: str, port: int) -> None:
        super().__init__(_WatchedHandler(watch), hostname=hostname, port=port, ready_timeout=10)
        self.watch = watch

    def factory(self) -> SMTP:
        smtp = _WatchedSMTP(self.handler, **self.SMTP_kwargs)
        smtp.watch = self.watch
        return smtp


@pytest.fixture
def server() -> Iterator[WatchedSmtpServer]:
    watched = WatchedSmtpServer()
    watched.start()
    yield watched
    watched.stop()


@pytest.fixture
def make_sender() -> Iterator[Callable[..., SmtpSender]]:
    """SmtpSender factory; every sender made is closed after the test."""
    made: list[SmtpSender] = []

    def make(url: str, **kwargs: Any) -> SmtpSender:
        sender = SmtpSender.from_url(url, timeout=kwargs.pop("timeout", 5), **kwargs)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()


# --- letters -------------------------------------------------------------------------------------


def letter(i: int, batch: str = "a") -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "Complaints <complaints@landlord.example>"
    msg["To"] = f"Resident {i} <{address(i)}>"
    msg["Subject"] = f"Your complaint CMP-2026-{i:05d}"
    msg["Message-ID"] = f"<{batch}-{i}@landlord.example>"
    msg.set_content(f"We have received your complaint {i}.\n")
    return msg


def letters(count: int, batch: str = "a", first: int = 0) -> list[email.message.EmailMessage]:
    return [letter(i, batch) for i in range(first, first + count)]


class Recorder:
    """A before_data that records its calls (and, with `server`, where they fall among the
    server's events)."""

    def __init__(self, server: WatchedSmtpServer | None = None) -> None:
        self.server = server
        self.calls: list[list[int]] = []

    def __call__(self, indices: Sequence[int]) -> None:
        self.calls.append(list(indices))
        if self.server is not None:
            self.server.note("before", tuple(indices))

    @property
    def indices(self) -> list[int]:
        return sorted(i for call in self.calls for i in call)


def by_index(results: list[SendResult]) -> dict[int, SendResult]:
    found = {r.index: r for r in results}
    assert len(found) == len(results), "one result per letter"
    return found


def failures(results: list[SendResult]) -> dict[int, type[Exception]]:
    return {r.index: type(r.error) for r in results if r.error is not None}


# --- tests ---------------------------------------------------------------------------------------


def test_200_letters_arrive_once_each_over_at_most_pool_size_connections(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=20)
    assert isinstance(sender, MailSender)
    before = Recorder()

    results = sender.send_batch(letters(200), before)

    assert failures(results) == {}
    assert {i: r.message_id for i, r in by_index(results).items()} == {
        i: f"<a-{i}@landlord.example>" for i in range(200)
    }
    assert sorted(server.message_ids()) == sorted(f"<a-{i}@landlord.example>" for i in range(200))
    assert [
        m.rcpt_tos for m in server.messages if m.message["Message-ID"] == "<a-7@landlord.example>"
    ] == [(address(7),)]
    assert server.connections_made <= 20
    assert server.most_open <= 20
    assert before.indices == list(range(200))
    assert all(len(call) <= 20 for call in before.calls)


def test_before_data_names_every_letter_of_a_group_before_any_of_them_reaches_data(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=10)

    results = sender.send_batch(letters(35), Recorder(server))

    assert failures(results) == {}
    announced: set[int] = set()
    groups = 0
    for kind, value in server.events:
        if kind == "before":
            groups += 1
            assert announced.isdisjoint(value), "each letter is announced once"
            announced.update(value)
        else:
            assert value in announced, f"letter {value} reached DATA before before_data named it"
    assert announced == set(range(35))
    assert groups == 4  # 10 + 10 + 10 + 5: one database write per group


def test_one_group_calls_before_data_once_before_any_data_command(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=20)

    sender.send_batch(letters(20), Recorder(server))

    assert server.events[0] == ("before", tuple(range(20)))
    assert sorted(value for kind, value in server.events[1:] if kind == "data") == list(range(20))


def test_refused_recipients_fail_permanently_and_only_those(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    server.rcpt_by_address = {
        address(3): "550 5.1.1 No such user",
        address(8): "553 5.1.3 Bad address",
    }
    before = Recorder()

    results = make_sender(server.url, pool_size=5).send_batch(letters(12), before)

    assert failures(results) == {3: PermanentError, 8: PermanentError}
    assert "resident3@example.org: 550" in str(by_index(results)[3].error)
    assert sorted(server.message_ids()) == sorted(
        f"<a-{i}@landlord.example>" for i in range(12) if i not in (3, 8)
    )
    assert 3 not in before.indices and 8 not in before.indices


def test_deferred_recipient_is_a_transient_error(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    server.rcpt_by_address = {address(1): "450 4.2.1 Mailbox busy"}

    results = make_sender(server.url, pool_size=5).send_batch(letters(4), Recorder())

    assert failures(results) == {1: TransientError}
    assert len(server.messages) == 3


def test_a_letter_with_one_refused_recipient_goes_to_none_of_them(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    msg = letter(1)
    msg["Cc"] = address(2)
    server.rcpt_by_address = {address(2): "550 5.1.1 No such user"}
    before = Recorder()

    results = make_sender(server.url).send_batch([msg, letter(3)], before)

    assert failures(results) == {0: PermanentError}
    assert before.calls == [[1]]
    assert server.message_ids() == ["<a-3@landlord.example>"]


def test_refused_recipient_leaves_its_connection_usable(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=1)
    server.rcpt_by_address = {address(0): "550 5.1.1 No such user"}

    first = sender.send_batch(letters(1), Recorder())
    second = sender.send_batch(letters(1, first=1), Recorder())

    assert failures(first) == {0: PermanentError}
    assert failures(second) == {}
    assert server.connections_made == 1


def test_server_stopped_fails_every_letter_transiently_without_before_data(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=5)
    assert failures(sender.send_batch(letters(5, "warm"), Recorder())) == {}
    server.stop()
    before = Recorder()

    results = sender.send_batch(letters(23), before)

    assert set(failures(results).values()) == {TransientError}
    assert len(results) == 23
    assert before.calls == []


def test_nothing_listening_fails_fast_after_the_first_group() -> None:
    sender = SmtpSender.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2, pool_size=5)
    before = Recorder()
    try:
        results = by_index(sender.send_batch(letters(12), before))
    finally:
        sender.close()

    assert {type(r.error) for r in results.values()} == {TransientError}
    assert before.calls == []
    assert all("not tried" in str(results[i].error) for i in range(5, 12))


def test_after_a_server_restart_the_next_batch_reconnects_and_delivers(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=5)
    assert failures(sender.send_batch(letters(10, "one"), Recorder())) == {}
    server.stop()
    server.start()

    results = sender.send_batch(letters(10, "two"), Recorder())

    assert failures(results) == {}
    assert sorted(server.message_ids()) == sorted(
        [f"<one-{i}@landlord.example>" for i in range(10)]
        + [f"<two-{i}@landlord.example>" for i in range(10)]
    )


def test_a_kept_connection_the_server_drops_at_mail_is_replaced_silently(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=4)
    assert failures(sender.send_batch(letters(4, "one"), Recorder())) == {}
    server.drop_kept_connections_at_mail = True

    results = sender.send_batch(letters(4, "two"), Recorder())

    assert failures(results) == {}
    assert len(server.messages) == 8
    assert server.connections_made == 8


def test_an_idle_connection_is_checked_with_noop_and_replaced_when_it_fails(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=2, idle_check_after=0)
    assert failures(sender.send_batch(letters(2, "one"), Recorder())) == {}
    server.fail_noop = True

    results = sender.send_batch(letters(2, "two"), Recorder())

    assert failures(results) == {}
    assert server.noops == 2
    assert server.connections_made == 4
    assert len(server.messages) == 4


def test_data_refused_with_5xx_is_permanent_and_4xx_transient(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    server.data_by_address = {
        address(2): "554 5.7.1 Message rejected as spam",
        address(4): "451 4.3.0 Try again later",
    }

    results = make_sender(server.url, pool_size=3).send_batch(letters(6), Recorder())

    assert failures(results) == {2: PermanentError, 4: TransientError}
    assert "554" in str(by_index(results)[2].error)
    assert len(server.messages) == 4


def test_connection_lost_during_data_is_delivery_uncertain_for_that_letter_only(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=3)
    server.drop_in_data = {address(4)}

    results = sender.send_batch(letters(6), Recorder())

    assert failures(results) == {4: DeliveryUncertain}
    assert "Check before resending" in str(by_index(results)[4].error)
    assert len(server.messages) == 5
    # The pool replaces the lost connection.
    assert failures(sender.send_batch(letters(3, "after"), Recorder())) == {}


def test_send_raises_delivery_uncertain_when_the_connection_drops_in_data(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    server.drop_in_data = {address(0)}
    marked: list[str] = []

    with pytest.raises(DeliveryUncertain):
        make_sender(server.url).send(letter(0), lambda: marked.append("transmitting"))
    assert marked == ["transmitting"]


def test_two_threads_sending_batches_at_once_deliver_everything_once(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=10)
    start = threading.Barrier(2)
    outcomes: dict[str, list[SendResult]] = {}
    errors: list[BaseException] = []

    def send(batch: str) -> None:
        try:
            start.wait()
            outcomes[batch] = sender.send_batch(letters(100, batch), Recorder())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(batch,)) for batch in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert failures(outcomes["x"]) == {} and failures(outcomes["y"]) == {}
    expected = [f"<{b}-{i}@landlord.example>" for b in ("x", "y") for i in range(100)]
    assert sorted(server.message_ids()) == sorted(expected)
    assert server.most_open <= 10


def test_before_data_raising_propagates_and_nothing_of_its_group_is_handed_over(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url, pool_size=5)
    calls: list[list[int]] = []

    def before(indices: Sequence[int]) -> None:
        calls.append(list(indices))
        if len(calls) == 2:
            raise RuntimeError("database is down")

    with pytest.raises(RuntimeError, match="database is down"):
        sender.send_batch(letters(12), before)

    assert calls == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert sorted(server.message_ids()) == sorted(f"<a-{i}@landlord.example>" for i in range(5))
    assert sorted(v for kind, v in server.events if kind == "data") == [0, 1, 2, 3, 4]
    # The aborted group's connections went back to the pool (RSET, not dropped).
    assert failures(sender.send_batch(letters(5, "next"), Recorder())) == {}
    assert server.connections_made == 5


def test_send_reuses_one_connection_for_consecutive_letters(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    sender = make_sender(server.url)
    for i in range(5):
        assert sender.send(letter(i)) == f"<a-{i}@landlord.example>"
    assert server.connections_made == 1
    assert len(server.messages) == 5


def test_close_quits_the_connections_and_stops_the_loop_thread(
    server: WatchedSmtpServer,
) -> None:
    sender = SmtpSender.from_url(server.url, pool_size=3)
    sender.send_batch(letters(3), Recorder())
    names = {t.name for t in threading.enumerate()}
    assert repr(sender) in names

    sender.close()

    assert server.quits == 3
    assert repr(sender) not in {t.name for t in threading.enumerate()}
    # Closed is not broken: the next call starts again.
    assert sender.send(letter(9)) == "<a-9@landlord.example>"
    sender.close()
    sender.close()


def test_a_letter_without_recipients_fails_alone(
    server: WatchedSmtpServer, make_sender: Callable[..., SmtpSender]
) -> None:
    nobody = letter(0)
    del nobody["To"]

    results = make_sender(server.url).send_batch([nobody, letter(1)], Recorder())

    assert failures(results) == {0: PermanentError}
    assert server.message_ids() == ["<a-1@landlord.example>"]


def test_pool_size_comes_from_the_url() -> None:
    assert SmtpSender.from_url("smtp://relay.example?pool=7").pool_size == 7
    assert SmtpSender.from_url("smtp://relay.example?pool=7", pool_size=3).pool_size == 3
    assert SmtpSender.from_url("smtp://relay.example").pool_size == DEFAULT_POOL_SIZE == 8


def test_each_groups_results_are_reported_before_the_next_group_is_handed_over(
    server: WatchedSmtpServer,
) -> None:
    """So the outbox records every group as soon as it is answered: a crash then leaves at
    most one group's letters in doubt, not the whole batch."""
    sender = SmtpSender.from_url(server.url, pool_size=5)
    events: list[tuple[str, list[int]]] = []
    try:
        results = sender.send_batch(
            letters(12),
            lambda indices: events.append(("before", sorted(indices))),
            lambda group: events.append(("after", sorted(r.index for r in group))),
        )
    finally:
        sender.close()
    assert all(r.error is None for r in results) and len(results) == 12
    reported = [i for kind, indices in events if kind == "after" for i in indices]
    assert sorted(reported) == list(range(12))
    # Every group's "after" comes before the "before" of any group after the next one: at most
    # one group is on the wire unreported while the next is opened.
    befores = [i for i, (kind, _x) in enumerate(events) if kind == "before"]
    afters = [i for i, (kind, _x) in enumerate(events) if kind == "after"]
    assert len(befores) == len(afters) == 3
    for n, after in enumerate(afters):
        assert after > befores[n]
        if n + 2 < len(befores):
            assert after < befores[n + 2]
