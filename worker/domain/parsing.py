"""Turn the raw bytes of one inbound email into a ParsedMessage, whatever shape the mail is in.

Residents' mail is messy (wrong charsets, broken MIME, HTML only, forwarded chains); a complaint
must never be lost because its encoding was odd, so everything that is recognisably a message
parses, with what went wrong recorded in ``defects``. Only input that is not a message at all
raises ``UnparsableMessage`` (the caller dead-letters the raw bytes for staff, SPEC section 6).
Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import binascii
import codecs
import email.feedparser
import email.utils
import quopri
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message
from html.parser import HTMLParser
from types import MappingProxyType

from worker.domain import mime_boundaries
from worker.domain.errors import PermanentError

__all__ = [
    "CASE_REF_PATTERN",
    "COMPLAINT_REF_PATTERN",
    "SERVICE_REQUEST_REF_PATTERN",
    "MAX_TEXT_CHARS",
    "Attachment",
    "ParsedMessage",
    "UnparsableMessage",
    "bounced_message_ids",
    "find_case_refs",
    "html_to_text",
    "parse_message",
    "safe_header_value",
    "strip_quoted",
]

# Our references. Case refs are CMP-<year>-<5 digits>, service request refs SR-<year>-<5 digits>.
COMPLAINT_REF_PATTERN = r"CMP-\d{4}-\d{5}"
SERVICE_REQUEST_REF_PATTERN = r"SR-\d{4}-\d{5}"
CASE_REF_PATTERN = (
    rf"(?<![A-Za-z0-9])(?:{COMPLAINT_REF_PATTERN}|{SERVICE_REQUEST_REF_PATTERN})(?!\d)"
)
# CASE_REF_PATTERN under IGNORECASE, written to start with the reference's first letter as a
# class of its own (C, S and the long s that IGNORECASE takes for s), the rest of it caseless:
# ``re`` then skips ahead to those letters, where the leading look-behind was tried at every
# character (4 times quicker over the benchmark's messages; a test compares the matches).
_CASE_REF_RE = re.compile(
    r"[CcSs\u017f](?<!(?i:[A-Za-z0-9])[CcSs\u017f])(?i:(?:MP|R)-\d{4}-\d{5})(?!\d)"
)

# The body text kept for triage and display; beyond this the text is cut and a defect recorded.
MAX_TEXT_CHARS = 200_000
TRUNCATION_NOTE = "[... message text truncated at {n} characters ...]"
# A message with more MIME parts than this is pathological; the rest are skipped (and said so).
MAX_PARTS = 500
MAX_DEPTH = 20

FORWARD_MARKER = "---------- Forwarded message ----------"
REPORT_HEADERS_MARKER = "--- Original message headers ---"
REPORT_STATUS_MARKER = "--- Delivery status ---"


class UnparsableMessage(PermanentError):
    """The input is not an email at all (empty, or bytes with no header section)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # decoded size in bytes, computed without decoding the payload


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str  # as given, angle brackets stripped; "" if absent
    from_addr: str
    from_name: str
    reply_to: str
    return_path: str  # "<>" for the null return path, "" when there is no Return-Path header
    to: tuple[str, ...]
    subject: str
    date: datetime | None  # timezone-aware
    in_reply_to: str
    references: tuple[str, ...]
    headers: Mapping[str, str] = field(compare=False)  # lower-case name -> first value, decoded
    content_type: str  # top-level, lower-case
    text: str  # best plain-text body, quoted reply text kept
    html: str  # the original HTML body if any, for sanitised display later
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    # The raw values of the headers the trusted-recipient decision reads (From, Sender,
    # Authentication-Results; lower-case name, value exactly as received, in order): the decision
    # parses them with the modern header parser itself (worker/domain/recipient.py).
    sender_headers: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def new_text(self) -> str:
        """The text without quoted replies, forwarded letters or signature: the new words."""
        return strip_quoted(self.text)


# --------------------------------------------------------------------------------------------
# Small public helpers


_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")


def safe_header_value(value: str) -> str:
    """Remove CR, LF and every other control character, so resident input cannot add headers.

    Runs of control characters become one space (so words either side stay apart), and the
    result is stripped. Use on any header value built from resident input (SPEC section 6).
    """
    return _CONTROL_RE.sub(" ", value).strip()


def find_case_refs(text: str) -> list[str]:
    """Our case and service request references in ``text`` (upper-cased, first-seen order)."""
    seen: dict[str, None] = {}
    for match in _CASE_REF_RE.finditer(text):
        seen.setdefault(match.group(0).upper(), None)
    return list(seen)


# --------------------------------------------------------------------------------------------
# Charsets and header decoding

# Names seen in the wild that codecs does not know, mapped to what the sender meant.
_CHARSET_ALIASES = {
    "unknown-8bit": "cp1252",
    "x-unknown": "cp1252",
    "unknown": "cp1252",
    "8bit": "cp1252",
    "x-user-defined": "cp1252",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "x-utf8": "utf-8",
}
# Labels that browsers (WHATWG) read as windows-1252; Outlook often writes cp1252 under them.
_LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii"}
# Single-byte codecs: text under these labels that is valid UTF-8 (and not ASCII) was mislabelled.
_SINGLE_BYTE_CODECS = {"ascii", "latin_1", "iso8859-1", "cp1252", "iso8859-15", "cp1250"}


