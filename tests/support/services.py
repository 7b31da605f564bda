"""Session and function fixtures that talk to REAL servers (pytest plugin, see tests/conftest.py).

`bash scripts/test.sh` installs and starts what these need; a service that is down makes the test
fail with a message saying so, never skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.dovecot import DovecotInstance, ImapServer
from tests.support.smtp import SmtpServer

if TYPE_CHECKING:
    from worker.adapters.db import Database

PG_HOST = os.environ.get("COMPLAINTS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("COMPLAINTS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("COMPLAINTS_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("COMPLAINTS_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("COMPLAINTS_TEST_REDIS_PORT", "6379"))
# A database number nothing else on a developer machine is likely to use.
REDIS_DB = int(os.environ.get("COMPLAINTS_TEST_REDIS_DB", "13"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_RUN = "run the tests with `bash scripts/test.sh`, which installs and starts it"


# --- IMAP (Dovecot) ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot_instance() -> Iterator[DovecotInstance]:
    """The session's private Dovecot process (start/stop/restart it to simulate outages)."""
    instance = DovecotInstance()
    try:
        instance.start()
    except RuntimeError as exc:
        instance.close()
        pytest.fail(f"Dovecot: {exc}", pytrace=False)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def dovecot(dovecot_instance: DovecotInstance) -> ImapServer:
    """Mailbox of the session's test user: `.url` is imap://tester:...@127.0.0.1:PORT/INBOX."""
    return dovecot_instance.mailbox("tester")


@pytest.fixture
def imap_mailbox(dovecot_instance: DovecotInstance) -> ImapServer:
    """A brand-new user, so INBOX is empty and no Processed folder exists yet."""
    dovecot_instance.start()  # in case an earlier test stopped it and failed before restarting
    return dovecot_instance.mailbox(f"u{uuid.uuid4().hex[:12]}")


# --- SMTP ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP sink recording every message; `.url` is smtp://127.0.0.1:PORT."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_USER,
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_USER}@{PG_HOST}:{PG_PORT} ({_RUN}): "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}",
            pytrace=False,
        )


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A fresh, empty database for the block, dropped afterwards:
    postgresql+psycopg://postgres@127.0.0.1:5432/<random name>."""
    name = f"complaints_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database (``fresh_pg_database``)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def either_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh SQLite file, then a fresh PostgreSQL database: the test runs once on each."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'either.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    """The worker's ``Database`` on a fresh PostgreSQL database, migrated to the latest schema."""
    from worker.adapters.db import Database

    database = Database(pg_url)
    database.upgrade()
    yield database
    database.dispose()


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """redis://127.0.0.1:6379/13 (COMPLAINTS_TEST_REDIS_DB), flushed before and after."""
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not usable at {url} ({_RUN}): {exc}", pytrace=False)
    yield url
    client.flushdb()
    client.close()


# --- Chromium ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless selenium webdriver.Chrome on /usr/bin/chromium, shared by the session."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing ({_RUN})", pytrace=False)
    profile = tempfile.mkdtemp(prefix="complaints-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"Chromium did not start: {exc.msg}", pytrace=False)
    # Above chromedriver's 30 s default: the public form and /cases/new run the pipeline inside
    # the request in embedded mode, which a busy machine can make slower than that.
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
