"""Staff accounts for the console (SPEC section 7): add, list, disable, enable, change a role,
reset a password, sign in with lockout, import the old TOML staff file. Every change and every
sign-in, failure and lock is written to the audit log.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
setting). Accounts imported from the TOML file keep their scrypt hash until the person next signs
in, when it is replaced by an argon2 one.

Lockout (OWASP Authentication Cheat Sheet, "account lockout"): five wrong passwords in a row lock
the account for 15 minutes; each further lock without a good sign-in in between lasts twice as
long as the one before, up to a day. While locked, no password is even tried. A manager can lift
a lock at once by resetting the password or re-enabling the account.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.db_models import StaffAccount
from worker.domain.errors import UserError
from worker.records import audit

if TYPE_CHECKING:
    from worker.adapters.db import Database

ROLES = ("handler", "manager", "operations")
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_PASSWORD = 12
# argon2 takes time and memory for every character it is given; a megabyte of "password" posted
# to the sign-in page must not become a way to tie up the web process.
MAX_PASSWORD = 1024
LOCK_AFTER = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
# A sign-in lasts a working day at most, however active the session (the cookie's own expiry
# covers an idle one).
SIGN_IN_LASTS = timedelta(hours=12)

_HASHER = PasswordHasher()
# Spent on a username that does not exist, so a wrong name and a wrong password take as long.
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")


class StaffError(UserError):
    """A staff-account change that cannot be made; the message is one line for a person."""


@dataclass(frozen=True)
class Account:
    username: str
    name: str
    role: str
    disabled: bool
    must_change_password: bool
    locked_until: datetime | None
    failed_attempts: int
    last_sign_in_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "role": self.role,
            "disabled": self.disabled,
            "must_change_password": self.must_change_password,
            "locked_until": _iso(self.locked_until),
            "failed_attempts": self.failed_attempts,
            "last_sign_in_at": _iso(self.last_sign_in_at),
        }


@dataclass(frozen=True)
class SignIn:
    """What became of one sign-in attempt. ``outcome`` is ``ok``, ``must_change_password`` (a
    one-time password was right: the person must choose their own before anything else),
    ``wrong`` (unknown name or wrong password; the two are not told apart), ``locked`` or
    ``disabled``."""

    outcome: str
    account: Account | None = None
    locked_until: datetime | None = None


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat(timespec="seconds") if value else None


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _view(row: StaffAccount) -> Account:
    return Account(
        username=row.username,
        name=row.name,
        role=row.role,
        disabled=row.disabled,
        must_change_password=row.must_change_password,
        locked_until=_aware(row.locked_until) if row.locked_until else None,
        failed_attempts=row.failed_attempts,
        last_sign_in_at=_aware(row.last_sign_in_at) if row.last_sign_in_at else None,
    )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify(encoded: str, password: str) -> bool:
    if encoded.startswith("scrypt$"):
        from worker.web.auth import verify_password as verify_scrypt

        return verify_scrypt(password, encoded)
    try:
        return _HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password(password: str, username: str = "") -> None:
    """A one-line StaffError for a password nobody should use."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"a password may have at most {MAX_PASSWORD} characters")
    if username and password.strip().lower() == username.lower():
        raise StaffError("a password must not be the username")


def one_time_password() -> str:
    # 96 random bits, in characters that survive being read out over the phone.
    return secrets.token_urlsafe(12)


def lock_length(lockouts: int) -> timedelta:
    """How long the ``lockouts``-th lock in a row lasts (1 -> 15 minutes, doubling, at most a
    day)."""
    length = FIRST_LOCK * (2 ** max(0, min(lockouts - 1, 16)))
    return min(length, LONGEST_LOCK)


