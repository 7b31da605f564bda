"""Letters queued for the send stage's tests: stage 1 acknowledgements, pending and due now."""

from __future__ import annotations

from datetime import datetime

from worker.adapters.db_models import Letter
from worker.bootstrap import App


def queue_acknowledgements(
    app: App, now: datetime, names: list[str], recipient: str = "resident{n}@example.org"
) -> list[int]:
    """One pending letter for each name, numbered from 1: its Message-ID is
    ``<name.n@landlord.example>`` and its recipient ``recipient`` with ``n`` filled in. Returns
    the letters' ids in that order."""
    with app.db.session() as session:
        letters = [
            Letter(
                dedupe_key=f"CMP-2026-{n:05d}:stage1_acknowledgement",
                ref=f"CMP-2026-{n:05d}",
                kind="stage1_acknowledgement",
                automatic=True,
                recipient=recipient.format(n=n),
                subject=f"Your complaint CMP-2026-{n:05d}: we have received it",
                text="text",
                html="<p>html</p>",
                message_id=f"<{name}.{n}@landlord.example>",
                status="pending",
                created_at=now,
                next_attempt_at=now,
            )
            for n, name in enumerate(names, start=1)
        ]
        session.add_all(letters)
        session.flush()
        return [letter.id for letter in letters]
