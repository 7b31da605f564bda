"""``complaints check-connection`` against real servers on loopback (issue 8): every configured
endpoint (each IMAP mailbox, SMTP, the database, Redis) gets exactly one line, ``ok`` or why not
(DNS, TLS, auth, folder, connection), the exit status is 0 only when all are ok (2 otherwise), no
secret is printed and nothing prints a traceback. Run as the administrator runs it: the real
command in its own process, settings from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import oauth_server
from tests.support.dovecot import HOST, DovecotInstance, DovecotOptions
from tests.support.smtp import SmtpServer, _RecordingHandler

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "no-such-host.invalid"  # RFC 2606: never resolves
SMTP_USER = "complaints@landlord.example"
SMTP_PASSWORD = "smtp-Secret:9@x"
DB_SECRET = "db-Secret-never-printed"
REDIS_SECRET = "redis-Secret-never-printed"


@dataclass
class Run:
    returncode: int
    lines: list[str]
    stderr: str

    def line(self, start: str) -> str:
        found = [line for line in self.lines if line.startswith(start)]
        assert len(found) == 1, (start, self.lines)
        return found[0]


def check_connection(tmp_path: Path, **settings: str) -> Run:
    """`complaints check-connection` in a process of its own, with exactly these settings (no
    developer's COMPLAINTS_* variable or .env file leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env["PYTHONPATH"] = str(REPO)
    env["COMPLAINTS_OUTBOX_DIR"] = str(tmp_path / "outbox")
    env.update(settings)
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "check-connection"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return Run(result.returncode, result.stdout.splitlines(), result.stderr)


def assert_no_secret(run: Run, *secrets: str) -> None:
    text = "\n".join(run.lines) + run.stderr
    for secret in secrets:
        assert secret not in text
        assert quote(secret, safe="") not in text


# --- servers -------------------------------------------------------------------------------------


class PasswordSmtpServer(SmtpServer):
    """The recording sink, but with STARTTLS (a certificate from `ca`) and AUTH required, and
    only SMTP_USER / SMTP_PASSWORD accepted: how a relay that takes a login behaves."""

    def __init__(self, ca: oauth_server.TestCA) -> None:
        super().__init__()
        self.ca = ca

    def start(self) -> None:
        import ssl

        if self._controller is not None:
            return
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.ca.cert_file), str(self.ca.key_file))

        def authenticator(
            _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (
                data.login.decode(),
                data.password.decode(),
            ) == (SMTP_USER, SMTP_PASSWORD)
            return AuthResult(success=ok, handled=False)

        controller = Controller(
            _RecordingHandler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=10,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
        )
        controller.start()
        self._controller = controller

    def url(self, password: str = SMTP_PASSWORD) -> str:  # type: ignore[override]
        return (
            f"smtp://{quote(SMTP_USER, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}"
        )


@pytest.fixture
def test_ca(tmp_path: Path) -> oauth_server.TestCA:
    return oauth_server.make_test_ca(tmp_path / "ca")


@pytest.fixture
def relay(test_ca: oauth_server.TestCA) -> Iterator[PasswordSmtpServer]:
    server = PasswordSmtpServer(test_ca)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_dovecot(test_ca: oauth_server.TestCA) -> Iterator[DovecotInstance]:
    instance = DovecotInstance(
        DovecotOptions(tls_cert=str(test_ca.cert_file), tls_key=str(test_ca.key_file))
    )
    instance.start()
    yield instance
    instance.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on, held for the test: a bound socket that never listens, so
    connections are refused and no other process can take the port meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])


