"""Small helpers over the database models that stages and staff services share: residents,
references, the audit trail, and mapping a case row to and from the pure state machine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, insert, select
from sqlalchemy.orm import Session

from worker.adapters.db import copy_rows
from worker.adapters.db_models import (
    AuditEvent,
    Base,
    Case,
    CaseStage,
    Correspondence,
    Resident,
    ServiceRequest,
)
from worker.domain.cases import CaseState, StageRecord, Status, Transition

CASE_PREFIX = "CMP"
SERVICE_REQUEST_PREFIX = "SR"


def make_ref(prefix: str, year: int, row_id: int) -> str:
    """References look like CMP-2026-00042; the number is the row id, so it is unique without a
    counter table that concurrent workers would fight over."""
    return f"{prefix}-{year:04d}-{row_id:05d}"


def audit(
    session: Session,
    actor: str,
    action: str,
    why: str = "",
    *,
    case_id: int | None = None,
    inbound_id: int | None = None,
    letter_id: int | None = None,
    **details: Any,
) -> None:
    row = _audit_row(actor, action, AuditEntry(why, case_id, inbound_id, letter_id, details))
    if not _hold(session, AuditEvent.__tablename__, row):
        session.add(AuditEvent(**row))


def _audit_row(actor: str, action: str, entry: AuditEntry) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": action,
        "why": entry.why,
        "case_id": entry.case_id,
        "inbound_id": entry.inbound_id,
        "letter_id": entry.letter_id,
        "details": {k: _jsonable(v) for k, v in entry.details.items()},
    }


# session.info key: the rows ``held_rows`` keeps aside, by table.
_HELD = "complaints.held_rows"


@contextmanager
def held_rows(session: Session) -> Iterator[None]:
    """``audit`` and ``correspondence`` rows made in the block are kept aside and written at its
    end, many to a statement (``insert_many``), after everything else pending in the session,
    instead of being added to the session one object each: for a batch, the unit of work's
    bookkeeping for those objects cost more than writing them (five or six audit entries and two
    correspondence rows a message, in the route stage).

    For a block that is rolled back whole should anything in it fail (nothing is written when
    it raises), and that does not read audit or correspondence rows back, which a query in the
    block would not see. Rows made inside a savepoint go to the session as usual, so that they
    go if it is rolled back."""
    held: dict[str, list[dict[str, Any]]] = {}
    session.info[_HELD] = held
    try:
        yield
        session.flush()
        for table, rows in held.items():
            insert_many(session, table, rows)
    finally:
        session.info.pop(_HELD, None)


def _hold(session: Session, table: str, row: dict[str, Any]) -> bool:
    held: dict[str, list[dict[str, Any]]] | None = session.info.get(_HELD)
    if held is None or session.in_nested_transaction():
        return False
    held.setdefault(table, []).append(row)
    return True


def insert_many(
    session: Session, table_name: str, rows: list[dict[str, Any]], *, keys: bool = False
) -> list[Any]:
    """Insert ``rows`` (all with the same keys) into a table in multi-row statements, straight
    to the database (nothing the rows point at may be waiting in the session to be written);
    with ``keys``, their primary keys in the order of ``rows``, else ``[]``.

    On PostgreSQL, rows whose keys are not wanted go in one COPY (``copy_rows``), about half
    the CPU of the INSERTs on both sides. Otherwise the keys are asked for even when not
    wanted, so that SQLAlchemy writes the rows 25 to a statement ("insertmanyvalues"): without
    RETURNING it hands the driver an executemany, one INSERT a row, which for 600 audit rows
    cost 8.4 rather than 6.5 ms of the worker's CPU and 6.0 rather than 3.5 ms of the database
    server's."""
    if not rows:
        return []
    table = Base.metadata.tables[table_name]
    if not keys and copy_rows(session, table, rows):
        return []  # PostgreSQL: one COPY rather than INSERTs of 25 rows
    (key,) = table.primary_key.columns
    dialect = session.get_bind().dialect
    if not dialect.insert_executemany_returning_sort_by_parameter_order:
        # SQLite before 3.35 has no RETURNING: the rows go one statement each, as the ORM
        # would write them there, and each one's key is the one it was given.
        if not keys:
            session.execute(insert(table), rows)
            return []
        return [session.execute(insert(table), row).inserted_primary_key[0] for row in rows]
    result = session.execute(insert(table).returning(key, sort_by_parameter_order=keys), rows)
    if not keys:
        result.close()
        return []
    return list(result.scalars())


def audit_now(session: Session, actor: str, action: str, entries: list[AuditEntry]) -> None:
    """``audit`` for many entries of one kind, written at once (``insert_many``) rather than
    through the session's unit of work (whose bookkeeping for each object cost more than the
    write, for a batch of letters just sent). For rows that exist already: nothing the entries
    point at may be waiting in the session to be written."""
    insert_many(session, AuditEvent.__tablename__, [_audit_row(actor, action, e) for e in entries])


