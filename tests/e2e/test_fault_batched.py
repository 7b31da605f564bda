"""Fault test of the batched pipeline on the real services: a long run of varied mail during which
the `complaints worker` process is killed with SIGKILL ten times and started again at once, as a
crashing machine and its supervisor would. Afterwards every message must be accounted for once
and no resident may have had the same letter twice.

The run is MESSAGES messages long (2,000; set COMPLAINTS_FAULT_MESSAGES to develop with fewer).
The kills are placed by progress read from the database and the SMTP sink, not by the clock, so
they land at the same points of the run however fast the worker is: twice while the poller is
storing, and the others while messages are parsed, triaged, routed and letters are being sent.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, undefer

from tests.support.dovecot import ImapServer
from tests.support.smtp import SmtpServer
from tests.support.worker_process import WorkerProcess, service_env, upgrade_database
from worker.adapters.db_models import (
    Case,
    Hazard,
    InboundMessage,
    Letter,
    Quarantine,
    ServiceRequest,
)
from worker.adapters.smtp import DEFAULT_POOL_SIZE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = int(os.environ.get("COMPLAINTS_FAULT_MESSAGES", "2000"))
KILLS = 10
THREADS = 2  # dramatiq threads per worker process
# Pinned rather than one per core, so that what a kill can leave in doubt is the same on every
# machine.
WORKER_PROCESSES = 2
# Letters go out in groups over each process's SMTP pool, a group's results written with the next
# group's "transmitting" mark: a kill leaves at most one group of each send job in doubt, of at
# most the whole pool, and each process runs THREADS send jobs at once. (Allowing one group a
# kill in all counted on the processes' groups never being in doubt at the same moment: a race a
# loaded machine lost.)
IN_DOUBT_PER_KILL = WORKER_PROCESSES * THREADS * DEFAULT_POOL_SIZE
STALL_TIMEOUT = 180.0  # seconds without any visible progress before the run is declared stuck
TERMINAL = frozenset({"done", "duplicate", "quarantined"})
LETTERS_IN_FLIGHT = frozenset({"pending", "sending", "transmitting"})
LETTERS_SETTLED = frozenset({"sent", "uncertain"})
AUTOMATIC = frozenset({"auto_reply", "bounce", "bulk"})
# A message may be quarantined only as poison, and only for having been in hand at crashes (the
# recovery sweep's wording); quarantined for any other reason it would be a bug.
POISON_BY_CRASHES = "the worker stopped while handling it"


# --- the mailbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One APPEND to the INBOX. A duplicate is the same bytes as an earlier delivery."""

    kind: str  # complaint | service_request | auto_reply | bounce | bulk | duplicate
    sender: str
    raw: bytes
    key: str  # the Message-ID (lower case, no brackets), or a hash of the bytes when it has none

    @property
    def automatic(self) -> bool:
        return self.kind in AUTOMATIC


def message_key(message_id: str, raw: bytes) -> str:
    message_id = message_id.strip().strip("<>").strip().lower()
    if message_id:
        return message_id
    # Dovecot hands messages back with CRLF line ends; they were built with LF.
    return "sha256:" + hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


STREETS = ("Alder Court", "Beech Road", "Canal Walk", "Dunmore House", "Elm Terrace", "Ffordd Wen")