def _migrated(pg_url: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env.update(COMPLAINTS_DATABASE_URL=pg_url, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return pg_url


def _user() -> str:
    return f"cc{uuid.uuid4().hex[:10]}"


# --- all ok --------------------------------------------------------------------------------------


def test_every_endpoint_answers_ok_on_one_line_each_and_exits_0(
    dovecot_instance, relay, test_ca, pg_url, redis_url, tmp_path
) -> None:
    # Given two mailboxes, a relay that needs STARTTLS and a login, PostgreSQL and Redis
    english = dovecot_instance.mailbox(_user())
    welsh = dovecot_instance.mailbox(_user())
    for box in (english, welsh):
        box.append(b"Subject: x\r\n\r\ncreates the user's mailbox\r\n")
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=f"{english.url} {welsh.url}",
        COMPLAINTS_SMTP_URL=relay.url(),
        COMPLAINTS_TLS_CA_FILE=str(test_ca.ca_file),
        COMPLAINTS_DATABASE_URL=_migrated(pg_url, tmp_path),
        COMPLAINTS_REDIS_URL=redis_url,
    )

    # Then each endpoint has exactly one line, and every one says ok
    assert run.returncode == 0, run
    assert len(run.lines) == 5, run.lines
    assert run.line(f"IMAP imap://{english.user}@{HOST}:{english.port}/INBOX").endswith(": ok")
    assert run.line(f"IMAP imap://{welsh.user}@{HOST}:{welsh.port}/INBOX").endswith(": ok")
    assert run.line(f"SMTP {HOST}:{relay.port}").endswith(": ok")
    assert run.line("database postgresql+psycopg://").endswith(": ok")
    assert run.line("Redis redis://").endswith(": ok")
    assert_no_secret(run, dovecot_instance.password, SMTP_PASSWORD)


def test_endpoints_left_unset_say_what_is_used_instead_and_still_exit_0(tmp_path) -> None:
    run = check_connection(tmp_path, COMPLAINTS_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}")
    assert run.returncode == 0, run
    assert len(run.lines) == 4, run.lines
    assert run.line("IMAP: ").startswith("IMAP: not configured")
    assert run.line("SMTP: ").startswith("SMTP: not configured")
    assert run.line("Redis: ").startswith("Redis: not configured")
    assert run.line("database sqlite:").startswith("database sqlite:")


# --- why not: DNS, TLS, auth, folder, connection --------------------------------------------------


def test_an_unresolvable_host_is_a_dns_line_for_every_endpoint(tmp_path) -> None:
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=f"imaps://complaints%40landlord.example:imap-pw-9@{NOWHERE}/INBOX",
        COMPLAINTS_SMTP_URL=f"smtp://{NOWHERE}:587",
        COMPLAINTS_DATABASE_URL=f"postgresql://complaints:{DB_SECRET}@{NOWHERE}:5432/complaints",
        COMPLAINTS_REDIS_URL=f"redis://:{REDIS_SECRET}@{NOWHERE}:6379/4",
    )
    assert run.returncode == 2, run
    assert len(run.lines) == 4, run.lines
    for start in ("IMAP ", "SMTP ", "database ", "Redis "):
        line = run.line(start)
        assert f": DNS: cannot resolve {NOWHERE}" in line, line
    assert_no_secret(run, "imap-pw-9", DB_SECRET, REDIS_SECRET)


def test_a_certificate_from_an_unknown_ca_is_a_tls_line_naming_the_host(
    tls_dovecot, relay, test_ca, tmp_path
) -> None:
    user = _user()
    imap_url = (
        f"imaps://{user}:{quote(tls_dovecot.password, safe='')}@{HOST}:{tls_dovecot.tls_port}/INBOX"
    )
    settings = {
        "COMPLAINTS_IMAP_URL": imap_url,
        "COMPLAINTS_SMTP_URL": relay.url(),
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
    }

    # Without the CA that signed the servers' certificates: refused, one line each
    run = check_connection(tmp_path, **settings)
    assert run.returncode == 2, run
    assert len(run.lines) == 4, run.lines
    imap = run.line("IMAP imaps://")
    assert f": TLS: the certificate of {HOST}:{tls_dovecot.tls_port} is not trusted" in imap
    smtp = run.line(f"SMTP {HOST}:{relay.port}")
    assert f": TLS: the certificate of {HOST}:{relay.port} is not trusted" in smtp
    assert "COMPLAINTS_TLS_CA_FILE" in imap and "COMPLAINTS_TLS_CA_FILE" in smtp
    assert relay.messages == []  # nothing was sent, and the login was never tried in clear
    assert_no_secret(run, tls_dovecot.password, SMTP_PASSWORD)

    # With it: both ok
    run = check_connection(tmp_path, **settings, COMPLAINTS_TLS_CA_FILE=str(test_ca.ca_file))
    assert run.returncode == 0, run
    assert run.line("IMAP imaps://").endswith(": ok")
    assert run.line("SMTP ").endswith(": ok")


