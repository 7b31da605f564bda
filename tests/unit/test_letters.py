"""Letters: required elements are enforced, and approved renderings stay as approved (goldens).

Rewrite the golden files after an intended wording change with ``UPDATE_GOLDEN=1 pytest ...`` and
review the diff like any other change: residents read these.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import jinja2
import pytest

from worker.adapters import templates
from worker.adapters.templates import RenderedLetter, render_letter
from worker.domain import letters
from worker.domain.errors import MissingLetterElement
from worker.domain.landlord import Landlord, Ombudsman
from worker.domain.letters import SPECS, Action, CaseFacts, Recipient, check_required

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "tests" / "golden" / "letters"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


def load_landlord(path: Path = ROOT / "config" / "landlord.toml") -> Landlord:
    """The example landlord profile, read the simple way (the real loader is worker.settings)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    ombudsman = Ombudsman(**data.pop("ombudsman"))
    data["closure_days"] = tuple(data.get("closure_days", ()))
    data.pop("hazards", None)  # who is told of hazards (Awaab's Law), not for letters
    return Landlord(ombudsman=ombudsman, **data)


LANDLORD = load_landlord()
RESIDENT = Recipient(name="Ms Amina Patel", email="amina.patel@example.org")
REP = Recipient(
    name="Ms Amina Patel",
    email="j.okafor@example.org",
    representative_name="Cllr Jide Okafor",
)

STAGE1 = CaseFacts(
    ref="CMP-2026-00042",
    stage=1,
    received=date(2026, 11, 20),
    respond_by=date(2026, 12, 4),
    handler_name="Sam Taylor",
    handler_contact="sam.taylor@thrivehomes.org.uk or 0800 917 6077",
    understanding=(
        "Your bathroom ceiling has been leaking since September. You reported it three times, "
        "and each time the repair appointment was cancelled without warning."
    ),
    outcome_sought="Fix the leak this month and pay for the damaged carpet.",
    acknowledged=date(2026, 11, 20),
)
STAGE2 = CaseFacts(
    ref="CMP-2026-00042",
    stage=2,
    received=date(2026, 11, 20),
    respond_by=date(2027, 1, 20),
    handler_name="Priya Shah",
    handler_contact="priya.shah@thrivehomes.org.uk",
    understanding=STAGE1.understanding,
    outcome_sought=STAGE1.outcome_sought,
    responsibility=(
        "We are responsible for the leak and the missed appointments. The carpet is your own "
        "contents, so a claim for it may go to your home contents insurer; we will explain how."
    ),
    escalated=date(2026, 12, 14),
    acknowledged=date(2026, 12, 15),
)

ACTIONS = (
    Action("Replace the section of roof felt above the bathroom", date(2026, 12, 18)),
    Action("Redecorate the bathroom ceiling", date(2027, 1, 15)),
)


