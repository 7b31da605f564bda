"""Potential hazards found in realistic messages (Awaab's Law, SPEC section 11), and near misses
left alone. Complaints, first repair reports and chasers alike: detection ignores the label."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from worker.domain.hazards import HazardRules, detect, parse_rules

CONFIG = Path(__file__).resolve().parents[2] / "config" / "hazards.toml"


@pytest.fixture(scope="module")
def rules() -> HazardRules:
    return parse_rules(tomllib.loads(CONFIG.read_text(encoding="utf-8")))


# (subject, body, the kinds expected). Written as residents write: run-on sentences, no
# capitals, chasers, complaints and first reports.
REPORTS: list[tuple[str, str, set[str]]] = [
    # -- damp and mould (significant) ----------------------------------------------------------
    (
        "Mould in my daughter's room",
        "Hi, there is black mould growing on the wall behind my daughter's bed. She is 4 and "
        "keeps coughing at night. Please can someone come and look.",
        {"damp_mould"},
    ),
    (
        "Complaint - still waiting",
        "I reported damp in the bathroom three months ago and nobody has come. The ceiling is "
        "now covered in black spots and the paint is peeling. I am really unhappy with how this "
        "has been handled.",
        {"damp_mould"},
    ),
    (
        "repair",
        "the walls in the back bedroom are wet to touch every morning and theres a musty smell",
        {"damp_mould"},
    ),
    (
        "Chasing CMP-2026-00012",
        "Just chasing this up. The mould has spread to the kitchen cupboards now and our clothes "
        "smell.",
        {"damp_mould"},
    ),
    (
        "Condensation",
        "There is condensation running down the walls in every room, the windows are streaming "
        "and the sills are rotting.",
        {"damp_mould"},
    ),
    (
        "Leak",
        "Rain water is coming in through the bedroom ceiling whenever it rains and the carpet "
        "is soaking.",
        {"damp_mould"},
    ),
    (
        "Asthma and damp",
        "My son has asthma and the GP says the damp in our flat is making it worse. Can you "
        "please send someone.",
        {"damp_mould"},
    ),
    (
        "mould came back",
        "Your contractor treated the mould in May but it has come back worse than before on "
        "the bathroom ceiling.",
        {"damp_mould"},
    ),
    (
        "Mildew",
        "There is mildew on the curtains and on the wall behind the wardrobe.",
        {"damp_mould"},
    ),
    (
        "",
        "Hello I am writing about fungus growing out of the skirting board in the hallway.",
        {"damp_mould"},
    ),
    (
        "Bathroom extractor fan",
        "The extractor fan has not worked since March and now there is mould round the bath and "
        "on the ceiling.",
        {"damp_mould"},
    ),
    (
        "Webform: repair request",
        "Damp patch on the living room wall getting bigger. Flat 3, 12 Oak Road.",
        {"damp_mould"},
    ),
    # -- emergencies ---------------------------------------------------------------------------
    (
        "URGENT gas",
        "I can smell gas in the kitchen near the cooker, it has been getting stronger all evening.",
        {"gas_smell"},
    ),
    (
        "Carbon monoxide alarm",
        "The carbon monoxide alarm in the hall keeps going off and I have two kids at home.",
        {"gas_smell"},
    ),
    (
        "Gas leak",
        "I think there is a gas leak by the boiler cupboard.",
        {"gas_smell"},
    ),
    (
        "No heating",
        "We have had no heating for three days. My baby is six weeks old and it is freezing at "
        "night.",
        {"no_heating_vulnerable"},
    ),
    (
        "Boiler broken",
        "The boiler stopped working on Friday so there is no hot water or heating. My mum is 84 "
        "and on oxygen.",
        {"no_heating_vulnerable"},
    ),
    (
        "complaint about boiler",
        "This is the third time the boiler has packed up this winter. I am disabled and cannot "
        "keep warm. I want to complain about the contractor.",
        {"no_heating_vulnerable"},
    ),
    (
        "Water in light fitting",
        "Water is dripping out of the light fitting in the bathroom from the flat above.",
        {"water_electrics"},
    ),
    (
        "Leak onto fuse box",
        "There is a leak from the ceiling right onto the fuse box in the hall cupboard.",
        {"water_electrics"},
    ),
    (
        "Socket sparking",
        "The socket in the kitchen is sparking and there is a burning smell from the socket.",
        {"exposed_wiring"},
    ),
    (
        "Wires",
        "Since the electrician left there are bare wires hanging out of the wall in the hallway.",
        {"exposed_wiring"},
    ),
    (
        "Ceiling",
        "Part of the kitchen ceiling collapsed last night, there is plaster everywhere and the "
        "rest is sagging.",
        {"structural_collapse"},
    ),
    (
        "Crack",
        "There is a huge crack in the wall above the front door and it is getting bigger every "
        "day.",
        {"structural_collapse"},
    ),
    (
        "Balcony",
        "The balcony floor is giving way at the edge and I am scared to go out on it.",
        {"structural_collapse"},
    ),
    (
        "Window restrictor",
        "The window restrictor in my toddler's bedroom is broken and the window opens fully. We "
        "are on the 6th floor.",
        {"vulnerable_person_at_risk"},
    ),
    (
        "Banister",
        "The banister on the stairs is loose and coming away from the wall. My grandchildren "
        "stay with me every weekend.",
        # Recall first: a banister coming away is also a structure giving way.
        {"vulnerable_person_at_risk", "structural_collapse"},
    ),
    (
        "Lift",
        "The lift has been broken for a week and I am a wheelchair user on the 9th floor. I am "
        "trapped in my flat.",
        {"vulnerable_person_at_risk"},
    ),
    # -- more than one ------------------------------------------------------------------------
    (
        "Everything wrong",
        "No heating for days and my 2 year old has a cough from the mould in her room.",
        {"no_heating_vulnerable", "damp_mould"},
    ),
]

NEAR_MISSES: list[tuple[str, str]] = [
    (
        "Condensation advice",
        "Could you send me some advice on how to reduce condensation this winter? There is no "
        "mould, I just want to keep it that way.",
    ),
    (
        "Thank you",
        "Just to say the mould in the bathroom was treated last month and it has not come back. "
        "Great job, thank you.",
    ),
    (
        "Neighbour",
        "My neighbour's flat has terrible mould and she asked me to email you because she has "
        "no internet.",
    ),
    ("Tips", "How can I prevent damp in my new flat? Any tips welcome."),
    (
        "Gas safety check",
        "I got a letter saying my gas safety check is due next week. Can I change the date?",
    ),
    (
        "Boiler service",
        "My boiler service is booked for Tuesday, can the engineer come after 2pm?",
    ),
    ("Rent", "I want to complain that my rent went up by more than the letter said."),
    (
        "ASB",
        "The people next door play loud music until 3am every night and I am fed up with it.",
    ),
    (
        "Newsletter",
        "I read the article about damp and mould in your newsletter. Very interesting.",
    ),
    (
        "Heating fine",
        "The heating engineer came yesterday and everything is working now, thanks.",
    ),
    (
        "Fence",
        "The fence panel at the back of my garden blew down in the storm. Please can it be "
        "replaced.",
    ),
    ("Staff", "The officer who visited was rude to me and I want an apology."),
    (
        "Damp sorted",
        "The damp in the hall was fixed by your contractor and it is all clear now.",
    ),
    ("No mould", "We do not have any mould or damp, the problem is the kitchen door."),
]


@pytest.mark.parametrize(
    ("subject", "body", "kinds"), REPORTS, ids=[r[0] or r[1][:30] for r in REPORTS]
)
def test_each_report_is_detected_with_its_kind_and_reasons(
    rules: HazardRules, subject: str, body: str, kinds: set[str]
) -> None:
    found = detect(subject, body, rules)
    assert {d.kind for d in found} == kinds
    for detection in found:
        assert detection.reasons, "a detection always says why it fired"
        assert detection.words, "the resident's words are kept for the repairs team"


@pytest.mark.parametrize(("subject", "body"), NEAR_MISSES, ids=[n[0] for n in NEAR_MISSES])
def test_near_misses_are_left_alone(rules: HazardRules, subject: str, body: str) -> None:
    assert detect(subject, body, rules) == ()


def test_every_configured_kind_is_exercised(rules: HazardRules) -> None:
    seen = set().union(*(kinds for _s, _b, kinds in REPORTS))
    assert seen == set(rules.kinds())


def test_emergencies_come_first(rules: HazardRules) -> None:
    found = detect("", "No heating for days and my 2 year old has a cough from the mould.", rules)
    assert [d.severity for d in found] == ["emergency", "significant"]


def test_no_heating_alone_is_a_repair_not_an_emergency(rules: HazardRules) -> None:
    assert detect("Boiler", "The boiler is broken and there is no hot water.", rules) == ()


def test_quoted_earlier_mail_does_not_raise_a_hazard(rules: HazardRules) -> None:
    body = "Thanks, Tuesday is fine.\n\n> We will treat the mould on Tuesday.\n> Thrive Homes"
    assert detect("Re: your repair", body, rules) == ()


def test_the_subject_alone_can_report_a_hazard(rules: HazardRules) -> None:
    assert {d.kind for d in detect("Black mould in bedroom", "see photos", rules)} == {"damp_mould"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "no [[hazard]] entries"),
        (
            {"hazard": [{"kind": "x", "severity": "bad", "title": "X", "phrases": ["a"]}]},
            "severity",
        ),
        (
            {"hazard": [{"kind": "x", "severity": "emergency", "title": "X", "phrases": []}]},
            "phrases",
        ),
        (
            {"hazard": [{"kind": "x", "severity": "emergency", "title": "X", "phrases": ["("]}]},
            "bad pattern",
        ),
        ({"hazard": [{"kind": "x", "severity": "emergency", "phrases": ["a"]}]}, "title"),
        (
            {
                "hazard": [
                    {
                        "kind": "x",
                        "severity": "emergency",
                        "title": "X",
                        "phrases": ["a"],
                        "oops": 1,
                    }
                ]
            },
            "unknown field 'oops'",
        ),
    ],
)
def test_bad_configuration_is_one_line_naming_the_problem(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rules(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sentences_break_where_the_pattern_as_first_written_breaks_them() -> None:
    import random
    import re

    from worker.domain import hazards

    first = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•])")
    quoted = re.compile(r"^\s*>.*$", re.MULTILINE)

    def as_first_written(text: str) -> list[str]:
        parts = (" ".join(p.split()) for p in first.split(quoted.sub("", text)))
        return [p for p in parts if p]

    rng = random.Random(11)
    pieces = [
        ".",
        "!",
        "?",
        " ",
        "\n",
        "\t",
        "\r",
        "-",
        "*",
        "•",
        "a",
        "b c",
        ">",
        "\u2028",
        "\xa0",
    ]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 25)))
        assert hazards._SENTENCE_END.split(text) == first.split(text), repr(text)
        assert hazards.sentences(text) == as_first_written(text), repr(text)
