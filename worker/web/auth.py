"""Who may sign in to the console, and with what role.

Accounts live in the database (``staff_accounts``; worker/service/staff.py), managed with
``complaints staff add|list|disable|enable|set-role|reset-password`` and a manager's page at
``/staff``: argon2 hashes, lockout after repeated wrong passwords, every change audited.

The older TOML file named by ``COMPLAINTS_STAFF_FILE`` still works as it did (the console then
signs in from the file alone), and ``complaints staff import FILE`` moves its accounts into the
database, after which the variable should be unset::

    # staff.toml: one [[staff]] table per person
    [[staff]]
    username = "asha"                    # what they type to sign in (letters, digits, . _ -)
    name = "Asha Patel"                  # recorded in the audit log and on letters as handler
    role = "handler"                     # handler | manager | operations
    password = "scrypt$16384$8$1$<salt hex>$<hash hex>"

    [[staff]]
    username = "morgan"
    name = "Morgan Reid"
    role = "manager"
    password = "scrypt$16384$8$1$..."

Make a hash with ``python -m worker.web.auth`` (asks for the password twice, prints the line).
Prefer database accounts: ``complaints staff add USERNAME --name TEXT --role ROLE``.

Roles: ``handler`` works the triage queue and cases (respond, extend within the Code's limit,
escalate, complete actions); ``manager`` can do all that, assign handlers (6.13), approve an
extension beyond the limit (6.4, 6.15), record restrictions (5.14, 9.4) and manage staff
accounts; ``operations`` sees
the case list, the triage queue and the operations page, read-only.

For a demo or development only, ``COMPLAINTS_WEB_DEV_USER=name:role`` runs without a staff file:
that one person signs in with no password. Never set it on a server others can reach.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from worker.domain.errors import ConfigurationError
from worker.service.staff import ROLES, USERNAME, Account, SignIn, StaffAccounts

if TYPE_CHECKING:
    from worker.adapters.db import Database

# What each role may do. "act" covers every staff action on a case or triage item.
PERMISSIONS: Mapping[str, frozenset[str]] = {
    "handler": frozenset({"view", "act"}),
    "manager": frozenset(
        {"view", "act", "assign", "approve_extension", "restrict", "manage_staff"}
    ),
    "operations": frozenset({"view", "operations"}),
}

_USERNAME = USERNAME
# scrypt cost: n=2**14, r=8, p=1 is the interactive-login setting of the scrypt paper (~16 MiB).
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$<salt hex>$<hash hex>`` for the staff file."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_LEN,
        maxmem=64 * 1024 * 1024,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def check_hash(encoded: str) -> bool:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        (
            int(parts[1]),
            int(parts[2]),
            int(parts[3]),
            bytes.fromhex(parts[4]),
            bytes.fromhex(parts[5]),
        )
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class StaffUser:
    username: str
    name: str
    role: str
    password_hash: str = ""

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


# Spent on a username that does not exist, so a wrong name and a wrong password take as long.
_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)


class StaffDirectory:
    """Who may sign in. ``dev`` mode (``COMPLAINTS_WEB_DEV_USER``) has one passwordless user."""

    def __init__(self, users: Mapping[str, StaffUser], *, dev: bool = False) -> None:
        self.users = dict(users)
        self.dev = dev

    def get(self, username: str) -> StaffUser | None:
        return self.users.get(username)

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        user = self.users.get(username)
        if self.dev:
            return user
        if user is None:
            verify_password(password, _DUMMY_HASH)
            return None
        return user if verify_password(password, user.password_hash) else None

    def names(self, *roles: str) -> list[str]:
        return sorted(u.name for u in self.users.values() if not roles or u.role in roles)

    def is_manager(self, name: str) -> bool:
        wanted = name.strip().lower()
        return any(
            u.role == "manager" and wanted in (u.name.lower(), u.username.lower())
            for u in self.users.values()
        )


class DatabaseDirectory(StaffDirectory):
    """Staff accounts from the database (the default). ``sign_in`` tells the sign-in page
    whether an account is locked or needs its own password; ``get`` refuses a session whose
    account has since been disabled or reset, or that began more than a working day ago."""

    def __init__(
        self,
        db: Database | Callable[[], Database],
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__({}, dev=False)
        self._db = db
        self._now = now
        self._accounts: StaffAccounts | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> DatabaseDirectory:
        """The database of the settings in ``env``, opened on first use (``complaints web``
        reads the staff directory before it connects to anything)."""

        def open_db() -> Database:
            from worker.adapters.db import Database
            from worker.settings import load_settings

            return Database(load_settings(env).database_url)

        return cls(open_db)

    @property
    def accounts(self) -> StaffAccounts:
        if self._accounts is None:
            db = self._db if not callable(self._db) else self._db()
            self._accounts = StaffAccounts(db, self._now)
        return self._accounts

    @staticmethod
    def _user(account: Account) -> StaffUser:
        return StaffUser(account.username, account.name, account.role)

    def get(self, username: str) -> StaffUser | None:
        account = self.accounts.signed_in(username)
        return self._user(account) if account else None

    def sign_in(self, username: str, password: str) -> SignIn:
        return self.accounts.sign_in(username, password)

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        result = self.sign_in(username, password)
        return self._user(result.account) if result.outcome == "ok" and result.account else None

    def names(self, *roles: str) -> list[str]:
        return self.accounts.names(*roles)

    def is_manager(self, name: str) -> bool:
        return self.accounts.is_manager(name)


def load_staff_file(path: Path) -> StaffDirectory:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"COMPLAINTS_STAFF_FILE {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"COMPLAINTS_STAFF_FILE {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"COMPLAINTS_STAFF_FILE {path} is not valid TOML: {exc}") from None
    entries = data.get("staff")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{path}: no [[staff]] entries")
    users: dict[str, StaffUser] = {}
    for n, entry in enumerate(entries, start=1):
        where = f"{path}: staff entry {n}"
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{where} is not a table")
        username = str(entry.get("username", "")).strip()
        if not _USERNAME.match(username):
            raise ConfigurationError(f"{where}: username must be 1-64 of A-Z a-z 0-9 . _ -")
        if username in users:
            raise ConfigurationError(f"{where}: username {username!r} appears twice")
        role = str(entry.get("role", "")).strip()
        if role not in ROLES:
            raise ConfigurationError(
                f"{where} ({username}): role must be one of {', '.join(ROLES)}"
            )
        password = str(entry.get("password", "")).strip()
        if not check_hash(password):
            raise ConfigurationError(
                f"{where} ({username}): password must be a scrypt$... hash "
                "(make one with `python -m worker.web.auth`)"
            )
        name = str(entry.get("name", "")).strip() or username
        if any(ch in name for ch in "\r\n"):
            raise ConfigurationError(f"{where} ({username}): name has a line break")
        users[username] = StaffUser(username, name, role, password)
    return StaffDirectory(users)


def load_directory(environ: Mapping[str, str] | None = None) -> StaffDirectory:
    """The staff directory: the TOML file when ``COMPLAINTS_STAFF_FILE`` is set, the one
    passwordless demo user of ``COMPLAINTS_WEB_DEV_USER``, otherwise the database's accounts.
    A bad file or variable is a one-line ConfigurationError."""
    env = os.environ if environ is None else environ
    staff_file = env.get("COMPLAINTS_STAFF_FILE", "").strip()
    if staff_file:
        return load_staff_file(Path(staff_file))
    dev = env.get("COMPLAINTS_WEB_DEV_USER", "").strip()
    if dev:
        name, sep, role = dev.partition(":")
        name, role = name.strip(), role.strip()
        if not sep or not _USERNAME.match(name) or role not in ROLES:
            raise ConfigurationError(
                f"COMPLAINTS_WEB_DEV_USER must look like name:role with role one of "
                f"{', '.join(ROLES)}, got {dev!r}"
            )
        return StaffDirectory({name: StaffUser(name, name, role)}, dev=True)
    return DatabaseDirectory.from_environment(env)


def main() -> int:
    """Print a password hash line for the staff file."""
    first = getpass.getpass("Password: ")
    if len(first) < 12:
        print("use at least 12 characters", file=sys.stderr)
        return 2
    if getpass.getpass("Again: ") != first:
        print("the two passwords differ", file=sys.stderr)
        return 2
    print(f'password = "{hash_password(first)}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
