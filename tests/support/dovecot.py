"""A private Dovecot IMAP server for tests: own config, own directories, a free port.

Any user name logs in with the shared password (static passdb) and gets an empty Maildir on first
login, so a fresh user name is a fresh, empty mailbox.
"""

from __future__ import annotations

import atexit
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
PASSWORD = "s3cret@pass:w"  # "@" and ":" exercise URL quoting


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def dovecot_version() -> tuple[int, int]:
    out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = re.match(r"(\d+)\.(\d+)", out.strip()).groups()  # type: ignore[union-attr]
    return int(major), int(minor)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@dataclass(frozen=True)
class DovecotOptions:
    """What a test may change; the defaults are the plain password server the suite uses.

    `oauth2_introspection_url`: the only login is SASL XOAUTH2/OAUTHBEARER, each token checked
    by a POST to this URL (Dovecot's oauth2 passdb). `tls_cert` / `tls_key`: PEM files; an
    imaps listener is opened on `tls_port` beside the plain one."""

    oauth2_introspection_url: str = ""
    tls_cert: str = ""
    tls_key: str = ""


def _render_config(
    base: Path, port: int, options: DovecotOptions | None = None, tls_port: int = 0
) -> str:
    """Dovecot configuration for the installed version (2.3 and 2.4 syntax differ)."""
    options = options or DovecotOptions()
    if os.geteuid() == 0:
        # Login processes refuse to run as root, and so do mail processes (uid 0).
        internal_user = "root"
        login_user = "dovenull" if _user_exists("dovenull") else "nobody"
        mail_user = pwd.getpwnam("nobody")
    else:
        mail_user = pwd.getpwuid(os.geteuid())
        internal_user = login_user = mail_user.pw_name
    uid, gid = mail_user.pw_uid, mail_user.pw_gid
    mail = base / "mail"
    common = f"""
base_dir = {base}/run
state_dir = {base}/state
instance_name = complaints-test-{base.name}
protocols = imap
listen = {HOST}
ssl = {"yes" if options.tls_cert else "no"}
auth_mechanisms = {"xoauth2 oauthbearer" if options.oauth2_introspection_url else "plain login"}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {1 if uid else 0}
mail_uid = {uid}
mail_gid = {gid}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port if options.tls_cert else 0}
  }}
}}
"""
    if options.tls_cert:
        common += f"ssl_cert = <{options.tls_cert}\nssl_key = <{options.tls_key}\n"
    if options.oauth2_introspection_url:
        if dovecot_version() >= (2, 4):
            raise RuntimeError("the oauth2 test server is written for Dovecot 2.3")
        oauth_conf = base / "oauth2.conf.ext"
        oauth_conf.write_text(
            f"introspection_mode = post\n"
            f"introspection_url = {options.oauth2_introspection_url}\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        return f"""{common}
disable_plaintext_auth = no
auth_failure_delay = 0
mail_location = maildir:{mail}/%u
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth_conf}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
"""
    if dovecot_version() >= (2, 4):
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = {mail}/%{{user}}
passdb static {{
  password = {PASSWORD}
}}
userdb static {{
  fields {{
    uid = {uid}
    gid = {gid}
    home = {mail}/%{{user}}
  }}
}}
"""
    return f"""{common}
disable_plaintext_auth = no
mail_location = maildir:{mail}/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
"""


