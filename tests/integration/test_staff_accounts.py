"""Staff accounts in the database (issue 9): `complaints staff ...`, signing in with lockout and
back-off, one-time passwords, the managers' page, sessions that end, and the audit of each.
Against a real SQLite database through Starlette's TestClient, once on PostgreSQL, and the CLI as a
real subprocess."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.browser.seed import SECRET, make_app
from worker.adapters.db_models import AuditEvent, StaffAccount
from worker.bootstrap import App
from worker.service.staff import LOCK_AFTER, StaffAccounts, StaffError, lock_length
from worker.web.app import create_app
from worker.web.auth import DatabaseDirectory, hash_password

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GOOD = "a long and careful password"
CLI = [sys.executable, "-m", "worker.cli"]


class Clock:
    """Time that a test moves on by hand (a lock running out, a session growing old)."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


class Console:
    def __init__(self, app: App, client: TestClient, clock: Clock) -> None:
        self.app = app
        self.client = client
        self.clock = clock
        self.accounts = StaffAccounts(app.db, clock)

    def token(self, path: str = "/login") -> str:
        match = CSRF.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str) -> Any:
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.token()},
            follow_redirects=False,
        )

    def post(self, path: str, data: dict[str, Any], page: str) -> Any:
        return self.client.post(
            path, data={**data, "csrf_token": self.token(page)}, follow_redirects=False
        )

    def audit(self, username: str) -> list[tuple[str, str]]:
        with self.app.db.session() as s:
            rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
            return [(r.action, r.actor) for r in rows if r.details.get("username") == username]


def _console(app: App) -> Iterator[Console]:
    clock = Clock()
    web = create_app(
        app,
        directory=DatabaseDirectory(app.db, now=clock),
        environ={"COMPLAINTS_SECRET_KEY": SECRET},
    )
    with TestClient(web) as client:
        yield Console(app, client, clock)
    app.db.dispose()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    yield from _console(make_app(tmp_path))