def build(kind: str, recipient: Recipient = RESIDENT) -> dict[str, object]:
    """A fixed context for each kind, built the way the product builds it."""
    if kind == "stage1_acknowledgement":
        return letters.stage1_acknowledgement(LANDLORD, recipient, STAGE1)
    if kind == "stage2_acknowledgement":
        return letters.stage2_acknowledgement(LANDLORD, recipient, STAGE2)
    if kind == "extension_notice":
        return letters.extension_notice(
            LANDLORD,
            recipient,
            STAGE1,
            original_respond_by=date(2026, 12, 4),
            new_respond_by=date(2026, 12, 18),
            reason="We are waiting for a roofing contractor's report on the cause of the leak.",
            next_contact=date(2026, 12, 11),
        )
    if kind in ("stage1_response", "stage2_final_response"):
        final = kind == "stage2_final_response"
        return letters.stage_response(
            LANDLORD,
            recipient,
            STAGE2 if final else STAGE1,
            decision="partly_upheld",
            points=(
                ("The leak has not been fixed.", "You are right. We should have fixed it sooner."),
                ("Appointments were cancelled.", "Two were cancelled by our contractor."),
            ),
            reasons=(
                "Our repairs policy says we fix leaks within 20 working days. We did not do this. "
                "The carpet is covered by your contents insurance under your tenancy agreement."
            ),
            remedy="We will pay you £150 for the time and trouble this has caused.",
            actions=ACTIONS,
            final=final,
        )
    if kind == "refusal":
        return letters.refusal(
            LANDLORD,
            recipient,
            ref="CMP-2026-00043",
            received=date(2026, 11, 20),
            reason_code="insurance_claim",
            reasons_text="You asked us to pay for a car damaged by a falling branch.",
            where_instead="",
        )
    if kind == "service_request_acknowledgement":
        return letters.service_request_acknowledgement(
            LANDLORD,
            recipient,
            ref="SR-2026-00101",
            received=date(2026, 11, 20),
            summary="Please fix the broken kitchen cupboard door.",
            next_steps="A repairs operative will call you to book a visit.",
            due_by=date(2026, 12, 18),
        )
    if kind == "survey_reply":
        return letters.survey_reply(
            LANDLORD, recipient, ref="SV-2026-00007", received=date(2026, 11, 20)
        )
    if kind == "receipt":
        return letters.receipt(
            LANDLORD,
            recipient,
            ref="CMP-2026-00044",
            received=date(2026, 11, 20),
            hear_by=date(2026, 11, 27),
        )
    if kind == "hazard_notification":  # Awaab's Law (issue 11)
        return letters.hazard_notification(
            LANDLORD,
            ref="CMP-2026-00045",
            team_name="Damp and mould team",
            team_email="dampandmould@thrivehomes.org.uk",
            title="Damp and mould",
            severity="significant",
            aware_at="Friday 20 November 2026 at 09:14",
            investigate_by="Friday 4 December 2026",
            words=("There is black mould on the wall behind my daughter's bed.",),
            reasons=("Damp and mould: 'mould'",),
            resident_name=recipient.name,
            resident_email=recipient.email,
            label="complaint",
        )
    if kind == "hazard_summary":  # Awaab's Law (issue 11)
        return letters.hazard_summary(
            LANDLORD,
            recipient,
            ref="CMP-2026-00045",
            hazard="Damp and mould",
            investigated=date(2026, 12, 1),
            findings="Water is getting in through a cracked gutter above the bedroom window.",
            works=ACTIONS,
            no_work_reason="",
            keep_safe="Keep the bedroom window open a little during the day.",
        )
    raise AssertionError(kind)


KINDS = tuple(SPECS)


def test_the_nine_kinds_of_the_spec_are_declared() -> None:
    assert set(KINDS) == {
        "stage1_acknowledgement",
        "stage2_acknowledgement",
        "extension_notice",
        "stage1_response",
        "stage2_final_response",
        "refusal",
        "service_request_acknowledgement",
        "survey_reply",
        "receipt",
        # Awaab's Law (issue 11): the team told at once, and the written summary (reg 9).
        "hazard_notification",
        "hazard_summary",
    }
    assert SPECS["stage1_acknowledgement"].required == (
        "reference",
        "stage",
        "date_received",
        "understanding",
        "outcome_sought_or_clarification",
        "responsibility",
        "respond_by",
        "handler",
        "how_to_add_information",
        "reasonable_adjustments",
        "representative_right",
        "ombudsman",
    )


# --- golden renderings ------------------------------------------------------------------------


def _compare_golden(path: Path, actual: str) -> None:
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} is missing; run with UPDATE_GOLDEN=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert actual == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from the approved rendering; if intended, rerun with "
        "UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_rendering_matches_the_approved_golden(kind: str) -> None:
    letter = render_letter(kind, build(kind))
    _compare_golden(GOLDEN_DIR / f"{kind}.txt", f"Subject: {letter.subject}\n\n{letter.text}")
    _compare_golden(GOLDEN_DIR / f"{kind}.html", letter.html)


@pytest.mark.parametrize("kind", KINDS)
def test_subject_carries_the_reference_and_kind_is_recorded(kind: str) -> None:
    context = build(kind)
    letter = render_letter(kind, context)
    assert isinstance(letter, RenderedLetter)
    assert letter.kind == kind
    assert letter.ref == context["ref"]
    assert str(context["ref"]) in letter.subject
    assert "\n" not in letter.subject
    assert letter.subject.startswith("Your ")


# --- required elements ------------------------------------------------------------------------

ELEMENT_CASES = [(kind, element) for kind in KINDS for element in SPECS[kind].required]


