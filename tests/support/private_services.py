"""A private PostgreSQL and a private Redis for tests that stop and restart them.

The machine's shared servers are used by other test runs at the same time, so a test that
restarts a server gets its own: `initdb` into a temporary folder and `redis-server` on a free
port, both on 127.0.0.1 with no password. Missing binaries fail the test with a one-line reason
(`bash scripts/test.sh` installs them); nothing is skipped.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dovecot import HOST, free_port

REDIS_SERVER = "/usr/bin/redis-server"
_INSTALL = "run the tests with `bash scripts/test.sh`, which installs it"


def postgres_bin() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb, pg_ctl and postgres."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for candidate in reversed(found):
        if all(os.access(candidate / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise RuntimeError(
        f"PostgreSQL's initdb/pg_ctl are missing under /usr/lib/postgresql ({_INSTALL})"
    )


class PrivatePostgres:
    """`postgres` on a free port with its own data folder, trust auth, no fsync (test data).

    PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (or `nobody`).
    """

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.base = Path(tempfile.mkdtemp(prefix="complaints-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "run"
        self.log = self.base / "postgres.log"
        self.port = free_port()
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self._user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self._user is None:
                raise RuntimeError("running as root and there is no `postgres` user to run as")
        self.base.chmod(0o755)
        self.sockets.mkdir()
        if self._user is not None:
            for path in (self.base, self.sockets):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._initialised = False
        atexit.register(self.close)

    def _run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        done = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            cwd=self.base,
            env={"PATH": f"{self.bin}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            **kwargs,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}\n{self.log_tail()}"
            )
        return done

    def start(self) -> None:
        if not self._initialised:
            self._run(
                str(self.bin / "initdb"),
                "-D", str(self.data),
                "-U", "postgres",
                "--auth=trust",
                "-E", "UTF8",
                "--no-sync",
            )  # fmt: skip
            self._initialised = True
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast`: connections are cut and the server shuts down cleanly, as a restart by an
        operator or a package upgrade does; `immediate`: as a crash."""
        if not self.running:
            return
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    @property
    def running(self) -> bool:
        if not self._initialised:
            return False
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return done.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"complaints_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=HOST, port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def close(self) -> None:
        try:
            if self._initialised and self.data.exists():
                self.stop("immediate")
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis:
    """`redis-server` on a free port, no persistence: a restart loses every queue, the poller's
    lease and the heartbeats, as a failover to an empty replica or a cache-only Redis would."""

    def __init__(self) -> None:
        if not os.access(REDIS_SERVER, os.X_OK):
            raise RuntimeError(f"{REDIS_SERVER} is missing ({_INSTALL})")
        self.base = Path(tempfile.mkdtemp(prefix="complaints-redis-"))
        self.port = free_port()
        self.log = self.base / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self._proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
                "--logfile",
                str(self.log),
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        import redis

        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    pass
                if not self.running or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {self.log_tail()}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own, started; the test may stop and restart it."""
    try:
        server = PrivatePostgres()
    except RuntimeError as exc:
        pytest.fail(f"private PostgreSQL: {exc}", pytrace=False)
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        server.close()
        pytest.fail(f"private PostgreSQL did not start: {exc}", pytrace=False)
    yield server
    server.close()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A Redis of this test's own, started; the test may stop and restart it."""
    try:
        server = PrivateRedis()
    except RuntimeError as exc:
        pytest.fail(f"private Redis: {exc}", pytrace=False)
    try:
        server.start()
    except RuntimeError as exc:
        server.close()
        pytest.fail(f"private Redis did not start: {exc}", pytrace=False)
    yield server
    server.close()
