"""A batch's changed rows write the same columns, so their UPDATEs go out as one statement:
the values written are the ones each row holds, changed or not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, deferred, mapped_column

from worker.stages.batch import write_alike


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[str] = mapped_column(String(20), default="")
    b: Mapped[str] = mapped_column(String(20), default="")
    c: Mapped[str] = mapped_column(String(20), default="")
    big: Mapped[str] = deferred(mapped_column(String(20), default="kept"))


def _session() -> tuple[Session, list[str]]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([_Row(id=i, a="a", b="b", c="c") for i in range(1, 5)])
        session.commit()
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return Session(engine), updates


def _change(rows: list[_Row]) -> None:
    rows[0].a = "A1"  # each row changes another column, or sets one to what it was
    rows[1].b = "B2"
    rows[2].a, rows[2].c = "A3", "C3"
    rows[3].b = "b"


def test_rows_changing_different_columns_are_written_in_one_statement() -> None:
    session, updates = _session()
    rows = list(session.scalars(select(_Row).order_by(_Row.id)))
    _change(rows)
    write_alike(rows)
    session.commit()
    assert len(updates) == 1
    assert "big" not in updates[0]  # a deferred column never read is not written
    got = [(r.a, r.b, r.c, r.big) for r in session.scalars(select(_Row).order_by(_Row.id))]
    assert got == [
        ("A1", "b", "c", "kept"),
        ("a", "B2", "c", "kept"),
        ("A3", "b", "C3", "kept"),
        ("a", "b", "c", "kept"),
    ]


def test_without_it_each_combination_of_columns_is_its_own_statement() -> None:
    session, updates = _session()
    rows = list(session.scalars(select(_Row).order_by(_Row.id)))
    _change(rows)
    session.commit()
    assert len(updates) == 3  # (a), (b), (a, c); the row set to its own value is not written


def test_rows_nothing_changed_on_stay_unwritten() -> None:
    session, updates = _session()
    rows = list(session.scalars(select(_Row).order_by(_Row.id)))
    rows[0].a = "A1"
    write_alike(rows)
    session.commit()
    assert len(updates) == 1
    assert session.scalar(select(_Row.a).where(_Row.id == 2)) == "a"
