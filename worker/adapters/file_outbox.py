"""MailSender adapter that writes each letter as an ``.eml`` file (the embedded default).

The file name comes from the Message-ID, or, for a letter without one, from its
``X-Complaints-Case-Ref`` and ``X-Complaints-Letter-Kind`` headers. A file is written to a hidden
temporary name, flushed, then linked into place without overwriting, so a reader never sees half a
letter and sending the same letter twice leaves one file. `send_batch` announces the whole batch
with one ``before_data`` call, then writes the files.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from worker.domain.errors import TransientError
from worker.ports import SendResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")


def safe_filename(text: str) -> str:
    """A file name made of `text`, with anything but letters, digits and ._@+=- replaced."""
    name = _UNSAFE.sub("_", text.strip().strip("<>")).strip("._") or "letter"
    return name[:200]


class FileSender:
    """`worker.ports.MailSender` writing ``<directory>/<name>.eml``; idempotent by file name."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileSender({str(self.directory)!r})"

    def path_for(self, message: email.message.EmailMessage) -> Path | None:
        """Where `message` is (or will be) written; None when it has no name yet."""
        if message.get("Message-ID"):
            return self.directory / f"{safe_filename(str(message['Message-ID']))}.eml"
        ref, kind = message.get("X-Complaints-Case-Ref"), message.get("X-Complaints-Letter-Kind")
        if ref and kind:
            return self.directory / f"{safe_filename(f'{ref}-{kind}')}.eml"
        return None

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        path = self.path_for(message)
        if path is not None and path.exists():
            return _message_id_of(path) or str(message.get("Message-ID", ""))
        path = self._named(message)
        if before_data is not None:
            before_data()
        return self._write(message, path)

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        if not messages:
            return []
        paths = [self._named(message) for message in messages]
        # Writing a file is all-or-nothing (see _write_once), so unlike SMTP nothing here can
        # leave a letter half-delivered: one announcement for the whole batch is enough.
        before_data(list(range(len(messages))))
        results: list[SendResult] = []
        for index, (message, path) in enumerate(zip(messages, paths, strict=True)):
            try:
                results.append(SendResult(index, self._write(message, path, sync=False)))
            except TransientError as exc:
                results.append(SendResult(index, str(message.get("Message-ID", "")), exc))
        # One flush to disk for the whole batch, before anyone is told the letters are written
        # (an fsync per letter cost more than everything else the file outbox does).
        os.sync()
        if after_data is not None:
            after_data(results)
        return results

    def close(self) -> None:
        """Nothing to release; here so every sender can be closed alike."""

    def _named(self, message: email.message.EmailMessage) -> Path:
        """The file for `message`, giving it a Message-ID unless one is already on file."""
        path = self.path_for(message)
        if path is not None and path.exists():
            return path
        if not message.get("Message-ID"):
            _name, address = email.utils.parseaddr(str(message.get("From", "")))
            message["Message-ID"] = email.utils.make_msgid(
                domain=address.rpartition("@")[2] or None
            )
        return path or self.directory / f"{safe_filename(str(message['Message-ID']))}.eml"

    def _write(self, message: email.message.EmailMessage, path: Path, sync: bool = True) -> str:
        """Write `message` to `path` unless a letter is there already; the Message-ID on file."""
        try:
            if not path.exists():
                self.directory.mkdir(parents=True, exist_ok=True)
                if _write_once(path, message.as_bytes(), sync=sync):
                    return str(message.get("Message-ID", ""))
            return _message_id_of(path) or str(message.get("Message-ID", ""))
        except OSError as exc:
            raise TransientError(f"cannot write {path}: {exc}") from exc


def _write_once(path: Path, data: bytes, sync: bool = True) -> bool:
    """Write `data` as `path` unless a file of that name appears first. True when this call
    wrote it. With ``sync=False`` the caller flushes to disk (once for a batch)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if a file of that name exists: the first write wins
        except FileExistsError:
            return False
        except OSError:
            # File systems without hard links: rename (atomic, may replace an equal letter).
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _message_id_of(path: Path) -> str | None:
    with open(path, "rb") as f:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(f)
    value = headers.get("Message-ID")
    return str(value) if value else None
