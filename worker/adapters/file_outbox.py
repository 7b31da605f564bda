"""MailSender adapter that writes each letter as an ``.eml`` file (the embedded default).

The file name comes from the Message-ID, or, for a letter without one, from its
``X-Complaints-Case-Ref`` and ``X-Complaints-Letter-Kind`` headers. A file is written to a hidden
temporary name, flushed, then linked into place without overwriting, so a reader never sees half a
letter and sending the same letter twice leaves one file.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from worker.domain.errors import TransientError

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
        if not message.get("Message-ID"):
            _name, address = email.utils.parseaddr(str(message.get("From", "")))
            message["Message-ID"] = email.utils.make_msgid(
                domain=address.rpartition("@")[2] or None
            )
        if path is None:
            path = self.path_for(message)
            assert path is not None
        message_id = str(message["Message-ID"])
        if before_data is not None:
            before_data()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_once(path, message.as_bytes())
        except OSError as exc:
            raise TransientError(f"cannot write {path}: {exc}") from exc
        return _message_id_of(path) or message_id


def _write_once(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if a file of that name exists: the first write wins
        except FileExistsError:
            pass
        except OSError:
            # File systems without hard links: rename (atomic, may replace an equal letter).
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _message_id_of(path: Path) -> str | None:
    with open(path, "rb") as f:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parse(f)
    value = headers.get("Message-ID")
    return str(value) if value else None
