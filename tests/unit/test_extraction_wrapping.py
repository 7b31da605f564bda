"""Mail clients wrap lines: the understanding of a complaint must not stop at a line break."""

from datetime import date

from worker.domain.extraction import extract

WRAPPED = (
    "Hi,\n\n"
    "I live on the 5th floor of Beechwood House. The fire door between the\n"
    "stairwell and our corridor hasn't closed by itself since the end of\n"
    "September and people prop it open.\n\n"
    "Olu\n"
)


def test_a_sentence_wrapped_over_lines_is_kept_whole() -> None:
    issue = extract("Fire door", WRAPPED, date(2026, 11, 9)).issue
    assert "fire door between the stairwell and our corridor" in issue.lower()
    assert not issue.endswith("between the")


def test_a_blank_line_still_ends_a_paragraph() -> None:
    issue = extract("Fire door", WRAPPED, date(2026, 11, 9)).issue
    assert "Olu" not in issue
