"""The trusted-recipient decision (SPEC section 6, issue 7): which From headers an automatic
letter may answer, and to which address. Table-driven over header values, then over the .eml
corpus in tests/fixtures/addresses (expected.json says what each must give)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.domain.parsing import parse_message
from worker.domain.recipient import (
    REASON_TEXT,
    RecipientDecision,
    SenderFacts,
    UnusableAddress,
    decide,
    explain,
    facts_of,
    typed_address,
)

OURS = ("mx.thrivehomes.org.uk",)
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "addresses"


def decide_from(*from_values: str, **facts: object) -> RecipientDecision:
    return decide(SenderFacts(tuple(from_values), **facts), trusted_authserv_ids=OURS)  # type: ignore[arg-type]


def codes(decision: RecipientDecision) -> set[str]:
    return {reason.code for reason in decision.reasons}


QUOTED_INJECTION = '"=?utf-8?Q?jane=0D=0ABcc:_v@example.com?="@example.org'
NAME_IS_ADDRESS = "display_name_is_other_address"
M = "mallory@example.net"


# The common case must never go to a person.
@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("jane.smith@example.co.uk", "jane.smith@example.co.uk"),
        ("Jane Smith <Jane.Smith@Example.CO.UK>", "jane.smith@example.co.uk"),
        ('"Smith, Jane" <jane.smith@example.co.uk>', "jane.smith@example.co.uk"),
        ("jane+repairs@example.com", "jane+repairs@example.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("Sean O'Brien <sean.o'brien@example.ie>", "sean.o'brien@example.ie"),
        ("jane@example.com (Jane Smith)", "jane@example.com"),
        ("Jane Q. Public <jane@example.com>", "jane@example.com"),
        ("=?utf-8?Q?J=C3=B6rg_M=C3=BCller?= <jorg@example.de>", "jorg@example.de"),
        ("=?iso-8859-1?Q?Ren=E9e?= <renee@example.fr>", "renee@example.fr"),
        ("Jane\r\n Smith <jane@example.com>", "jane@example.com"),
        ('"jane doe"@example.com', '"jane doe"@example.com'),
        ("jane@example.com <jane@example.com>", "jane@example.com"),
        ('"jane@example.com" <jane@example.com>', "jane@example.com"),
        ("jane@m\u00fcnchen.de", "jane@xn--mnchen-3ya.de"),
        ("jane@sub.domain.example.org.uk", "jane@sub.domain.example.org.uk"),
        ("<jane@example.com>", "jane@example.com"),
        ("x" * 64 + "@example.com", "x" * 64 + "@example.com"),
    ],
)
def test_ordinary_senders_are_trusted_and_written_to(value: str, address: str) -> None:
    decision = decide_from(value)
    assert decision.trusted, decision.records()
    assert decision.address == address
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("values", "expected", "candidate"),
    [
        # issue 7's own cases
        (
            ["=?utf-8?Q?Jane=0D=0ABcc:_victim@example.com?= <jane@example.org>"],
            {"line_break"},
            "jane@example.org",
        ),
        ([QUOTED_INJECTION], {"line_break"}, ""),
        ([QUOTED_INJECTION], {"encoded_word_in_address"}, ""),
        (["<jane@example.com>\r\nBcc: v@example.com"], {"line_break"}, "jane@example.com"),
        (
            ["jang.abcdef@xyzlinu <jang.abcdef@xyzlinux12345678.it>"],
            {"malformed", "undeliverable"},
            "jang.abcdef@xyzlinux12345678.it",
        ),
        (["develop!nextmime@ebony@sblab.att.com"], {"undeliverable"}, ""),
        (["develop!nextmime@sblab.att.com"], {"undeliverable"}, ""),
        (["J\udcc3\udcb6rg <j\udcc3\udcb6rg@example.de>"], {"undeliverable"}, ""),
        (["x" * 4980 + "@example.com"], {"undeliverable"}, ""),
        (["x" * 65 + "@example.com"], {"undeliverable"}, ""),
        (["jane@" + ("a" * 60 + ".") * 5 + "com"], {"undeliverable"}, ""),  # path over 254
        (["xxxxx@xxxxx"], {"undeliverable"}, ""),
        # more shapes
        (["jane@example.com, mallory@example.net"], {"several_addresses"}, "jane@example.com"),
        (["jane@example.com", "mallory@example.net"], {"several_from_headers"}, "jane@example.com"),
        (["Tenants: jane@example.com;"], {"group"}, "jane@example.com"),
        (["Undisclosed recipients: ;"], {"no_address"}, ""),
        ([""], {"no_address"}, ""),
        ([], {"no_address"}, ""),
        (["<>"], {"no_address"}, ""),
        (["=?utf-8?B?amFuZUBleGFtcGxlLmNvbQ==?= <mallory@example.net>"], {NAME_IS_ADDRESS}, M),
        (['"bob@example.com" <mallory@example.net>'], {NAME_IS_ADDRESS}, M),
        (['"Jane (jane@example.com)" <mallory@example.net>'], {NAME_IS_ADDRESS}, M),
        (["Jane <jane@[192.0.2.1]>"], {"undeliverable"}, ""),
        (["jane%example.com@relay.example.net"], {"undeliverable"}, ""),
        (["jane@-bad-.example.com"], {"undeliverable"}, ""),
        (["jane@example.123"], {"undeliverable"}, ""),
        (["Jane Smith <jane@example.com"], {"malformed"}, "jane@example.com"),
        (["jane..smith@example.com"], {"malformed"}, "jane..smith@example.com"),
        (["jane@example.com."], {"no_address"}, ""),
    ],
)  # fmt: skip
def test_doubtful_senders_are_not_written_to(
    values: list[str], expected: set[str], candidate: str
) -> None:
    decision = decide_from(*values)
    assert not decision.trusted
    assert expected <= codes(decision), decision.records()
    assert decision.address == candidate
    # Every reason reads as plain English for staff.
    assert all(text and "_" not in text.split("(")[0] for text in decision.explanations())


def test_a_candidate_is_always_a_deliverable_ascii_address_of_bounded_length() -> None:
    for value in [
        "x" * 4980 + "@example.com",
        "xxxxx@xxxxx",
        "J\udcc3\udcb6rg <j\udcc3\udcb6rg@e.de>",
    ]:
        assert decide_from(value).address == ""


@pytest.mark.parametrize(
    ("results", "trusted"),
    [
        (["mx.thrivehomes.org.uk; dmarc=fail (p=reject) header.from=example.com"], False),
        (["MX.ThriveHomes.org.uk 1; spf=pass; dmarc=fail header.from=example.com"], False),
        (["mx.thrivehomes.org.uk;\r\n dkim=pass;\r\n dmarc=fail header.from=example.com"], False),
        (["mx.thrivehomes.org.uk; dmarc=pass header.from=example.com"], True),
        (["mx.thrivehomes.org.uk; dmarc=none header.from=example.com"], True),
        # Written by someone else (forged or another hop): not believed either way.
        (["mx.attacker.example; dmarc=fail header.from=example.com"], True),
        (["mx.thrivehomes.org.uk; dmarc=pass (upstream said dmarc=fail)"], True),
        (["spf=pass smtp.mailfrom=example.com; dmarc=fail header.from=example.com"], True),
        (
            [
                "mx.attacker.example; dmarc=pass",
                "mx.thrivehomes.org.uk; dmarc=fail header.from=example.com",
            ],
            False,
        ),
    ],
)
def test_dmarc_failure_counts_only_from_our_own_receiving_server(
    results: list[str], trusted: bool
) -> None:
    decision = decide_from("Jane <jane@example.com>", authentication_results=tuple(results))
    assert decision.trusted is trusted
    if not trusted:
        assert codes(decision) == {"dmarc_failed"}
        assert decision.address == "jane@example.com"


def test_without_configured_authserv_ids_no_authentication_results_is_believed() -> None:
    facts = SenderFacts(
        ("jane@example.com",), authentication_results=("mx.thrivehomes.org.uk; dmarc=fail",)
    )
    assert decide(facts).trusted


@pytest.mark.parametrize(
    ("value", "headers", "body"),
    [
        ("no-reply@bookings.example.com", {}, ""),
        ("noreply@example.com", {}, ""),
        ("No_Reply@example.com", {}, ""),
        ("donotreply@example.com", {}, ""),
        ("do-not-reply@example.com", {}, ""),
        ("post_master@example.com", {}, ""),
        ("MAILER-DAEMON@mx.example.com", {}, ""),
        ("notifications@example.com", {}, ""),
        ("bounces+12345@example.com", {}, ""),
        ("Thrive Homes via Docusign <dse_na4@docusign.net>", {}, ""),
        ("SurveyMonkey <member@surveymonkeyuser.com>", {}, ""),
        ("Repairs <support@thrive.zendesk.com>", {}, ""),
        ("Facebook <notification@facebookmail.com>", {}, ""),
        ("Facilities <facilities@example.org>", {"X-Auto-Response-Suppress": "All"}, ""),
        ("Energy <hello@energy.example.com>", {"Feedback-ID": "1:2:esp"}, ""),
        ("News <news@example.com>", {"X-Mailer": "MailChimp Mailer - **CID123**"}, ""),
        ("Portal <portal@example.com>", {}, "Please do not reply to this email."),
        # Mailing-list software (sisimai's lhost-fml-02: an fml "you are not a member" notice).
        ("neko-admin@example.org", {"X-MLServer": "fml [fml 4.0.3 release]"}, ""),
        ("list-admin@example.org", {"List-Subscribe": "<mailto:l-ctl@example.org>"}, ""),
        ("owner@example.org", {"Mailing-List": "contact l-help@example.org; run by ezmlm"}, ""),
        ("Apple <News@InsideApple.Apple.com>", {}, ""),
        ('"Sender" <status@sender.com>', {}, ""),
    ],
)
def test_machine_senders_get_no_automatic_letter(
    value: str, headers: dict[str, str], body: str
) -> None:
    decision = decide_from(value, headers=headers, new_text=body)
    assert not decision.trusted
    assert "machine_sender" in codes(decision)


def test_x_auto_response_suppress_for_receipts_only_is_not_a_machine() -> None:
    # "DR, RN" only asks for no delivery or read receipts: ordinary Outlook mail.
    decision = decide_from("jane@example.com", headers={"X-Auto-Response-Suppress": "DR, RN"})
    assert decision.trusted


def test_every_reason_code_has_plain_english() -> None:
    for code in REASON_TEXT:
        assert explain(code).endswith(".")
    assert explain("undeliverable", "no dot in the domain").endswith("(no dot in the domain)")


def _corpus() -> list[tuple[str, dict[str, object]]]:
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return sorted(expected.items())


def test_the_address_corpus_is_complete() -> None:
    names = {p.name for p in CORPUS.glob("*.eml")}
    assert names == {name for name, _ in _corpus()}
    assert len(names) >= 40


@pytest.mark.parametrize(("name", "expected"), _corpus(), ids=[n for n, _ in _corpus()])
def test_address_corpus(name: str, expected: dict[str, object]) -> None:
    parsed = parse_message((CORPUS / name).read_bytes())
    decision = decide(facts_of(parsed), trusted_authserv_ids=OURS)
    assert decision.trusted is expected["trusted"]
    assert sorted(codes(decision)) == sorted(expected["reasons"])  # type: ignore[call-overload]
    assert decision.address == expected["address"]


# -- an address a person types (a corrected sender address, a representative's) -----------------


@pytest.mark.parametrize(
    ("typed", "address"),
    [
        ("kim.lowe@example.org", "kim.lowe@example.org"),
        ("  Kim.Lowe@Example.ORG ", "kim.lowe@example.org"),
        ("Kim Lowe <kim.lowe@example.org>", "kim.lowe@example.org"),
        ('"Lowe, Kim" <kim.lowe@example.org>', "kim.lowe@example.org"),
        ("kim@m\u00fcnchen.de", "kim@xn--mnchen-3ya.de"),
    ],
)
def test_a_typed_address_is_kept_as_the_mailbox_alone(typed: str, address: str) -> None:
    assert typed_address(typed) == address


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "no address"),
        ("kim@localhost", "no dot in the domain"),
        ("kim@example.org\r\nBcc: victim@example.com", "line break"),
        ("kim@example.org\nBcc: victim@example.com", "line break"),
        ("kim@example.org, victim@example.com", "single email address"),
        ("Friends: kim@example.org, jo@example.org;", "single email address"),
        ("=?utf-8?q?kim?=@example.org", "encoded text"),
        ("develop!nextmime@example.org", "bang path"),
        ("kim%example.org@relay.example.com", "source routing"),
        ("kim@[192.0.2.1]", "address literal"),
        ("k" * 65 + "@example.org", "local part of 65"),
        ("kim@" + "a" * 250 + ".org", "not a valid host name"),
        ('"jo@example.com" <kim@example.org>', "two different addresses"),
        ("kim at example dot org", "plain email address"),
        ("kim@example.org>", "plain email address"),
    ],
)
def test_a_typed_address_that_could_not_be_trusted_is_refused_with_the_reason(
    typed: str, why: str
) -> None:
    with pytest.raises(UnusableAddress, match=why) as raised:
        typed_address(typed)
    message = str(raised.value)
    assert "\n" not in message and "\r" not in message