@dataclass(frozen=True)
class ImapServer:
    """One user's mailbox on a running Dovecot; `url` is what `ImapMailbox.from_url` takes."""

    host: str
    port: int
    user: str
    password: str
    instance: DovecotInstance = field(repr=False, compare=False)

    @property
    def url(self) -> str:
        return self.folder_url("INBOX")

    def folder_url(self, folder: str) -> str:
        return (
            f"imap://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(folder)}"
        )

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """Deliver `raw` to `folder` (created if missing); returns its UID."""
        client = self.connect()
        try:
            client.create(_q(folder))  # NO when it exists; fine
            typ, data = client.append(_q(folder), flags or None, None, raw)
            assert typ == "OK", (typ, data)
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert match, data
            return int(match.group(1))
        finally:
            client.logout()

    def list_uids(self, folder: str = "INBOX") -> list[int]:
        """UIDs in `folder`, ascending; [] when the folder does not exist."""
        return sorted(self.fetch_flags(folder))

    def fetch_flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags for every message in `folder` (read-only EXAMINE, nothing changes)."""
        client = self.connect()
        try:
            typ, _ = client.select(_q(folder), readonly=True)
            if typ != "OK":
                return {}
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
            result: dict[int, set[str]] = {}
            for line in data:
                if not isinstance(line, bytes):
                    continue
                m = re.search(rb"UID (\d+)", line)
                f = re.search(rb"FLAGS \(([^)]*)\)", line)
                if m:
                    result[int(m.group(1))] = set((f.group(1) if f else b"").decode().split())
            return result
        finally:
            client.logout()

    def fetch_raw(self, uid: int, folder: str = "INBOX") -> bytes:
        client = self.connect()
        try:
            client.select(_q(folder), readonly=True)
            typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            for part in data:
                if isinstance(part, tuple):
                    return bytes(part[1])
            raise KeyError(uid)
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.connect()
        try:
            typ, data = client.status(_q(folder), "(UIDVALIDITY)")
            return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))  # type: ignore[union-attr]
        finally:
            client.logout()


def _q(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DovecotInstance:
    """Runs `dovecot -F` with a generated config until `close()`; restartable on the same port."""

    def __init__(self, options: DovecotOptions | None = None) -> None:
        self.options = options or DovecotOptions()
        self.tls_port = 0
        if not os.access(DOVECOT, os.X_OK):
            raise RuntimeError(f"{DOVECOT} is missing: run the tests with `bash scripts/test.sh`")
        self.base = Path(tempfile.mkdtemp(prefix="complaints-dovecot-"))
        # Dovecot's unprivileged processes must reach the mail and run directories.
        self.base.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (self.base / sub).mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.base / "mail", nobody.pw_uid, nobody.pw_gid)
        self.host = HOST
        self.port = 0
        self.password = PASSWORD
        self.config = self.base / "dovecot.conf"
        self.log = self.base / "dovecot.log"
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    def mailbox(self, user: str) -> ImapServer:
        return ImapServer(self.host, self.port, user, self.password, self)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        attempts = 1 if self.port else 3  # a restart keeps its port; a first start may race
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
                self.tls_port = free_port() if self.options.tls_cert else 0
            self.config.write_text(
                _render_config(self.base, self.port, self.options, self.tls_port)
            )
            with (self.base / "stderr.log").open("ab") as stderr:
                self._proc = subprocess.Popen(
                    [DOVECOT, "-F", "-c", str(self.config)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,  # own process group: stop() reaches every child
                )
            if self._wait_ready(timeout=20):
                return
            self.stop()
        raise RuntimeError(f"Dovecot did not start; its log:\n{self._logs()}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                client = imaplib.IMAP4(self.host, self.port, timeout=2)
                try:
                    if self.options.oauth2_introspection_url:
                        client.capability()  # no password login exists to try
                    else:
                        client.login("ready-check", self.password)
                finally:
                    client.logout()
                return True
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.1)
        return False

    def deliver(self, user: str, raw: bytes) -> Path:
        """Put `raw` straight into `user`'s INBOX (its Maildir), as a local delivery agent
        would: for a server whose only login is XOAUTH2."""
        import uuid

        home = self.base / "mail" / user
        for sub in ("cur", "new", "tmp"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        tmp = home / "tmp" / name
        tmp.write_bytes(raw)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for path in (home, home / "cur", home / "new", home / "tmp", tmp):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        target = home / "new" / name
        tmp.rename(target)
        return target

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of its process group (imap, auth, log children) goes too.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        (self.base / "run" / "master.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self.base.exists():
            shutil.rmtree(self.base, ignore_errors=True)

    def _logs(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.base / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts) or "(no log)"