@dataclass(frozen=True)
class AuditEntry:
    """One entry for ``audit_now``: ``audit``'s arguments other than the actor and action."""

    why: str = ""
    case_id: int | None = None
    inbound_id: int | None = None
    letter_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def correspondence(
    session: Session,
    direction: str,
    at: datetime,
    kind: str = "",
    *,
    case_id: int | None = None,
    service_request_id: int | None = None,
    inbound_id: int | None = None,
    letter_id: int | None = None,
) -> None:
    """A message in or out of a case or service request, in its order (5.12).

    Every column is given, even its default: the ORM writes a batch's rows in one INSERT only
    while consecutive rows set the same columns, and a message's "in" row (kind and time left to
    their defaults) between two letters' "out" rows made every row an INSERT of its own, two
    round trips a message."""
    row = {
        "case_id": case_id,
        "service_request_id": service_request_id,
        "inbound_id": inbound_id,
        "letter_id": letter_id,
        "direction": direction,
        "kind": kind,
        "at": at,
    }
    if not _hold(session, Correspondence.__tablename__, row):
        session.add(Correspondence(**row))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class Ids:
    """Primary keys handed out ahead of the insert, where the database has sequences.

    Without them each new case, letter or resident must be flushed alone to learn its id (one
    round trip each, several per message); with them a batch's rows are inserted together when
    it commits. Case and service request numbers are visible to residents, so those are taken
    one at a time (no gaps from unused ids); other tables take blocks. ``None`` where the
    database has no sequences (SQLite): the caller flushes, as before."""

    BLOCK = 50
    EXACT = frozenset({"cases", "service_requests"})

    def __init__(self, session: Session, next_ids: Callable[[Session, str, int], list[int]] | None):
        self.session = session
        self._next_ids = next_ids
        self._free: dict[str, list[int]] = {}

    def take(self, table: str) -> int | None:
        if self._next_ids is None:
            return None
        free = self._free.setdefault(table, [])
        if not free:
            count = 1 if table in self.EXACT else self.BLOCK
            free.extend(self._next_ids(self.session, table, count))
        return free.pop(0)


def ids_for(app_db: Any, session: Session) -> Ids:
    """An ``Ids`` for this database (sequences on PostgreSQL, none on SQLite)."""
    return Ids(session, app_db.next_ids if getattr(app_db, "has_sequences", False) else None)


def resident_for(session: Session, address: str, name: str = "") -> Resident:
    """The resident who writes from ``address`` (their main or another known address)."""
    return Residents(session, [address]).get(address, name)


class Residents:
    """Residents looked up for a whole batch of senders at once: one query for their main
    addresses, and (only if one is not found there) one for the residents who have other
    addresses. New residents join the map, so two messages of a batch from one new sender are
    one resident."""

    def __init__(self, session: Session, addresses: Iterable[str], ids: Ids | None = None) -> None:
        self.session = session
        self.ids = ids
        wanted = {a.strip().lower() for a in addresses if a}
        self._by_email: dict[str, Resident] = {}
        if wanted:
            self._by_email = {
                r.email: r
                for r in session.scalars(select(Resident).where(Resident.email.in_(wanted)))
            }
        self._other: dict[str, Resident] | None = None

    def _other_addresses(self) -> dict[str, Resident]:
        if self._other is None:
            # JSON has no equality operator on PostgreSQL; its text form does.
            with_others = cast(Resident.other_emails, String) != "[]"
            self._other = {}
            for candidate in self.session.scalars(select(Resident).where(with_others)):
                for email in candidate.other_emails:
                    self._other.setdefault(str(email).lower(), candidate)
        return self._other

    def get(self, address: str, name: str = "") -> Resident:
        address = address.strip().lower()
        resident = self._by_email.get(address) or self._other_addresses().get(address)
        if resident is None:
            resident = Resident(email=address, name=name.strip())
            resident.id = self.ids.take("residents") if self.ids else None  # type: ignore[assignment]
            self.session.add(resident)
            if resident.id is None:
                self.session.flush()
            self._by_email[address] = resident
        elif name and not resident.name:
            resident.name = name.strip()
        return resident


def new_case(
    session: Session, resident: Resident, received: date, ids: Ids | None = None, **values: Any
) -> Case:
    case_id = ids.take("cases") if ids else None
    case = Case(ref=f"pending-{id(values)}-{received}", resident=resident, **values)
    if case_id is not None:
        case.id = case_id
        case.ref = make_ref(CASE_PREFIX, received.year, case_id)
        session.add(case)
        return case
    session.add(case)
    session.flush()
    case.ref = make_ref(CASE_PREFIX, received.year, case.id)
    return case


def new_service_request(
    session: Session, resident: Resident, received: date, ids: Ids | None = None, **values: Any
) -> ServiceRequest:
    sr_id = ids.take("service_requests") if ids else None
    sr = ServiceRequest(
        ref=f"pending-{id(values)}", resident_id=resident.id, received=received, **values
    )
    if sr_id is not None:
        sr.id = sr_id
        sr.ref = make_ref(SERVICE_REQUEST_PREFIX, received.year, sr_id)
        session.add(sr)
        return sr
    session.add(sr)
    session.flush()
    sr.ref = make_ref(SERVICE_REQUEST_PREFIX, received.year, sr.id)
    return sr


_STAGE_FIELDS = [f.name for f in fields(StageRecord)]


def state_of(case: Case) -> CaseState:
    """The pure state machine's view of a case row."""
    records = {
        s.stage: StageRecord(**{f: getattr(s, f) for f in _STAGE_FIELDS}) for s in case.stages
    }
    return CaseState(
        ref=case.ref, status=Status(case.status), stage1=records[1], stage2=records.get(2)
    )


def save_state(session: Session, case: Case, state: CaseState) -> None:
    case.status = state.status.value
    case.stage = 2 if state.stage2 is not None else 1
    by_stage = {s.stage: s for s in case.stages}
    for record in (state.stage1, state.stage2):
        if record is None:
            continue
        row = by_stage.get(record.stage)
        if row is None:
            row = CaseStage(case_id=case.id, stage=record.stage, received=record.received)
            session.add(row)
            case.stages.append(row)
        for name in _STAGE_FIELDS:
            setattr(row, name, getattr(record, name))


def record_transition(session: Session, case: Case, transition: Transition) -> None:
    audit(
        session,
        transition.actor,
        f"case.{transition.name}",
        transition.why,
        case_id=case.id,
        on=transition.on,
        before=transition.before.value,
        after=transition.after.value,
    )
