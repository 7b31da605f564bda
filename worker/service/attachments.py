"""Attachments of inbound messages for staff (SPEC section 7, issue 9 item 4): listed with name,
type and size on the case and triage pages, and downloaded as files, never shown in the browser.

A list is read from the stored message as kept (big bodies stand there as one placeholder line
that gives their size, worker/adapters/attachment_store.py), so listing never loads a 30 MB
photo. A download puts the message back together and takes the one part asked for. Both walk
the MIME tree the same way, so the number in a download link names the same part.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from typing import TYPE_CHECKING
from urllib.parse import quote

from worker.adapters.db_models import InboundMessage
from worker.domain.errors import UserError
from worker.domain.parsing import STORED_BODY_PREFIX

if TYPE_CHECKING:
    from worker.bootstrap import App

_STORED_SIZE = re.compile(re.escape(STORED_BODY_PREFIX) + r": (\d{1,15}) bytes decoded")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|;]+")
MAX_NAME = 150


class AttachmentNotFound(UserError):
    """No such message, or no attachment with that number in it."""


@dataclass(frozen=True)
class AttachmentInfo:
    inbound_id: int
    index: int  # 1-based, in the order of the MIME tree
    filename: str
    content_type: str
    size: int  # decoded bytes

    @property
    def size_text(self) -> str:
        return human_size(self.size)


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str  # as declared by the sender: shown to staff, never sent as the type
    body: bytes
    case_id: int | None


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a broken parameter is a nameless attachment, not a crash
        name = ""
    return str(name)


def _content_type(part: Message) -> str:
    try:
        return str(part.get_content_type()).lower()
    except Exception:  # noqa: BLE001
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    ctype = _content_type(part)
    disposition = str(part.get("content-disposition", "") or "").split(";")[0].strip().lower()
    if disposition == "attachment" or _filename(part):
        return True
    # Bodies the resident wrote (the text and HTML the pages already show) are not attachments.
    return not ctype.startswith("text/")


def _leaves(raw: bytes) -> Iterator[Message]:
    message = message_from_bytes(raw, policy=compat32)
    for part in message.walk():
        if _is_attachment(part):
            yield part


def _size(part: Message) -> int:
    payload = part.get_payload()
    if isinstance(payload, str) and payload.startswith(STORED_BODY_PREFIX):
        stored = _STORED_SIZE.match(payload)
        if stored:
            return int(stored.group(1))
    data = part.get_payload(decode=True)
    return len(data) if isinstance(data, bytes) else 0


def list_for(app: App, inbound_ids: list[int]) -> dict[int, list[AttachmentInfo]]:
    """The attachments of each message (only messages that have some are in the result)."""
    found: dict[int, list[AttachmentInfo]] = {}
    if not inbound_ids:
        return found
    with app.db.session() as s:
        for inbound_id in inbound_ids:
            row = s.get(InboundMessage, inbound_id)
            if row is None or not row.raw:
                continue
            items = [
                AttachmentInfo(
                    inbound_id,
                    n,
                    safe_filename(_filename(part), n),
                    _content_type(part),
                    _size(part),
                )
                for n, part in enumerate(_leaves(bytes(row.raw)), start=1)
            ]
            if items:
                found[inbound_id] = items
    return found


def download(app: App, inbound_id: int, index: int, *, by: str) -> Download:
    """The decoded bytes of attachment ``index`` of a message; the access is audited (SPEC 10)."""
    from worker.adapters.attachment_store import full_raw
    from worker.records import audit

    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        if row is None or not row.raw:
            raise AttachmentNotFound(f"there is no message {inbound_id}")
        raw = full_raw(s, row)
        case_id = row.case_id
    for n, part in enumerate(_leaves(raw), start=1):
        if n == index:
            data = part.get_payload(decode=True)
            body = data if isinstance(data, bytes) else b""
            name = safe_filename(_filename(part), n)
            with app.db.session() as s:
                audit(
                    s,
                    by,
                    "access.attachment",
                    f"{by} downloaded attachment {n} ({name}) of message {inbound_id}",
                    case_id=case_id,
                    inbound_id=inbound_id,
                    filename=name,
                )
            return Download(name, _content_type(part), body, case_id)
    raise AttachmentNotFound(f"message {inbound_id} has no attachment {index}")


def safe_filename(name: str, index: int) -> str:
    """A name fit to show and to save: no path, no control characters, not too long."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name
        name = name[:MAX_NAME]
    return name or f"attachment-{index}"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one in RFC 5987 form."""
    fallback = (
        unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
        or "attachment"
    )
    fallback = fallback.replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
