"""Case search at /cases?q=... (issue 9): by reference, resident name or email, postcode, and
words of the messages, ranked, with the deadline status; on SQLite (LIKE) and PostgreSQL
(full-text search)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select
from starlette.testclient import TestClient

from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from worker.adapters.db_models import Case, InboundMessage
from worker.bootstrap import App
from worker.service.search import search
from worker.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(app: App) -> Iterator[tuple[TestClient, Seeded]]:
    seeded = seed(app)
    with app.db.session() as s:
        # An address with a postcode in one resident's message, as the web form writes it.
        row = s.scalar(select(InboundMessage).where(InboundMessage.uid == 2))
        assert row is not None
        row.text += "\n\nAddress:\n14 Mill Lane, Leeds LS1 4AB\n"
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        token = CSRF.search(client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={"username": "hana", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        yield client, seeded
    app.db.dispose()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[TestClient, Seeded]]:
    yield from _signed_in(make_app(tmp_path))


def _refs(client: TestClient, query: str) -> list[str]:
    page = client.get("/cases", params={"q": query})
    assert page.status_code == 200
    return re.findall(r'<a href="/cases/([A-Z]+-\d{4}-\d+)"', page.text)


def test_search_finds_a_case_by_reference_name_email_postcode_and_words(
    console: tuple[TestClient, Seeded],
) -> None:
    client, seeded = console
    assert _refs(client, seeded.overdue)[0] == seeded.overdue
    assert _refs(client, "Resident 2") == [seeded.overdue]
    assert _refs(client, "resident4@example.org") == [seeded.responded]
    assert _refs(client, "LS1 4AB") == [seeded.overdue]
    assert _refs(client, "ls14ab") == [seeded.overdue]  # however it is spaced
    assert _refs(client, "heating") == [seeded.overdue]
    assert _refs(client, "contractor rude") == [seeded.responded]
    assert _refs(client, "nothing like this anywhere") == []


def test_search_results_show_their_deadline_status_and_include_closed_cases(
    console: tuple[TestClient, Seeded],
) -> None:
    client, seeded = console
    page = client.get("/cases", params={"q": "boiler"}).text
    assert "1 case found for <strong>boiler</strong>" in page
    assert "Overdue" in page
    # A search does not hide cases the default list leaves out.
    assert _refs(client, "contractor") == [seeded.responded]


def test_search_input_is_never_sql(console: tuple[TestClient, Seeded]) -> None:
    client, _ = console
    for query in ("%", "_", "' OR 1=1 --", "\\", "a" * 5000):
        assert client.get("/cases", params={"q": query}).status_code == 200


def test_a_reference_outranks_the_words_of_a_message(console: tuple[TestClient, Seeded]) -> None:
    client, seeded = console
    app_session = client.app.state.web.core.db  # type: ignore[attr-defined]
    with app_session.session() as s:
        case = s.scalar(select(Case).where(Case.ref == seeded.acknowledged))
        assert case is not None
        ranked = search(s, seeded.acknowledged)
        assert ranked[0][0] == case.id


def test_search_on_postgresql_uses_full_text(tmp_path: Path, pg_url: str) -> None:
    for client, seeded in _signed_in(make_app(tmp_path, pg_url)):
        assert _refs(client, "heating") == [seeded.overdue]
        # Full-text search matches word forms: "fixed" finds "fix" and "fixing".
        assert _refs(client, "fixing damp") == [seeded.acknowledged]
        assert _refs(client, "LS1 4AB") == [seeded.overdue]
        assert _refs(client, "Resident 4") == [seeded.responded]
        assert _refs(client, seeded.triage)[0] == seeded.triage


def test_the_word_search_of_received_mail_uses_the_index_of_mail_on_a_case(
    tmp_path: Path, pg_url: str
) -> None:
    # The index covers only mail on a case (migration 0012), so that a message's words are not
    # worked out each time its row changes; the search must still be able to use it.
    app = make_app(tmp_path, pg_url)
    seed(app)
    with app.db.engine.connect() as conn:
        definition = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_inbound_fulltext'"
        ).scalar_one()
    assert definition.endswith("WHERE (case_id IS NOT NULL)")
    statements: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "FROM inbound_messages" in statement and "plainto_tsquery" in statement:
            statements.append((statement, parameters))

    event.listen(app.db.engine, "before_cursor_execute", keep)
    try:
        with app.db.session() as session:
            assert search(session, "heating")  # the seeded overdue case's message
    finally:
        event.remove(app.db.engine, "before_cursor_execute", keep)
    assert len(statements) == 1
    statement, parameters = statements[0]
    with app.db.engine.connect() as conn:
        # A handful of rows would be scanned anyway: the question is whether the index can serve.
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    assert "ix_inbound_fulltext" in plan
    app.db.dispose()
