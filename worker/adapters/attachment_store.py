"""Big attachments kept apart from the message they came in, so a 30 MB message is never held in
memory as several copies (issue 7).

A message whose size is over the threshold (``COMPLAINTS_ATTACHMENT_STREAM_BYTES``) is read as a
stream, a line at a time: each attachment body over the threshold is written to the
``stored_body_chunks`` table in 1 MiB rows, and the raw message row keeps a *skeleton*: the message
with each such body replaced by one placeholder line (`worker.domain.parsing` reads its size from
it). Everything else (headers, text parts, small attachments) stays in the skeleton as received.

Guarantees, as for any raw message: the bodies are written in the same transaction as the
message row, so a worker killed mid-way leaves nothing behind and the message is read again from
the mailbox; a second delivery finds the row and writes nothing. ``full_raw`` and ``iter_raw``
give back the exact bytes received (offsets recorded, not a search for the placeholder text, so a
resident who types the placeholder changes nothing).

Mailboxes hand over a message bigger than ``SPOOL_OVER`` as a ``SpooledInbound``: its bytes are in
a file (the Maildir file itself, or a temporary file an IMAP fetch wrote in pieces) and ``raw``
holds only its first bytes, so the whole message is never in memory at once.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from worker.adapters.db_models import StoredBody, StoredBodyChunk
from worker.domain.parsing import BASE64_ALPHABET, STORED_BODY_PLACEHOLDER
from worker.ports import RawInbound

# Default for COMPLAINTS_ATTACHMENT_STREAM_BYTES: attachment bodies bigger than this are stored
# apart (a phone photo is 2-5 MB; text parts are never split off, they are what triage reads).
DEFAULT_STREAM_BYTES = 1024 * 1024
# Mailboxes spool a message bigger than this to a file instead of handing over its bytes (one
# this size in memory costs little; a 30 MB one, held by imaplib, the store and the parser,
# cost 170 MiB).
SPOOL_OVER = 4 * 1024 * 1024
# One row of stored_body_chunks; also the most read from a message file at once.
CHUNK_BYTES = 1024 * 1024
# How much of a spooled message `raw` holds: enough for its headers (the Message-ID).
HEAD_BYTES = 64 * 1024
# A line longer than this is read in pieces (a base64 body without line breaks).
_LINE_PIECE = 64 * 1024
# A part's header block larger than this is not a header block worth parsing: nothing of that
# part is split off.
_MAX_PART_HEADERS = 256 * 1024
_NOT_BASE64 = bytes(b for b in range(256) if b not in BASE64_ALPHABET)


@dataclass(frozen=True)
class SpooledInbound(RawInbound):
    """A message too big to hold in memory: `raw` is its first `HEAD_BYTES`, `path` the whole
    of it. `owned`: a temporary file, deleted by `discard` once the message is stored."""

    path: Path = field(default_factory=Path)
    size: int = 0
    owned: bool = False

    def discard(self) -> None:
        if self.owned:
            self.path.unlink(missing_ok=True)


def discard_spools(items: Sequence[RawInbound]) -> None:
    for item in items:
        if isinstance(item, SpooledInbound):
            item.discard()


def spooled(mailbox: str, uidvalidity: int, uid: int, path: Path, owned: bool) -> SpooledInbound:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        size = os.fstat(f.fileno()).st_size
    return SpooledInbound(mailbox, uidvalidity, uid, head, path=path, size=size, owned=owned)


def item_size(item: RawInbound) -> int:
    return item.size if isinstance(item, SpooledInbound) else len(item.raw)


# --- reading a message as a stream -----------------------------------------------------------


@dataclass(frozen=True)
class StoredRange:
    """One attachment body kept apart: where it was in the message and where its placeholder
    is in the skeleton."""

    source_offset: int
    length: int  # bytes as received (still transfer-encoded)
    decoded_size: int
    skeleton_offset: int
    placeholder_len: int
    content_type: str
    filename: str


@dataclass(frozen=True)
class Layout:
    skeleton: bytes
    ranges: tuple[StoredRange, ...]
    size: int  # of the whole message as received
    sha256: str  # of the whole message as received


@contextmanager
def opened(item: RawInbound) -> Iterator[BinaryIO]:
    """The whole message as a binary stream (a file, or the bytes without copying them)."""
    if isinstance(item, SpooledInbound):
        with item.path.open("rb") as f:
            yield f
    else:
        yield io.BytesIO(item.raw)


def plan(item: RawInbound, threshold: int) -> Layout | None:
    """The layout to store `item` with, or None to store its bytes as they are (a message not
    over `threshold`). A spooled message with nothing to split off comes back whole in
    `skeleton`."""
    if item_size(item) <= threshold:
        return None
    with opened(item) as stream:
        layout = scan(stream, threshold)
        if layout.ranges or not isinstance(item, SpooledInbound):
            return layout if layout.ranges else None
        stream.seek(0)
        whole = stream.read()
    return Layout(whole, (), layout.size, layout.sha256)


@dataclass
class _Part:
    splittable: bool
    content_type: str = ""
    filename: str = ""
    encoding: str = ""


class _Scanner:
    """Walks a message line by line, tracking the multipart boundaries, and copies all but the
    big attachment bodies into the skeleton."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.skeleton = bytearray()
        self.ranges: list[StoredRange] = []
        self.boundaries: list[bytes] = []
        self.in_headers = True
        self.head = bytearray()
        self.part: _Part | None = None  # the leaf whose body is being read, if splittable
        self.body_start = 0
        self.pending = bytearray()  # a splittable body while it is under the threshold
        self.pending_ending = b""  # the line break before the next boundary belongs to it
        self.big = False
        self.body_len = 0
        self.decoded = 0

    def line(self, piece: bytes, offset: int, line_start: bool) -> None:
        if line_start and piece.startswith(b"--") and self.boundaries:
            marker = piece.rstrip(b"\r\n \t")
            for depth in range(len(self.boundaries) - 1, -1, -1):
                boundary = self.boundaries[depth]
                if marker == b"--" + boundary or marker == b"--" + boundary + b"--":
                    if self.in_headers:  # a part with no blank line after its headers
                        self.skeleton += self.head
                        self.head = bytearray()
                        self.in_headers = False
                    self._end_body(offset)
                    self.skeleton += piece
                    if marker.endswith(b"--") and marker != b"--" + boundary:
                        del self.boundaries[depth:]  # closed: its epilogue follows
                    else:
                        del self.boundaries[depth + 1 :]
                        self.in_headers = True  # a new part of this multipart
                        self.head = bytearray()
                    return
        if self.in_headers:
            self._header_line(piece, offset)
            return
        if self.part is None:
            self.skeleton += piece
            return
        self._body_piece(piece, offset)

    def run(self, piece: bytes, offset: int) -> None:
        """Whole lines, none of them a boundary, outside any header block."""
        if self.part is None:
            self.skeleton += piece
        else:
            self._body_piece(piece, offset)

    def _header_line(self, piece: bytes, offset: int) -> None:
        self.head += piece
        blank = piece in (b"\n", b"\r\n")
        if not blank and len(self.head) <= _MAX_PART_HEADERS:
            return
        self.skeleton += self.head
        self.in_headers = False
        self.part = None
        if not blank:
            return  # not a header block: nothing of this part is split off
        headers = BytesHeaderParser(policy=compat32).parsebytes(bytes(self.head))
        self.head = bytearray()
        try:
            ctype = headers.get_content_type().lower()
            boundary = headers.get_param("boundary") if ctype.startswith("multipart/") else None
            filename = str(headers.get_filename() or headers.get_param("name") or "")
            encoding = str(headers.get("content-transfer-encoding", "") or "").strip().lower()
        except Exception:  # noqa: BLE001 - odd headers: keep the part in the skeleton as it is
            return
        if isinstance(boundary, str) and boundary.rstrip():
            # rstrip(): as the stdlib parser reads it, so both see the same boundaries.
            self.boundaries.append(boundary.rstrip().encode("utf-8", "surrogateescape"))
            return
        # Text is what triage reads and messages are walked into: only other leaves go apart.
        if ctype.startswith(("text/", "message/", "multipart/")):
            return
        self.part = _Part(True, ctype, filename[:500], encoding)
        self.body_start = offset + len(piece)
        self.pending = bytearray()
        self.pending_ending = b""
        self.big = False
        self.body_len = 0
        self.decoded = 0

    def _body_piece(self, piece: bytes, offset: int) -> None:
        # The line break before a boundary is the boundary's: hold it back until we know.
        content = self.pending_ending + piece
        if piece.endswith(b"\r\n"):
            content, self.pending_ending = content[:-2], b"\r\n"
        elif piece.endswith(b"\n"):
            content, self.pending_ending = content[:-1], b"\n"
        else:
            self.pending_ending = b""
        self.body_len += len(content)
        self.decoded += self._decoded(content)
        if not self.big:
            self.pending += content
            if len(self.pending) > self.threshold:
                self.big = True
                self.pending = bytearray()

    def _decoded(self, content: bytes) -> int:
        assert self.part is not None
        if self.part.encoding == "base64":
            return len(content.translate(None, _NOT_BASE64))
        return len(content)

    def _end_body(self, offset: int) -> None:
        part, self.part = self.part, None
        if part is None:
            return
        if not self.big:
            self.skeleton += self.pending + self.pending_ending
        else:
            decoded = self.decoded * 3 // 4 if part.encoding == "base64" else self.decoded
            placeholder = STORED_BODY_PLACEHOLDER.format(
                decoded=decoded, encoded=self.body_len
            ).encode()
            self.ranges.append(
                StoredRange(
                    source_offset=self.body_start,
                    length=self.body_len,
                    decoded_size=decoded,
                    skeleton_offset=len(self.skeleton),
                    placeholder_len=len(placeholder),
                    content_type=part.content_type[:200],
                    filename=part.filename,
                )
            )
            self.skeleton += placeholder + self.pending_ending
        self.pending = bytearray()
        self.pending_ending = b""

    def finish(self, offset: int) -> None:
        if self.in_headers:
            self.skeleton += self.head
        self._end_body(offset)


