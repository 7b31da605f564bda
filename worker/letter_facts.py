"""What letters need to know about a case and its resident, built from database rows; shared by
the automatic route stage and the staff services so both write the same letters."""

from __future__ import annotations

from datetime import date

from worker.adapters.db_models import Case, Resident
from worker.bootstrap import App
from worker.domain import letters
from worker.domain.cases import StageRecord


def recipient(resident: Resident) -> letters.Recipient:
    if resident.representative_email and resident.representative_consent:
        # A representative acting with the resident's consent gets the letters (3.6).
        return letters.Recipient(
            name=resident.representative_name,
            email=resident.representative_email,
            large_print=resident.large_print,
            representative_name=resident.name or resident.email,
        )
    return letters.Recipient(
        name=resident.name or "", email=resident.email, large_print=resident.large_print
    )


def handler_name(app: App, stage: StageRecord) -> str:
    if stage.handler:
        return stage.handler
    if stage.stage == 2:
        return "a senior manager who did not deal with stage 1"
    return app.settings.stage1_handler


def case_facts(
    app: App, case: Case, stage: StageRecord, escalated: date | None = None
) -> letters.CaseFacts:
    landlord = app.landlord
    extraction = case.extraction or {}
    missing = tuple(d for d in letters.MISSING_DETAILS if not extraction.get(d))
    if case.building_safety and landlord.building_safety_lead_email and stage.stage == 1:
        contact = landlord.building_safety_lead_email
    else:
        contact = (
            f"{landlord.complaints_email} or {landlord.complaints_team_phone or landlord.phone}"
        )
    first = min(case.stages, key=lambda s: s.stage)
    return letters.CaseFacts(
        ref=case.ref,
        stage=stage.stage,
        received=first.received,
        respond_by=stage.respond_by,
        handler_name=handler_name(app, stage),
        handler_contact=contact,
        understanding=case.understanding,
        outcome_sought=case.outcome_sought,
        missing_details=missing if stage.stage == 1 else (),
        escalated=escalated,
        acknowledged=stage.acknowledged,
    )
