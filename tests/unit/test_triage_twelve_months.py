"""The 12-month rule counts an issue's age as the Code does (2.2, 2.3): from when it last
happened or when the resident became aware of it, not from the oldest year in the message.

Each row is a realistic message with the received date it came in on. Both directions: matters
that are current, ongoing, recently refused or recently discovered are not proposed as over 12
months, however many past years they mention; finished matters that certainly arose more than 12
months before receipt still are.
"""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain.triage_rules import issue_older_than_12_months

# (message, received) -> the rule must not fire: the matter is live.
CURRENT = [
    pytest.param(
        "I have been your tenant since 2014 and never complained before. Three weeks ago water "
        "started coming through the kitchen ceiling. The ceiling is now bulging.",
        date(2025, 11, 12),
        id="tenancy-year-is-background-leak-is-now",
    ),
    pytest.param(
        "My boiler was put in back in 2019. Since Friday it keeps showing an F28 code and there "
        "is no heating or hot water.",
        date(2025, 12, 8),
        id="installed-year-breakdown-since-friday",
    ),
    pytest.param(
        "I first asked for a level access shower in 2022. Last week I received your letter "
        "refusing it because the bathroom is too small.",
        date(2025, 9, 22),
        id="refused-last-week",
    ),
    pytest.param(
        "I applied for the ramp in 2022 and you have now refused it without visiting.",
        date(2025, 9, 22),
        id="has-now-refused",
    ),
    pytest.param(
        "When I moved in the EPC was rated E from a 2016 survey. The insulation was done in May "
        "and since then there is condensation running down every wall.",
        date(2025, 10, 30),
        id="last-rated-year-and-yearless-month",
    ),
    pytest.param(
        "Roof repaired feb 2024 but leak back in the back bedroom, bucket out every time it "
        "rains. reported on the 3rd, no one came.",
        date(2025, 11, 21),
        id="earlier-repair-failed-again",
    ),
    pytest.param(
        "The damp was treated in 2023. It has come back this autumn in the same corner.",
        date(2025, 11, 4),
        id="recurrence-this-autumn",
    ),
    pytest.param(
        "You moved us out in 2024 for the refurbishment. We were told on Monday that we can't "
        "go back.",
        date(2025, 10, 16),
        id="decision-on-monday",
    ),
    pytest.param(
        "The windows were replaced by your contractor in 2020. Two of them will not lock now "
        "and the bedroom one has dropped.",
        date(2025, 11, 25),
        id="present-fault-after-old-work",
    ),
    pytest.param(
        "Your letter dated 28 August refuses the succession. My brother has lived in the flat "
        "since 2009.",
        date(2025, 9, 15),
        id="letter-dated-without-year",
    ),
    pytest.param(
        "The fence blew down in February 2024. I only found out yesterday that it is your "
        "fence after all.",
        date(2025, 8, 19),
        id="only-just-found-out",
    ),
    pytest.param(
        "The leak from the flat above that started in 2023 has never been traced. It drips "
        "every time they run the bath.",
        date(2025, 10, 24),
        id="ongoing-since-2023",
    ),
    pytest.param(
        "I'm 67, born in 1958, and I've never been spoken to like I was by your income officer "
        "on Friday.",
        date(2025, 9, 15),
        id="birth-year-is-background",
    ),
    pytest.param(
        "The estate was built in 1974 and the drains are too small. Our sink has backed up "
        "three times since September.",
        date(2025, 11, 20),
        id="built-year-is-background",
    ),
    pytest.param(
        "the heating went off in November 2024 for two weeks, and now it has gone off again, "
        "since Sunday",
        date(2025, 12, 3),
        id="repeat-of-an-old-outage",
    ),
    pytest.param(
        "Your stage 1 response says my complaint is out of time because the leak first "
        "happened in 2023. But it leaked again last Thursday.",
        date(2025, 10, 27),
        id="leaked-again-last-thursday",
    ),
]

# (message, received) -> the rule proposes over_12_months: the matter is finished and old.
OLD = [
    pytest.param(
        "I have been your tenant since 2014. In March 2023 water came through my kitchen "
        "ceiling. Your plumber fixed the pipe the same week. I would like £80 for the rug.",
        date(2025, 11, 12),
        id="tenancy-year-does-not-hide-an-old-leak",
    ),
    pytest.param(
        "In 2022 I asked for a level access shower and you refused it in a letter in January "
        "2023. We paid for a walk-in shower ourselves in the summer of 2023.",
        date(2025, 9, 22),
        id="old-refusal-since-resolved",
    ),
    pytest.param(
        "When we moved in on 3 April 2023 we were promised a decorating voucher for £200 and "
        "never received it.",
        date(2025, 6, 30),
        id="promise-made-at-move-in",
    ),
    pytest.param(
        "When the new bathroom was fitted in March 2024 the fitters took away my bathroom "
        "cabinet by mistake. Everything works fine.",
        date(2025, 7, 15),
        id="damage-during-old-works",
    ),
    pytest.param(
        "In 2023 the people upstairs had laminate put down and the noise was terrible until "
        "they moved out in early 2024.",
        date(2025, 10, 14),
        id="early-year-means-spring",
    ),
    pytest.param(
        "In 2019 I reported my neighbour and your officer did nothing. The neighbour moved out "
        "in 2021. I still feel badly let down.",
        date(2025, 11, 27),
        id="still-feel-is-not-still-happening",
    ),
    pytest.param(
        "In 2022 and early 2023 the cleaning was not done for about 6 months. It has been fine "
        "since the new contractor started in April 2023.",
        date(2025, 6, 10),
        id="fine-since-is-not-ongoing",
    ),
    pytest.param(
        "Your surveyor didn't come to an appointment on 3 January 2024. The survey was done the "
        "next week. I want my day's pay.",
        date(2025, 3, 18),
        id="specific-date-beats-the-year",
    ),
    pytest.param(
        "About 18 months ago a contractor of yours reversed into my car. The car has been "
        "repaired by me since.",
        date(2025, 10, 28),
        id="months-ago",
    ),
]


@pytest.mark.parametrize(("text", "received"), CURRENT)
def test_a_current_or_recent_matter_is_not_over_12_months(text: str, received: date) -> None:
    assert issue_older_than_12_months(text, received) is None


@pytest.mark.parametrize(("text", "received"), OLD)
def test_a_finished_matter_older_than_12_months_is_proposed(text: str, received: date) -> None:
    hit = issue_older_than_12_months(text, received)
    assert hit is not None
    assert hit.reason == "over_12_months"
    assert received.isoformat() in hit.why


def test_the_same_story_flips_when_the_problem_is_still_there() -> None:
    old = "In February 2024 your contractors damaged my garden fence. I'd like it replaced."
    assert issue_older_than_12_months(old, date(2025, 9, 15)) is not None
    current = old + " It is still hanging off and the dog gets out."
    assert issue_older_than_12_months(current, date(2025, 9, 15)) is None


def test_a_background_year_alone_gives_no_age_to_the_issue() -> None:
    text = "My tenancy began in 2019. I want to complain that your officer was rude to me."
    assert issue_older_than_12_months(text, date(2025, 9, 15)) is None
