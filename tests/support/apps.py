"""An App on the embedded defaults for a test: a database (SQLite in the test's folder unless
a URL is given) and an outbox folder there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from worker.bootstrap import App, bootstrap
from worker.settings import load_settings


def embedded_app(tmp: Path, database_url: str | None = None, **wiring: Any) -> App:
    """``wiring``: what ``bootstrap`` takes besides the settings (a clock, a sender...)."""
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": database_url or f"sqlite:///{tmp / 'complaints.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp / "outbox"),
        },
        cwd=tmp,
    )
    return bootstrap(settings, **wiring)