COMPLAINTS = (
    (
        "Complaint: leak through my bathroom ceiling, flat {n}",
        "I want to make a formal complaint. Water has been coming through my bathroom ceiling at "
        "flat {n}, {street}, since September. I have reported it three times and your contractor "
        "did not turn up on 14 October. Nobody rang me. The mould is spreading and my son has "
        "asthma. I am very unhappy with how this has been handled and I want the leak fixed and "
        "compensation for my ruined towels.",
    ),
    (
        "Still no heating at {street} - not good enough",
        "My heating has not worked for three weeks. I reported it to the repairs line twice and "
        "was promised an engineer who never came. I have a newborn baby and the flat is freezing. "
        "This is not good enough and I am complaining about the way my repair was ignored. I want "
        "the boiler fixed this week and the cost of the electric heaters refunded.",
    ),
    (
        "Unhappy with how staff spoke to me",
        "I am writing to complain about the housing officer who visited {n} {street} on Tuesday. "
        "He was rude, would not listen and told me my neighbour's noise was 'not his problem'. I "
        "have kept a diary for six months. I am disappointed and want an apology and a proper "
        "plan to deal with the noise.",
    ),
    (
        "Formal complaint - damp and mould, £ spent on dehumidifiers",
        "Dear Thrive Homes, I wish to complain. Black mould has been growing in my bedroom at "
        "flat {n}, {street}, for a year. Your surveyor said it was condensation and closed the "
        "job. I have spent £240 on dehumidifiers. The wall is still wet. I expect the cause to be "
        "found and fixed and my costs repaid. Naïvely I thought this would be sorted in spring.",
    ),
    (
        "Complaint about repeated missed appointments",
        "This is the fourth appointment your repairs team has missed for my broken front door "
        "lock at {n} {street}. Each time I took unpaid leave. I am fed up and want this treated "
        "as a complaint. I want the lock replaced and my lost wages considered.",
    ),
)

SERVICE_REQUESTS = (
    (
        "Dripping kitchen tap, flat {n}",
        "Hello, please could you book a repair for my kitchen tap at flat {n}, {street}? It has "
        "started dripping. Any weekday morning suits me. Thank you.",
    ),
    (
        "Request: replace broken light in the stairwell at {street}",
        "Hi, the light on the second floor stairwell at {street} has stopped working. Could "
        "someone come and replace the bulb please? Many thanks.",
    ),
    (
        "Can I get a new fob for the bin store?",
        "Good afternoon, I have lost my fob for the bin store at {street}. Could you send me a "
        "new one to flat {n}? I am happy to pay if there is a charge.",
    ),
    (
        "Please clear the blocked gutter",
        "Hello, the gutter above my front door at {n} {street} is blocked with leaves and "
        "overflows when it rains. Please can you arrange for it to be cleared? Thanks.",
    ),
)


def _resident_mail(n: int, kind: str, rng: random.Random) -> Delivery:
    subject, body = rng.choice(COMPLAINTS if kind == "complaint" else SERVICE_REQUESTS)
    street = rng.choice(STREETS)
    sender = f"fault.resident{n}@example.org"
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject.format(n=n, street=street)
    msg["Date"] = format_datetime(datetime.now(UTC))
    # A few arrive without a Message-ID: they are told apart by their bytes.
    message_id = "" if n % 97 == 5 else make_msgid(idstring=f"fault{n}", domain="example.org")
    if message_id:
        msg["Message-ID"] = message_id
    text = f"{body.format(n=n, street=street)}\n\nResident {n}\n"
    msg.set_content(text)
    if n % 4 == 1:
        msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    raw = bytes(msg)
    return Delivery(kind, sender, raw, message_key(message_id, raw))


def _auto_reply(n: int) -> Delivery:
    sender = f"away{n}@example.net"
    msg = EmailMessage()
    msg["From"] = f"Officer {n} <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = "Automatic reply: Residents' newsletter"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id = make_msgid(idstring=f"away{n}", domain="example.net")
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("I am out of the office until Monday with no access to email.\n")
    raw = bytes(msg)
    return Delivery("auto_reply", sender, raw, message_key(message_id, raw))


def _bounce(n: int) -> Delivery:
    sender = f"mailer-daemon@mx{n}.example.net"
    message_id = f"<bounce{n}.{os.getpid()}@mx{n}.example.net>"
    boundary = f"bounce-{n}"
    raw = (
        "Return-Path: <>\n"
        f"From: MAILER-DAEMON@mx{n}.example.net (Mail Delivery System)\n"
        "To: complaints@thrivehomes.org.uk\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {format_datetime(datetime.now(UTC))}\n"
        f"Message-ID: {message_id}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n'
        "\n"
        f"--{boundary}\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        f"Your message to gone{n}@example.com could not be delivered: user unknown.\n"
        f"--{boundary}\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        f"Reporting-MTA: dns; mx{n}.example.net\n"
        "\n"
        f"Final-Recipient: rfc822; gone{n}@example.com\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        f"--{boundary}--\n"
    ).encode()
    return Delivery("bounce", sender, raw, message_key(message_id, raw))


