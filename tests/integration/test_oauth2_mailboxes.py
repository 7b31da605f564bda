"""Microsoft 365 / Google Workspace style mailboxes: the worker logs in to IMAP and SMTP with
SASL XOAUTH2, using tokens from a client-credentials token endpoint, against a Dovecot and an
SMTP server that accept nothing else (real servers on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.support.dovecot import DovecotInstance, DovecotOptions
from tests.support.oauth_server import OAuthAuthority, OAuthSmtpServer
from worker.adapters.oauth import OAuthSettings, TokenRefused, TokenSource
from worker.cli import main

pytestmark = pytest.mark.integration

COMPLAINT = (
    b"From: Jo Resident <jo.resident@example.org>\r\n"
    b"To: complaints@landlord.example\r\n"
    b"Subject: Mould in my bedroom, still not fixed\r\n"
    b"Message-ID: <%s@example.org>\r\n"
    b"Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n"
    b"\r\n"
    b"I am very unhappy. I reported mould in my bedroom three months ago and nobody came.\r\n"
)


@pytest.fixture
def authority() -> Iterator[OAuthAuthority]:
    server = OAuthAuthority().start()
    yield server
    server.stop()


@pytest.fixture
def oauth_dovecot(authority: OAuthAuthority) -> Iterator[DovecotInstance]:
    instance = DovecotInstance(DovecotOptions(oauth2_introspection_url=authority.introspection_url))
    instance.start()
    yield instance
    instance.close()


@pytest.fixture
def oauth_smtp(authority: OAuthAuthority) -> Iterator[OAuthSmtpServer]:
    server = OAuthSmtpServer(authority)
    server.start()
    yield server
    server.stop()


def _env(
    monkeypatch: pytest.MonkeyPatch,
    authority: OAuthAuthority,
    dovecot: DovecotInstance,
    smtp: OAuthSmtpServer,
    pg_url: str,
    tmp_path: object,
) -> None:
    user = quote(authority.mailbox, safe="")
    for name, value in {
        "COMPLAINTS_DATABASE_URL": pg_url,
        "COMPLAINTS_IMAP_URL": f"imap://{user}@{dovecot.host}:{dovecot.port}/INBOX",
        "COMPLAINTS_SMTP_URL": f"smtp://{user}@{smtp.host}:{smtp.port}?starttls=0",
        "COMPLAINTS_IMAP_AUTH": "xoauth2",
        "COMPLAINTS_SMTP_AUTH": "xoauth2",
        "COMPLAINTS_OAUTH_TOKEN_URL": authority.token_url,
        "COMPLAINTS_OAUTH_CLIENT_ID": authority.client_id,
        "COMPLAINTS_OAUTH_CLIENT_SECRET": authority.client_secret,
        "COMPLAINTS_OAUTH_SCOPE": "https://outlook.office365.com/.default",
        "COMPLAINTS_OUTBOX_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COMPLAINTS_REDIS_URL", raising=False)
    monkeypatch.chdir(str(tmp_path))


def test_worker_reads_and_answers_over_xoauth2_only_servers(
    monkeypatch, authority, oauth_dovecot, oauth_smtp, pg_url, tmp_path, capsys
) -> None:
    # Given a complaint waiting in a mailbox whose only login is XOAUTH2
    _env(monkeypatch, authority, oauth_dovecot, oauth_smtp, pg_url, tmp_path)
    oauth_dovecot.deliver(authority.mailbox, COMPLAINT % b"first")

    # When the worker runs one round
    assert main(["worker", "--once"]) == 0

    # Then the complaint was read, and its acknowledgement went out over an XOAUTH2 login
    letters = oauth_smtp.wait_for(1)
    to_resident = [m for m in letters if m.rcpt_tos == ("jo.resident@example.org",)]
    assert len(to_resident) == 1
    assert oauth_smtp.logins and set(oauth_smtp.logins) == {authority.mailbox}
    assert oauth_dovecot.base.joinpath("mail", authority.mailbox, "new").exists()
    # one token served both IMAP and SMTP: it was cached, not fetched per connection
    assert authority.token_requests == 1
    # and no token or secret was printed
    out = capsys.readouterr()
    for token in authority.tokens:
        assert token not in out.out + out.err
    assert authority.client_secret not in out.out + out.err


def test_a_token_that_lapses_early_is_replaced_without_a_failed_poll(
    authority, oauth_dovecot
) -> None:
    from worker.adapters.imap import ImapMailbox

    source = TokenSource(
        OAuthSettings.build(
            token_url=authority.token_url,
            client_id=authority.client_id,
            client_secret=authority.client_secret,
        )
    )
    url = f"imap://{quote(authority.mailbox, safe='')}@{oauth_dovecot.host}:{oauth_dovecot.port}/"
    mailbox = ImapMailbox.from_url(url, auth="xoauth2", token_source=source)
    oauth_dovecot.deliver(authority.mailbox, COMPLAINT % b"one")
    assert len(mailbox.fetch_new()) == 1
    mailbox.close()

    # Given the server now refuses the token the worker still holds as valid
    authority.expire_all()
    oauth_dovecot.deliver(authority.mailbox, COMPLAINT % b"two")

    # When the worker polls again, it succeeds: the token is replaced during the login
    assert len(mailbox.fetch_new()) == 2
    mailbox.close()
    assert source.fetches == 2


def test_a_token_near_its_expiry_is_fetched_again_before_use(authority) -> None:
    now = [1_000_000.0]
    authority.lifetime = 3600
    source = TokenSource(
        OAuthSettings.build(
            token_url=authority.token_url,
            client_id=authority.client_id,
            client_secret=authority.client_secret,
        ),
        clock=lambda: now[0],
    )
    first = source.token()
    now[0] += 3000  # ten minutes left: still good
    assert source.token() == first
    now[0] += 400  # under five minutes left: replaced before any server sees it lapse
    second = source.token()
    assert second != first
    assert authority.token_requests == 2


def test_a_revoked_client_is_one_clear_line_in_check_connection_and_healthz(
    monkeypatch, authority, oauth_dovecot, oauth_smtp, pg_url, tmp_path, capsys
) -> None:
    _env(monkeypatch, authority, oauth_dovecot, oauth_smtp, pg_url, tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert main(["check-connection"]) == 0
    capsys.readouterr()

    # Given the app's secret is revoked at the identity provider
    authority.revoke_client()

    # Then check-connection says so, for IMAP and for SMTP, and exits 2
    assert main(["check-connection"]) == 2
    lines = capsys.readouterr().out.splitlines()
    imap = next(line for line in lines if line.startswith("IMAP "))
    smtp = next(line for line in lines if line.startswith("SMTP "))
    for line in (imap, smtp):
        assert "auth: OAuth token refused by" in line, line
        assert "invalid_client" in line
        assert authority.client_secret not in line
    assert any(line.startswith("database ") and line.endswith("ok") for line in lines)

    # And /healthz's mailbox check reports the same reason
    from worker.bootstrap import bootstrap
    from worker.health import check_health

    app = bootstrap()
    try:
        health = check_health(app)
    finally:
        app.db.dispose()
    assert health["ok"] is False
    mailbox = health["checks"]["mailbox"]
    assert mailbox["ok"] is False
    assert "auth: OAuth token refused" in mailbox["detail"]
    assert "\n" not in mailbox["detail"]


def test_token_refused_error_never_holds_the_secret(authority) -> None:
    source = TokenSource(
        OAuthSettings.build(
            token_url=authority.token_url, client_id="someone-else", client_secret="hunter2-x"
        )
    )
    with pytest.raises(TokenRefused) as info:
        source.token()
    assert "hunter2-x" not in str(info.value)
    assert "hunter2-x" not in repr(source.settings)
