"""`complaints train` and `complaints evaluate` hand every word after their name to their own
parser, so their options work as the README shows them (``complaints evaluate --diagram F``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.cli import main


def test_evaluate_takes_its_own_options_first_and_says_what_is_wrong_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    status = main(["evaluate", "--diagram", str(tmp_path / "d.png"), "--test", str(missing)])
    err = capsys.readouterr().err
    assert status == 2
    assert "unrecognized arguments" not in err
    assert err.strip() == f"complaints evaluate: no test file at {missing}"


def test_evaluate_refuses_an_unknown_option_with_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["evaluate", "--no-such-option"]) == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