def _bulk(n: int) -> Delivery:
    sender = f"news{n}@lists.example.net"
    msg = EmailMessage()
    msg["From"] = f"Housing News <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = f"This week in housing, issue {n}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id = make_msgid(idstring=f"news{n}", domain="lists.example.net")
    msg["List-Id"] = "Housing News <news.lists.example.net>"
    msg["List-Unsubscribe"] = f"<mailto:unsubscribe{n}@lists.example.net>"
    msg["Precedence"] = "bulk"
    msg.set_content("Ten ways to save on your energy bills this winter. Read more on our site.\n")
    raw = bytes(msg)
    return Delivery("bulk", sender, raw, message_key(message_id, raw))


def mailbox_contents(total: int, seed: int = 20261130) -> list[Delivery]:
    """About 57% complaints, 28% service requests, 7.5% automatic mail (no letter), 2% repeats
    of an earlier resident's message (same Message-ID and bytes), a few without a Message-ID.
    Every resident writes from their own address, so the per-sender daily cap never applies."""
    rng = random.Random(seed)
    deliveries: list[Delivery] = []
    residents: list[Delivery] = []
    for n in range(total):
        if n % 50 == 49 and residents:
            deliveries.append(replace(rng.choice(residents), kind="duplicate"))
            continue
        slot = n % 40
        if slot == 3:
            delivery = _auto_reply(n)
        elif slot == 13:
            delivery = _bounce(n)
        elif slot == 23:
            delivery = _bulk(n)
        else:
            delivery = _resident_mail(n, "service_request" if n % 3 == 0 else "complaint", rng)
            residents.append(delivery)
        deliveries.append(delivery)
    return deliveries


def append_all(imap: ImapServer, deliveries: list[Delivery]) -> None:
    """APPEND every message on one connection (a login per message would take minutes)."""
    client = imap.connect()
    try:
        for delivery in deliveries:
            typ, data = client.append("INBOX", None, None, delivery.raw)
            assert typ == "OK", (typ, data)
    finally:
        client.logout()


def folder_size(imap: ImapServer, folder: str) -> int:
    """How many messages `folder` holds (0 when it does not exist)."""
    client = imap.connect()
    try:
        typ, data = client.status(f'"{folder}"', "(MESSAGES)")
        if typ != "OK" or not data or not isinstance(data[0], bytes):
            return 0
        return int(data[0].rsplit(b"MESSAGES ", 1)[1].split(b")")[0])
    finally:
        client.logout()


# --- watching the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What the run has done so far, read from PostgreSQL, the SMTP sink and (sometimes) IMAP."""

    inbound: dict[str, int]  # inbound_messages by status
    letters: dict[str, int]  # letters by status
    received: int  # mails the SMTP sink has accepted
    inbox: int | None = None  # messages left in INBOX, when it was read

    @property
    def stored(self) -> int:
        return sum(self.inbound.values())

    @property
    def advanced(self) -> int:
        """Stored and at least parsed (or recorded as a duplicate at once)."""
        return self.stored - self.inbound.get("stored", 0)

    @property
    def settled(self) -> int:
        return sum(n for status, n in self.inbound.items() if status in TERMINAL)

    @property
    def letters_in_flight(self) -> int:
        return sum(n for status, n in self.letters.items() if status in LETTERS_IN_FLIGHT)

    def key(self) -> tuple[object, ...]:
        return (
            sorted(self.inbound.items()),
            sorted(self.letters.items()),
            self.received,
            self.inbox,
        )

    def counts(self) -> tuple[int, ...]:
        return (self.stored, self.advanced, self.settled, sum(self.letters.values()), self.received)

    def moved_past(self, earlier: Progress) -> bool:
        """Something went further since `earlier` (counts only grow)."""
        return any(now > then for now, then in zip(self.counts(), earlier.counts(), strict=True))

    def describe(self) -> str:
        inbox = "" if self.inbox is None else f", INBOX {self.inbox}"
        return (
            f"inbound {self.stored} {dict(sorted(self.inbound.items()))}, "
            f"letters {dict(sorted(self.letters.items()))}, received {self.received}{inbox}"
        )


