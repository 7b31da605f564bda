"""The real-service fixtures themselves work (so a failure elsewhere is not the harness)."""

from __future__ import annotations

import imaplib
import smtplib

import pytest
import redis
import sqlalchemy as sa

from tests.support.dovecot import ImapServer
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration


def test_pg_url_is_a_fresh_empty_database(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/complaints_test_")
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        assert conn.scalar(sa.text("select count(*) from pg_tables where schemaname='public'")) == 0
        conn.execute(sa.text("create table t (id int primary key)"))
    engine.dispose()


def test_redis_url_is_an_empty_database(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_dovecot_user_can_log_in(dovecot: ImapServer) -> None:
    assert dovecot.url == (f"imap://tester:s3cret%40pass%3Aw@127.0.0.1:{dovecot.port}/INBOX")
    client = imaplib.IMAP4(dovecot.host, dovecot.port)
    assert client.login(dovecot.user, dovecot.password)[0] == "OK"
    client.logout()


def test_imap_mailbox_starts_empty(imap_mailbox: ImapServer) -> None:
    assert imap_mailbox.list_uids("INBOX") == []
    uid = imap_mailbox.append(b"Subject: x\r\n\r\nhello\r\n")
    assert imap_mailbox.list_uids("INBOX") == [uid]


def test_smtp_server_records_and_waits(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.sendmail("a@example.org", ["b@example.org"], b"Subject: hi\r\n\r\nbody\r\n")
    (got,) = smtp_server.wait_for(1, timeout=5)
    assert (got.mail_from, got.rcpt_tos, got.message["Subject"]) == (
        "a@example.org",
        ("b@example.org",),
        "hi",
    )
    with pytest.raises(AssertionError):
        smtp_server.wait_for(2, timeout=0.2)


@pytest.mark.browser
def test_chromium_renders_a_page(chromium: object) -> None:
    chromium.get("data:text/html,<title>ok</title><h1 id=h>Complaints</h1>")  # type: ignore[attr-defined]
    assert chromium.title == "ok"  # type: ignore[attr-defined]
    assert chromium.find_element("id", "h").text == "Complaints"  # type: ignore[attr-defined]