def test_a_wrong_password_is_an_auth_line_for_every_endpoint(
    dovecot_instance, relay, test_ca, pg_url, redis_url, tmp_path
) -> None:
    box = dovecot_instance.mailbox(_user())
    wrong = "wrong-Password-77"
    imap_url = f"imap://{box.user}:{wrong}@{HOST}:{box.port}/INBOX"
    # PostgreSQL on loopback trusts every login it knows, so a role it does not know is the
    # login it refuses; Redis refuses a user name and password it has no account for.
    pg_refused = pg_url.replace("://postgres@", f"://no_such_role_cc:{DB_SECRET}@")
    redis_refused = redis_url.replace("redis://", f"redis://no-such-user:{REDIS_SECRET}@")
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=imap_url,
        COMPLAINTS_SMTP_URL=relay.url(password=wrong),
        COMPLAINTS_TLS_CA_FILE=str(test_ca.ca_file),
        COMPLAINTS_DATABASE_URL=pg_refused,
        COMPLAINTS_REDIS_URL=redis_refused,
    )
    assert run.returncode == 2, run
    assert len(run.lines) == 4, run.lines
    assert ": auth: IMAP login refused for " in run.line("IMAP ")
    assert ": auth: login refused for complaints@landlord.example" in run.line("SMTP ")
    assert ": auth: " in run.line("database ")
    assert "no_such_role_cc" in run.line("database ")
    assert ": auth: " in run.line("Redis ")
    assert_no_secret(run, wrong, DB_SECRET, REDIS_SECRET)


def test_a_folder_that_does_not_exist_is_a_folder_line(dovecot_instance, tmp_path) -> None:
    box = dovecot_instance.mailbox(_user())
    box.append(b"Subject: x\r\n\r\nthe user exists, the folder does not\r\n")
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=f"{box.url} {box.folder_url('Complaints Archive')}",
        COMPLAINTS_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert run.returncode == 2, run
    assert len(run.lines) == 5, run.lines
    # Each mailbox is judged on its own: INBOX is fine, the missing folder is named
    assert run.line(f"IMAP imap://{box.user}@{HOST}:{box.port}/INBOX:").endswith(": ok")
    missing = run.line(f"IMAP imap://{box.user}@{HOST}:{box.port}/Complaints Archive:")
    assert ": folder: IMAP folder 'Complaints Archive' cannot be opened" in missing
    assert_no_secret(run, dovecot_instance.password)


def test_a_closed_port_is_a_connection_refused_line_for_every_endpoint(
    closed_port, tmp_path
) -> None:
    where = f"{HOST}:{closed_port}"
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=f"imap://complaints:imap-pw-9@{where}/INBOX",
        COMPLAINTS_SMTP_URL=f"smtp://{where}",
        COMPLAINTS_DATABASE_URL=f"postgresql://complaints:{DB_SECRET}@{where}/complaints",
        COMPLAINTS_REDIS_URL=f"redis://:{REDIS_SECRET}@{where}/4",
    )
    assert run.returncode == 2, run
    assert len(run.lines) == 4, run.lines
    for start in ("IMAP ", "SMTP ", "database ", "Redis "):
        line = run.line(start)
        assert f": connection: {where} refused the connection" in line, line
    assert_no_secret(run, "imap-pw-9", DB_SECRET, REDIS_SECRET)


def test_a_setting_one_endpoint_cannot_use_is_its_line_and_the_others_are_still_tried(
    dovecot_instance, tmp_path
) -> None:
    box = dovecot_instance.mailbox(_user())
    run = check_connection(
        tmp_path,
        COMPLAINTS_IMAP_URL=box.url,
        COMPLAINTS_SMTP_URL="smtps://127.0.0.1:1",
        COMPLAINTS_TLS_CA_FILE=str(tmp_path / "missing-ca.pem"),
        COMPLAINTS_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert run.returncode == 2, run
    assert len(run.lines) == 4, run.lines
    for start in ("IMAP ", "SMTP "):
        assert ": settings: COMPLAINTS_TLS_CA_FILE " in run.line(start)
    assert run.line("database ").startswith("database sqlite:")
    assert ": ok" in run.line("database ")
    assert_no_secret(run, dovecot_instance.password)
