"""Every message in the bundled sample mailbox, triaged exactly as the pipeline triages it, gets the
label a careful complaints handler gives it (worker/sample_mailbox/README.md).

The input is built as ``worker/stages/triage.py`` builds it: ``parse_message`` on the raw bytes,
the new words (``new_text()``, or the whole text if that is empty) as the body, the message's
London date as the received date (the demo replays the mailbox, so the Date header is trusted),
the source channel ``email``, the decoded headers, content type and return path. No database or
other service is needed: only the shipped model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from classifiers.triage import TriageInput, Triager, TriageResult
from worker.adapters.clock import london_date
from worker.domain.parsing import ParsedMessage, UnparsableMessage, parse_message

MAILBOX = Path(__file__).resolve().parents[2] / "worker" / "sample_mailbox"
#: The landlord's own addresses, as the demo's ``App.own_addresses`` gives them.
OWN_ADDRESSES = ("complaints@thrivehomes.org.uk",)
UNPARSABLE = "new/1794568260.M021P4711.demo"
#: Only the label matters: a reply threaded onto an open case, and a byte-identical duplicate
#: (intake drops the duplicate before triage; triaged alone it is Angela Brooks's complaint).
LABEL_ONLY = ("new/1795028700.M027P4711.demo", "new/1795165200.M029P4711.demo")

#: file -> (label, reason, needs_review), mirroring the README's table.
EXPECTED: dict[str, tuple[str, str, bool]] = {
    "cur/1793606700.M001P4711.demo:2,": ("complaint", "", False),
    "cur/1793606760.M002P4711.demo:2,": ("not_resident_mail", "bounce", False),
    "cur/1793612400.M003P4711.demo:2,": ("service_request", "", False),
    "cur/1793625300.M004P4711.demo:2,": ("service_request", "", False),
    "cur/1793701200.M005P4711.demo:2,": ("complaint", "", False),
    "cur/1793724300.M006P4711.demo:2,": ("excluded", "legal_proceedings", True),
    "cur/1793790120.M007P4711.demo:2,": ("complaint", "", False),
    "cur/1793802600.M008P4711.demo:2,": ("service_request", "", False),
    "cur/1793869920.M009P4711.demo:2,": ("complaint", "", False),
    "cur/1793870400.M010P4711.demo:2,": ("not_resident_mail", "auto_reply", False),
    "cur/1793907000.M011P4711.demo:2,": ("excluded", "insurance_claim", True),
    "cur/1793959500.M012P4711.demo:2,": ("complaint", "", False),
    "cur/1793977200.M013P4711.demo:2,": ("not_resident_mail", "spam", False),
    "cur/1794213000.M014P4711.demo:2,": ("complaint", "", False),
    "cur/1794226320.M015P4711.demo:2,": ("excluded", "over_12_months", True),
    "cur/1794295800.M016P4711.demo:2,": ("not_resident_mail", "bulk", False),
    "cur/1794334800.M017P4711.demo:2,": ("excluded", "asb_report", True),
    "cur/1794404400.M018P4711.demo:2,": ("complaint", "", False),
    "cur/1794477000.M019P4711.demo:2,": ("complaint", "", False),
    "cur/1794499800.M020P4711.demo:2,": ("excluded", "lettings_decision", True),
    "new/1794578400.M022P4711.demo": ("excluded", "survey_feedback", True),
    "new/1794648840.M023P4711.demo": ("complaint", "", False),
    "new/1794823200.M024P4711.demo": ("excluded", "leaseholder_consultation", True),
    "new/1794905100.M025P4711.demo": ("service_request", "", False),
    # "I want to make a complaint" on a first repair request: a person decides (1.3, 1.4).
    "new/1795005000.M026P4711.demo": ("service_request", "", True),
    "new/1795028700.M027P4711.demo": ("complaint", "", False),
    "new/1795083900.M028P4711.demo": ("complaint", "", False),
    "new/1795165200.M029P4711.demo": ("complaint", "", False),
}
TRIAGE_LABELS = ("complaint", "service_request", "excluded", "not_resident_mail")
ROW_RE = re.compile(r"^\| `((?:cur|new)/[^`]+)` \|[^|]*\| ([^|]*) \| ([^|]*) \|", re.MULTILINE)


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def message_files() -> list[str]:
    return sorted(f"{sub}/{p.name}" for sub in ("cur", "new") for p in (MAILBOX / sub).iterdir())


def pipeline_input(name: str, parsed: ParsedMessage, *, full_text: bool) -> TriageInput:
    """As ``worker.stages.triage.run`` builds it (``full_text``: with the whole text passed too)."""
    assert parsed.date is not None
    return TriageInput(
        id=name,
        subject=parsed.subject,
        body=parsed.new_text() or parsed.text,
        from_addr=parsed.from_addr,
        received=london_date(parsed.date),
        channel="email",
        headers=dict(parsed.headers),
        content_type=parsed.content_type,
        return_path=parsed.return_path or None,
        full_text=parsed.text if full_text else "",
    )


def triage_file(triager: Triager, name: str, *, full_text: bool) -> TriageResult:
    parsed = parse_message((MAILBOX / name).read_bytes())
    item = pipeline_input(name, parsed, full_text=full_text)
    return triager.triage(item, own_addresses=OWN_ADDRESSES)


def test_the_table_covers_every_message_but_the_unparsable_one() -> None:
    assert set(EXPECTED) == set(message_files()) - {UNPARSABLE}
    with pytest.raises(UnparsableMessage):
        parse_message((MAILBOX / UNPARSABLE).read_bytes())


def test_the_table_agrees_with_the_readme() -> None:
    readme = (MAILBOX / "README.md").read_text("utf-8")
    rows = {
        m[1]: (m[2].strip().strip("`"), m[3].strip().strip("`")) for m in ROW_RE.finditer(readme)
    }
    for name, (label, reason, _) in EXPECTED.items():
        readme_label, readme_reason = rows[name]
        if readme_label in TRIAGE_LABELS:  # not "duplicate" or "quarantined" (intake outcomes)
            assert (label, reason) == (readme_label, readme_reason), name


# ``full_text``: also with the whole message text passed as context, as the pipeline will once
# worker/stages/triage.py passes ``full_text=parsed.text``; the labels must not change.
@pytest.mark.parametrize("full_text", [False, True], ids=["pipeline", "with_full_text"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_message_gets_the_handlers_label(
    triager: Triager, name: str, full_text: bool
) -> None:
    result = triage_file(triager, name, full_text=full_text)
    label, reason, needs_review = EXPECTED[name]
    assert result.label == label, result.reasons
    if name in LABEL_ONLY:
        return
    assert result.reason == reason, result.reasons
    assert result.needs_review is needs_review, result.reasons
    assert result.reasons


def test_why_the_three_hard_cases_come_out_as_they_do(triager: Triager) -> None:
    survey = triage_file(triager, "new/1794578400.M022P4711.demo", full_text=False)
    assert any(r.startswith("rule survey_reply:") for r in survey.reasons)
    colin = triage_file(triager, "new/1795005000.M026P4711.demo", full_text=False)
    assert any(r.startswith("rule wish_to_complain:") for r in colin.reasons)
    leak = triage_file(triager, "cur/1793612400.M003P4711.demo:2,", full_text=False)
    assert not any("dissatisfied_with_service" in r for r in leak.reasons)