@dataclass(frozen=True)
class KillPoint:
    doing: str  # what the worker is in the middle of when it is killed
    measure: Callable[[Progress], int]
    share: float  # kill once the measure reaches this share of the messages (or letters)
    of_letters: bool = False

    def target(self, messages: int, letters: int) -> int:
        return max(1, math.ceil(self.share * (letters if self.of_letters else messages)))


def _stored(p: Progress) -> int:
    return p.stored


def _advanced(p: Progress) -> int:
    return p.advanced


def _settled(p: Progress) -> int:
    return p.settled


def _received(p: Progress) -> int:
    return p.received


# Spread over the run at k/11 of the way (k = 3..10), after two kills during intake: at the first
# stored message, and halfway through the mailbox, so that a poller storing a large batch per
# transaction is caught moving it or storing the next.
KILL_PLAN = (
    KillPoint("the poller is storing", _stored, 0.0),
    KillPoint("the poller is storing", _stored, 0.5),
    KillPoint("messages are parsed and triaged", _advanced, 3 / 11),
    KillPoint("letters are being sent", _received, 4 / 11, of_letters=True),
    KillPoint("messages are routed", _settled, 5 / 11),
    KillPoint("letters are being sent", _received, 6 / 11, of_letters=True),
    KillPoint("messages are parsed and triaged", _advanced, 7 / 11),
    KillPoint("messages are routed", _settled, 8 / 11),
    KillPoint("letters are being sent", _received, 9 / 11, of_letters=True),
    KillPoint("messages are routed", _settled, 10 / 11),
)
assert len(KILL_PLAN) == KILLS


class FaultRun:
    def __init__(
        self, engine: Engine, smtp: SmtpServer, imap: ImapServer, worker: WorkerProcess
    ) -> None:
        self.engine = engine
        self.smtp = smtp
        self.imap = imap
        self.worker = worker

    def progress(self, read_inbox: bool = False) -> Progress:
        with self.engine.connect() as conn:
            inbound = conn.execute(
                select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
            ).all()
            letters = conn.execute(
                select(Letter.status, func.count()).group_by(Letter.status)
            ).all()
        return Progress(
            inbound={status: n for status, n in inbound},
            letters={status: n for status, n in letters},
            received=len(self.smtp.messages),
            inbox=folder_size(self.imap, "INBOX") if read_inbox else None,
        )

    def wait_for(
        self,
        reached: Callable[[Progress], bool],
        what: str,
        *,
        read_inbox: bool = False,
        every: float = 0.05,
    ) -> Progress:
        """Poll until `reached`; fail when nothing at all has changed for STALL_TIMEOUT seconds,
        or when the worker exits by itself."""
        last_key: tuple[object, ...] = ()
        last_change = time.monotonic()
        while True:
            if self.worker.exit_code is not None:
                raise AssertionError(
                    f"the worker exited by itself (status {self.worker.exit_code}) while waiting "
                    f"for {what}:\n{self.worker.log_tail()}"
                )
            now = self.progress(read_inbox=read_inbox)
            if reached(now):
                return now
            if now.key() != last_key:
                last_key, last_change = now.key(), time.monotonic()
            elif time.monotonic() - last_change > STALL_TIMEOUT:
                raise AssertionError(
                    f"no progress for {STALL_TIMEOUT:.0f}s waiting for {what}: {now.describe()}"
                )
            time.sleep(every)


@pytest.fixture
def fault_run(
    imap_mailbox: ImapServer, smtp_server: SmtpServer, pg_url: str, redis_url: str, tmp_path: Path
) -> Iterator[FaultRun]:
    env = service_env(
        pg_url=pg_url,
        redis_url=redis_url,
        imap_url=imap_mailbox.url,
        smtp_url=smtp_server.url,
        outbox_dir=tmp_path / "outbox",
        # Every resident writes from their own address; the cap is raised all the same so that
        # no letter of this test can be held back by it.
        COMPLAINTS_SENDER_DAILY_CAP=str(10 * MESSAGES),
    )
    upgrade_database(env)
    worker = WorkerProcess(env, tmp_path / "worker.log", threads=THREADS, procs=WORKER_PROCESSES)
    engine = create_engine(pg_url)
    try:
        yield FaultRun(engine, smtp_server, imap_mailbox, worker)
    finally:
        worker.stop()
        engine.dispose()
        print(f"--- worker log (last 4000 characters) ---\n{worker.log_tail()}")