def _codec_for(label: str) -> str | None:
    """A Python codec name for a MIME charset label, or None if we cannot honour it."""
    cleaned = label.strip().strip("\"'").lower()
    cleaned = _CHARSET_ALIASES.get(cleaned, cleaned)
    if not cleaned:
        return None
    try:
        info = codecs.lookup(cleaned)
    except (LookupError, ValueError):
        return None
    # Refuse codecs that are not text encodings (e.g. "base64", "rot13", "zlib").
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _decode_bytes(data: bytes, label: str | None, defects: list[str]) -> str:
    """Decode body or header bytes robustly; mislabelled charsets are detected and recorded."""
    if not data:
        return ""
    codec = _codec_for(label) if label else None
    if label and codec is None:
        defects.append(f"charset_unknown:{safe_header_value(label)[:40]}")
    if codec is not None:
        plain_label = label is not None and label.strip().strip("\"'").lower() in _LATIN1_LABELS
        if (plain_label or codec in _SINGLE_BYTE_CODECS) and not data.isascii():
            # Declared single-byte but valid UTF-8 with non-ASCII bytes: the label is wrong.
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                defects.append(f"charset_mislabelled:{codec}->utf-8")
                return text
        if plain_label or codec in ("latin_1", "iso8859-1", "ascii"):
            # Latin-1 labels are cp1252 in practice (smart quotes, pound sign, euro).
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                return data.decode("latin-1")
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            defects.append(f"charset_mislabelled:{codec}")
        except Exception:  # noqa: BLE001 - odd codecs (punycode, idna) raise other errors
            defects.append(f"charset_unknown:{codec}")
    # No usable label, or the label was wrong: UTF-8, then cp1252 (Outlook), then anything.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?]*)\?=")
_BETWEEN_WORDS_RE = re.compile(r"(\?=)\s+(=\?)")


def _raw_to_bytes(value: str) -> bytes:
    # The bytes parser keeps 8-bit header bytes as surrogate escapes; get them back.
    return value.encode("ascii", "surrogateescape")


def _decode_encoded_word(charset: str, encoding: str, payload: str, defects: list[str]) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*en?Q?...?=
    try:
        if encoding.lower() == "b":
            cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
            cleaned += "=" * (-len(cleaned) % 4)
            data = binascii.a2b_base64(cleaned)
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), True)
    except (binascii.Error, ValueError):
        defects.append("header_bad_encoded_word")
        return payload
    return _decode_bytes(data, charset, defects)


