"""``smtp.wire_bytes``: a letter (or any message) in the bytes ``as_bytes`` gives it for SMTP, by
a generator that writes each part's text in one go."""

from __future__ import annotations

import email
import email.message
import email.policy
import random
from datetime import UTC, datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from worker.adapters.smtp import _wire_policy, wire_bytes
from worker.bootstrap import SAMPLE_MAILBOX
from worker.stages.send import build_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _standard(message: email.message.Message) -> bytes:
    return message.as_bytes(policy=_wire_policy(message))


def _app() -> Any:
    return SimpleNamespace(
        landlord=SimpleNamespace(name="Thrive Homes"),
        from_address="complaints@thrive.example",
        clock=SimpleNamespace(now=lambda: datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    )


def _letter(text: str) -> Any:
    return SimpleNamespace(
        recipient="ada.okafor@example.org",
        subject="Your complaint CMP-2026-000123: we have received it",
        message_id="<letter.123.abc@thrive.example>",
        in_reply_to="",
        ref="CMP-2026-000123",
        kind="stage1_acknowledgement",
        automatic=True,
        text=text,
        html="<p>" + text.replace("\n\n", "</p><p>") + "</p>",
    )


def _texts() -> list[str]:
    rng = random.Random(5)
    pieces = ["damp ", "mould\n", "\n\n", "café ", "£50 ", "\r\n", "\r", "=", " \n", "\t", "x" * 90]
    fixed = ["", "\n", "one line", "ends with a break\n", "a\r\nb\rc\nd", "\u2028 \f"]
    return fixed + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(1, 80))) for _ in range(150)
    ]


@pytest.mark.parametrize("text", _texts())
def test_a_letter_comes_out_as_the_standard_generator_writes_it(text: str) -> None:
    message = build_message(_app(), _letter(text))
    assert wire_bytes(message) == _standard(message)


def _corpus() -> list[Path]:
    return sorted(FIXTURES.rglob("*.eml")) + sorted(
        p for p in SAMPLE_MAILBOX.rglob("*") if p.is_file()
    )


@pytest.mark.parametrize("policy", [email.policy.compat32, email.policy.default], ids=str)
def test_received_mail_of_every_shape_comes_out_the_same_too(policy: Any) -> None:
    # Preambles, epilogues, nested parts, CR-only and mixed line ends, 8-bit and broken MIME.
    paths = _corpus()
    assert len(paths) > 300
    compared = 0
    for path in paths:
        try:
            message = email.message_from_bytes(path.read_bytes(), policy=policy)
            expected = _standard(message)
        except Exception:  # noqa: BLE001 - what the stdlib cannot read or write
            continue  # (a hostile message nested thousands deep, say) is not compared
        assert wire_bytes(message) == expected, path.name
        compared += 1
    assert compared > 300


def test_text_with_carriage_returns_takes_the_standard_line_breaks() -> None:
    outer = MIMEMultipart("mixed", boundary="b")
    outer.preamble = "pre\ramble\r\nlines\n"
    outer.epilogue = "end\r"
    outer.attach(MIMEText("a\rb\r\nc\nd", "plain", "us-ascii"))
    assert wire_bytes(outer) == _standard(outer)
    assert b"a\r\nb\r\nc\r\nd" in wire_bytes(outer)