# --- the test ------------------------------------------------------------------------------------


def test_ten_kills_during_a_long_run_lose_no_message_and_send_no_letter_twice(
    fault_run: FaultRun,
) -> None:
    # Given: a mailbox of varied mail, all delivered before the worker first starts.
    started = time.monotonic()
    deliveries = mailbox_contents(MESSAGES)
    residents = [d for d in deliveries if d.kind in ("complaint", "service_request")]
    expected_letters = len(residents)
    append_all(fault_run.imap, deliveries)
    appended = time.monotonic()

    # When: the worker is killed ten times at points spread over the run, and restarted at once.
    worker = fault_run.worker
    worker.start()
    kills: list[tuple[KillPoint, Progress, float]] = []
    for k, point in enumerate(KILL_PLAN, start=1):
        since = fault_run.progress()
        target = point.target(MESSAGES, expected_letters)

        def kill_now(
            p: Progress, point: KillPoint = point, target: int = target, since: Progress = since
        ) -> bool:
            # Only once the restarted worker has done something, so every kill interrupts work.
            return point.measure(p) >= target and p.moved_past(since)

        at = fault_run.wait_for(kill_now, f"kill {k} ({point.doing}, measure >= {target})")
        worker.kill()
        # Nothing moves in the mailbox now: what is left in INBOX was not yet taken in.
        at = replace(at, inbox=folder_size(fault_run.imap, "INBOX"))
        kills.append((point, at, time.monotonic() - appended))
        worker.start()

    # Then the last worker finishes: every message settled, no letter left to send, INBOX empty.
    def finished(p: Progress) -> bool:
        return (
            p.stored == MESSAGES
            and p.settled == MESSAGES
            and p.letters_in_flight == 0
            and p.inbox == 0
        )

    final = fault_run.wait_for(finished, "the run to finish", read_inbox=True, every=0.5)
    worker.stop()
    finished_at = time.monotonic()

    print(
        f"\n{MESSAGES} messages ({expected_letters} letters expected), {KILLS} kills, appended in "
        f"{appended - started:.0f}s, processed in {finished_at - appended:.0f}s"
    )
    for k, (point, at, when) in enumerate(kills, start=1):
        print(f"  kill {k:2} at {when:4.0f}s while {point.doing:32} {at.describe()}")
    print(f"  finished: {final.describe()}")

    problems = account_for_every_message(fault_run, deliveries)
    problems += check_letters(fault_run, deliveries)
    # The kills did land where they were meant to.
    if not any(at.stored < MESSAGES or at.inbox for _, at, _ in kills):
        problems.append(
            "no kill landed while the poller was storing (it took in the whole mailbox between "
            "two looks at the database: run with more COMPLAINTS_FAULT_MESSAGES)"
        )
    if not any(0 < at.received < expected_letters and at.letters_in_flight for _, at, _ in kills):
        problems.append("no kill landed while letters were being sent")
    assert not problems, "\n".join(problems)


