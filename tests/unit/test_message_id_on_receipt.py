"""The Message-ID read on receipt (for the redelivery key) from the header section alone."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest

from worker.bootstrap import SAMPLE_MAILBOX
from worker.stages.receive_mail import _message_id, header_block

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _whole_message_headers(raw: bytes) -> list[tuple[str, str]]:
    """What the header parser makes of the message as a whole (the way it was read before)."""
    return BytesHeaderParser(policy=compat32).parsebytes(raw[:65536], headersonly=True).items()


def _cut_headers(raw: bytes) -> list[tuple[str, str]]:
    return (
        BytesHeaderParser(policy=compat32).parsebytes(header_block(raw), headersonly=True).items()
    )


def _corpus() -> list[Path]:
    paths = sorted(FIXTURES.rglob("*.eml"))
    paths += sorted(p for p in SAMPLE_MAILBOX.rglob("*") if p.is_file())
    return paths


def test_every_fixture_and_sample_message_has_the_same_headers_cut_as_whole() -> None:
    paths = _corpus()
    assert len(paths) > 300  # the fixtures and the sample mailbox really were read
    for path in paths:
        raw = path.read_bytes()
        assert _cut_headers(raw) == _whole_message_headers(raw), path.name


ODD = {
    "crlf": b"Subject: a\r\nMessage-ID: <crlf@x>\r\n\r\nbody\r\nMessage-ID: <no@x>\r\n",
    "lf": b"Subject: a\nMessage-ID: <lf@x>\n\nbody\n",
    "lone cr": b"Subject: a\rMessage-ID: <cr@x>\r\rbody\rMessage-ID: <no@x>\r",
    "lf then crlf": b"Subject: a\nMessage-ID: <mixed@x>\n\r\nbody\n",
    "crlf then lf": b"Subject: a\r\nMessage-ID: <mixed2@x>\r\n\nbody\n",
    "folded": b"Subject: a\r\nMessage-ID:\r\n <folded@x>\r\n\r\nbody",
    "folded with tab": b"Message-ID:\r\n\t<tab@x>\r\nSubject: a\r\n\r\n",
    "no body": b"Subject: a\r\nMessage-ID: <nobody@x>\r\n",
    "no final line break": b"Subject: a\r\nMessage-ID: <end@x>",
    "empty first line": b"\r\nMessage-ID: <body@x>\r\n",
    "lone cr first": b"\rMessage-ID: <body@x>\r",
    "empty": b"",
    "after a non-header line": b"Subject: a\r\nnot a header\r\nMessage-ID: <late@x>\r\n\r\n",
    "mbox from line": b"From someone Mon Jan 1\r\nMessage-ID: <mbox@x>\r\n\r\nbody",
    "only in the body": b"Subject: a\r\n\r\nMessage-ID: <body@x>\r\n",
    "two ids": b"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n",
    "eight bit": "Subject: caf\u00e9\r\nMessage-ID: <8bit@x>\r\n\r\n".encode("latin-1"),
    "header section past the limit": b"X-Long: "
    + b"a" * 70000
    + b"\r\nMessage-ID: <far@x>\r\n\r\n",
    "id near the limit": b"X-Pad: " + b"b" * 65500 + b"\r\nMessage-ID: <cut@x>\r\n\r\n",
}


@pytest.mark.parametrize("raw", ODD.values(), ids=ODD.keys())
def test_odd_line_breaks_and_layouts_give_the_same_headers_cut_as_whole(raw: bytes) -> None:
    assert _cut_headers(raw) == _whole_message_headers(raw)


def test_the_id_is_the_first_message_id_header_and_never_one_in_the_body() -> None:
    assert _message_id(ODD["crlf"]) == "crlf@x"
    assert _message_id(ODD["lone cr"]) == "cr@x"
    assert _message_id(ODD["folded"]) == "folded@x"
    assert _message_id(ODD["two ids"]) == "first@x"
    assert _message_id(ODD["only in the body"]) == ""
    assert _message_id(ODD["empty first line"]) == ""
    assert _message_id(ODD["header section past the limit"]) == ""


def test_the_cut_stops_at_the_empty_line_and_keeps_the_line_break_before_it() -> None:
    assert header_block(b"A: 1\r\nB: 2\r\n\r\nbody") == b"A: 1\r\nB: 2\r\n"
    assert header_block(b"A: 1\n\nbody\n\n") == b"A: 1\n"
    assert header_block(b"A: 1\r\rbody") == b"A: 1\r"
    assert header_block(b"A: 1\r\nB: 2") == b"A: 1\r\nB: 2"
    assert header_block(b"A" * 10, limit=4) == b"AAAA"
