"""``/healthz`` over HTTP shows each mailbox's state (issue 8): the real ``complaints web`` process
on loopback, several IMAP mailboxes on a private Dovecot, PostgreSQL. With the health token the
mailbox check names every mailbox with ok or why not, and its poll lag; without it, only ok or
not ok, and nothing that names a host, a user or a folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dovecot import HOST, ImapServer, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HEALTH_TOKEN = "health-" + "k" * 36
NOWHERE = "no-such-host.invalid"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPLAINTS_")}
    env.update(
        PYTHONPATH=str(REPO),
        COMPLAINTS_OUTBOX_DIR=str(tmp_path / "outbox"),
        COMPLAINTS_SECRET_KEY="secret-" + "s" * 40,
        COMPLAINTS_HEALTH_TOKEN=HEALTH_TOKEN,
        **settings,
    )
    return env


def _complaints(env: dict[str, str], cwd: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert result.returncode == 0, (args, result.stderr)


class WebProcess:
    """`complaints web` as an administrator starts it, on a free loopback port."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.log = cwd / "web.log"

    def start(self) -> None:
        for _attempt in range(3):  # a free port can be taken before the server binds it
            self.port = free_port()
            with self.log.open("a") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "worker.cli", "web", "--host", HOST, "--port",
                     str(self.port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=self.env,
                    cwd=self.cwd,
                )  # fmt: skip
            if self._answers():
                return
            self.stop()
        raise AssertionError(f"complaints web did not start: {self.log.read_text()[-3000:]}")

    def _answers(self) -> bool:
        """Wait until the server answers HTTP, or its process has ended."""
        assert self.proc is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/login", timeout=5):
                    return True
            except urllib.error.HTTPError:
                return True  # an answer, whatever it is
            except OSError:
                time.sleep(0.2)
        return False

    def healthz(self, token: str | None = None) -> tuple[int, dict[str, Any], str]:
        request = urllib.request.Request(f"http://{HOST}:{self.port}/healthz")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        return status, json.loads(body), body

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def good(dovecot_instance) -> ImapServer:
    box = dovecot_instance.mailbox(f"hz{uuid.uuid4().hex[:10]}")
    box.append(b"Subject: hello\r\n\r\nmakes the mailbox exist\r\n", folder="Processed")
    return box


@pytest.fixture
def web(
    dovecot_instance, good: ImapServer, pg_url: str, tmp_path: Path
) -> Iterator[tuple[WebProcess, dict[str, str]]]:
    names = {
        "good": f"imap://{good.user}@{HOST}:{good.port}/INBOX",
        "folder": f"imap://{good.user}@{HOST}:{good.port}/Cwynion",
        "auth": f"imap://{good.user}@{HOST}:{good.port}/Archive",
        "dns": f"imap://{good.user}@{NOWHERE}:143/INBOX",
    }
    urls = [
        good.url,
        good.folder_url("Cwynion"),  # a folder that does not exist
        f"imap://{good.user}:wrong-Password-55@{HOST}:{good.port}/Archive",
        f"imap://{good.user}:x@{NOWHERE}:143/INBOX",
    ]
    env = _env(tmp_path, COMPLAINTS_DATABASE_URL=pg_url, COMPLAINTS_IMAP_URL=" ".join(urls))
    _complaints(env, tmp_path, "db", "upgrade")
    process = WebProcess(env, tmp_path)
    process.start()
    yield process, names
    process.stop()


def _mailbox_states(detail: str, names: dict[str, str]) -> dict[str, str]:
    """Each mailbox's part of the mailbox check's one-line detail, by the names above."""
    states: dict[str, str] = {}
    for key, name in names.items():
        match = re.search(re.escape(name) + r": (.*?)(?=; imaps?://|$)", detail)
        assert match, (name, detail)
        states[key] = match.group(1)
    return states


def test_healthz_with_the_token_shows_every_mailbox_state_and_lag(
    web, good, pg_url, tmp_path
) -> None:
    process, names = web

    # Before any poll: each mailbox is named with its own state, none has been polled
    status, body, text = process.healthz(HEALTH_TOKEN)
    assert status == 503
    assert body["ok"] is False
    mailbox = body["checks"]["mailbox"]
    assert mailbox["ok"] is False
    assert "\n" not in mailbox["detail"]
    states = _mailbox_states(mailbox["detail"], names)
    assert states["good"] == "ok (never polled)"
    assert states["folder"].startswith("folder: IMAP folder 'Cwynion' cannot be opened")
    assert states["auth"].startswith(f"auth: IMAP login refused for {good.user}@{HOST}")
    assert states["dns"].startswith(f"DNS: cannot resolve {NOWHERE}")
    for key in ("folder", "auth", "dns"):
        assert states[key].endswith("(never polled)"), states[key]
    assert "DNS: DNS:" not in mailbox["detail"] and "auth: auth:" not in mailbox["detail"]
    assert good.password not in text and "wrong-Password-55" not in text
    assert body["checks"]["database"]["ok"] is True

    # When a worker has polled the good mailbox, its lag is shown
    _complaints(
        _env(tmp_path, COMPLAINTS_DATABASE_URL=pg_url, COMPLAINTS_IMAP_URL=good.url),
        tmp_path,
        "worker",
        "--once",
    )
    _status, body, _text = process.healthz(HEALTH_TOKEN)
    states = _mailbox_states(body["checks"]["mailbox"]["detail"], names)
    assert re.fullmatch(r"ok \(lag \d+s\)", states["good"]), states["good"]
    assert states["folder"].endswith("(never polled)")


def test_healthz_without_the_token_says_only_not_ok(web, good) -> None:
    process, _names = web
    status, body, text = process.healthz()
    assert status == 503
    assert body["checks"]["mailbox"] == {"ok": False}
    for leak in (good.user, NOWHERE, "Cwynion", "imap://", str(good.port)):
        assert leak not in text


def test_healthz_is_ok_again_once_the_mailboxes_are_put_right(
    dovecot_instance, good, pg_url, tmp_path
) -> None:
    # Given the same server with every mailbox usable (the folder made, no bad mailbox)
    good.append(b"Subject: x\r\n\r\nmakes the folder\r\n", folder="Cwynion")
    env = _env(
        tmp_path,
        COMPLAINTS_DATABASE_URL=pg_url,
        COMPLAINTS_IMAP_URL=f"{good.url}\n{good.folder_url('Cwynion')}",
    )
    _complaints(env, tmp_path, "db", "upgrade")
    process = WebProcess(env, tmp_path)
    process.start()
    try:
        status, body, _text = process.healthz(HEALTH_TOKEN)
    finally:
        process.stop()
    assert status == 200, body
    detail = body["checks"]["mailbox"]["detail"]
    assert f"imap://{good.user}@{HOST}:{good.port}/INBOX: ok" in detail
    assert f"imap://{good.user}@{HOST}:{good.port}/Cwynion: ok" in detail