def scan(stream: BinaryIO, threshold: int) -> Layout:
    """Read `stream` once; bodies over `threshold` of non-text leaves become `StoredRange`s.

    Read a chunk at a time; header lines and lines that may be boundaries ("--...") are looked
    at one by one, and the runs of lines between them are handled whole (a 30 MB attachment is
    about 400,000 lines: one Python step per line would take seconds).
    """
    scanner = _Scanner(threshold)
    digest = hashlib.sha256()
    buf = bytearray()
    start = offset = 0
    line_start, eof = True, False
    while True:
        if not eof and len(buf) - start < _LINE_PIECE:
            data = stream.read(CHUNK_BYTES)
            if data:
                digest.update(data)
                del buf[:start]
                start = 0
                buf += data
            else:
                eof = True
            continue
        if start >= len(buf):
            break
        if scanner.in_headers or (line_start and buf.startswith(b"--", start)):
            newline = buf.find(b"\n", start, start + _LINE_PIECE)
            end = newline + 1 if newline != -1 else min(len(buf), start + _LINE_PIECE)
            piece = bytes(buf[start:end])
            scanner.line(piece, offset, line_start)
        else:
            # Up to the next line that starts with "--": none of these lines is a boundary.
            newline = buf.find(b"\n--", start)
            if newline != -1:
                end = newline + 1
            else:
                last = buf.rfind(b"\n", start)
                end = len(buf) if eof or last == -1 else last + 1
            piece = bytes(buf[start:end])
            scanner.run(piece, offset)
        offset += len(piece)
        line_start = piece.endswith(b"\n")
        start = end
    scanner.finish(offset)
    return Layout(bytes(scanner.skeleton), tuple(scanner.ranges), offset, digest.hexdigest())


