"""What staff record about a resident, rather than a case: reasonable adjustments and disclosed
disabilities (5.10), a representative (3.6), the resident's other addresses, and restrictions for
unacceptable behaviour (5.14, 5.15). Every change is audited; every rule fails with a one-line
``UserError``.

Restrictions are a person's decision, never the system's: a repeat of an issue already closed is
only ever offered to staff as input (``repeat_candidates``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.db_models import Case, Resident, Restriction, ServiceRequest
from worker.bootstrap import App
from worker.domain.cases import SYSTEM_ACTOR, Status
from worker.domain.errors import UserError
from worker.domain.recipient import UnusableAddress, typed_address
from worker.records import audit

CHANNELS: Final = ("email", "post", "phone")
# Actors the worker writes as by itself; none of them may decide a restriction (5.14).
_AUTOMATIC_ACTORS: Final = frozenset({SYSTEM_ACTOR, "deadline-watcher", "worker", "automatic"})


class ResidentNotFound(UserError):
    pass


def due_adjustment_reviews(app: App, today: date) -> list[dict[str, Any]]:
    """Residents whose reasonable adjustments are due (or overdue) for review on ``today`` (5.10:
    "kept under active review"), soonest first."""
    with app.db.session() as session:
        rows = session.scalars(
            select(Resident)
            .where(Resident.adjustments_review_on.is_not(None))
            .where(Resident.adjustments_review_on <= today)
            .order_by(Resident.adjustments_review_on, Resident.id)
        ).all()
        return [
            {
                "email": r.email,
                "name": r.name,
                "adjustments": r.adjustments,
                "disclosed_disability": r.disclosed_disability,
                "review_on": _iso(r.adjustments_review_on),
                "overdue": r.adjustments_review_on is not None and r.adjustments_review_on < today,
            }
            for r in rows
        ]


def due_restriction_reviews(app: App, today: date) -> list[dict[str, Any]]:
    """Restrictions in force whose review date has come (5.14: "under regular review")."""
    with app.db.session() as session:
        rows = session.execute(
            select(Restriction, Resident.email)
            .join(Resident, Resident.id == Restriction.resident_id)
            .where(Restriction.ended_on.is_(None), Restriction.review_on <= today)
            .order_by(Restriction.review_on, Restriction.id)
        ).all()
        return [_restriction_dict(r, email) | {"overdue": r.review_on < today} for r, email in rows]


def resident_record(resident: Resident) -> dict[str, Any]:
    """What the resident record says about the person (``resident show``, a subject access
    export): contact details, adjustments and representative."""
    return {
        "email": resident.email,
        "name": resident.name,
        "other_emails": list(resident.other_emails or []),
        "large_print": resident.large_print,
        "preferred_channel": resident.preferred_channel,
        "adjustments": resident.adjustments,
        "disclosed_disability": resident.disclosed_disability,
        "adjustments_review_on": _iso(resident.adjustments_review_on),
        "representative": {
            "name": resident.representative_name,
            "email": resident.representative_email,
            "consent": resident.representative_consent,
        },
    }


class ResidentService:
    def __init__(self, app: App) -> None:
        self.app = app

    # -- reading -----------------------------------------------------------------------------

    def show(self, email: str) -> dict[str, Any]:
        with self.app.db.session() as session:
            resident = _resident(session, email)
            restrictions = session.scalars(
                select(Restriction)
                .where(Restriction.resident_id == resident.id)
                .order_by(Restriction.id)
            ).all()
            return resident_record(resident) | {
                "restrictions": [_restriction_dict(r, resident.email) for r in restrictions],
            }

    def due_adjustment_reviews(self, today: date | None = None) -> list[dict[str, Any]]:
        return due_adjustment_reviews(self.app, today or self.app.clock.today())

    def due_restriction_reviews(self, today: date | None = None) -> list[dict[str, Any]]:
        return due_restriction_reviews(self.app, today or self.app.clock.today())

    def repeat_candidates(self, email: str) -> list[dict[str, Any]]:
        """The resident's closed cases, newest first: input for a person considering whether a new
        complaint repeats one already answered (5.14). Never a restriction by itself."""
        with self.app.db.session() as session:
            resident = _resident(session, email)
            cases = session.scalars(
                select(Case)
                .where(Case.resident_id == resident.id, Case.status == Status.CLOSED.value)
                .order_by(Case.id.desc())
            ).all()
            result = []
            for case in cases:
                last = max(case.stages, key=lambda s: s.stage) if case.stages else None
                result.append(
                    {
                        "ref": case.ref,
                        "subject": case.subject,
                        "understanding": case.understanding,
                        "stage": case.stage,
                        "received": _iso(case.stages[0].received) if case.stages else None,
                        "responded": _iso(last.responded) if last else None,
                        "decision": last.decision if last else "",
                        "closed_on": _iso(case.closed_on),
                    }
                )
            return result

    # -- actions -----------------------------------------------------------------------------

    def record_adjustments(
        self,
        email: str,
        *,
        adjustments: str,
        disclosed_disability: str = "",
        large_print: bool | None = None,
        preferred_channel: str | None = None,
        review_on: date,
        by: str,
    ) -> dict[str, Any]:
        """Record (or, at a review, re-record) the agreed reasonable adjustments (5.10). A review
        date is required: agreed adjustments are kept under active review."""
        actor = _person(by, "recording adjustments")
        if not adjustments.strip() and not disclosed_disability.strip():
            raise UserError("record the agreed adjustments or the disclosed disability (5.10)")
        today = self.app.clock.today()
        if not isinstance(review_on, date) or review_on <= today:
            raise UserError(
                "adjustments need a review date after today: they are kept under active review "
                "(5.10)"
            )
        if preferred_channel is not None and preferred_channel not in CHANNELS:
            raise UserError(
                f"preferred channel must be one of {', '.join(CHANNELS)}, got {preferred_channel!r}"
            )
        with self.app.db.session() as session:
            resident = _resident(session, email)
            before = {
                "adjustments": resident.adjustments,
                "disclosed_disability": resident.disclosed_disability,
                "large_print": resident.large_print,
                "preferred_channel": resident.preferred_channel,
                "review_on": _iso(resident.adjustments_review_on),
            }
            resident.adjustments = adjustments.strip()
            if disclosed_disability.strip():
                resident.disclosed_disability = disclosed_disability.strip()
            if large_print is not None:
                resident.large_print = large_print
            if preferred_channel is not None:
                resident.preferred_channel = preferred_channel
            resident.adjustments_review_on = review_on
            after = {
                "adjustments": resident.adjustments,
                "disclosed_disability": resident.disclosed_disability,
                "large_print": resident.large_print,
                "preferred_channel": resident.preferred_channel,
                "review_on": review_on.isoformat(),
            }
            reviewed = bool(before["adjustments"] or before["disclosed_disability"])
            audit(
                session,
                actor,
                "resident.adjustments_reviewed" if reviewed else "resident.adjustments_recorded",
                f"reasonable adjustments recorded for {resident.email}; next review "
                f"{review_on.isoformat()} (5.10)",
                resident=resident.email,
                before=before,
                after=after,
            )
            return {"email": resident.email, **after}

    def set_representative(
        self, email: str, *, name: str, rep_email: str, consent: bool, by: str
    ) -> dict[str, Any]:
        """Record who represents the resident (3.6). Letters go to the representative only once
        the resident's consent is recorded; until then they go to the resident."""
        actor = _person(by, "recording a representative")
        rep_name = name.strip()
        if not rep_name:
            raise UserError("a representative needs a name (3.6)")
        address = _address(rep_email, "representative's email")
        with self.app.db.session() as session:
            resident = _resident(session, email)
            if address == resident.email or address in _others(resident):
                raise UserError(f"{address} is the resident's own address, not a representative's")
            before = {
                "name": resident.representative_name,
                "email": resident.representative_email,
                "consent": resident.representative_consent,
            }
            resident.representative_name = rep_name
            resident.representative_email = address
            resident.representative_consent = bool(consent)
            why = (
                f"{rep_name} <{address}> represents {resident.email} with consent recorded: "
                "letters go to the representative (3.6)"
                if consent
                else f"{rep_name} <{address}> named as representative of {resident.email} without "
                "recorded consent: letters still go to the resident (3.6)"
            )
            audit(
                session,
                actor,
                "resident.representative_set",
                why,
                resident=resident.email,
                before=before,
                after={"name": rep_name, "email": address, "consent": bool(consent)},
            )
            return {
                "email": resident.email,
                "representative": {"name": rep_name, "email": address, "consent": bool(consent)},
                "letters_to": address if consent else resident.email,
            }

    def remove_representative(self, email: str, *, reason: str, by: str) -> dict[str, Any]:
        """The resident withdraws the representative's authority; letters go to them again."""
        actor = _person(by, "removing a representative")
        if not reason.strip():
            raise UserError("removing a representative needs a reason")
        with self.app.db.session() as session:
            resident = _resident(session, email)
            if not resident.representative_email:
                raise UserError(f"{resident.email} has no representative on record")
            before = {
                "name": resident.representative_name,
                "email": resident.representative_email,
                "consent": resident.representative_consent,
            }
            resident.representative_name = ""
            resident.representative_email = ""
            resident.representative_consent = False
            audit(
                session,
                actor,
                "resident.representative_removed",
                reason.strip(),
                resident=resident.email,
                before=before,
            )
            return {"email": resident.email, "letters_to": resident.email}

    def add_other_email(self, email: str, other: str, by: str) -> dict[str, Any]:
        """Another address of the same resident: replies from it thread onto their cases without
        a person confirming who wrote."""
        actor = _person(by, "adding an address")
        address = _address(other, "other address")
        with self.app.db.session() as session:
            resident = _resident(session, email)
            if address == resident.email or address in _others(resident):
                raise UserError(f"{address} is already an address of {resident.email}")
            owner = _find(session, address)
            if owner is not None:
                raise UserError(
                    f"{address} belongs to another resident ({owner.email}); "
                    "they are not merged automatically"
                )
            if address == resident.representative_email:
                raise UserError(f"{address} is the representative's address, not the resident's")
            # A new list, so the JSON column is seen as changed.
            resident.other_emails = [*(resident.other_emails or []), address]
            audit(
                session,
                actor,
                "resident.other_email_added",
                f"{address} is also {resident.email}",
                resident=resident.email,
                other=address,
            )
            return {"email": resident.email, "other_emails": list(resident.other_emails)}

    def record_restriction(
        self, email: str, *, description: str, reasons: str, review_on: date, by: str
    ) -> dict[str, Any]:
        """Record a restriction for unacceptable behaviour (5.14, 5.15): a named person's decision
        with its reasons and a review date; never automatic."""
        actor = _decider(by)
        if not description.strip():
            raise UserError("a restriction needs a description of what is restricted (5.15)")
        if not reasons.strip():
            raise UserError("a restriction needs the reasons for it (5.14)")
        today = self.app.clock.today()
        if not isinstance(review_on, date) or review_on <= today:
            raise UserError("a restriction needs a review date after today (5.14)")
        with self.app.db.session() as session:
            resident = _resident(session, email)
            row = Restriction(
                resident_id=resident.id,
                description=description.strip(),
                reasons=reasons.strip(),
                review_on=review_on,
                decided_by=actor,
            )
            session.add(row)
            session.flush()
            audit(
                session,
                actor,
                "restriction.recorded",
                reasons.strip(),
                resident=resident.email,
                restriction_id=row.id,
                description=row.description,
                review_on=review_on,
            )
            return _restriction_dict(row, resident.email)

    def review_restriction(
        self,
        restriction_id: int,
        *,
        outcome: str,
        reasons: str,
        next_review_on: date | None = None,
        by: str,
    ) -> dict[str, Any]:
        """Review a restriction (5.14): continue it to a new review date, or end it; reasons
        either way."""
        actor = _decider(by)
        if outcome not in ("continue", "end"):
            raise UserError(f"outcome must be continue or end, got {outcome!r}")
        if not reasons.strip():
            raise UserError("a restriction review needs its reasons (5.14)")
        today = self.app.clock.today()
        if outcome == "continue" and (next_review_on is None or next_review_on <= today):
            raise UserError("continuing a restriction needs a next review date after today (5.14)")
        if outcome == "end" and next_review_on is not None:
            raise UserError("an ended restriction has no next review date")
        with self.app.db.session() as session:
            row = session.get(Restriction, restriction_id)
            if row is None:
                raise UserError(f"no restriction {restriction_id}")
            if row.ended_on is not None:
                raise UserError(f"restriction {restriction_id} ended on {row.ended_on.isoformat()}")
            resident = session.get(Resident, row.resident_id)
            assert resident is not None
            previous_review = row.review_on
            if outcome == "continue":
                assert next_review_on is not None
                row.review_on = next_review_on
            else:
                row.ended_on = today
            audit(
                session,
                actor,
                "restriction.continued" if outcome == "continue" else "restriction.ended",
                reasons.strip(),
                resident=resident.email,
                restriction_id=row.id,
                reviewed_on=today,
                was_due=previous_review,
                next_review_on=next_review_on,
            )
            return _restriction_dict(row, resident.email)


