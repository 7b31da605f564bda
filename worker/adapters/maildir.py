"""Mailbox adapter for a local Maildir folder (the embedded default and `complaints demo`).

A Maildir has no UIDs, so this adapter keeps two small files inside the folder:

* ``.complaints-uidvalidity`` - one number, written once when the folder is first opened;
* ``.complaints-uids`` - one ``UID<TAB>unique-name`` line per message ever seen, appended under an
  exclusive lock, so a message keeps its UID across runs and processes. The unique name is the file
  name up to the ``:2,`` info part, which Maildir keeps when a client changes flags.

Processed messages are moved to the ``.Processed`` sub-folder (Maildir++ layout:
``.Processed/cur``), so `fetch_new` never sees them again. Messages are never moved from ``new/`` to
``cur/`` or flagged. `wait_for_mail` watches ``new/`` and ``cur/`` (their mtimes, every 0.1 s) for
a message `fetch_new` has not handed out yet.

Read-only folders (for instance the sample mailbox shipped inside the package, or a folder the
process may not write) are supported: nothing is written, UIDs come from the uid file when it exists
and otherwise from the sorted order of the unique names (stable while the folder does not change),
and `mark_processed` only remembers the UID for the life of this object. Every new run (a new
object) returns every message again; idempotency rests on the database's unique key on (mailbox,
uidvalidity, uid) - the same key that makes any redelivery a no-op.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from worker.adapters.attachment_store import SPOOL_OVER, item_size, spooled
from worker.domain.errors import ConfigurationError
from worker.ports import RawInbound

log = logging.getLogger(__name__)

UIDVALIDITY_FILE = ".complaints-uidvalidity"
UID_FILE = ".complaints-uids"
PROCESSED_FOLDER = ".Processed"
_READ_ONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}
DEFAULT_MAX_BATCH_BYTES = 32 * 1024 * 1024
_WAIT_INTERVAL = 0.1
# Directory mtimes can be coarse (a kernel tick, whole seconds on some file systems): a file
# added in the same tick as our last listing leaves the mtime unchanged. A directory changed
# this recently is listed again on every round rather than trusted.
_MTIME_SETTLE_NS = 2_000_000_000


@dataclass(frozen=True)
class _Entry:
    unique: str  # file name without the ":2,FLAGS" info part
    path: Path


def _unique_name(filename: str) -> str:
    return filename.split(":", 1)[0]


class MaildirMailbox:
    """`worker.ports.Mailbox` over a Maildir folder.

    `read_only=None` detects it: the folder is read-only when its state files cannot be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        processed_folder: str = PROCESSED_FOLDER,
        read_only: bool | None = None,
        spool_over: int = SPOOL_OVER,
    ) -> None:
        self.path = Path(path).resolve()
        for sub in ("cur", "new"):
            if not (self.path / sub).is_dir():
                raise ConfigurationError(
                    f"{self.path} is not a Maildir folder (it needs cur/ and new/ sub-folders)"
                )
        self.name = f"maildir:{self.path}"
        # A message bigger than this is handed over as a SpooledInbound naming its file.
        self.spool_over = spool_over
        self.processed_path = self.path / processed_folder
        self.read_only = self._detect_read_only() if read_only is None else read_only
        self.uidvalidity = self._load_uidvalidity()
        # Read-only: nothing can be moved, so the UIDs handed over and marked processed are
        # remembered here; otherwise every fetch would return the same first `limit` messages
        # and any message past them would never be read.
        self._processed_uids: set[int] = set()
        # Unique names fetch_new has handed out (None: it has not run yet) and whether it left
        # messages behind: wait_for_mail wakes for anything else, never for a message the
        # caller already has (a batch whose commit failed would otherwise wake it forever).
        self._handed_out: set[str] | None = None
        self._backlog = False

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"MaildirMailbox({str(self.path)!r}{mode})"

    # --- the Mailbox protocol ------------------------------------------------------------------

    def fetch_new(
        self, limit: int = 100, max_bytes: int = DEFAULT_MAX_BATCH_BYTES
    ) -> list[RawInbound]:
        """Up to `limit` messages, oldest first, together at most `max_bytes` except that the
        first message always comes, however large."""
        entries = self._entries()
        uids = self._assign_uids(entries)
        present = {e.unique for e in entries}
        # Oldest first: by UID, which follows arrival order for messages seen in one scan.
        if self.read_only:
            entries = [e for e in entries if uids[e.unique] not in self._processed_uids]
        waiting = sorted(entries, key=lambda e: uids[e.unique])
        result: list[RawInbound] = []
        returned: set[str] = set()
        total = 0
        for entry in waiting:
            # A file gone meanwhile does not use up a place in the batch: an empty batch must
            # mean an exhausted folder, since callers stop reading on one.
            if len(result) >= max(limit, 0):
                break
            uid = uids[entry.unique]
            try:
                if entry.path.stat().st_size > self.spool_over:
                    # Big: the file itself is the spool, read a piece at a time when stored.
                    item: RawInbound = spooled(self.name, self.uidvalidity, uid, entry.path, False)
                else:
                    item = RawInbound(self.name, self.uidvalidity, uid, entry.path.read_bytes())
            except FileNotFoundError:
                continue  # moved by another process (or a client changed its flags) meanwhile
            size = item_size(item)
            if result and total + size > max_bytes:
                break
            total += size
            result.append(item)
            returned.add(entry.unique)
        # Names no longer in the folder are forgotten, so this stays as small as the folder.
        self._handed_out = ((self._handed_out or set()) & present) | returned
        self._backlog = len(result) < len(waiting)
        return result

    def mark_processed(self, item: RawInbound) -> None:
        self.mark_processed_many([item])

    def mark_processed_many(self, items: Sequence[RawInbound]) -> None:
        """Move `items` to the processed folder: one scan of the folder and one read of the UID
        file for the whole batch. A message already moved is skipped."""
        for item in items:
            if item.mailbox != self.name:
                raise ValueError(f"{item.mailbox} is not from mailbox {self.name}")
        current = [item for item in items if item.uidvalidity == self.uidvalidity]
        if self.read_only:
            self._processed_uids.update(item.uid for item in current)
            return
        for item in items:
            if item.uidvalidity != self.uidvalidity:
                log.warning("%s: not moving UID %s of an old UIDVALIDITY", self.name, item.uid)
        if not current:
            return
        by_uid = self._read_uid_map()[1]
        wanted = {by_uid[item.uid] for item in current if item.uid in by_uid}
        entries = [e for e in self._entries() if e.unique in wanted]
        if not entries:
            return  # already moved: a repeated call is a no-op
        self._ensure_processed_folder()
        # No fsync: a rename lost in a crash only brings the message back, and the database's
        # unique key makes its second delivery a no-op.
        for entry in entries:
            target = self.processed_path / "cur" / entry.path.name
            if ":" not in entry.path.name:
                target = target.with_name(entry.path.name + ":2,")
            try:
                os.rename(entry.path, target)
            except FileNotFoundError:
                pass  # another process moved it first

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until ``new/`` or ``cur/`` holds a message `fetch_new` has not handed out
        (True), or `timeout` seconds pass (False). Returns at once when the last fetch left
        messages behind."""
        deadline = time.monotonic() + max(timeout, 0.0)
        if self._backlog:
            self._backlog = False
            return True
        last: list[tuple[int, int]] = []
        while True:
            # Stat before listing: a file added after the stat changes the mtime we compare
            # against next round, so it is never lost between the two.
            stamps = [self._stamp(sub) for sub in ("new", "cur")]
            unsettled = any(mtime > time.time_ns() - _MTIME_SETTLE_NS for mtime, _ in stamps)
            if (stamps != last or unsettled) and self._has_unfetched():
                return True
            last = stamps
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_WAIT_INTERVAL, remaining))

    def close(self) -> None:
        pass

    def __enter__(self) -> MaildirMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------

    def _entries(self) -> list[_Entry]:
        entries: dict[str, _Entry] = {}
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as it:
                for f in it:
                    if f.name.startswith(".") or not f.is_file():
                        continue
                    entries.setdefault(_unique_name(f.name), _Entry(_unique_name(f.name), Path(f)))
        return list(entries.values())

    def _stamp(self, sub: str) -> tuple[int, int]:
        st = os.stat(self.path / sub)
        return st.st_mtime_ns, st.st_ino  # a directory replaced wholesale changes its inode

    def _has_unfetched(self) -> bool:
        entries = self._entries()
        if self._handed_out is not None:
            return any(e.unique not in self._handed_out for e in entries)
        if self.read_only and self._processed_uids:
            uids = self._assign_uids(entries)  # read-only: computed, never written
            return any(uids[e.unique] not in self._processed_uids for e in entries)
        return bool(entries)

    def _assign_uids(self, entries: list[_Entry]) -> dict[str, int]:
        """UID for each entry; new names get the next UIDs, in arrival order, recorded for good."""

        def arrival(e: _Entry) -> tuple[float, str]:
            try:
                return (e.path.stat().st_mtime, e.unique)
            except FileNotFoundError:
                return (0.0, e.unique)

        if self.read_only:
            by_name, _ = self._read_uid_map()
            names = sorted(e.unique for e in entries if e.unique not in by_name)
            next_uid = max(by_name.values(), default=0) + 1
            return by_name | {name: next_uid + i for i, name in enumerate(names)}

        with self._locked_uid_file() as fd:
            by_name, _ = self._read_uid_map()
            unknown = sorted((e for e in entries if e.unique not in by_name), key=arrival)
            if unknown:
                next_uid = max(by_name.values(), default=0) + 1
                lines = []
                for i, entry in enumerate(unknown):
                    by_name[entry.unique] = next_uid + i
                    lines.append(f"{next_uid + i}\t{entry.unique}\n")
                # One write of whole lines to an O_APPEND file, then fsync: a crash leaves at
                # worst a torn last line, which _read_uid_map ignores.
                os.write(fd, "".join(lines).encode())
                os.fsync(fd)
        return by_name

    def _read_uid_map(self) -> tuple[dict[str, int], dict[int, str]]:
        by_name: dict[str, int] = {}
        by_uid: dict[int, str] = {}
        try:
            text = (self.path / UID_FILE).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return by_name, by_uid
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                continue
            uid_text, sep, name = line.rstrip("\n").partition("\t")
            if not sep or not uid_text.isdigit() or not name or name in by_name:
                continue
            by_name[name] = int(uid_text)
            by_uid[int(uid_text)] = name
        return by_name, by_uid

    @contextmanager
    def _locked_uid_file(self) -> Iterator[int]:
        fd = os.open(self.path / UID_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # releases the lock

    def _load_uidvalidity(self) -> int:
        path = self.path / UIDVALIDITY_FILE
        try:
            return int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            pass
        if self.read_only:
            # Nothing can be stored: derive a stable value from the folder's location.
            return zlib.crc32(str(self.path).encode()) & 0x7FFFFFFF or 1
        value = max(int(time.time()), 1) & 0x7FFFFFFF
        tmp = self.path / f".{UIDVALIDITY_FILE}.{os.getpid()}.tmp"
        tmp.write_text(f"{value}\n")
        try:
            os.link(tmp, path)  # never overwrites: a concurrent first opener may have won
        except FileExistsError:
            value = int(path.read_text().strip())
        finally:
            tmp.unlink(missing_ok=True)
        return value

    def _detect_read_only(self) -> bool:
        probe = self.path / "tmp" if (self.path / "tmp").is_dir() else self.path
        try:
            fd = os.open(self.path / UID_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.close(fd)
            os.close(os.open(probe / f".complaints-probe.{os.getpid()}", os.O_CREAT | os.O_WRONLY))
            os.unlink(probe / f".complaints-probe.{os.getpid()}")
        except OSError as exc:
            if exc.errno in _READ_ONLY_ERRNOS:
                log.info("%s is read-only: messages will not be moved once processed", self.path)
                return True
            raise
        return False

    def _ensure_processed_folder(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.processed_path / sub).mkdir(parents=True, exist_ok=True)
        (self.processed_path / "maildirfolder").touch(exist_ok=True)