def decode_header_value(raw: str, defects: list[str] | None = None) -> str:
    """Decode a raw header value: unfold, RFC 2047 encoded-words, 8-bit bytes; no CR/LF left."""
    sink: list[str] = [] if defects is None else defects
    value = raw.replace("\r\n", "\n").replace("\r", "\n")
    value = re.sub(r"\n[ \t]*", " ", value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        sink.append("header_8bit")
        value = _decode_bytes(_raw_to_bytes(value), None, sink)
    if "=?" in value:
        value = _BETWEEN_WORDS_RE.sub(r"\1\2", value)
        value = _ENCODED_WORD_RE.sub(
            lambda m: _decode_encoded_word(m.group(1), m.group(2), m.group(3), sink), value
        )
    return safe_header_value(value)


# --------------------------------------------------------------------------------------------
# HTML to text


class _TextExtractor(HTMLParser):
    """Readable text from HTML: block elements break lines, blockquotes become "> " quotes."""

    _SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object"}
    _PARAGRAPH = {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "pre", "hr",
        "dl", "address", "section", "article", "header", "footer", "form", "fieldset", "center",
    }  # fmt: skip
    _LINE = {"div", "li", "tr", "dd", "dt", "body", "html"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre_depth = 0

    def _prefix(self) -> str:
        return "> " * self.quote_depth

    def _last_blank(self) -> bool:
        return not self.lines or not self.lines[-1].strip("> ")

    def _break(self, paragraph: bool = False, br: bool = False) -> None:
        text = "".join(self.current)
        self.current = []
        if self.pre_depth == 0:
            text = re.sub(r"[ \t\u00a0]+", " ", text).strip()
        if text:
            self.lines.append(self._prefix() + text)
        elif br and not self._last_blank():
            self.lines.append(self._prefix().rstrip())
        if paragraph and not self._last_blank():
            self.lines.append(self._prefix().rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip_depth += 1
            return
        if tag == "br":
            self._break(br=True)
        elif tag in self._PARAGRAPH or tag in self._LINE:
            self._break(paragraph=tag in self._PARAGRAPH)
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.pre_depth += 1
        elif tag == "li":
            self.current.append("- ")
        elif tag in ("td", "th"):
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag in self._PARAGRAPH or tag in self._LINE:
            self._break(paragraph=tag in self._PARAGRAPH)
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr", "p", "div"):
            self._break(paragraph=tag in ("hr", "p"), br=tag == "br")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            for i, piece in enumerate(data.split("\n")):
                if i:
                    self._break()
                self.current.append(piece)
        else:
            self.current.append(data.replace("\n", " ").replace("\r", " "))

    def text(self) -> str:
        self._break()
        out = "\n".join(line.rstrip() for line in self.lines)
        return out.strip("\n")


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body; scripts, styles and the head are dropped."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):  # very old HTMLParser versions raise on odd markup
        return re.sub(r"<[^>]*>", " ", html)
    return extractor.text()


# --------------------------------------------------------------------------------------------
# Quote and signature stripping (for triage)

_ORIGINAL_RE = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
_FORWARD_RE = re.compile(
    r"^\s*(?:-{2,}\s*Forwarded message\s*-{2,}|Begin forwarded message:|"
    r"-{2,}\s*Forwarded Message\s*-{2,})\s*$",
    re.IGNORECASE,
)
_OUTLOOK_SEP_RE = re.compile(r"^\s*_{10,}\s*$")
_HEADERISH_FROM_RE = re.compile(r"^\s*\*?From:\*?\s+\S", re.IGNORECASE)
_HEADERISH_SENT_RE = re.compile(r"^\s*\*?(?:Sent|Date):\*?\s+\S", re.IGNORECASE)
_ON_WROTE_START_RE = re.compile(r"^\s*On\s.{4,}", re.IGNORECASE)
_WROTE_END_RE = re.compile(r"wrote:\s*$", re.IGNORECASE)
_SIGNATURE_RE = re.compile(r"^-- ?$")
_MOBILE_SIG_RE = re.compile(
    r"^\s*(?:Sent from my \w+|Sent from (?:Outlook|Mail|Yahoo Mail)\b|Get Outlook for \w+)",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of a message: quoted lines, quoted chains and the signature removed.

    - lines starting with ">" are dropped, but unquoted lines between them are kept (inline and
      bottom-posted replies keep the resident's words);
    - "On <date>, <name> wrote:" attribution lines (also when wrapped over up to 3 lines) are
      dropped;
    - everything from "-----Original Message-----", a forwarded-message marker, an Outlook
      "From: ... Sent: ..." header block (or its "_____" separator) or a "-- " signature
      delimiter onwards is cut, since those are top-posted replies over a quoted chain;
    - if that leaves nothing (the resident only forwarded something), the forwarded or quoted
      text is theirs to send us, so the whole text is returned instead.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (
            _ORIGINAL_RE.match(line)
            or _FORWARD_RE.match(line)
            or _SIGNATURE_RE.match(line)
            or _MOBILE_SIG_RE.match(line)
            or _is_outlook_block(lines, i)
        ):
            break
        if line.lstrip().startswith(">"):
            i += 1
            continue
        if _ON_WROTE_START_RE.match(line):
            span = _attribution_span(lines, i)
            if span:
                i += span
                continue
        kept.append(line)
        i += 1
    result = "\n".join(kept)
    result = re.sub(r"\n{3,}", "\n\n", result).strip()
    if not result:
        return text.strip()
    return result


def _attribution_span(lines: list[str], i: int) -> int:
    """Lines taken by an "On ... wrote:" attribution starting at ``i`` (0: not one)."""
    for span in range(3):
        if i + span >= len(lines):
            return 0
        if _WROTE_END_RE.search(lines[i + span]):
            return span + 1
        if not lines[i + span].strip():
            return 0
    return 0


def _is_outlook_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _OUTLOOK_SEP_RE.match(line):
        following = [ln for ln in lines[i + 1 : i + 4] if ln.strip()]
        return bool(following) and bool(_HEADERISH_FROM_RE.match(following[0]))
    if _HEADERISH_FROM_RE.match(line):
        return any(_HEADERISH_SENT_RE.match(ln) for ln in lines[i + 1 : i + 5])
    return False


# --------------------------------------------------------------------------------------------
# The parser


_HEADER_LINE_RE = re.compile(rb"^[A-Za-z][A-Za-z0-9_-]*[ \t]*:")
_WELL_FORMED_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_ADDR_SPEC_RE = re.compile(r"[^\s<>()\",;:@\[\]]+@[^\s<>()\",;:@\[\]]+")
_REPORT_HEADER_TYPES = {
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global-headers",
}
_REPORT_STATUS_TYPES = {
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
}
_OPAQUE_TYPES = _REPORT_HEADER_TYPES | _REPORT_STATUS_TYPES | {"message/partial"}
# Forwarded messages inside forwarded messages are followed this deep, then kept as attachments.
MAX_FORWARD_NESTING = 4


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 822 message. Raises UnparsableMessage only for input that is not mail."""
    if not raw or not raw.strip():
        raise UnparsableMessage("empty message")
    defects: list[str] = []
    data = _recover_start(raw, defects)
    _check_header_block(data)
    try:
        # compat32: header values come back as the raw strings this module decodes itself; the
        # default policy would re-parse every header on every read (a third of parsing time).
        msg = _parse_bytes(data)
    except RecursionError:
        # Nesting deeper than the stdlib parser can follow (a few hundred levels): keep the
        # headers, and _Body reads the text of the body as a multipart it could not split.
        msg = _headers_with_raw_body(data)
        defects.append("mime_nesting_too_deep:unparsed")
    except Exception as exc:  # noqa: BLE001 - the stdlib parser is meant not to raise; be sure
        raise UnparsableMessage(f"parser failed: {type(exc).__name__}") from exc
    raw_headers = _raw_headers(msg)
    if not any(_WELL_FORMED_NAME_RE.match(name) for name, _ in raw_headers):
        raise UnparsableMessage("no header section")

    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.strip().lower()
        if key and key not in headers:
            headers[key] = decode_header_value(value, defects)

    def first_raw(name: str) -> str:
        for key, value in raw_headers:
            if key.strip().lower() == name:
                return value
        return ""

    from_name, from_addr = _first_address(first_raw("from"), defects)
    if not from_addr:
        defects.append("missing_from")
    _, reply_to = _first_address(first_raw("reply-to"), defects)
    return_path = _return_path(first_raw("return-path"))
    to = tuple(addr for _, addr in _addresses(first_raw("to"), defects) if addr)

    message_id = _first_msgid(headers.get("message-id", ""))
    if not message_id:
        defects.append("missing_message_id")
    in_reply_to = _first_msgid(headers.get("in-reply-to", ""))
    references = tuple(_all_msgids(headers.get("references", "")))
    date = _parse_date(headers.get("date", ""), defects)

    body = _Body(defects)
    body.collect(msg)
    for part_defect in body.mime_defects:
        defects.append(part_defect)

    text = body.text()
    if len(text) > MAX_TEXT_CHARS:
        defects.append(f"text_truncated:{len(text)}")
        text = text[:MAX_TEXT_CHARS] + "\n" + TRUNCATION_NOTE.format(n=MAX_TEXT_CHARS)

    return ParsedMessage(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        reply_to=reply_to,
        return_path=return_path,
        to=to,
        subject=headers.get("subject", ""),
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        headers=MappingProxyType(headers),
        content_type=_content_type(msg),
        text=text,
        html=body.html,
        attachments=tuple(body.attachments),
        defects=tuple(dict.fromkeys(defects)),
        sender_headers=_sender_headers(raw_headers),
    )


# Read by the trusted-recipient decision; a message with more of them than this is hostile and
# the extra ones change nothing (two From lines already make the sender doubtful).
SENDER_HEADERS = ("from", "sender", "authentication-results")
_MAX_SENDER_HEADERS = 20


def _sender_headers(raw_headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    kept = [
        (name.strip().lower(), value)
        for name, value in raw_headers
        if name.strip().lower() in SENDER_HEADERS
    ]
    return tuple(kept[:_MAX_SENDER_HEADERS])


# The parser is fed this much at a time. BytesParser.parsebytes decodes the whole message to one
# str and reads it back through a StringIO (4 bytes a character): 7.7 times the message at its
# peak. Fed in pieces it holds the lines of the part it is reading and their join: 2.7 times.
_FEED_CHUNK = 64 * 1024

# Each multipart's boundary test is checked without compiling a pattern for it (see the module).
mime_boundaries.install(email.feedparser)


def _feed(data: bytes) -> Message:
    parser = BytesFeedParser(policy=policy.compat32)
    view = memoryview(data)
    for start in range(0, len(view), _FEED_CHUNK):
        parser.feed(view[start : start + _FEED_CHUNK].tobytes())
    return parser.close()


# A base64 body reaches the parser as lines of 76 characters: a 60 KB attachment is some 800
# lines, each taken through the feed parser's loop in Python (read the line, try it against
# every boundary open above it, keep it), which was half the time it took to parse the
# benchmark's messages. So a run of such lines that begins a body is handed to the parser as
# one line holding a marker, and put back into the text the parser kept, from the message.
#
# The result is the same: a line of the base64 alphabet alone is never a header, a header's
# continuation, a boundary or an empty line, and neither is the marker's line, so the parser
# does with it what it would have done with each line of the run: add it to the text it is
# reading (a body, a preamble or an epilogue). The parser drops the line break before a
# boundary from the text it ends; the marker line ends with the run's last line break, so
# whether that happened is seen, and the run is put back with or without it. Should a marker
# not come back exactly once, the message is parsed again as it is.
#
# The pattern begins with the line break before the blank line (the run is its group 1), not
# with a look behind for it: re then goes from line break to line break rather than trying
# every byte of the message, 3 to 4 times quicker over the benchmark's messages. It finds the
# same runs: the run is in a look-ahead, so each search goes on from just after the line break
# a match began with (a run right after another, one blank line apart, is still found), and no
# match can begin inside a run (each of its lines holds 4 characters or more).
_BASE64_RUN_RE = re.compile(rb"\n(?=\r?\n((?:[A-Za-z0-9+/=]{4,998}+\r?\n){16,}+))")
_RUN_MARK = "\x7fbase64-run-"
_RUN_MARK_RE = re.compile(re.escape(_RUN_MARK) + "(\\d+)\x7f(\r\n|\n)?")


def _parse_bytes(data: bytes) -> Message:
    if _RUN_MARK.encode("ascii") in data:
        return _feed(data)
    runs = [match.span(1) for match in _BASE64_RUN_RE.finditer(data)]
    if not runs:
        return _feed(data)
    pieces: list[bytes] = []
    done = 0
    for k, (start, end) in enumerate(runs):
        pieces += [data[done:start], f"{_RUN_MARK}{k}\x7f".encode("ascii"), _last_break(data, end)]
        done = end
    pieces.append(data[done:])
    msg = _feed(b"".join(pieces))
    del pieces
    if _put_back_runs(msg, data, runs):
        return msg
    return _feed(data)


def _last_break(data: bytes, end: int) -> bytes:
    """The line break that ends the run of base64 lines ending at ``end``."""
    return b"\r\n" if data[end - 2 : end] == b"\r\n" else b"\n"


def _put_back_runs(msg: Message, data: bytes, runs: list[tuple[int, int]]) -> bool:
    """Each run's text where its marker is in ``msg`` (its bodies, preambles and epilogues);
    False unless every marker was found exactly once."""
    view = memoryview(data)
    found: list[int] = []

    def run_text(match: re.Match[str]) -> str:
        k = int(match.group(1))
        found.append(k)
        start, end = runs[k]
        if not match.group(2):  # the parser took off the line break that ended the run
            end -= len(_last_break(data, end))
        return str(view[start:end], "ascii")

    def put_back(text: str | None) -> str | None:
        if text is None or _RUN_MARK not in text:
            return text
        return _RUN_MARK_RE.sub(run_text, text)

    parts = [msg]
    while parts:
        part = parts.pop()
        payload = part._payload  # type: ignore[attr-defined]  # the text itself, not a decoded copy
        if isinstance(payload, list):
            parts.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str) and _RUN_MARK in payload:
            part.set_payload(_RUN_MARK_RE.sub(run_text, payload))
        part.preamble = put_back(part.preamble)
        part.epilogue = put_back(part.epilogue)
    return sorted(found) == list(range(len(runs)))


def _headers_with_raw_body(data: bytes) -> Message:
    end = _END_OF_HEADERS_RE.search(data)
    head, body = (data[: end.start()], data[end.end() :]) if end else (data, b"")
    msg = _parse_bytes(head + b"\n\n")
    msg.set_payload(body.decode("ascii", "surrogateescape"))
    if not _content_type(msg).startswith("multipart/"):
        del msg["Content-Type"]
        msg["Content-Type"] = "multipart/mixed"
    return msg


def _recover_start(raw: bytes, defects: list[str]) -> bytes:
    """Drop an mbox "From " line or a few junk lines before the first header, if any."""
    data = raw.lstrip(b"\r\n")
    if data.startswith(b"From ") and not _HEADER_LINE_RE.match(data):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    if _OBS_FIELD_NAME_RE.match(data):
        data = _obsolete_header_names(data, defects)
    if _HEADER_LINE_RE.match(data):
        return _obsolete_header_names(data, defects)
    lines = data.split(b"\n", 20)
    for i, line in enumerate(lines[:20]):
        if (
            _HEADER_LINE_RE.match(line)
            and i + 1 < len(lines)
            and _HEADER_LINE_RE.match(lines[i + 1])
        ):
            defects.append(f"leading_garbage_skipped:{i}_lines")
            return _obsolete_header_names(b"\n".join(lines[i:]), defects)
    return data


# RFC 5322 4.5 (obsolete syntax, RFC 2822 appendix A.6.3): white space, even a folded line, may
# come between a field name and its colon ("From  : ..." or "From" then " : ..." on the next
# line). The stdlib parser takes such a line for the body, so the names are closed up first.
_OBS_FIELD_NAME_RE = re.compile(rb"^([A-Za-z][A-Za-z0-9_-]*)(?:[ \t]|\r?\n[ \t])+:", re.M)
_END_OF_HEADERS_RE = re.compile(rb"\r?\n\r?\n")


def _obsolete_header_names(data: bytes, defects: list[str]) -> bytes:
    end = _END_OF_HEADERS_RE.search(data, 0, 1024 * 1024)
    cut = end.start() if end else min(len(data), 1024 * 1024)
    head = data[:cut]
    if not _OBS_FIELD_NAME_RE.search(head):
        return data
    defects.append("obsolete_header_syntax")
    return _OBS_FIELD_NAME_RE.sub(rb"\1:", head) + data[cut:]


# Control characters other than tab and the line breaks (10-13): counted by deleting them
# (``translate``, in C) rather than by a Python loop over every byte of the header block.
_BINARY_IN_HEADERS = bytes([*range(9), *range(14, 32), 127])


def _check_header_block(data: bytes) -> None:
    end = len(data)
    for sep in (b"\r\n\r\n", b"\n\n"):
        pos = data.find(sep, 0, 65536)
        if pos != -1:
            end = min(end, pos)
    block = data[: min(end, 65536)]
    if not _HEADER_LINE_RE.match(block):
        raise UnparsableMessage("no header section")
    binary = len(block) - len(block.translate(None, _BINARY_IN_HEADERS))
    if binary > max(8, len(block) // 10):
        raise UnparsableMessage("binary data where headers should be")


def _raw_headers(msg: Message) -> list[tuple[str, str]]:
    try:
        return [(str(name), str(value)) for name, value in msg.raw_items()]
    except Exception:  # noqa: BLE001
        return []


def _addresses(raw: str, defects: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs; falls back to finding addr-specs when parsing fails."""
    if not raw.strip():
        return []
    unfolded = re.sub(r"\r?\n[ \t]*", " ", raw)
    if any("\udc80" <= ch <= "\udcff" for ch in unfolded):
        unfolded = _decode_bytes(_raw_to_bytes(unfolded), None, defects)
    try:
        pairs = email.utils.getaddresses([unfolded])
    except Exception:  # noqa: BLE001
        pairs = []
    result: list[tuple[str, str]] = []
    for name, addr in pairs:
        if addr and not _ADDR_SPEC_RE.fullmatch(addr):
            # The parser kept junk around the address (e.g. an unclosed quote): dig it out.
            spec = _ADDR_SPEC_RE.search(addr)
            addr = spec.group(0) if spec else ""
            name = "" if spec else name
        if addr:
            result.append((decode_header_value(name), safe_header_value(addr)))
    if not result:
        found = _ADDR_SPEC_RE.findall(unfolded)
        if found:
            defects.append("address_unparsed")
            name = decode_header_value(unfolded.split("<", 1)[0].strip().strip('"'))
            if "@" in name:
                name = ""
            result = [(name if i == 0 else "", safe_header_value(a)) for i, a in enumerate(found)]
    return result


def _first_address(raw: str, defects: list[str]) -> tuple[str, str]:
    pairs = _addresses(raw, defects)
    return pairs[0] if pairs else ("", "")


def _return_path(raw: str) -> str:
    """The Return-Path address; "<>" for the null return path, "" when there is no header."""
    value = decode_header_value(raw)
    if not value:
        return ""
    match = re.search(r"<([^<>]*)>", value)
    address = match.group(1).strip() if match else value.strip()
    return address or "<>"


def _first_msgid(value: str) -> str:
    if "<" in value and not _MSGID_RE.search(value):
        # Obsolete syntax (RFC 5322 4.5.4): comments and white space inside the angle brackets,
        # as in "<1234   @   local(blah)  .machine .example>".
        value = "".join(_without_comments(value).split())
    ids = _all_msgids(value)
    if ids:
        return ids[0]
    value = value.strip().strip("<>").strip()
    return value.split()[0] if value else ""


def _all_msgids(value: str) -> list[str]:
    return list(dict.fromkeys(_MSGID_RE.findall(value)))


# Comments (CFWS) may sit anywhere in a date (RFC 5322 3.3, 4.3): "09(comment):   55  :  06".
_COMMENT_RE = re.compile(r"\([^()]*\)")
_SPACED_COLON_RE = re.compile(r"\s*:\s*")


def _without_comments(value: str) -> str:
    for _ in range(3):  # nested comments, a few levels deep
        value = _COMMENT_RE.sub(" ", value)
    return " ".join(value.split())


def date_sent(headers: Mapping[str, object] | None) -> datetime | None:
    """The moment a stored message says it was sent (its Date header, any name case), or None
    when there is none, it does not parse, or it has no time zone."""
    raw = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "date"), "")
    if not raw:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return sent if sent is not None and sent.tzinfo is not None else None


def _parse_date(value: str, defects: list[str]) -> datetime | None:
    if not value:
        defects.append("missing_date")
        return None
    if "(" in value or " :" in value or ": " in value.split(",")[-1]:
        value = _SPACED_COLON_RE.sub(":", _without_comments(value))
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("bad_date")
        return None
    if parsed is None:
        defects.append("bad_date")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # "-0000": time is UTC, zone unknown (RFC 5322 3.3)
    return parsed


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return None
    if value is None:
        return None
    if isinstance(value, tuple):
        try:
            return email.utils.collapse_rfc2231_value(value)
        except Exception:  # noqa: BLE001
            return None
    return str(value)


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001
        return ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or _param(part, "name") or ""
    except Exception:  # noqa: BLE001
        name = ""
    return decode_header_value(str(name))


def _cte(part: Message) -> str:
    try:
        return str(part.get("content-transfer-encoding", "") or "").strip().lower()
    except Exception:  # noqa: BLE001
        return ""


# The line that stands in the stored raw message for an attachment body kept apart from it
# (worker/adapters/attachment_store.py); the sizes are those of the body it stands for.
STORED_BODY_PREFIX = "[complaints: attachment body stored apart"
STORED_BODY_PLACEHOLDER = STORED_BODY_PREFIX + ": {decoded} bytes decoded, {encoded} as received]"
_STORED_BODY_RE = re.compile(re.escape(STORED_BODY_PREFIX) + r": (\d{1,15}) bytes decoded")

BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The same as a str.translate table that deletes the alphabet, for a payload that is not all
# ASCII: what is left of a body is its noise (line breaks, padding, stray characters).
_DROP_BASE64_ALPHABET: dict[int, None] = dict.fromkeys(BASE64_ALPHABET)


def _base64_characters(payload: str) -> int:
    """How many characters of ``payload`` are of the base64 alphabet. A payload that is all
    ASCII (every base64 body but a damaged one) is counted as bytes, whose ``translate``
    deletes by a table lookup (a fifth of the time of the str version, which looks each
    character up in a dict)."""
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        return len(payload) - len(payload.translate(_DROP_BASE64_ALPHABET))
    return len(data) - len(data.translate(None, BASE64_ALPHABET))


def _encoded_size(part: Message) -> int:
    """The decoded size of a leaf part, estimated from its encoded form without decoding it."""
    # The stored payload itself: get_payload() first makes a whole encoded copy to look for
    # undecodable bytes (email.utils._has_surrogates), 30 MB for a 30 MB attachment.
    payload = getattr(part, "_payload", None)
    if not isinstance(payload, str):
        return 0
    if payload.startswith(STORED_BODY_PREFIX):
        # A big body kept apart from the message (worker/adapters/attachment_store.py): its
        # placeholder says how big it was.
        stored = _STORED_BODY_RE.match(payload)
        if stored:
            return int(stored.group(1))
    cte = _cte(part)
    if cte == "base64":
        # Counted in one C pass: a character loop took 16 ms per 60 KB part, and a regex search
        # and a count of each noise character four times as long as this. Deleting the
        # alphabet leaves the noise, a few hundred characters.
        return _base64_characters(payload) * 3 // 4
    if cte == "quoted-printable":
        return len(payload) - 2 * payload.count("=") - payload.count("=\n")
    return len(payload)


def _leaf_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        defects.append("body_decode_failed")
        payload = part.get_payload()
        return _raw_to_bytes(payload) if isinstance(payload, str) else b""
    if isinstance(data, bytes):
        return data
    return b""


_BASE64_DEFECTS = (
    "InvalidBase64CharactersDefect",
    "InvalidBase64PaddingDefect",
    "InvalidBase64LengthDefect",
)
# Characters of a base64 body; a body with spaces inside its lines is text that was mislabelled.
_BASE64_TEXT_RE = re.compile(r"[^A-Za-z0-9+/=\s]")


def _has_base64_defect(part: Message) -> bool:
    return any(type(d).__name__ in _BASE64_DEFECTS for d in getattr(part, "defects", []) or [])


def _recover_base64(part: Message, decoded: bytes, defects: list[str]) -> bytes:
    """The text of a text part whose base64 is broken.

    The stdlib gives up on a body of the wrong length (and returns it still encoded) and keeps
    going past stray characters; here the stray characters are dropped and a short last group
    cut, and where the body was never base64 at all (plain words labelled base64) the raw text
    itself is the resident's message.
    """
    payload = getattr(part, "_payload", None)
    if not isinstance(payload, str):
        return decoded
    lines = [line.strip() for line in payload.splitlines() if line.strip()]
    spaced = sum(1 for line in lines if " " in line or "\t" in line)
    if lines and (
        spaced * 4 >= len(lines) or len(_BASE64_TEXT_RE.findall(payload)) * 20 > len(payload)
    ):
        defects.append("base64_invalid:raw_text_kept")
        return _payload_bytes(payload)
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    cleaned = cleaned[: len(cleaned) - 1] if len(cleaned) % 4 == 1 else cleaned
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        data = binascii.a2b_base64(cleaned)
    except (binascii.Error, ValueError):
        defects.append("base64_invalid:raw_text_kept")
        return _payload_bytes(payload)
    if _looks_binary(data):
        defects.append("base64_invalid:raw_text_kept")
        return _payload_bytes(payload)
    defects.append("base64_invalid:repaired")
    return data


def _payload_bytes(payload: str) -> bytes:
    # The bytes parser keeps 8-bit bytes as surrogate escapes; never fails on other characters.
    return payload.encode("utf-8", "surrogateescape")


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return controls * 20 > len(sample)


_BOUNDARY_PARAM_RE = re.compile(
    rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I
)
_DASH_LINE_RE = re.compile(rb"^--([^\s]{1,200}?)(?:--)?[ \t]*\r?$", re.M)
# Salvaged text stops after this much: enough for any letter, bounded for hostile input.
_SALVAGE_LIMIT = 2 * MAX_TEXT_CHARS


def _salvage_texts(body: bytes, defects: list[str], own: str = "") -> list[tuple[str, str]]:
    """(content type, text) of the text parts found in the raw body of a broken multipart.

    The body is cut at every line that is a boundary declared anywhere in it, or, when none is
    declared or used, at every "--token" line; each piece with part headers is read by them
    (text parts kept, with their transfer encoding and charset), a piece without headers is
    plain text. Nothing is nested, so the depth of the original does not matter.
    """
    declared = {(m.group(1) or m.group(2)).strip() for m in _BOUNDARY_PARAM_RE.finditer(body)}
    if own:
        declared.add(own.encode("utf-8", "surrogateescape"))
    dash_tokens = {m.group(1) for m in _DASH_LINE_RE.finditer(body)}
    tokens = {t for t in dash_tokens if t in declared or t.rstrip(b"-") in declared}
    if not tokens:
        tokens = {t for t in dash_tokens if re.search(rb"[A-Za-z0-9]", t)}
        if tokens:
            defects.append("mime_boundary_guessed")
    pieces: list[bytes] = []
    start = 0
    for match in _DASH_LINE_RE.finditer(body):
        if match.group(1) in tokens:
            pieces.append(body[start : match.start()])
            start = match.end()
    pieces.append(body[start:])
    found: list[tuple[str, str]] = []
    preamble: list[str] = []
    total = 0
    for index, piece in enumerate(pieces):
        if total > _SALVAGE_LIMIT:
            defects.append("mime_salvage_truncated")
            break
        piece = piece.strip(b"\r\n")
        if not piece.strip():
            continue
        if _HEADER_LINE_RE.match(piece):
            head, _, content = piece.replace(b"\r\n", b"\n").partition(b"\n\n")
            part = _parse_bytes(head + b"\n\n")
            part.set_payload(content.decode("ascii", "surrogateescape"))
            ctype = _content_type(part)
            if ctype.startswith("multipart/") or not ctype.startswith("text/"):
                continue
            if _disposition(part) == "attachment" or _filename(part):
                continue
            data = _leaf_bytes(part, defects)
            if _cte(part) == "base64" and _has_base64_defect(part):
                data = _recover_base64(part, data, defects)
            text = _decode_bytes(data, _param(part, "charset"), defects)
        else:
            ctype, text = "text/plain", _decode_bytes(piece, None, defects)
            if index == 0:
                preamble.append(text)  # "This is a multi-part message in MIME format."
                continue
        if text.strip():
            found.append((ctype, text))
            total += len(text)
    return found or [("text/plain", t) for t in preamble]


def _walk(msg: Message) -> Iterator[tuple[Message, int, tuple[str, ...]]]:
    """Parts depth-first with their depth and ancestor content types (iterative, bounded)."""
    stack: list[tuple[Message, int, tuple[str, ...]]] = [(msg, 0, ())]
    count = 0
    while stack:
        part, depth, ancestors = stack.pop()
        count += 1
        if count > MAX_PARTS:
            return
        yield part, depth, ancestors
        # No cut-off by depth: the resident's words may sit 200 levels down (MAX_PARTS bounds
        # the work, and this loop is iterative); _Body records the depth as a defect.
        try:
            children = part.get_payload() if part.is_multipart() else None
        except Exception:  # noqa: BLE001
            children = None
        if isinstance(children, list):
            ctype = _content_type(part)
            for child in reversed(children):
                if isinstance(child, Message):
                    stack.append((child, depth + 1, (*ancestors, ctype)))


class _Body:
    """Collects body text, HTML and attachment facts from a MIME tree."""

    def __init__(self, defects: list[str], level: int = 0) -> None:
        self.defects = defects
        self.level = level
        self.plain: list[str] = []
        # The HTML parts as they came: turned into text only when the message has no plain
        # text part (most HTML comes beside a plain part, whose text is the one kept).
        self.html_parts: list[str] = []
        self.extra: list[str] = []
        self.html = ""
        self.attachments: list[Attachment] = []
        self.mime_defects: list[str] = []
        self.in_report = False

    def collect(self, msg: Message) -> None:
        self.in_report = _content_type(msg) == "multipart/report"
        seen_parts = 0
        deepest = 0
        for part, depth, ancestors in _walk(msg):
            seen_parts += 1
            deepest = max(deepest, depth)
            self._part(part, depth, ancestors)
            # Read defects after decoding: payload decoding adds some (e.g. bad base64 padding).
            for defect in getattr(part, "defects", []) or []:
                self.mime_defects.append(f"mime:{type(defect).__name__}")
        if seen_parts >= MAX_PARTS:
            self.defects.append(f"too_many_parts:{MAX_PARTS}")
        if deepest > MAX_DEPTH:
            self.defects.append(f"mime_nesting_too_deep:{deepest}")

    def _part(self, part: Message, depth: int, ancestors: tuple[str, ...]) -> None:
        if any(a in _OPAQUE_TYPES for a in ancestors[1:]):
            return  # inside a forwarded or returned message: handled as a whole
        ctype = _content_type(part)
        if depth > 0 and ctype in _REPORT_HEADER_TYPES | {"message/partial"}:
            self._embedded(part, ctype)
        elif ctype in _REPORT_STATUS_TYPES:
            status = _status_text(part, self.defects)
            self.extra.append(f"{REPORT_STATUS_MARKER}\n{status}")
        elif not part.is_multipart():
            self._leaf(part, ctype)

    def _leaf(self, part: Message, ctype: str) -> None:
        if ctype.startswith("multipart/"):
            # A multipart whose parts the parser could not find (no boundary, not the declared
            # one, nesting too deep to parse): its raw text still holds the resident's words.
            self._salvage(part)
            return
        disposition = _disposition(part)
        filename = _filename(part)
        is_text = ctype in ("text/plain", "text/html") or (
            ctype.startswith("text/") and not filename
        )
        if disposition == "attachment" or filename or not is_text:
            self.attachments.append(Attachment(filename, ctype, _encoded_size(part)))
            return
        if _cte(part) not in ("", "7bit", "8bit", "binary", "base64", "quoted-printable"):
            self.defects.append(f"bad_transfer_encoding:{safe_header_value(_cte(part))[:30]}")
        data = _leaf_bytes(part, self.defects)
        if _cte(part) == "base64" and _has_base64_defect(part):
            data = _recover_base64(part, data, self.defects)
        text = _decode_bytes(data, _param(part, "charset"), self.defects)
        if ctype == "text/html":
            if not self.html:
                self.html = text
            self.html_parts.append(text)
        else:
            self.plain.append(text)

    def _salvage(self, part: Message) -> None:
        # Listed as before (its bytes are kept in the raw message), and its words read.
        self.attachments.append(
            Attachment(_filename(part), _content_type(part), _encoded_size(part))
        )
        payload = getattr(part, "_payload", None)
        if not isinstance(payload, str) or not payload.strip():
            return
        self.defects.append("mime_structure_broken:text_recovered")
        own = _param(part, "boundary") or ""
        for ctype, text in _salvage_texts(_payload_bytes(payload), self.defects, own):
            if ctype == "text/html":
                if not self.html:
                    self.html = text
                self.html_parts.append(text)
            else:
                self.plain.append(text)

    def _embedded(self, part: Message, ctype: str) -> None:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            inner_msg: Message | None = inner[0]
        else:
            inner_msg = None
        if ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
            block = _decode_bytes(_leaf_bytes(part, self.defects), "utf-8", self.defects)
            self.extra.append(f"{REPORT_HEADERS_MARKER}\n{_unfold_block(block)}")
            return
        if inner_msg is None:
            self.attachments.append(Attachment(_filename(part), ctype, _encoded_size(part)))
            return
        heads = _raw_headers(inner_msg)
        subject = next((decode_header_value(v) for k, v in heads if k.lower() == "subject"), "")
        size = sum(len(k) + len(v) + 4 for k, v in heads) + _tree_size(inner_msg)
        self.attachments.append(
            Attachment(_filename(part) or subject or "message.eml", ctype, size)
        )
        if self.level >= MAX_FORWARD_NESTING:
            return
        if self.in_report:
            lines = [f"{k}: {decode_header_value(v)}" for k, v in heads]
            self.extra.append(REPORT_HEADERS_MARKER + "\n" + "\n".join(lines))
            return
        # A forwarded message: its words may be the resident's, so keep them (marked).
        wanted = ("from", "date", "subject", "to")
        lines = [f"{k}: {decode_header_value(v)}" for k, v in heads if k.lower() in wanted]
        inner_body = _Body(self.defects, self.level + 1)
        inner_body.collect(inner_msg)
        self.extra.append(FORWARD_MARKER + "\n" + "\n".join(lines) + "\n\n" + inner_body.text())

    def text(self) -> str:
        plain = "\n\n".join(p.strip("\n") for p in self.plain if p.strip())
        if not plain:
            as_text = (html_to_text(html) for html in self.html_parts)
            plain = "\n\n".join(p for p in as_text if p.strip())
        pieces = [plain] if plain else []
        pieces.extend(self.extra)
        text = "\n\n".join(pieces)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _status_text(part: Message, defects: list[str]) -> str:
    """The fields of a delivery-status (or disposition) part, as "Name: value" lines."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, Message):
                heads = _raw_headers(block)
                blocks.append("\n".join(f"{k}: {decode_header_value(v)}" for k, v in heads))
        return "\n\n".join(b for b in blocks if b)
    text = _decode_bytes(_leaf_bytes(part, defects), "utf-8", defects)
    return _unfold_block(text)


def _tree_size(msg: Message) -> int:
    total = 0
    for part, _, _ in _walk(msg):
        if not part.is_multipart():
            total += _encoded_size(part)
    return total


def _unfold_block(block: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", block).replace("\r", "").strip()


# --------------------------------------------------------------------------------------------
# Bounces

_ID_LINE_RE = re.compile(
    r"^[ \t]*(message-id|references|in-reply-to)[ \t]*:[ \t]*(.*(?:\n[ \t]+.*)*)",
    re.IGNORECASE | re.MULTILINE,
)


def bounced_message_ids(raw_or_parsed: bytes | ParsedMessage) -> tuple[str, ...]:
    """Message-IDs of the message(s) a bounce returns, brackets stripped, bounced ones first.

    Works on the returned headers a delivery report carries (message/rfc822 or
    text/rfc822-headers, which ``parse_message`` puts in the text under a marker) and on bounces
    that quote the original inline (qmail style). The returned message's own Message-ID comes
    first; its In-Reply-To and References follow, for threading. The bounce's own Message-ID is
    never included. Use ``find_case_refs(parsed.text)`` for the case references it mentions.
    """
    parsed = (
        raw_or_parsed if isinstance(raw_or_parsed, ParsedMessage) else parse_message(raw_or_parsed)
    )
    text = parsed.text
    marker = text.find(REPORT_HEADERS_MARKER)
    scope = text[marker:] if marker != -1 else text
    own: list[str] = []
    related: list[str] = []
    for match in _ID_LINE_RE.finditer(scope):
        ids = _all_msgids(match.group(2))
        (own if match.group(1).lower() == "message-id" else related).extend(ids)
    result = [i for i in dict.fromkeys([*own, *related]) if i != parsed.message_id]
    return tuple(result)