def give_confirmed_address(
    session: Session, resident: Resident, address: str, *, by: str, inbound_id: int | None = None
) -> Resident:
    """A person confirmed ``address`` (already checked with ``typed_address``) as the address of
    the sender whose record is ``resident`` (SPEC section 6, "Trusted recipient"). A record kept
    under a placeholder takes the address; if another resident already has it, that is the
    person who wrote, so the placeholder's cases and service requests move to them and the
    placeholder goes. A resident who already had an address gains this one as another address.
    Returns the record that now holds the address."""
    address = address.strip().lower()
    owner = _find(session, address)
    if owner is not None and owner.id == resident.id:
        return resident
    placeholder = "@" not in resident.email
    if owner is None:
        if placeholder:
            before = resident.email
            resident.email = address
            why = f"address {address} confirmed by a person for the sender's record ({before})"
        else:
            resident.other_emails = [*(resident.other_emails or []), address]
            why = f"address {address} confirmed by a person as also {resident.email}"
        audit(
            session,
            by,
            "resident.address_confirmed",
            why,
            inbound_id=inbound_id,
            resident=resident.email,
        )
        return resident
    if not placeholder:
        raise UserError(
            f"{address} belongs to another resident ({owner.email}) than the one on this case "
            f"({resident.email}); they are not merged automatically"
        )
    moved = []
    for case in session.scalars(select(Case).where(Case.resident_id == resident.id)):
        case.resident = owner
        moved.append(case.ref)
    for sr in session.scalars(
        select(ServiceRequest).where(ServiceRequest.resident_id == resident.id)
    ):
        sr.resident_id = owner.id
        moved.append(sr.ref)
    if resident.name and not owner.name:
        owner.name = resident.name
    session.flush()
    if session.scalar(select(Restriction.id).where(Restriction.resident_id == resident.id)) is None:
        session.delete(resident)  # nothing left on it: no empty record of a doubtful sender
    audit(
        session,
        by,
        "resident.address_confirmed",
        f"address {address} confirmed by a person: it is {owner.email}'s, so "
        f"{', '.join(moved) or 'the message'} joined their record",
        inbound_id=inbound_id,
        resident=owner.email,
        moved=moved,
    )
    return owner


