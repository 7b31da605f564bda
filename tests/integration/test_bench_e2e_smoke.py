"""benchmarks/bench_e2e.py: its generated mail and letter matching, and a tiny real run.

The run checks only that the benchmark works end to end against the real services (every message
answered, figures printed); it never asserts a timing.
"""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._e2e_support import MessageFactory, letter_from_bytes, percentile

ROOT = Path(__file__).resolve().parents[2]


def test_generated_complaints_are_varied_and_sized_as_asked() -> None:
    factory = MessageFactory("t")
    messages = [factory.message(i) for i in range(90)]

    assert all(2048 <= m.text_size <= 4096 for m in messages)
    assert sum(m.attachment for m in messages) == 30
    assert 30 <= sum(m.alternative for m in messages) <= 60
    assert len({m.message_id for m in messages}) == len({m.sender for m in messages}) == 90
    for i, m in enumerate(messages):
        parsed = email.message_from_bytes(m.raw, policy=email.policy.default)
        assert parsed["Message-ID"] == m.message_id == factory.identity(i)[0]
        assert m.sender in str(parsed["From"])
        assert parsed.get_body(("plain",)) is not None
        attachments = list(parsed.iter_attachments())
        assert len(attachments) == (1 if m.attachment else 0)
        if m.attachment:
            jpeg = attachments[0].get_content()
            assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"
            assert 20_000 <= len(jpeg) <= 61_000


def test_a_message_renders_the_same_every_time() -> None:
    factory = MessageFactory("t")
    assert factory.message(7).raw == factory.message(7).raw


def test_letter_headers_are_read_without_parsing_the_letter() -> None:
    raw = (
        b"From: Thrive Homes <complaints@thrivehomes.org.uk>\r\n"
        b"To: Sarah Okafor <Sarah.Okafor@gmail.com>\r\n"
        b"In-Reply-To:\r\n <CAF3k9Rb7xT2pQ-c1@mail.gmail.com>\r\n"
        b"X-Complaints-Letter-Kind: stage1_acknowledgement\r\n"
        b"\r\n"
        b"In-Reply-To: <not-this@body>\r\n"
    )

    letter = letter_from_bytes(raw, arrived=1.5)

    assert letter.in_reply_to == "<CAF3k9Rb7xT2pQ-c1@mail.gmail.com>"
    assert letter.to == "sarah.okafor@gmail.com"
    assert letter.kind == "stage1_acknowledgement"
    assert letter.arrived == 1.5


def test_percentile_is_nearest_rank() -> None:
    values = [float(x) for x in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 95) == 3.0


@pytest.mark.integration
@pytest.mark.slow
def test_a_tiny_run_answers_every_message_and_prints_its_figures(redis_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_e2e.py"),
            "--quick",
            "--messages",
            "30",
            "--steady-seconds",
            "3",
            "--rates",
            "5",
            "--redis-url",
            redis_url,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("ceiling: SMTP 20 connections", "throughput:", "latency at 5 msg/s", "peak RSS"):
        assert figure in done.stdout, done.stdout
    assert "missing" not in done.stdout and "doubled" not in done.stdout, done.stdout