# --- the database ------------------------------------------------------------------------------


def store_bodies(session: Session, inbound_id: int, item: RawInbound, layout: Layout) -> None:
    """Write the bodies `layout` keeps apart, `CHUNK_BYTES` a row, one row per statement (so
    neither the driver nor the database client ever holds more than a chunk)."""
    if not layout.ranges:
        return
    with opened(item) as stream:
        for seq, stored in enumerate(layout.ranges):
            body = StoredBody(
                inbound_id=inbound_id,
                seq=seq,
                skeleton_offset=stored.skeleton_offset,
                placeholder_len=stored.placeholder_len,
                length=stored.length,
                decoded_size=stored.decoded_size,
                content_type=stored.content_type,
                filename=stored.filename,
            )
            session.add(body)
            session.flush()
            digest = hashlib.sha256()
            stream.seek(stored.source_offset)
            left, chunk_seq = stored.length, 0
            while left > 0:
                data = stream.read(min(CHUNK_BYTES, left))
                if not data:
                    raise OSError(f"message ended early while storing part {seq}")
                digest.update(data)
                session.execute(
                    insert(StoredBodyChunk).values(body_id=body.id, seq=chunk_seq, data=data)
                )
                left -= len(data)
                chunk_seq += 1
                del data
            body.sha256 = digest.hexdigest()


def stored_bodies(session: Session, inbound_id: int) -> list[StoredBody]:
    """The attachment bodies kept apart for one message (for listing), in message order."""
    return list(
        session.scalars(
            select(StoredBody).where(StoredBody.inbound_id == inbound_id).order_by(StoredBody.seq)
        )
    )


def ids_with_stored_bodies(session: Session, inbound_ids: Sequence[int] | None = None) -> set[int]:
    query = select(StoredBody.inbound_id).distinct()
    if inbound_ids is not None:
        query = query.where(StoredBody.inbound_id.in_(list(inbound_ids)))
    return set(session.scalars(query))


def iter_raw(session: Session, inbound_id: int, skeleton: bytes) -> Iterator[bytes]:
    """The message exactly as received, in pieces of at most `CHUNK_BYTES` past the skeleton."""
    position = 0
    for body in stored_bodies(session, inbound_id):
        yield skeleton[position : body.skeleton_offset]
        for seq in range(_chunk_count(session, body.id)):
            data = session.scalar(
                select(StoredBodyChunk.data).where(
                    StoredBodyChunk.body_id == body.id, StoredBodyChunk.seq == seq
                )
            )
            yield bytes(data or b"")
        position = body.skeleton_offset + body.placeholder_len
    yield skeleton[position:]


def _chunk_count(session: Session, body_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(StoredBodyChunk)
            .where(StoredBodyChunk.body_id == body_id)
        )
        or 0
    )


def full_raw(session: Session, row: Any) -> bytes:
    """The whole message as received (``row.raw`` when nothing was kept apart)."""
    if not ids_with_stored_bodies(session, [row.id]):
        return bytes(row.raw)
    return b"".join(iter_raw(session, row.id, bytes(row.raw)))
