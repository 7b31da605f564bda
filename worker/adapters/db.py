"""The database adapter: engine, sessions and migrations (SQLite embedded, PostgreSQL service)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from worker.domain.errors import ConfigurationError, TransientError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


_NEXT_IDS = "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # WAL lets the web process read while the worker writes; foreign keys are off by
            # default in SQLite and we rely on them.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    _cache_batch_statements()
    try:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=5,
            insertmanyvalues_page_size=INSERT_PAGE_ROWS,
        )
    except Exception as exc:  # bad URL shapes raise ArgumentError and friends
        raise ConfigurationError(f"COMPLAINTS_DATABASE_URL is not usable: {exc}") from None
    # The rows a batch adds through the session (cases, their stages, letters, residents,
    # hazards) already have their ids (``Ids``), so SQLAlchemy asks nothing back and, left to
    # itself, hands psycopg an executemany: one INSERT a row. Written 25 rows to a statement,
    # as rows that ask for something back are, they cost the worker and the server less.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


# psycopg converts each statement's %(name)s placeholders in Python (a regex over the text, a part
# object per placeholder), and caches the conversion only for statements under 4 KB with at most
# 50 parameters. A batch's multi-row INSERT (SQLAlchemy's "insertmanyvalues") of 100 rows of 40
# columns is over 200 KB and 4,000 parameters: converting it took about 20 ms, every batch, for
# each table (5-8 % of a worker's CPU, py-spy). So a multi-row INSERT carries at most 25 rows (at
# most 1,100 parameters and 60 KB), the cache takes statements that size, and the same few
# statement texts come back batch after batch. The cache keeps its 128 entries, each a few
# hundred KB at most.
INSERT_PAGE_ROWS = 25
_STATEMENT_CACHE_LENGTH = 64 * 1024
_STATEMENT_CACHE_PARAMS = 2000


def _cache_batch_statements() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # another driver: nothing to tune
        return
    # Private settings of psycopg 3; left alone if a later version drops or renames them.
    for name, value in (
        ("MAX_CACHED_STATEMENT_LENGTH", _STATEMENT_CACHE_LENGTH),
        ("MAX_CACHED_STATEMENT_PARAMS", _STATEMENT_CACHE_PARAMS),
    ):
        current = getattr(_queries, name, None)
        if isinstance(current, int) and current < value:
            setattr(_queries, name, value)


def alembic_config(engine: Engine) -> Config:
    # Imported only to migrate: alembic adds about 11 MiB to the RSS of every process that
    # imports it, and the web process, status and reports never migrate.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration (``complaints db upgrade``); safe to run again."""
    try:
        with engine.connect() as conn:
            conn.close()
    except OperationalError as exc:
        raise TransientError(f"database unreachable: {str(exc.orig).splitlines()[0]}") from None
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def is_current(engine: Engine) -> bool:
    return "cases" in inspect(engine).get_table_names()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def has_sequences(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def next_ids(self, session: Session, table: str, count: int) -> list[int]:
        """``count`` fresh primary keys for ``table`` from its sequence, in one round trip
        (PostgreSQL only): rows given their ids up front need no flush each to learn them, so a
        batch's rows are all written together at the end."""
        # Not flushing first: taking an id must not write the batch row by row. A case takes
        # its number alone, once a message, so the statement goes to the driver's own cursor:
        # SQLAlchemy's result object for the one-row answer cost more than the round trip (4 %
        # of the worker's time, py-spy). Its errors are handled as SQLAlchemy handles them.
        with session.no_autoflush:
            connection = session.connection()
        params = (table, count)
        with _driver(connection, _NEXT_IDS, params) as driver:
            cursor = driver.cursor()
            try:
                cursor.execute(_NEXT_IDS, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        return [int(r[0]) for r in rows]

    def upgrade(self) -> None:
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _driver(connection: Connection, statement: str, params: Any) -> Iterator[Any]:
    """The driver's own connection under SQLAlchemy's, for a statement sent past SQLAlchemy;
    its errors are raised as SQLAlchemy raises them: a lost connection is dropped from the pool,
    and the error is SQLAlchemy's OperationalError, which the worker treats as an outage."""
    driver = connection.connection.dbapi_connection
    dialect = connection.dialect
    try:
        yield driver
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, driver, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement,
            params,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc


def copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> bool:
    """Write ``rows`` (all with the same keys) into ``table`` with COPY: one statement the
    server reads as a stream, where PostgreSQL is reached through psycopg. False, and nothing
    written, anywhere else, or when a column the rows leave out has a default made in Python
    that is neither a plain value nor a function of nothing.

    What the driver is given is what SQLAlchemy's INSERT would give it: each value through its
    column type's bind processing (JSON serialised the same way), and each column left out with
    a Python default given it, made afresh for each row as the INSERT makes it; other columns
    left out take their server defaults (the primary key its sequence). For the rows of a batch
    (audit entries, correspondence), measured on 600 audit rows: 17-22 rather than 32-47
    microseconds of the worker's CPU a row, 32-41 rather than 53-72 of elapsed time."""
    if not rows:
        return True
    with session.no_autoflush:
        connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return False
    given = list(rows[0])
    added = [c for c in table.columns if c.name not in rows[0] and c.default is not None]
    makers: list[Callable[[], Any]] = []
    for column in added:
        default: Any = column.default
        if default.is_scalar:
            makers.append(lambda value=default.arg: value)
        elif default.is_callable and getattr(default.arg, "__wrapped__", None) is not None:
            # SQLAlchemy wraps a function of nothing as a function of the statement's context
            # (``__wrapped__`` is the function itself); one that reads the context is not ours.
            makers.append(default.arg.__wrapped__)
        else:
            return False
    columns = [table.c[name] for name in given] + added
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
    with _driver(connection, statement, None) as driver:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row[name] for name in given] + [make() for make in makers]
                copy.write_row(
                    [
                        value if process is None else process(value)
                        for process, value in zip(processors, values, strict=True)
                    ]
                )
    return True