def account_for_every_message(run: FaultRun, deliveries: list[Delivery]) -> list[str]:
    problems: list[str] = []
    appended = Counter(d.key for d in deliveries)
    by_key = {d.key: d for d in deliveries if d.kind != "duplicate"}
    with Session(run.engine) as session:
        rows = session.scalars(
            select(InboundMessage).options(undefer(InboundMessage.raw)).order_by(InboundMessage.id)
        ).all()
        quarantine = session.scalars(
            select(Quarantine).where(Quarantine.inbound_id.is_not(None))
        ).all()
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
        service_requests = session.scalar(select(func.count()).select_from(ServiceRequest)) or 0

    # Every APPENDed message is stored exactly once.
    if len(rows) != len(deliveries):
        problems.append(f"{len(rows)} inbound rows for {len(deliveries)} messages appended")
    uids = Counter((r.mailbox, r.uidvalidity, r.uid) for r in rows)
    problems += [f"UID {uid} stored {n} times" for uid, n in uids.items() if n > 1]
    stored: dict[str, list[InboundMessage]] = defaultdict(list)
    for row in rows:
        stored[message_key(row.message_id, row.raw)].append(row)
    for key in appended.keys() - stored.keys():
        problems.append(f"{by_key[key].kind} {key} was appended but never stored")
    for key in stored.keys() - appended.keys():
        problems.append(f"inbound rows {[r.id for r in stored[key]]} match no appended message")
    for key, copies in stored.items():
        if key in appended and len(copies) != appended[key]:
            problems.append(f"{key}: appended {appended[key]} times, stored {len(copies)} times")
        originals = [r for r in copies if r.status != "duplicate"]
        if len(originals) != 1:
            problems.append(
                f"{key}: {len(originals)} copies handled as new "
                f"({[(r.id, r.status, r.outcome) for r in copies]}), expected exactly one"
            )
        elif any(r.duplicate_of != originals[0].id for r in copies if r.status == "duplicate"):
            problems.append(f"{key}: a duplicate does not point at inbound {originals[0].id}")

    # Every message ends in a terminal outcome.
    unsettled = [
        (r.id, r.status, r.attempts, r.error[:200]) for r in rows if r.status not in TERMINAL
    ]
    if unsettled:
        problems.append(f"{len(unsettled)} messages not in a terminal status: {unsettled[:20]}")

    # Quarantined only as poison left by crashes.
    for item in quarantine:
        print(f"  quarantined inbound {item.inbound_id}: {item.kind}: {item.reason}")
        if item.kind != "poison" or POISON_BY_CRASHES not in item.reason:
            problems.append(f"inbound {item.inbound_id} quarantined: {item.kind}: {item.reason}")
    quarantined_rows = {r.id for r in rows if r.status == "quarantined"}
    if quarantined_rows != {q.inbound_id for q in quarantine}:
        problems.append(
            f"quarantined rows {sorted(quarantined_rows)} differ from the quarantine store "
            f"{sorted(q.inbound_id for q in quarantine if q.inbound_id is not None)}"
        )

    # Automatic mail is recorded, never answered.
    for key, delivery in by_key.items():
        if delivery.automatic:
            for row in stored.get(key, []):
                if row.status != "duplicate" and (
                    row.label != "not_resident_mail" or row.outcome != "recorded"
                ):
                    problems.append(
                        f"{delivery.kind} {key}: label {row.label!r}, outcome {row.outcome!r}"
                    )

    # Cases + service requests + recorded / quarantined / duplicate messages = all messages.
    outcomes = Counter(r.outcome for r in rows)
    recorded = outcomes["recorded"] + outcomes["quarantined"] + outcomes["duplicate"]
    print(f"  {cases} cases, {service_requests} service requests, outcomes {dict(outcomes)}")
    if cases + service_requests + recorded != len(deliveries):
        problems.append(
            f"{cases} cases + {service_requests} service requests + {recorded} recorded, "
            f"quarantined or duplicate = {cases + service_requests + recorded}, "
            f"not the {len(deliveries)} messages appended (outcomes {dict(outcomes)})"
        )

    # The mailbox is left as an operator expects: INBOX empty, every message in Processed.
    inbox, processed = folder_size(run.imap, "INBOX"), folder_size(run.imap, "Processed")
    if inbox or processed != len(deliveries):
        problems.append(
            f"INBOX holds {inbox}, Processed {processed}; expected 0 and {len(deliveries)}"
        )
    return problems


def _bare(message_id: str | None) -> str:
    return (message_id or "").strip().strip("<>").strip().lower()


# Letters to the landlord's own teams, not to the resident who wrote: a hazard in a resident's
# words notifies the repairs or damp-and-mould team (SPEC section 11), once per hazard.
NOTICE_KINDS = frozenset({"hazard_notification", "hazard_summary"})


