"""Code 6.8: a reply that shares no subject matter with its case is shown to a person."""

import pytest

from worker.domain.relatedness import content_words, seems_related

CASE = "Water has been coming through my bathroom ceiling since September; the leak is not fixed."


@pytest.mark.parametrize(
    "reply",
    [
        "The ceiling stain is getting bigger and the leak is worse after the rain.",
        "More photos of the bathroom attached.",
        "Thanks, any news?",  # nothing to judge by: stays with its case
    ],
)
def test_replies_about_the_same_matter_are_related(reply: str) -> None:
    assert seems_related(reply, CASE)


@pytest.mark.parametrize(
    "reply",
    [
        "Also my neighbour's dog barks all night and the caretaker was rude to my husband.",
        "Separately, my rent statement shows a charge for garage parking I never had.",
    ],
)
def test_replies_about_something_else_are_not(reply: str) -> None:
    assert not seems_related(reply, CASE)


def test_plurals_and_stop_words_do_not_count() -> None:
    assert content_words("Leaks and the complaint about leaks, please") == frozenset({"leak"})