def _cli(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp / 'complaints.db'}",
        "COMPLAINTS_OUTBOX_DIR": str(tmp / "outbox"),
    }
    return subprocess.run(
        [*CLI, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=str(Path(__file__).resolve().parents[2]),
        timeout=120,
    )


# -- the command line -----------------------------------------------------------------------------


def test_staff_add_with_a_piped_password_gives_an_account_that_signs_in(
    console: Console, tmp_path: Path
) -> None:
    done = _cli(
        tmp_path,
        "staff",
        "add",
        "asha",
        "--name",
        "Asha Patel",
        "--role",
        "handler",
        stdin=GOOD + "\n",
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["username"] == "asha" and printed["role"] == "handler"
    assert "one_time_password" not in printed  # the person chose it: nothing to print
    with console.app.db.session() as s:
        row = s.scalar(select(StaffAccount).where(StaffAccount.username == "asha"))
        assert row is not None and row.password_hash.startswith("$argon2id$")
        assert GOOD not in row.password_hash
    response = console.login("asha", GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    page = console.client.get("/cases")
    assert page.status_code == 200 and "Asha Patel" in page.text
    action, actor = console.audit("asha")[0]
    assert action == "staff.account_added" and actor.endswith("(command line)")
    assert ("staff.login", "Asha Patel") in console.audit("asha")


def test_staff_add_at_no_input_prints_a_one_time_password_that_must_be_replaced(
    console: Console, tmp_path: Path
) -> None:
    done = _cli(tmp_path, "staff", "add", "morgan", "--name", "Morgan Reid", "--role", "manager")
    assert done.returncode == 0, done.stderr
    one_time = json.loads(done.stdout)["one_time_password"]
    assert len(one_time) >= 12

    # Signing in with it opens only the page that asks for the person's own password.
    response = console.login("morgan", one_time)
    assert response.headers["location"] == "/account/password"
    assert console.client.get("/cases", follow_redirects=False).headers["location"] == "/login"
    page = console.client.get("/account/password").text
    assert "You signed in with a one-time password" in page

    response = console.post(
        "/account/password",
        {"current": one_time, "new": "short", "again": "short"},
        page="/account/password",
    )
    assert response.status_code == 400 and "at least 12 characters" in response.text
    response = console.post(
        "/account/password",
        {"current": one_time, "new": GOOD, "again": GOOD},
        page="/account/password",
    )
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    assert console.client.get("/cases").status_code == 200
    # The one-time password is spent.
    console.client.cookies.clear()
    assert console.login("morgan", one_time).status_code == 401
    assert console.login("morgan", GOOD).status_code == 303
    assert ("staff.password_changed", "Morgan Reid") in console.audit("morgan")


def _main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp: Path,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    """The same command in this process (a subprocess each costs seconds of imports)."""
    from worker.cli import main

    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp / 'complaints.db'}")
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp / "outbox"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_staff_commands_change_accounts_and_refuse_mistakes_in_one_line(
    console: Console,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        return _main(monkeypatch, capsys, tmp_path, "staff", *args, stdin=stdin)

    assert run("add", "kim", "--name", "Kim Lee", "--role", "handler", stdin=GOOD)[0] == 0
    code, out, _ = run("set-role", "kim", "--role", "operations", "--by", "Mo")
    assert code == 0 and json.loads(out)["role"] == "operations"
    code, out, _ = run("disable", "kim", "--reason", "left the team", "--by", "Mo")
    assert code == 0 and json.loads(out)["disabled"] is True
    listed = json.loads(run("list")[1])
    assert [(a["username"], a["role"], a["disabled"]) for a in listed] == [
        ("kim", "operations", True)
    ]
    code, out, _ = run("enable", "kim", "--by", "Mo")
    assert code == 0 and json.loads(out)["disabled"] is False
    code, out, _ = run("reset-password", "kim", "--by", "Mo")
    assert code == 0 and json.loads(out)["must_change_password"] is True
    assert len(json.loads(out)["one_time_password"]) >= 12
    assert [a for a, _ in console.audit("kim")] == [
        "staff.account_added",
        "staff.role_changed",
        "staff.account_disabled",
        "staff.account_enabled",
        "staff.password_reset",
    ]

    for args, message in [
        (("add", "kim", "--name", "Kim", "--role", "handler"), "already an account called kim"),
        (("add", "KIM", "--name", "Kim", "--role", "handler"), "already an account called KIM"),
        (("add", "bad name", "--name", "X", "--role", "handler"), "a username is 1-64"),
        (("add", "new", "--name", "X", "--role", "boss"), "invalid choice: 'boss'"),
        (("disable", "nobody"), "there is no account called nobody"),
        (("set-role", "kim", "--role", "operations"), "kim is already operations"),
    ]:
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    code, _, err = run("add", "new", "--name", "X", "--role", "handler", stdin="short")
    assert code == 2 and "at least 12 characters" in err


# -- lockout --------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_a_while_and_are_audited(
    console: Console,
) -> None:
    console.accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    for _ in range(LOCK_AFTER - 1):
        response = console.login("hana", "not the password")
        assert response.status_code == 401 and "The username or password is wrong" in response.text
    response = console.login("hana", "not the password")
    assert "This account is locked after too many wrong passwords" in response.text
    assert "09:15 on 23 November 2026" in response.text  # 15 minutes, London time (GMT)

    # While locked even the right password is refused, and that is audited too.
    response = console.login("hana", GOOD)
    assert response.status_code == 401 and "locked" in response.text
    assert console.client.get("/cases", follow_redirects=False).status_code == 303
    actions = [a for a, _ in console.audit("hana")]
    assert actions.count("staff.login_failed") == LOCK_AFTER
    assert actions.count("staff.locked") == 1 and actions[-1] == "staff.login_refused"

    # When the lock runs out the right password works, and the count starts again.
    console.clock.moment += timedelta(minutes=15, seconds=1)
    assert console.login("hana", GOOD).status_code == 303


def test_each_lock_in_a_row_lasts_twice_as_long_up_to_a_day(console: Console) -> None:
    accounts = console.accounts
    accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    for n in (1, 2, 3):
        for _ in range(LOCK_AFTER):
            result = accounts.sign_in("hana", "wrong password")
        assert result.outcome == "locked"
        assert result.locked_until == console.clock.moment + timedelta(minutes=15 * 2 ** (n - 1))
        console.clock.moment = result.locked_until + timedelta(seconds=1)
    assert lock_length(20) == timedelta(hours=24)
    # A good sign-in forgives the past: the next lock is a short one again.
    assert accounts.sign_in("hana", GOOD).outcome == "ok"
    for _ in range(LOCK_AFTER):
        result = accounts.sign_in("hana", "wrong password")
    assert result.locked_until == console.clock.moment + timedelta(minutes=15)


def test_an_unknown_username_is_told_the_same_as_a_wrong_password(console: Console) -> None:
    response = console.login("nobody", "whatever it is")
    assert response.status_code == 401 and "The username or password is wrong" in response.text
    response = console.login("x" * 300, "y" * 5000)
    assert response.status_code == 401 and "The username or password is wrong" in response.text


def test_a_manager_lifts_a_lock_by_resetting_the_password(console: Console) -> None:
    console.accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    for _ in range(LOCK_AFTER):
        console.accounts.sign_in("hana", "wrong password")
    account, one_time = console.accounts.reset_password("hana", by="Mo Manager")
    assert account.locked_until is None and one_time
    assert console.login("hana", one_time).headers["location"] == "/account/password"


# -- sessions -------------------------------------------------------------------------------------


def test_disabling_an_account_ends_its_session_at_once(console: Console) -> None:
    console.accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    assert console.login("hana", GOOD).status_code == 303
    assert console.client.get("/cases").status_code == 200
    console.accounts.disable("hana", by="Mo Manager", reason="left")
    assert console.client.get("/cases", follow_redirects=False).headers["location"] == "/login"
    response = console.login("hana", GOOD)
    assert response.status_code == 401 and "locked" not in response.text
    assert ("staff.login_refused", "Hana Handler") in console.audit("hana")


def test_a_sign_in_lasts_a_working_day_at_most(console: Console) -> None:
    console.accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    assert console.login("hana", GOOD).status_code == 303
    console.clock.moment += timedelta(hours=11, minutes=59)
    assert console.client.get("/cases").status_code == 200
    console.clock.moment += timedelta(minutes=2)
    assert console.client.get("/cases", follow_redirects=False).headers["location"] == "/login"


def test_a_role_change_takes_effect_on_the_next_page(console: Console) -> None:
    console.accounts.add("hana", name="Hana Handler", role="manager", by="test", password=GOOD)
    assert console.login("hana", GOOD).status_code == 303
    assert console.client.get("/staff").status_code == 200
    console.accounts.set_role("hana", "handler", by="Mo Manager")
    assert console.client.get("/staff").status_code == 403


# -- the managers' page ---------------------------------------------------------------------------


def test_a_manager_adds_resets_and_disables_accounts_on_the_staff_page(console: Console) -> None:
    console.accounts.add("mo", name="Mo Manager", role="manager", by="test", password=GOOD)
    assert console.login("mo", GOOD).status_code == 303
    page = console.client.get("/staff").text
    assert "Staff accounts" in page and "Mo Manager" in page

    response = console.post("/staff/add", {"username": "", "name": "", "role": ""}, page="/staff")
    assert response.status_code == 400
    assert "Enter a username" in response.text and "Choose a role" in response.text

    response = console.post(
        "/staff/add", {"username": "sam", "name": "Sam Patel", "role": "handler"}, page="/staff"
    )
    assert response.status_code == 200
    one_time = re.search(r'<strong class="secret">([^<]+)</strong>', response.text)
    assert one_time and len(one_time.group(1)) >= 12
    # Shown once on the page, never kept in the (readable, signed) session cookie.
    cookie = console.client.cookies.get("complaints_session") or ""
    payload = base64.urlsafe_b64decode(cookie.split(".")[0] + "==").decode()
    assert one_time.group(1) not in payload

    response = console.post("/staff/sam/set-role", {"role": "operations"}, page="/staff")
    assert response.status_code == 303
    response = console.post("/staff/sam/disable", {}, page="/staff")
    assert response.status_code == 303
    assert "sam can no longer sign in" in console.client.get("/staff").text
    # A manager cannot lock themselves out.
    console.post("/staff/mo/disable", {}, page="/staff")
    assert "You cannot disable your own account" in console.client.get("/staff").text
    assert console.accounts.get("mo").disabled is False  # type: ignore[union-attr]
    assert [a for a, who in console.audit("sam") if who == "Mo Manager"] == [
        "staff.account_added",
        "staff.role_changed",
        "staff.account_disabled",
    ]


def test_handlers_cannot_open_the_staff_page(console: Console) -> None:
    console.accounts.add("hana", name="Hana Handler", role="handler", by="test", password=GOOD)
    console.login("hana", GOOD)
    assert console.client.get("/staff").status_code == 403
    assert "Staff accounts" not in console.client.get("/cases").text


# -- the old TOML staff file ----------------------------------------------------------------------


def test_the_toml_staff_file_imports_and_its_hash_becomes_argon2_at_first_sign_in(
    console: Console, tmp_path: Path
) -> None:
    staff = tmp_path / "staff.toml"
    staff.write_text(
        '[[staff]]\nusername = "asha"\nname = "Asha Patel"\nrole = "handler"\n'
        f'password = "{hash_password(GOOD)}"\n'
    )
    done = _cli(tmp_path, "staff", "import", str(staff), "--by", "Mo")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"added": ["asha"], "already_there": []}
    again = _cli(tmp_path, "staff", "import", str(staff), "--by", "Mo")
    assert json.loads(again.stdout) == {"added": [], "already_there": ["asha"]}
    assert console.login("asha", GOOD).status_code == 303
    with console.app.db.session() as s:
        row = s.scalar(select(StaffAccount).where(StaffAccount.username == "asha"))
        assert row is not None and row.password_hash.startswith("$argon2id$")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[staff]]\nusername = 'x'\nrole = 'boss'\npassword = 'x'\n")
    done = _cli(tmp_path, "staff", "import", str(bad))
    assert done.returncode == 2 and "role must be one of" in done.stderr


def test_passwords_nobody_should_use_are_refused(console: Console) -> None:
    with pytest.raises(StaffError, match="at least 12"):
        console.accounts.add("a", name="A", role="handler", by="t", password="short")
    with pytest.raises(StaffError, match="must not be the username"):
        console.accounts.add(
            "abcdefghijklm", name="A", role="handler", by="t", password="ABCDEFGHIJKLM"
        )


# -- PostgreSQL -----------------------------------------------------------------------------------


def test_lockout_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    for console in _console(make_app(tmp_path, pg_url)):
        console.accounts.add("hana", name="Hana Handler", role="handler", by="t", password=GOOD)
        for _ in range(LOCK_AFTER):
            console.login("hana", "wrong password")
        assert "locked" in console.login("hana", GOOD).text
        console.clock.moment += timedelta(minutes=16)
        assert console.login("hana", GOOD).status_code == 303
        assert console.client.get("/cases").status_code == 200
