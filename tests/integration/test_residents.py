"""What staff record about residents (3.6, 5.10, 5.14, 5.15), against a real SQLite database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from worker import letter_facts
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Resident
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain.errors import UserError
from worker.records import new_case, resident_for, save_state
from worker.residents import ResidentService, due_adjustment_reviews
from worker.settings import load_settings

TODAY = date(2026, 11, 3)
EMAIL = "amara@example.org"


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "out"),
        },
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=FixedClock(datetime(2026, 11, 3, 10, 0, tzinfo=UTC)))
    with app.db.session() as session:
        resident_for(session, EMAIL, "Amara Jones")
    return app


@pytest.fixture
def service(app: App) -> ResidentService:
    return ResidentService(app)


def audit_actions(app: App) -> list[tuple[str, str]]:
    with app.db.session() as session:
        return [
            (e.actor, e.action) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def resident(app: App, email: str = EMAIL) -> Resident:
    with app.db.session() as session:
        return session.scalars(select(Resident).where(Resident.email == email)).one()


# -- reasonable adjustments (5.10) ---------------------------------------------------------------


def test_adjustments_are_recorded_with_their_review_date_and_audited(
    app: App, service: ResidentService
) -> None:
    service.record_adjustments(
        EMAIL,
        adjustments="large print letters; phone calls before 11am",
        disclosed_disability="visual impairment",
        large_print=True,
        preferred_channel="post",
        review_on=date(2027, 5, 3),
        by="Sam Patel",
    )
    row = resident(app)
    assert row.large_print is True
    assert row.preferred_channel == "post"
    assert row.adjustments_review_on == date(2027, 5, 3)
    assert row.disclosed_disability == "visual impairment"
    assert audit_actions(app) == [("Sam Patel", "resident.adjustments_recorded")]
    assert letter_facts.recipient(row).large_print is True


def test_adjustments_need_a_future_review_date(service: ResidentService) -> None:
    with pytest.raises(UserError, match="review date"):
        service.record_adjustments(EMAIL, adjustments="x", review_on=TODAY, by="Sam Patel")


def test_adjustments_need_something_to_record(service: ResidentService) -> None:
    with pytest.raises(UserError, match="5.10"):
        service.record_adjustments(EMAIL, adjustments=" ", review_on=date(2027, 1, 1), by="Sam")


def test_unknown_channel_is_refused(service: ResidentService) -> None:
    with pytest.raises(UserError, match="preferred channel"):
        service.record_adjustments(
            EMAIL,
            adjustments="x",
            preferred_channel="pigeon",
            review_on=date(2027, 1, 1),
            by="Sam",
        )


def test_adjustments_for_an_unknown_resident_are_refused(service: ResidentService) -> None:
    with pytest.raises(UserError, match="no resident"):
        service.record_adjustments(
            "nobody@example.org", adjustments="x", review_on=date(2027, 1, 1), by="Sam"
        )


def test_adjustments_due_for_review_are_listed(app: App, service: ResidentService) -> None:
    service.record_adjustments(EMAIL, adjustments="x", review_on=date(2026, 12, 1), by="Sam")
    assert due_adjustment_reviews(app, date(2026, 11, 30)) == []
    [due] = due_adjustment_reviews(app, date(2026, 12, 1))
    assert (due["email"], due["overdue"]) == (EMAIL, False)
    [late] = service.due_adjustment_reviews(date(2026, 12, 2))
    assert late["overdue"] is True


def test_recording_again_is_a_review(app: App, service: ResidentService) -> None:
    service.record_adjustments(EMAIL, adjustments="x", review_on=date(2026, 12, 1), by="Sam")
    service.record_adjustments(EMAIL, adjustments="x, y", review_on=date(2027, 6, 1), by="Sam")
    assert [a for _, a in audit_actions(app)][-1] == "resident.adjustments_reviewed"
    assert due_adjustment_reviews(app, date(2026, 12, 1)) == []


# -- representatives (3.6) -----------------------------------------------------------------------


def test_representative_with_consent_gets_the_letters(app: App, service: ResidentService) -> None:
    result = service.set_representative(
        EMAIL, name="Jo Advocate", rep_email="Jo@Advice.example", consent=True, by="Sam"
    )
    assert result["letters_to"] == "jo@advice.example"
    assert letter_facts.recipient(resident(app)).email == "jo@advice.example"
    assert audit_actions(app) == [("Sam", "resident.representative_set")]


def test_representative_without_consent_does_not_get_the_letters(
    app: App, service: ResidentService
) -> None:
    result = service.set_representative(
        EMAIL, name="Jo Advocate", rep_email="jo@advice.example", consent=False, by="Sam"
    )
    assert result["letters_to"] == EMAIL
    assert letter_facts.recipient(resident(app)).email == EMAIL


def test_removed_representative_stops_getting_letters(app: App, service: ResidentService) -> None:
    service.set_representative(
        EMAIL, name="Jo", rep_email="jo@advice.example", consent=True, by="Sam"
    )
    service.remove_representative(EMAIL, reason="resident withdrew consent by phone", by="Sam")
    assert letter_facts.recipient(resident(app)).email == EMAIL


def test_representative_needs_a_real_address(service: ResidentService) -> None:
    with pytest.raises(UserError, match="not an email address"):
        service.set_representative(EMAIL, name="Jo", rep_email="jo at home", consent=True, by="S")


# -- other addresses -----------------------------------------------------------------------------


def test_other_address_finds_the_same_resident(app: App, service: ResidentService) -> None:
    service.add_other_email(EMAIL, "Amara.Work@Example.com", by="Sam")
    with app.db.session() as session:
        assert resident_for(session, "amara.work@example.com").email == EMAIL
    assert service.show("amara.work@example.com")["email"] == EMAIL
    assert audit_actions(app) == [("Sam", "resident.other_email_added")]


def test_address_of_another_resident_is_not_merged(app: App, service: ResidentService) -> None:
    with app.db.session() as session:
        resident_for(session, "other@example.org")
    with pytest.raises(UserError, match="another resident"):
        service.add_other_email(EMAIL, "other@example.org", by="Sam")


def test_same_address_twice_is_refused(service: ResidentService) -> None:
    service.add_other_email(EMAIL, "a2@example.org", by="Sam")
    with pytest.raises(UserError, match="already"):
        service.add_other_email(EMAIL, "a2@example.org", by="Sam")


# -- restrictions (5.14, 5.15) -------------------------------------------------------------------


def restrict(service: ResidentService, by: str = "Morgan Lee (complaints manager)") -> int:
    result = service.record_restriction(
        EMAIL,
        description="contact through one named officer by email only",
        reasons="abusive phone calls to staff on 12, 19 and 26 October, recorded",
        review_on=date(2027, 2, 3),
        by=by,
    )
    return int(result["id"])


def test_restriction_is_recorded_with_reasons_and_review_date(
    app: App, service: ResidentService
) -> None:
    restriction_id = restrict(service)
    [shown] = service.show(EMAIL)["restrictions"]
    assert shown["id"] == restriction_id
    assert shown["review_on"] == "2027-02-03"
    assert shown["decided_by"] == "Morgan Lee (complaints manager)"
    assert audit_actions(app) == [("Morgan Lee (complaints manager)", "restriction.recorded")]


@pytest.mark.parametrize("actor", ["system", " System ", "deadline-watcher", ""])
def test_restriction_is_never_automatic(service: ResidentService, actor: str) -> None:
    with pytest.raises(UserError):
        restrict(service, by=actor)


def test_restriction_needs_reasons_and_review_date(service: ResidentService) -> None:
    with pytest.raises(UserError, match="reasons"):
        service.record_restriction(
            EMAIL, description="x", reasons=" ", review_on=date(2027, 1, 1), by="Morgan"
        )
    with pytest.raises(UserError, match="review date"):
        service.record_restriction(
            EMAIL, description="x", reasons="y", review_on=TODAY, by="Morgan"
        )


def test_restriction_review_can_continue_it(app: App, service: ResidentService) -> None:
    restriction_id = restrict(service)
    result = service.review_restriction(
        restriction_id,
        outcome="continue",
        reasons="calls continued in January",
        next_review_on=date(2027, 5, 3),
        by="Morgan",
    )
    assert result["review_on"] == "2027-05-03"
    assert result["ended_on"] is None
    assert audit_actions(app)[-1] == ("Morgan", "restriction.continued")


def test_restriction_review_can_end_it(app: App, service: ResidentService) -> None:
    restriction_id = restrict(service)
    result = service.review_restriction(
        restriction_id, outcome="end", reasons="no incidents since", by="Morgan"
    )
    assert result["ended_on"] == TODAY.isoformat()
    with pytest.raises(UserError, match="ended"):
        service.review_restriction(restriction_id, outcome="end", reasons="x", by="Morgan")


def test_continuing_a_restriction_needs_a_next_review(service: ResidentService) -> None:
    restriction_id = restrict(service)
    with pytest.raises(UserError, match="next review"):
        service.review_restriction(restriction_id, outcome="continue", reasons="x", by="Morgan")


def test_restriction_review_is_never_automatic(service: ResidentService) -> None:
    restriction_id = restrict(service)
    with pytest.raises(UserError, match="never automatic"):
        service.review_restriction(restriction_id, outcome="end", reasons="x", by="system")


def test_restrictions_due_for_review_are_listed(service: ResidentService) -> None:
    restrict(service)
    assert service.due_restriction_reviews(date(2027, 2, 2)) == []
    [due] = service.due_restriction_reviews(date(2027, 2, 3))
    assert due["resident"] == EMAIL


def test_unknown_restriction_is_a_user_error(service: ResidentService) -> None:
    with pytest.raises(UserError, match="no restriction 99"):
        service.review_restriction(99, outcome="end", reasons="x", by="Morgan")


# -- repeat complaints: input to 5.14, never a restriction ---------------------------------------


def test_repeat_candidates_are_the_residents_closed_cases_only(
    app: App, service: ResidentService
) -> None:
    calendar = app.calendar
    received = date(2026, 9, 1)
    with app.db.session() as session:
        owner = resident_for(session, EMAIL)
        refs = []
        for closed in (True, False):
            case = new_case(
                session, owner, received, status="stage1_open", subject="Mould in bathroom"
            )
            state, _ = machine.open_case(case.ref, received, calendar)
            if closed:
                state, _ = machine.acknowledge(state, received, calendar)
                state, _ = machine.respond(state, date(2026, 9, 10), "Sam", "upheld")
                state, _ = machine.close(state, "Sam", date(2026, 9, 10))
            save_state(session, case, state)
            refs.append(case.ref)
    [candidate] = service.repeat_candidates(EMAIL)
    assert candidate["ref"] == refs[0]
    assert candidate["decision"] == "upheld"
    assert candidate["responded"] == "2026-09-10"
    assert service.show(EMAIL)["restrictions"] == []  # input for a person, nothing more