class StaffAccounts:
    """The staff-accounts service. ``now`` is injectable so tests can let a lock run out."""

    def __init__(self, db: Database, now: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.now = now or (lambda: datetime.now(UTC))

    # -- reading ---------------------------------------------------------------------------------

    def list(self) -> list[Account]:
        with self.db.session() as s:
            rows = s.scalars(select(StaffAccount).order_by(StaffAccount.username)).all()
            return [_view(r) for r in rows]

    def get(self, username: str) -> Account | None:
        with self.db.session() as s:
            row = self._row(s, username)
            return _view(row) if row else None

    def signed_in(self, username: str) -> Account | None:
        """The account behind a session, or None when it may no longer be used: disabled,
        waiting for its own password, or signed in longer ago than a working day."""
        account = self.get(username)
        if account is None or account.disabled or account.must_change_password:
            return None
        started = account.last_sign_in_at
        if started is None or self.now() - started > SIGN_IN_LASTS:
            return None
        return account

    def names(self, *roles: str) -> list[str]:
        return sorted(
            a.name for a in self.list() if not a.disabled and (not roles or a.role in roles)
        )

    def is_manager(self, name: str) -> bool:
        wanted = name.strip().lower()
        return any(
            a.role == "manager" and not a.disabled and wanted in (a.name.lower(), a.username)
            for a in self.list()
        )

    # -- changes ---------------------------------------------------------------------------------

    def add(
        self, username: str, *, name: str, role: str, by: str, password: str | None = None
    ) -> tuple[Account, str | None]:
        """A new account. Without ``password`` a one-time password is made and returned: it
        signs in once, to choose the person's own. With one, the account is ready to use."""
        username = username.strip()
        name = " ".join(name.split())
        if not USERNAME.match(username):
            raise StaffError("a username is 1-64 of the characters A-Z a-z 0-9 . _ -")
        if not name or len(name) > 200:
            raise StaffError("give the person's name (at most 200 characters)")
        self._check_role(role)
        made = password is None
        chosen = one_time_password() if password is None else password
        check_password(chosen, username)
        with self.db.session() as s:
            if self._row(s, username, any_case=True) is not None:
                raise StaffError(f"there is already an account called {username}")
            now = self.now()
            row = StaffAccount(
                username=username,
                name=name,
                role=role,
                password_hash=hash_password(chosen),
                must_change_password=made,
                disabled=False,
                failed_attempts=0,
                lockouts=0,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            audit(s, by, "staff.account_added", f"{name} added as {role}", username=username)
            return _view(row), (chosen if made else None)

    def disable(self, username: str, *, by: str, reason: str = "") -> Account:
        def change(row: StaffAccount) -> str:
            if row.disabled:
                raise StaffError(f"{username} is already disabled")
            row.disabled = True
            return "staff.account_disabled"

        return self._change(username, by, change, reason or "disabled")

    def enable(self, username: str, *, by: str, reason: str = "") -> Account:
        def change(row: StaffAccount) -> str:
            if not row.disabled and not row.locked_until:
                raise StaffError(f"{username} is already enabled")
            row.disabled = False
            # Re-enabling is also how a manager lifts a lock.
            row.failed_attempts = 0
            row.lockouts = 0
            row.locked_until = None
            return "staff.account_enabled"

        return self._change(username, by, change, reason or "enabled")

    def set_role(self, username: str, role: str, *, by: str) -> Account:
        self._check_role(role)

        def change(row: StaffAccount) -> str:
            if row.role == role:
                raise StaffError(f"{username} is already {role}")
            row.role = role
            return "staff.role_changed"

        return self._change(username, by, change, f"role set to {role}", role=role)

    def reset_password(
        self, username: str, *, by: str, password: str | None = None
    ) -> tuple[Account, str | None]:
        """A new password chosen by someone else: one-time unless given (then ready to use).
        Lifts any lock; the person's sessions end, as the account is marked for a change."""
        chosen = one_time_password() if password is None else password
        check_password(chosen, username)

        def change(row: StaffAccount) -> str:
            row.password_hash = hash_password(chosen)
            row.must_change_password = password is None
            row.failed_attempts = 0
            row.lockouts = 0
            row.locked_until = None
            # Ends any session signed in before the reset (see ``signed_in``).
            row.last_sign_in_at = None
            return "staff.password_reset"

        account = self._change(username, by, change, "password reset")
        return account, (chosen if password is None else None)

    def change_password(self, username: str, current: str, new: str) -> Account:
        """The person's own new password, after proving the current (or one-time) one."""
        check_password(new, username)
        if new == current:
            raise StaffError("choose a password different from the one you were given")
        with self.db.session() as s:
            row = self._row(s, username, lock=True)
            if row is None or row.disabled or not _verify(row.password_hash, current):
                raise StaffError("the current password is wrong")
            row.password_hash = hash_password(new)
            row.must_change_password = False
            row.last_sign_in_at = self.now()
            row.updated_at = self.now()
            audit(
                s, row.name, "staff.password_changed", "chose their own password", username=username
            )
            return _view(row)

    # -- signing in ------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> SignIn:
        username = username.strip()
        now = self.now()
        if len(password) > MAX_PASSWORD or not USERNAME.match(username):
            _verify(_DUMMY_HASH, "x")
            with self.db.session() as s:
                audit(
                    s,
                    "anonymous",
                    "staff.login_failed",
                    "wrong username or password",
                    username=username[:64],
                )
            return SignIn("wrong")
        with self.db.session() as s:
            row = self._row(s, username, lock=True)
            if row is None:
                _verify(_DUMMY_HASH, password)
                audit(
                    s,
                    "anonymous",
                    "staff.login_failed",
                    "wrong username or password",
                    username=username,
                )
                return SignIn("wrong")
            if row.disabled:
                audit(
                    s, row.name, "staff.login_refused", "the account is disabled", username=username
                )
                return SignIn("disabled")
            locked_until = _aware(row.locked_until) if row.locked_until else None
            if locked_until and locked_until > now:
                audit(
                    s,
                    row.name,
                    "staff.login_refused",
                    "the account is locked",
                    username=username,
                    locked_until=locked_until.isoformat(),
                )
                return SignIn("locked", locked_until=locked_until)
            if not _verify(row.password_hash, password):
                row.failed_attempts += 1
                audit(
                    s,
                    row.name,
                    "staff.login_failed",
                    "wrong password",
                    username=username,
                    failed_attempts=row.failed_attempts,
                )
                if row.failed_attempts >= LOCK_AFTER:
                    row.lockouts += 1
                    row.failed_attempts = 0
                    row.locked_until = now + lock_length(row.lockouts)
                    audit(
                        s,
                        "system",
                        "staff.locked",
                        f"{LOCK_AFTER} wrong passwords in a row",
                        username=username,
                        locked_until=row.locked_until.isoformat(),
                        lockouts_in_a_row=row.lockouts,
                    )
                    return SignIn("locked", locked_until=row.locked_until)
                return SignIn("wrong")
            row.failed_attempts = 0
            row.lockouts = 0
            row.locked_until = None
            if not row.password_hash.startswith("$argon2"):
                row.password_hash = hash_password(password)  # scrypt from the old staff file
            if row.must_change_password:
                audit(
                    s,
                    row.name,
                    "staff.login",
                    "signed in with a one-time password",
                    username=username,
                    role=row.role,
                )
                return SignIn("must_change_password", _view(row))
            row.last_sign_in_at = now
            audit(s, row.name, "staff.login", f"signed in as {row.role}", username=username)
            return SignIn("ok", _view(row))

    # -- the old TOML staff file -----------------------------------------------------------------

    def import_file(self, path: Path, *, by: str) -> dict[str, list[str]]:
        """Accounts of a ``COMPLAINTS_STAFF_FILE`` (scrypt hashes kept until the next sign-in).
        An account already in the database is left as it is: the database wins."""
        from worker.web.auth import load_staff_file

        directory = load_staff_file(path)  # one-line ConfigurationError for a bad file
        added: list[str] = []
        kept: list[str] = []
        with self.db.session() as s:
            for user in directory.users.values():
                if self._row(s, user.username, any_case=True) is not None:
                    kept.append(user.username)
                    continue
                now = self.now()
                s.add(
                    StaffAccount(
                        username=user.username,
                        name=user.name,
                        role=user.role,
                        password_hash=user.password_hash,
                        must_change_password=False,
                        disabled=False,
                        failed_attempts=0,
                        lockouts=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                added.append(user.username)
            audit(s, by, "staff.accounts_imported", f"from {path}", added=added, kept=kept)
        return {"added": added, "already_there": kept}

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise StaffError(f"a role is one of {', '.join(ROLES)}, not {role!r}")

    @staticmethod
    def _row(
        s: Session, username: str, *, lock: bool = False, any_case: bool = False
    ) -> StaffAccount | None:
        query = select(StaffAccount)
        if any_case:
            # "Asha" and "asha" would be two people to the database and one to everyone else.
            from sqlalchemy import func

            query = query.where(func.lower(StaffAccount.username) == username.lower())
        else:
            query = query.where(StaffAccount.username == username)
        if lock:
            query = query.with_for_update()
        return s.scalars(query).first()

    def _change(
        self,
        username: str,
        by: str,
        change: Callable[[StaffAccount], str],
        why: str,
        **details: Any,
    ) -> Account:
        with self.db.session() as s:
            row = self._row(s, username, lock=True)
            if row is None:
                raise StaffError(f"there is no account called {username}")
            action = change(row)
            row.updated_at = self.now()
            audit(s, by, action, why, username=username, **details)
            return _view(row)
