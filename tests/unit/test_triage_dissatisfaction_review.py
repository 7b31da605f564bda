"""A confident non-complaint label never hides a resident's words of dissatisfaction."""

from datetime import date

from classifiers.triage import TriageInput, Triager


def triage(body: str) -> tuple[str, bool, tuple[str, ...]]:
    result = Triager.load().triage(
        TriageInput(
            id="t",
            subject="Gas",
            body=body,
            from_addr="kevin@example.org",
            received=date(2026, 11, 20),
            channel="email",
        )
    )
    return result.label, result.needs_review, result.reasons


def test_a_repair_report_that_says_we_should_be_ashamed_goes_to_a_person() -> None:
    label, needs_review, reasons = triage(
        "There is a strong smell of gas in the kitchen; it started in the summer and continues "
        "to this day. You should be ashamed."
    )
    assert label == "complaint" or needs_review
    assert any("dissatisfaction" in r for r in reasons)


def test_a_plain_first_repair_report_is_not_sent_to_a_person() -> None:
    label, needs_review, _ = triage(
        "Hello, the tap in my kitchen has started dripping. Could someone come and fix it please? "
        "I am in most mornings. Thanks."
    )
    assert label == "service_request"
    assert not needs_review