def check_letters(run: FaultRun, deliveries: list[Delivery], faults: int = KILLS) -> list[str]:
    """One letter per resident's message, to that resident, none to automatic mail; one notice
    per hazard; every letter row arrived once, or is uncertain and in the quarantine for staff,
    at most one SMTP group of each send job in doubt per fault."""
    problems: list[str] = []
    residents = {d.sender for d in deliveries if d.kind in ("complaint", "service_request")}
    automatic = {d.sender for d in deliveries if d.automatic}
    with Session(run.engine) as session:
        letters = session.scalars(select(Letter).order_by(Letter.id)).all()
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
        service_requests = session.scalar(select(func.count()).select_from(ServiceRequest)) or 0
        hazards = session.scalars(select(Hazard.notified_letter_id)).all()
        uncertain_quarantined = set(
            session.scalars(
                select(Quarantine.letter_id).where(Quarantine.kind == "uncertain_delivery")
            ).all()
        )
    received = run.smtp.messages

    # No letter Message-ID arrived twice, and no resident got the same kind for the same case
    # twice (notices to a team share a recipient and have no case reference).
    same_letter = Counter(
        (
            m.rcpt_tos,
            str(m.message["X-Complaints-Letter-Kind"]),
            str(m.message["X-Complaints-Case-Ref"]),
        )
        for m in received
        if str(m.message["X-Complaints-Letter-Kind"]) not in NOTICE_KINDS
    )
    problems += [f"received {n} times: {what}" for what, n in same_letter.items() if n > 1]
    arrivals = Counter(_bare(m.message["Message-ID"]) for m in received)
    problems += [f"Message-ID {mid} received {n} times" for mid, n in arrivals.items() if n > 1]

    # One letter per resident's message, to that resident; none to automatic mail.
    to_residents = [x for x in letters if x.kind not in NOTICE_KINDS]
    notices = [x for x in letters if x.kind in NOTICE_KINDS]
    per_recipient = Counter(x.recipient.lower() for x in to_residents)
    problems += [f"{n} letters to {who}" for who, n in per_recipient.items() if n > 1]
    if missing := residents - per_recipient.keys():
        problems.append(f"{len(missing)} residents have no letter: {sorted(missing)[:20]}")
    if answered := automatic & {r for m in received for r in m.rcpt_tos}:
        problems.append(f"automatic mail was answered: {sorted(answered)}")
    if extra := per_recipient.keys() - residents:
        problems.append(f"letters to addresses nobody wrote from: {sorted(extra)[:20]}")
    if len(to_residents) != cases + service_requests:
        problems.append(
            f"{len(to_residents)} letters for {cases} cases and {service_requests} service requests"
        )
    notified = [h for h in hazards if h is not None]
    if len(notified) != len(hazards) or sorted(notified) != sorted(x.id for x in notices):
        problems.append(
            f"{len(hazards)} hazards, {len(notified)} with a notice, {len(notices)} notices"
        )

    # Every letter was received exactly once, or is 'uncertain' and shown to a person.
    known = {_bare(x.message_id) for x in letters}
    strangers = [mid for mid in arrivals if mid not in known]
    if strangers:
        problems.append(f"{len(strangers)} mails received that no letter row records: {strangers}")
    uncertain = [x for x in letters if x.status == "uncertain"]
    for letter in letters:
        times = arrivals.get(_bare(letter.message_id), 0)
        if letter.status == "sent" and times != 1:
            problems.append(f"letter {letter.id} ({letter.kind}) is sent but arrived {times} times")
        elif letter.status not in LETTERS_SETTLED:
            problems.append(f"letter {letter.id} ({letter.kind}) ended {letter.status!r}")
    delivered = sum(1 for x in uncertain if arrivals.get(_bare(x.message_id), 0))
    allowed = faults * IN_DOUBT_PER_KILL
    print(
        f"  {len(to_residents)} letters to residents, {len(notices)} notices to staff teams, "
        f"{len(received)} received, {len(uncertain)} uncertain (allowed: {allowed}), "
        f"{delivered} of them delivered in fact"
    )
    for letter in uncertain:
        times = arrivals.get(_bare(letter.message_id), 0)
        print(f"    letter {letter.id} {letter.kind} to {letter.recipient}: arrived {times} times")
        if letter.id not in uncertain_quarantined:
            problems.append(f"uncertain letter {letter.id} is not in the quarantine for staff")
    if len(uncertain) > allowed:
        problems.append(
            f"{len(uncertain)} uncertain letters ({delivered} of them delivered in fact) for a "
            f"person to check: more than {faults} faults x {IN_DOUBT_PER_KILL} (a group of "
            f"{DEFAULT_POOL_SIZE} for each of {THREADS} send jobs in {WORKER_PROCESSES} processes)"
        )
    return problems
