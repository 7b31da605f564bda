"""`complaints status`: the table, --json, and a one-line error for a database not set up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.seed import make_app, seed
from worker.status import print_status


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("COMPLAINTS_REDIS_URL", "COMPLAINTS_IMAP_URL", "COMPLAINTS_MAILDIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp_path / 'complaints.db'}")
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    return tmp_path


def test_status_prints_a_table(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(make_app(env))
    assert print_status() == 0
    out = capsys.readouterr().out
    assert "Inbound queue" in out and "Outbox" in out
    assert f"{seeded.triage}: 0 of 5 working days" in out
    assert "deadlines overdue" in out
    assert "Jobs run in-process" in out


def test_status_json_is_the_metrics_dict(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(make_app(env))
    assert print_status(as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["deadlines"]["overdue"] == 1
    assert set(data) >= {"inbound_queue", "outbox", "dead_letters", "acknowledgement", "polls"}


def test_status_on_a_database_not_set_up(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from worker.cli import main

    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "complaints db upgrade" in err