# -- helpers ------------------------------------------------------------------------------------


def _find(session: Session, address: str) -> Resident | None:
    """The resident with ``address`` as their main or another address; never creates one."""
    address = address.strip().lower()
    resident = session.scalar(select(Resident).where(Resident.email == address))
    if resident is not None:
        return resident
    for candidate in session.scalars(select(Resident)):
        if address in _others(candidate):
            return candidate
    return None


def _resident(session: Session, email: str) -> Resident:
    resident = _find(session, email)
    if resident is None:
        raise ResidentNotFound(f"no resident with address {email.strip()!r}")
    return resident


def _others(resident: Resident) -> list[str]:
    return [e.lower() for e in (resident.other_emails or [])]


def _address(value: str, what: str) -> str:
    # The rules an automatic letter's address meets (worker/domain/recipient.py): letters go here.
    try:
        return typed_address(value)
    except UnusableAddress as exc:
        raise UserError(f"{what} is not an email address we can write to: {exc}") from None


def _person(by: str, action: str) -> str:
    actor = " ".join(by.split())
    if not actor:
        raise UserError(f"{action} needs the name of who did it (5.12)")
    return actor


def _decider(by: str) -> str:
    actor = _person(by, "a restriction decision")
    if actor.casefold() in _AUTOMATIC_ACTORS:
        raise UserError(
            "a restriction is a named person's decision, never automatic (5.14, 5.15); "
            f"{actor!r} is not a person"
        )
    return actor


def _restriction_dict(row: Restriction, email: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "resident": email,
        "description": row.description,
        "reasons": row.reasons,
        "review_on": _iso(row.review_on),
        "decided_by": row.decided_by,
        "ended_on": _iso(row.ended_on),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