@pytest.mark.parametrize(("kind", "element"), ELEMENT_CASES)
@pytest.mark.parametrize("how", ["deleted", "none", "blank"])
def test_letter_is_refused_when_a_required_element_is_missing(
    kind: str, element: str, how: str
) -> None:
    context = build(kind)
    assert element in context, f"the {kind} builder does not fill {element}"
    if how == "deleted":
        del context[element]
    elif how == "none":
        context[element] = None
    else:
        value = context[element]
        if isinstance(value, Mapping):
            # A block with one blank part (e.g. the Ombudsman's phone) is incomplete.
            context[element] = {**value, next(iter(value)): "   "}
        elif isinstance(value, list | tuple):
            context[element] = []
        elif isinstance(value, str):
            context[element] = "  \n "
        else:
            context[element] = None
    with pytest.raises(MissingLetterElement) as refused:
        render_letter(kind, context)
    assert refused.value.element == element
    assert refused.value.kind == kind
    assert element in str(refused.value)


def _leaves(value: object) -> list[str]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, bool):
        return []
    return [str(value)]


def _plain(html: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize(("kind", "element"), ELEMENT_CASES)
def test_every_required_element_reaches_both_renderings(kind: str, element: str) -> None:
    """A template that drops a required element is caught, not only a builder that does."""
    context = build(kind)
    letter = render_letter(kind, context)
    text, html_text = " ".join(letter.text.split()), _plain(letter.html)
    for leaf in _leaves(context[element]):
        needle = " ".join(leaf.split())
        assert needle in text, f"{kind}.txt does not show {element}: {needle!r}"
        assert needle in html_text, f"{kind}.html does not show {element}: {needle!r}"


def test_check_required_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown letter kind"):
        check_required("thank_you_note", {})
    with pytest.raises(ValueError, match="unknown letter kind"):
        render_letter("thank_you_note", {"ref": "X"})


def test_context_built_for_another_kind_is_refused() -> None:
    context = build("stage1_acknowledgement")
    context["kind"] = "receipt"
    with pytest.raises(ValueError, match="built for"):
        render_letter("stage1_acknowledgement", context)


def test_acknowledgement_without_a_response_date_is_refused() -> None:
    case = replace(STAGE1, respond_by=None)
    context = letters.stage1_acknowledgement(LANDLORD, RESIDENT, case)
    with pytest.raises(MissingLetterElement) as refused:
        render_letter("stage1_acknowledgement", context)
    assert refused.value.element == "respond_by"


def test_stage2_acknowledgement_without_an_escalation_date_is_refused() -> None:
    case = replace(STAGE2, escalated=None)
    context = letters.stage2_acknowledgement(LANDLORD, RESIDENT, case)
    with pytest.raises(MissingLetterElement) as refused:
        render_letter("stage2_acknowledgement", context)
    assert refused.value.element == "escalation_date"


def test_missing_ombudsman_phone_in_the_profile_is_refused() -> None:
    broken = replace(LANDLORD, ombudsman=replace(LANDLORD.ombudsman, phone=""))
    context = letters.receipt(
        broken, RESIDENT, ref="CMP-1", received=date(2026, 11, 20), hear_by=date(2026, 11, 27)
    )
    with pytest.raises(MissingLetterElement) as refused:
        render_letter("receipt", context)
    assert refused.value.element == "ombudsman"


# --- content the Code asks for ----------------------------------------------------------------


def test_acknowledgement_asks_for_each_missing_detail() -> None:
    case = replace(STAGE1, outcome_sought="", missing_details=("issue", "started", "staff_names"))
    letter = render_letter(
        "stage1_acknowledgement", letters.stage1_acknowledgement(LANDLORD, RESIDENT, case)
    )
    for body in (letter.text, _plain(letter.html)):
        assert "What exactly are you unhappy about?" in body
        assert "When did the problem start?" in body
        assert "The names of anyone at Thrive you have spoken to about this" in body
        assert "What would you like us to do to put things right?" in body
        assert "You have not told us yet what you would like us to do" in body


def test_acknowledgement_with_everything_known_asks_nothing_more() -> None:
    letter = render_letter("stage1_acknowledgement", build("stage1_acknowledgement"))
    assert "We need a little more information" not in letter.text
    assert "You told us this is what you would like us to do:" in letter.text
    assert STAGE1.outcome_sought in letter.text


def test_only_the_known_missing_details_can_be_asked_for() -> None:
    case = replace(STAGE1, missing_details=("shoe_size",))
    with pytest.raises(ValueError, match="shoe_size"):
        letters.stage1_acknowledgement(LANDLORD, RESIDENT, case)


def test_acknowledgement_gives_a_default_responsibility_sentence() -> None:
    context = build("stage1_acknowledgement")
    assert "responsible" in str(context["responsibility"])


def test_large_print_variant_uses_larger_type() -> None:
    standard = render_letter("stage1_acknowledgement", build("stage1_acknowledgement"))
    large_recipient = Recipient(name=RESIDENT.name, email=RESIDENT.email, large_print=True)
    large = render_letter(
        "stage1_acknowledgement", build("stage1_acknowledgement", large_recipient)
    )
    assert standard.html != large.html
    assert "font-size: 18px" in standard.html
    assert "font-size: 24px" in large.html
    assert 'class="large-print"' in large.html


def test_html_is_accessible_basics() -> None:
    letter = render_letter("stage1_response", build("stage1_response"))
    assert '<html lang="en-GB">' in letter.html
    assert "<h1>" in letter.html and "<h2>" in letter.html
    assert "<main" in letter.html and "<footer" in letter.html
    assert "color: #1a1a1a" in letter.html and "background: #ffffff" in letter.html


def test_resident_text_is_escaped_in_html() -> None:
    case = replace(
        STAGE1,
        understanding='The door <script>alert("x")</script> & the window',
        outcome_sought="<b>Now</b>",
    )
    letter = render_letter(
        "stage1_acknowledgement", letters.stage1_acknowledgement(LANDLORD, RESIDENT, case)
    )
    assert "<script>" not in letter.html
    assert "&lt;script&gt;" in letter.html
    assert "&amp; the window" in letter.html
    assert "<b>Now</b>" not in letter.html
    # The plain text keeps the resident's words as they wrote them.
    assert '<script>alert("x")</script>' in letter.text


def test_resident_line_breaks_become_paragraphs_in_html() -> None:
    case = replace(STAGE1, understanding="First point.\n\nSecond point.")
    letter = render_letter(
        "stage1_acknowledgement", letters.stage1_acknowledgement(LANDLORD, RESIDENT, case)
    )
    assert "<p>First point.</p>\n<p>Second point.</p>" in letter.html


def test_line_break_in_the_subject_is_refused() -> None:
    context = build("receipt")
    context["ref"] = "CMP-1\r\nBcc: victim@example.org"
    context["reference"] = context["ref"]
    with pytest.raises(ValueError, match="line break"):
        render_letter("receipt", context)


@pytest.mark.parametrize("kind", [k for k in KINDS if "ombudsman" in SPECS[k].required])
def test_ombudsman_details_appear_where_required(kind: str) -> None:
    letter = render_letter(kind, build(kind))
    ombudsman = LANDLORD.ombudsman
    for body in (letter.text, _plain(letter.html)):
        for detail in (
            ombudsman.name,
            ombudsman.website,
            ombudsman.phone,
            ombudsman.email,
            ombudsman.postal_address,
        ):
            assert detail in body, f"{kind} lacks {detail}"
    assert f'href="https://{ombudsman.website}"' in letter.html
    assert f'href="mailto:{ombudsman.email}"' in letter.html


def test_acknowledgements_say_the_ombudsman_can_be_contacted_at_any_time() -> None:
    for kind in ("stage1_acknowledgement", "stage2_acknowledgement", "receipt"):
        assert "at any time" in render_letter(kind, build(kind)).text


def test_stage1_response_explains_how_to_escalate() -> None:
    letter = render_letter("stage1_response", build("stage1_response"))
    text = letter.text
    assert "If you are not happy with this response" in text
    assert "stage 2" in text
    assert "Reply to this email keeping CMP-2026-00042 in the subject" in text
    assert LANDLORD.complaints_email in text
    assert "You do not have to tell us why" in text
    assert "This is our final response" not in text


def test_stage1_response_can_give_a_date_to_escalate_by() -> None:
    context = letters.stage_response(
        LANDLORD,
        RESIDENT,
        STAGE1,
        decision="upheld",
        points=(),
        reasons="We missed the appointment.",
        remedy="An apology and £50.",
        actions=(),
        final=False,
        escalate_by=date(2027, 1, 8),
    )
    assert "by Friday 8 January 2027" in render_letter("stage1_response", context).text


def test_stage2_final_response_says_it_is_final_and_names_the_ombudsman_route() -> None:
    letter = render_letter("stage2_final_response", build("stage2_final_response"))
    text = letter.text
    assert "This is our final response" in text
    assert "it is our final response" in text
    assert f"you can now ask the {LANDLORD.ombudsman.name} to look into your complaint" in text
    assert "go to stage 2" not in text


def test_response_shows_decision_in_plain_words_and_actions_with_dates() -> None:
    text = render_letter("stage1_response", build("stage1_response")).text
    assert "Our decision: Partly upheld" in text
    assert "We have partly upheld your complaint." in text
    assert "- Replace the section of roof felt above the bathroom, by Friday 18 December 2026" in (
        text
    )
    assert "You told us: The leak has not been fixed." in text


def test_response_without_actions_says_so() -> None:
    context = letters.stage_response(
        LANDLORD,
        RESIDENT,
        STAGE1,
        decision="not_upheld",
        points=(),
        reasons="The appointment was kept.",
        remedy="",
        actions=(),
        final=False,
    )
    text = render_letter("stage1_response", context).text
    assert "There is nothing more for us to do on this complaint." in text
    assert "We are not offering a remedy, because we have not found" in text


def test_upheld_complaint_without_a_remedy_or_a_reason_is_refused() -> None:
    context = letters.stage_response(
        LANDLORD,
        RESIDENT,
        STAGE1,
        decision="upheld",
        points=(),
        reasons="We missed the appointment.",
        remedy="",
        actions=(),
        final=False,
    )
    with pytest.raises(MissingLetterElement) as refused:
        render_letter("stage1_response", context)
    assert refused.value.element == "remedy"


def test_upheld_complaint_with_a_stated_reason_for_no_remedy_is_accepted() -> None:
    context = letters.stage_response(
        LANDLORD,
        RESIDENT,
        STAGE1,
        decision="upheld",
        points=(),
        reasons="We missed the appointment.",
        remedy="",
        no_remedy_reason="The repair was done the next day and you told us that was enough.",
        actions=(),
        final=False,
    )
    text = render_letter("stage1_response", context).text
    assert "We are not offering a remedy. The repair was done the next day" in text


@pytest.mark.parametrize(
    "call",
    [
        lambda: letters.stage_response(
            LANDLORD,
            RESIDENT,
            STAGE1,
            decision="maybe",
            points=(),
            reasons="r",
            remedy="x",
            actions=(),
            final=False,
        ),
        lambda: letters.stage_response(
            LANDLORD,
            RESIDENT,
            STAGE1,
            decision="upheld",
            points=(),
            reasons="r",
            remedy="x",
            actions=(),
            final=True,
        ),
        lambda: letters.stage1_acknowledgement(LANDLORD, RESIDENT, STAGE2),
        lambda: letters.refusal(
            LANDLORD,
            RESIDENT,
            ref="R",
            received=date(2026, 1, 1),
            reason_code="because",
            reasons_text="x",
            where_instead="y",
        ),
    ],
    ids=["unknown-decision", "final-response-for-stage-1-case", "stage-mismatch", "bad-reason"],
)
def test_builder_misuse_is_a_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_stage2_acknowledgement_invites_but_does_not_demand_a_reason() -> None:
    text = render_letter("stage2_acknowledgement", build("stage2_acknowledgement")).text
    assert "You do not have to tell us why you are still unhappy" in text
    assert "We received your request on Monday 14 December 2026" in text
    assert "We will send you our final response by Wednesday 20 January 2027" in text


def test_refusal_gives_reasons_and_where_to_go_from_the_profile() -> None:
    text = render_letter("refusal", build("refusal")).text
    assert "This is an insurance claim." in text
    assert "You asked us to pay for a car" in text
    assert LANDLORD.elsewhere["insurance_claim"] in text
    assert "If you do not agree with our decision, you can ask the" in text


def test_service_request_acknowledgement_says_how_to_complain() -> None:
    text = render_letter(
        "service_request_acknowledgement", build("service_request_acknowledgement")
    ).text
    assert "request for a service" in text
    assert "We aim to do this by Friday 18 December 2026" in text
    assert LANDLORD.complaints_email in text
    assert "you can make a complaint" in text


def test_letter_to_a_representative_names_the_resident() -> None:
    letter = render_letter("stage1_acknowledgement", build("stage1_acknowledgement", REP))
    assert letter.text.startswith("Dear Cllr Jide Okafor,")
    assert "you are acting for Ms Amina Patel" in letter.text
    assert "you are acting for Ms Amina Patel" in letter.html


def test_dates_are_written_in_full() -> None:
    assert letters.format_date(date(2026, 12, 4)) == "Friday 4 December 2026"


def test_domain_module_does_not_import_jinja() -> None:
    source = Path(letters.__file__).read_text(encoding="utf-8")
    assert "jinja2" not in source


def test_refusal_to_escalate_says_so_plainly() -> None:
    context = letters.refusal(
        LANDLORD,
        RESIDENT,
        ref="CMP-2026-00042",
        received=date(2026, 12, 14),
        reason_code="escalation_refused",
        reasons_text="Legal proceedings about the leak were filed at court on 1 December 2026.",
        where_instead="Your solicitor, or the court dealing with the claim.",
    )
    text = render_letter("refusal", context).text
    assert "we cannot take your complaint to stage 2" in text
    assert "Who can help: Your solicitor, or the court dealing with the claim." in text


def _template_dir(tmp_path: Path, subject: str, body: str) -> Path:
    kind_dir = tmp_path / "receipt"
    kind_dir.mkdir(parents=True)
    (kind_dir / "subject.txt").write_text(subject, encoding="utf-8")
    (kind_dir / "body.txt").write_text(body, encoding="utf-8")
    (kind_dir / "body.html").write_text("<p>{{ ref }}</p>", encoding="utf-8")
    return tmp_path


def test_subject_without_the_reference_is_refused(tmp_path: Path) -> None:
    templates = _template_dir(tmp_path, "We got your message\n", "{{ ref }}")
    with pytest.raises(ValueError, match="reference"):
        render_letter("receipt", build("receipt"), template_dir=templates)


def test_undefined_template_variable_is_an_error(tmp_path: Path) -> None:
    templates = _template_dir(tmp_path, "Your message {{ ref }}\n", "{{ no_such_thing }}")
    with pytest.raises(jinja2.UndefinedError):
        render_letter("receipt", build("receipt"), template_dir=templates)


def test_an_edited_included_template_takes_effect_within_the_recheck_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "letter_templates"
    shutil.copytree(templates.DEFAULT_TEMPLATE_DIR, folder)
    clock = [1000.0]
    monkeypatch.setattr(templates, "monotonic", lambda: clock[0])
    kind = "stage1_acknowledgement"
    before = render_letter(kind, build(kind), folder)
    footer = folder / "_footer.txt"  # included by the base the letter extends
    footer.write_text(footer.read_text(encoding="utf-8") + "EDITED FOOTER\n", encoding="utf-8")
    stat = footer.stat()
    os.utime(footer, (stat.st_atime, stat.st_mtime + 5))  # a change the file system can see
    clock[0] += templates.RECHECK_SECONDS / 2
    assert render_letter(kind, build(kind), folder).text == before.text  # not looked at yet
    clock[0] += templates.RECHECK_SECONDS
    assert "EDITED FOOTER" in render_letter(kind, build(kind), folder).text


def test_dotted_names_on_dicts_read_as_jinja_reads_them(tmp_path: Path) -> None:
    body = (
        "{{ landlord.name }}|{{ extra.items is callable }}|{{ extra['items'] }}|"
        "{{ extra.get('x', 'none') }}|{{ extra.x }}|{{ letters_made }}"
    )
    folder = _template_dir(tmp_path, "Your message {{ ref }}\n", body)
    context = {
        **build("receipt"),
        "extra": {"items": "a key named items", "x": 1},
        "letters_made": {"kind": "receipt"},
    }
    plain = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined
    )
    ours = templates.environment(folder)
    want = plain.get_template("receipt/body.txt").render(context)
    assert ours.get_template("receipt/body.txt").render(context) == want
    assert want.startswith(f"{context['landlord']['name']}|True|a key named items|1|1|")


def test_a_missing_key_read_with_a_dot_is_still_an_error(tmp_path: Path) -> None:
    folder = _template_dir(tmp_path, "Your message {{ ref }}\n", "{{ landlord.no_such_field }}")
    with pytest.raises(jinja2.UndefinedError, match="no_such_field"):
        render_letter("receipt", build("receipt"), template_dir=folder)
