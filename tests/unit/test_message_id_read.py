"""The Message-ID a message is stored under (its redelivery key) is read from a plain header
block by two patterns: it must be exactly what the header parser gives, on every message."""

from __future__ import annotations

import random
from email.parser import BytesHeaderParser
from email.policy import compat32

from tests.unit.test_base64_runs import _corpus
from worker.stages import receive_mail


def _by_the_parser(raw: bytes) -> str:
    """``_message_id`` as first written: the header parser on the header block, always."""
    try:
        block = receive_mail.header_block(raw)
        headers = BytesHeaderParser(policy=compat32).parsebytes(block, headersonly=True)
        value = str(headers.get("Message-ID", "") or "")
    except Exception:  # noqa: BLE001
        return ""
    return "".join(ch for ch in value if ch.isprintable()).strip().strip("<>").strip()[:490]


NAMES = ["Message-ID", "message-id", "MESSAGE-ID", "Message-Id", "X-Message-ID", "Subject", "From"]
NAMES += ["To", "Message-ID ", "Message_ID", ":", "From "]
VALUES = [" <a@b>", "<a@b>", "\t<x.y@z>", " ", "", " <<a@b>>", " a b c", " <é@b>", " <a@b>\r"]
VALUES += [" <" + "x" * 600 + "@b>", " <a@b> (comment)", " \x00<a@b>", " <a\tb@c>"]
CONTINUATIONS = ["", " <c@d>", "\t<e@f>", "  ", " more"]


def _random_block(rng: random.Random) -> bytes:
    end = rng.choice(["\r\n", "\n"])
    lines = []
    for _ in range(rng.randrange(0, 7)):
        lines.append(rng.choice(NAMES) + ":" + rng.choice(VALUES))
        for _ in range(rng.choice([0, 0, 1, 2])):
            lines.append(rng.choice(CONTINUATIONS) or " ")
    if rng.random() < 0.2:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([" folded first", "no colon", ""]))
    mixed = rng.random() < 0.1
    text = "".join(line + (rng.choice(["\r\n", "\n", "\r"]) if mixed else end) for line in lines)
    return text.encode("utf-8") + end.encode() + b"body line\r\n"


def test_every_fixture_and_sample_message_gives_the_parsers_message_id() -> None:
    paths = _corpus()
    plain = 0
    for path in paths:
        raw = path.read_bytes()
        assert receive_mail._message_id(raw) == _by_the_parser(raw), path
        plain += bool(receive_mail._PLAIN_HEADER_BLOCK.fullmatch(receive_mail.header_block(raw)))
    assert plain > len(paths) // 4  # the patterns did read many of them


def test_random_header_blocks_give_the_parsers_message_id() -> None:
    rng = random.Random(17)
    plain = found = 0
    for _ in range(20_000):
        raw = _random_block(rng)
        want = _by_the_parser(raw)
        assert receive_mail._message_id(raw) == want, raw
        plain += bool(receive_mail._PLAIN_HEADER_BLOCK.fullmatch(receive_mail.header_block(raw)))
        found += bool(want)
    assert plain > 2_500 and found > 2_500
