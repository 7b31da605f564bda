"""A `complaints worker` process run as an operator runs it: against the real services, started,
stopped, or killed with SIGKILL in the middle of its work and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPLAINTS = [sys.executable, "-m", "worker.cli"]


def service_env(
    *,
    pg_url: str,
    redis_url: str,
    imap_url: str,
    smtp_url: str,
    outbox_dir: Path,
    poll_interval: float = 0.5,
    **extra: str,
) -> dict[str, str]:
    """The environment of a worker in service mode; `extra` adds or overrides COMPLAINTS_* names."""
    return {
        **os.environ,
        "COMPLAINTS_DATABASE_URL": pg_url,
        "COMPLAINTS_REDIS_URL": redis_url,
        "COMPLAINTS_IMAP_URL": imap_url,
        "COMPLAINTS_SMTP_URL": smtp_url,
        "COMPLAINTS_POLL_INTERVAL": str(poll_interval),
        "COMPLAINTS_OUTBOX_DIR": str(outbox_dir),
        **extra,
    }


def upgrade_database(env: dict[str, str]) -> None:
    """`complaints db upgrade`, as an operator runs it before the first worker starts."""
    subprocess.run([*COMPLAINTS, "db", "upgrade"], env=env, cwd=REPO, check=True)


class WorkerProcess:
    """One `complaints worker` at a time, in its own process group so that a kill reaches any
    processes it starts as well; each start appends to the same log file."""

    def __init__(
        self, env: dict[str, str], log: Path, threads: int = 2, procs: int | None = None
    ) -> None:
        self.env = env
        self.log = log
        self.threads = threads
        # None: the worker's own default (one process per CPU core with Redis).
        self.procs = procs
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The exit status of a worker that stopped of its own accord, else None."""
        return None if self.proc is None else self.proc.poll()

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the worker is already running")
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== worker start {self.starts} =====\n".encode())
            out.flush()
            procs = [] if self.procs is None else ["--procs", str(self.procs)]
            self.proc = subprocess.Popen(
                [*COMPLAINTS, "worker", "--threads", str(self.threads), *procs],
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine loses power or the OOM killer acts."""
        if self.proc is None:
            raise RuntimeError("the worker was never started")
        self._signal_group(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait for a clean shutdown (SIGKILL after 20 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # whatever is left of the group
        self.proc.wait(5)

    def _signal_group(self, signum: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signum)  # the group this process leads (start_new_session)
        except ProcessLookupError:
            pass  # the whole group has gone already

    def log_tail(self, chars: int = 4000) -> str:
        if not self.log.exists():
            return "(no worker log)"
        return self.log.read_text(errors="replace")[-chars:]
