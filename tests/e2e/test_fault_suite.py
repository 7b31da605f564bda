"""The fault suite that stays in CI (issue 7, part 6): `complaints worker` on the real services
through the faults an operator meets, each on a mailbox of a few hundred varied messages:

- two workers on one mailbox;
- the SMTP server down for two minutes, then back;
- a Redis restart mid-run (a private Redis without persistence: every queue, lease and
  heartbeat is lost);
- a PostgreSQL restart mid-run (a private PostgreSQL, restarted as an operator does);
- the INBOX's UIDVALIDITY changed mid-run (`doveadm mailbox update --uid-validity`);
- a poison message (not mail at all) first in the INBOX.

After each: every message is accounted for once (a case, a service request, recorded mail that
is not a resident's, a quarantined item with its reason, or a duplicate pointing at the one
handled), no letter arrived twice at the SMTP sink (each letter row's Message-ID once; one
letter per resident; one notice to the repairs or damp-and-mould team per hazard found), and
letters whose delivery is uncertain are counted and shown to staff by `complaints status` and
the quarantine. The ten kills of a worker are in test_fault_batched.py, whose mailbox, progress
and accounting helpers this file reuses.

The faults are placed by progress read from the database and the SMTP sink, never by the clock
(the SMTP outage lasts two minutes because that is the scenario). MESSAGES per scenario is 240
(COMPLAINTS_FAULT_SUITE_MESSAGES changes it). Restarting a server is done only to private ones
(tests/support/private_services.py): other test runs share the machine's PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, undefer

from tests.e2e.test_fault_batched import (
    TERMINAL,
    Delivery,
    FaultRun,
    Progress,
    account_for_every_message,
    append_all,
    check_letters,
    folder_size,
    mailbox_contents,
    message_key,
)
from tests.support.dovecot import ImapServer
from tests.support.private_services import (  # noqa: F401 - fixtures
    PrivatePostgres,
    PrivateRedis,
    private_postgres,
    private_redis,
)
from tests.support.smtp import SmtpServer
from tests.support.worker_process import (
    COMPLAINTS,
    REPO,
    WorkerProcess,
    service_env,
    upgrade_database,
)
from worker.adapters.db_models import (
    Case,
    InboundMessage,
    Letter,
    Quarantine,
    ServiceRequest,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MESSAGES = int(os.environ.get("COMPLAINTS_FAULT_SUITE_MESSAGES", "240"))
THREADS = 2
SMTP_OUTAGE = 120.0  # seconds the SMTP server stays down (the "two minutes")
DOVEADM = "/usr/bin/doveadm"


# --- running one scenario ------------------------------------------------------------------------


class Workers:
    """Several `complaints worker` processes on the same services, watched as one by FaultRun."""

    def __init__(self, env: dict[str, str], tmp: Path, count: int, procs: int | None) -> None:
        self.all = [
            WorkerProcess(env, tmp / f"worker{n}.log", threads=THREADS, procs=procs)
            for n in range(1, count + 1)
        ]

    @property
    def exit_code(self) -> int | None:
        """The status of the first worker that stopped by itself while it should be running."""
        for worker in self.all:
            if worker.proc is not None and worker.exit_code is not None:
                return worker.exit_code
        return None

    def start(self) -> None:
        for worker in self.all:
            worker.start()

    def stop(self) -> None:
        for worker in self.all:
            worker.stop()

    def log_tail(self, chars: int = 4000) -> str:
        share = max(1000, chars // len(self.all))
        return "\n".join(f"--- {w.log.name} ---\n{w.log_tail(share)}" for w in self.all)


@dataclass
class Rig:
    env: dict[str, str]
    engine: Engine
    smtp: SmtpServer
    imap: ImapServer
    workers: Workers
    run: FaultRun


@contextmanager
def rig(
    tmp_path: Path,
    *,
    pg_url: str,
    redis_url: str,
    imap: ImapServer,
    smtp: SmtpServer,
    workers: int = 1,
    procs: int | None = None,
) -> Iterator[Rig]:
    env = service_env(
        pg_url=pg_url,
        redis_url=redis_url,
        imap_url=imap.url,
        smtp_url=smtp.url,
        outbox_dir=tmp_path / "outbox",
        # Every resident writes from their own address; raised so no letter is held back by it.
        COMPLAINTS_SENDER_DAILY_CAP=str(10 * MESSAGES),
    )
    upgrade_database(env)
    team = Workers(env, tmp_path, workers, procs)
    # pre_ping: the PostgreSQL scenario restarts the server under this engine's pooled sessions.
    engine = create_engine(pg_url, pool_pre_ping=True)
    try:
        yield Rig(env, engine, smtp, imap, team, FaultRun(engine, smtp, imap, team))  # type: ignore[arg-type]
    finally:
        team.stop()
        engine.dispose()
        print(f"--- worker logs (last characters) ---\n{team.log_tail()}")


def finished(total: int, *, redelivered: bool = False) -> Callable[[Progress], bool]:
    """Everything taken in and settled, no letter left to send, INBOX empty. With `redelivered`
    (a UIDVALIDITY change) a message may be stored again under its new UID, as a duplicate."""

    def done(p: Progress) -> bool:
        stored = p.stored >= total if redelivered else p.stored == total
        return stored and p.settled == p.stored and p.letters_in_flight == 0 and p.inbox == 0

    return done


def finish(r: Rig, total: int, *, redelivered: bool = False) -> Progress:
    final = r.run.wait_for(
        finished(total, redelivered=redelivered), "the run to finish", read_inbox=True, every=0.5
    )
    r.workers.stop()
    print(f"  finished: {final.describe()}")
    return final


def residents_of(deliveries: list[Delivery]) -> int:
    return sum(1 for d in deliveries if d.kind in ("complaint", "service_request"))


# --- what staff see ------------------------------------------------------------------------------


def uncertain_letters_shown_to_staff(r: Rig) -> list[str]:
    """Letters whose delivery is unknown are counted by `complaints status` (text and JSON) and
    each is in the quarantine that staff work through."""
    problems: list[str] = []
    with Session(r.engine) as session:
        uncertain = set(session.scalars(select(Letter.id).where(Letter.status == "uncertain")))
        flagged = set(
            session.scalars(
                select(Quarantine.letter_id).where(
                    Quarantine.kind == "uncertain_delivery", Quarantine.resolved_at.is_(None)
                )
            )
        )
    if missing := uncertain - flagged:
        problems.append(f"uncertain letters {sorted(missing)} are not in the staff quarantine")
    as_json = subprocess.run(
        [*COMPLAINTS, "status", "--json"], env=r.env, cwd=REPO, capture_output=True, text=True
    )
    if as_json.returncode != 0:
        return [*problems, f"`complaints status --json` failed: {as_json.stderr.strip()}"]
    data = json.loads(as_json.stdout)
    if data["outbox"]["uncertain"] != len(uncertain):
        problems.append(
            f"`complaints status` counts {data['outbox']['uncertain']} uncertain letters, the "
            f"database holds {len(uncertain)}"
        )
    if data["dead_letters"].get("uncertain_delivery", 0) != len(flagged):
        problems.append(
            f"`complaints status` shows {data['dead_letters'].get('uncertain_delivery', 0)} "
            f"uncertain deliveries to check, the quarantine holds {len(flagged)}"
        )
    text = subprocess.run(
        [*COMPLAINTS, "status"], env=r.env, cwd=REPO, capture_output=True, text=True
    ).stdout
    shown = re.search(r"^\s*uncertain\s+(\d+)\s*$", text, re.MULTILINE)
    if shown is None or int(shown.group(1)) != len(uncertain):
        problems.append(f"`complaints status` does not show {len(uncertain)} uncertain:\n{text}")
    print(f"  uncertain letters: {len(uncertain)}, shown to staff: {len(flagged)}")
    return problems


def verify(
    r: Rig, deliveries: list[Delivery], problems: list[str] | None = None, faults: int = 1
) -> None:
    problems = list(problems or [])
    problems += check_letters(r, deliveries, faults)  # type: ignore[arg-type]
    problems += uncertain_letters_shown_to_staff(r)
    assert not problems, "\n".join(problems)


# --- the scenarios -------------------------------------------------------------------------------


def test_two_workers_on_one_mailbox_take_each_message_once(
    imap_mailbox: ImapServer, smtp_server: SmtpServer, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    deliveries = mailbox_contents(MESSAGES, seed=7001)
    half = len(deliveries) // 2
    with rig(
        tmp_path,
        pg_url=pg_url,
        redis_url=redis_url,
        imap=imap_mailbox,
        smtp=smtp_server,
        workers=2,
        procs=1,
    ) as r:
        # Given two workers polling the same INBOX, with mail arriving while both run.
        append_all(imap_mailbox, deliveries[:half])
        r.workers.start()
        r.run.wait_for(lambda p: p.stored >= 1, "the first message stored")
        append_all(imap_mailbox, deliveries[half:])
        # When they finish, then every message was handled once and no letter sent twice.
        # (FaultRun.wait_for fails at once if either worker exits by itself.)
        finish(r, len(deliveries))
        with Session(r.engine) as session:
            senders = Counter(session.scalars(select(Letter.claimed_by)))
        print(f"  letters sent by worker instance: {dict(senders)}")
        verify(r, deliveries, account_for_every_message(r.run, deliveries))


def test_smtp_down_for_two_minutes_delays_letters_and_loses_none(
    imap_mailbox: ImapServer, smtp_server: SmtpServer, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    deliveries = mailbox_contents(MESSAGES, seed=7002)
    letters = residents_of(deliveries)
    with rig(
        tmp_path, pg_url=pg_url, redis_url=redis_url, imap=imap_mailbox, smtp=smtp_server
    ) as r:
        append_all(imap_mailbox, deliveries)
        r.workers.start()
        # Given letters going out, when the SMTP server goes away mid-run ...
        r.run.wait_for(lambda p: p.received >= max(1, letters // 5), "the first letters sent")
        smtp_server.stop()
        down_since = time.monotonic()
        # ... the rest of the pipeline carries on: every message is settled without SMTP.
        during = r.run.wait_for(
            lambda p: p.stored == len(deliveries) and p.settled == p.stored,
            "every message settled while SMTP is down",
        )
        time.sleep(max(0.0, SMTP_OUTAGE - (time.monotonic() - down_since)))
        at_return = r.run.progress()
        print(f"  SMTP down: {during.describe()}\n  SMTP back: {at_return.describe()}")
        # No letter is given up on because of an outage, and some were waiting for it.
        assert at_return.letters.get("failed", 0) == 0, at_return.describe()
        assert at_return.letters_in_flight > 0, "every letter went out before SMTP stopped"
        smtp_server.start()
        finish(r, len(deliveries))
        verify(r, deliveries, account_for_every_message(r.run, deliveries))


def test_redis_restart_mid_run_loses_no_message_and_doubles_no_letter(
    imap_mailbox: ImapServer,
    smtp_server: SmtpServer,
    pg_url: str,
    private_redis: PrivateRedis,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    deliveries = mailbox_contents(MESSAGES, seed=7003)
    with rig(
        tmp_path, pg_url=pg_url, redis_url=private_redis.url, imap=imap_mailbox, smtp=smtp_server
    ) as r:
        append_all(imap_mailbox, deliveries)
        r.workers.start()
        # When Redis restarts empty while messages are queued between stages ...
        at = r.run.wait_for(
            lambda p: p.stored >= len(deliveries) // 3 and p.settled < p.stored,
            "messages queued between stages",
        )
        private_redis.restart()
        print(f"  Redis restarted at: {at.describe()}")
        # ... the workers carry on (reconnecting) and the lost jobs are found again.
        finish(r, len(deliveries))
        verify(r, deliveries, account_for_every_message(r.run, deliveries))


def test_postgresql_restart_mid_run_loses_no_message_and_doubles_no_letter(
    imap_mailbox: ImapServer,
    smtp_server: SmtpServer,
    redis_url: str,
    private_postgres: PrivatePostgres,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    deliveries = mailbox_contents(MESSAGES, seed=7004)
    letters = residents_of(deliveries)
    pg_url = private_postgres.create_database()
    with rig(
        tmp_path, pg_url=pg_url, redis_url=redis_url, imap=imap_mailbox, smtp=smtp_server
    ) as r:
        append_all(imap_mailbox, deliveries)
        r.workers.start()
        # PostgreSQL restarts (connections cut, a clean shutdown) twice: while messages are
        # between stages, and while letters are being sent.
        first = r.run.wait_for(
            lambda p: p.stored >= len(deliveries) // 3 and p.settled < p.stored,
            "messages between stages",
        )
        private_postgres.restart()
        second = r.run.wait_for(
            lambda p: p.received >= letters // 2 and p.letters_in_flight > 0,
            "letters being sent",
        )
        private_postgres.restart()
        print(f"  restarted at: {first.describe()}\n  and at: {second.describe()}")
        finish(r, len(deliveries))
        verify(r, deliveries, account_for_every_message(r.run, deliveries), faults=2)


def change_uidvalidity(imap: ImapServer, folder: str = "INBOX") -> tuple[int, int]:
    """Give `folder` a new UIDVALIDITY on the running Dovecot, as a server restore or a rebuilt
    index does; returns (old, new)."""
    if not os.access(DOVEADM, os.X_OK):
        pytest.fail(
            f"{DOVEADM} is missing: run the tests with `bash scripts/test.sh`, which installs it",
            pytrace=False,
        )
    old = imap.uidvalidity(folder)
    new = old + 1000
    done = subprocess.run(
        [
            DOVEADM,
            "-c",
            str(imap.instance.config),
            "mailbox",
            "update",
            "-u",
            imap.user,
            "--uid-validity",
            str(new),
            folder,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"doveadm failed: {done.stderr.strip()}"
    assert imap.uidvalidity(folder) == new
    return old, new


def test_uidvalidity_change_mid_run_handles_every_message_once(
    imap_mailbox: ImapServer, smtp_server: SmtpServer, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    deliveries = mailbox_contents(MESSAGES, seed=7005)
    # Most of the mail is waiting when the worker starts, so that the change lands while the
    # poller is storing and moving it; the rest arrives after the change.
    early = len(deliveries) * 3 // 4
    with rig(
        tmp_path, pg_url=pg_url, redis_url=redis_url, imap=imap_mailbox, smtp=smtp_server
    ) as r:
        append_all(imap_mailbox, deliveries[:early])
        r.workers.start()
        # When the INBOX is renumbered while the worker is connected and taking mail in ...
        at = r.run.wait_for(lambda p: p.stored >= 1, "the first message stored")
        old, new = change_uidvalidity(imap_mailbox)
        left = folder_size(imap_mailbox, "INBOX")
        print(f"  UIDVALIDITY {old} -> {new} at: {at.describe()}, {left} left in INBOX")
        append_all(imap_mailbox, deliveries[early:])
        final = finish(r, len(deliveries), redelivered=True)
        with Session(r.engine) as session:
            by_validity = dict(
                session.execute(
                    select(InboundMessage.uidvalidity, func.count()).group_by(
                        InboundMessage.uidvalidity
                    )
                ).all()
            )
        print(f"  inbound rows by UIDVALIDITY: {by_validity}")
        # The change did land mid-run: mail was taken in under both UIDVALIDITY values.
        assert by_validity.get(old) and by_validity.get(new), by_validity
        verify(r, deliveries, account_allowing_redelivery(r, deliveries, final))


def account_allowing_redelivery(r: Rig, deliveries: list[Delivery], final: Progress) -> list[str]:
    """As account_for_every_message, except that a message the server handed over again under
    a new UIDVALIDITY may be stored again: then only as a duplicate of the one handled."""
    problems: list[str] = []
    appended = Counter(d.key for d in deliveries)
    with Session(r.engine) as session:
        rows = session.scalars(
            select(InboundMessage).options(undefer(InboundMessage.raw)).order_by(InboundMessage.id)
        ).all()
        quarantined = session.scalar(
            select(func.count()).select_from(Quarantine).where(Quarantine.inbound_id.is_not(None))
        )
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
        requests = session.scalar(select(func.count()).select_from(ServiceRequest)) or 0
    stored: dict[str, list[InboundMessage]] = {}
    for row in rows:
        stored.setdefault(message_key(row.message_id, row.raw), []).append(row)
    for key, times in appended.items():
        copies = stored.get(key, [])
        originals = [c for c in copies if c.status != "duplicate"]
        if len(copies) < times:
            problems.append(f"{key}: appended {times} times, stored {len(copies)} times")
        if len(originals) != 1:
            problems.append(
                f"{key}: {len(originals)} copies handled as new "
                f"{[(c.id, c.status, c.outcome) for c in copies]}, expected exactly one"
            )
        elif any(c.duplicate_of != originals[0].id for c in copies if c.status == "duplicate"):
            problems.append(f"{key}: a duplicate does not point at inbound {originals[0].id}")
    if strangers := stored.keys() - appended.keys():
        problems.append(f"stored messages nobody appended: {sorted(strangers)[:10]}")
    if unsettled := [(row.id, row.status) for row in rows if row.status not in TERMINAL]:
        problems.append(f"messages not in a terminal status: {unsettled[:20]}")
    if quarantined:
        problems.append(f"{quarantined} messages quarantined; none should be")
    handled = len(appended)
    outcomes = Counter(row.outcome for row in rows if row.status != "duplicate")
    print(f"  {cases} cases, {requests} service requests, outcomes {dict(outcomes)}")
    if cases + requests + outcomes["recorded"] + outcomes["duplicate"] != handled:
        problems.append(
            f"{cases} cases + {requests} service requests + {outcomes['recorded']} recorded "
            f"!= {handled} distinct messages (outcomes {dict(outcomes)})"
        )
    processed = folder_size(r.imap, "Processed")
    if final.inbox or processed < len(deliveries):
        problems.append(f"INBOX holds {final.inbox}, Processed {processed} of {len(deliveries)}")
    return problems


def test_a_poison_message_first_in_the_inbox_is_quarantined_alone(
    imap_mailbox: ImapServer, smtp_server: SmtpServer, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    # Not mail at all: binary bytes where the headers should be.
    poison_raw = bytes(range(1, 9)) * 40 + b"\n\n" + bytes(range(14, 32)) * 20 + b"\n"
    poison = Delivery("poison", "", poison_raw, message_key("", poison_raw))
    deliveries = [poison, *mailbox_contents(MESSAGES - 1, seed=7006)]
    with rig(
        tmp_path, pg_url=pg_url, redis_url=redis_url, imap=imap_mailbox, smtp=smtp_server
    ) as r:
        append_all(imap_mailbox, deliveries)
        r.workers.start()
        finish(r, len(deliveries))
        with Session(r.engine) as session:
            first = session.scalars(select(InboundMessage).order_by(InboundMessage.uid)).first()
            assert first is not None
            items = session.scalars(
                select(Quarantine).where(Quarantine.inbound_id == first.id)
            ).all()
            # The poison was first in the INBOX, and was quarantined, alone, with its reason
            # and raw bytes kept for staff.
            assert message_key(first.message_id, first.raw) == poison.key, "not the poison"
            assert first.status == "quarantined"
            assert [q.kind for q in items] == ["unparsable"]
            assert items[0].reason and items[0].raw
            expected = f"inbound {first.id} quarantined: unparsable: {items[0].reason}"
        # account_for_every_message accepts quarantine only from crashes; this one is expected.
        problems = [p for p in account_for_every_message(r.run, deliveries) if p != expected]
        status = subprocess.run(
            [*COMPLAINTS, "status", "--json"], env=r.env, cwd=REPO, capture_output=True, text=True
        )
        assert json.loads(status.stdout)["dead_letters"].get("unparsable") == 1, status.stdout
        verify(r, deliveries, problems)
