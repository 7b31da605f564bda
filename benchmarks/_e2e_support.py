# ruff: noqa: E501  (prose fragments: splitting sentences across lines hurts reviewing them)
"""Helpers for ``benchmarks/bench_e2e.py``: generated complaints, an SMTP recorder that timestamps
letters, IMAP appenders, worker processes and their memory, the stage ceilings, service set-up.

Kept apart from the benchmark script so the script reads as the measurement it makes; nothing here
imports the worker's code, because the benchmark must measure whatever ``complaints worker`` is.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024

# --- generated complaints ------------------------------------------------------------------------

# Written in the voice of the sample mailbox and the hand-written corpus (classifiers/data): plain
# dissatisfaction with the landlord's service, nothing an exclusion rule would take (no court
# claim, insurance, survey reply or issue older than 12 months), so the classifier should call
# nearly all of them clear complaints and the benchmark measures the acknowledgement path.
_FIRST = ["Sarah", "Imran", "Helen", "Gary", "Angela", "Tomasz", "Karen", "Ruth", "Olu", "Lee", "Ana", "Stephen", "Pauline", "Daniel", "Joan", "Priya", "Kwame", "Linda", "Mohammed", "Stacey", "Agnieszka", "Fatima", "Bernadette", "Chloe", "Darren", "Maureen", "Nkechi", "Terry", "Rebecca", "Yusuf", "Marek", "Denise", "Leanne", "Ravi", "Gemma", "Bilal", "Sheila", "Colin", "Hannah", "Shaun"]  # fmt: skip
_LAST = ["Okafor", "Qureshi", "Price", "Whitfield", "Brooks", "Nowak", "Clarke", "Adebayo", "Bankole", "Harding", "Popescu", "Doyle", "Shaw", "Reid", "Patel", "Kowalski", "O'Brien", "Mensah", "Hughes", "Begum", "Thompson", "Walsh", "Ahmed", "Evans", "Murphy", "Singh", "Baker", "Adeyemi", "Davies", "Hussain", "Wilson", "Khan", "Fletcher", "Green", "Bennett", "Osei", "Harris"]  # fmt: skip
_DOMAINS = ["gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "btinternet.com", "icloud.com", "live.co.uk", "sky.com", "talktalk.net", "virginmedia.com"]  # fmt: skip
_STREETS = ["Maple Court", "Elm Court", "Marlowes", "Longlands", "Queensway", "Cupid Green Lane", "Grovehill Road", "Adeyfield Road", "Belswains Lane", "Chaulden Terrace", "Warners End Road", "Windmill Road", "Gadebridge Lane", "Highfield Way", "Nash Mills Lane"]  # fmt: skip
_TOWNS = ["Hemel Hempstead", "Watford", "St Albans", "Berkhamsted", "Tring", "Kings Langley"]
_STAFF = ["Steve", "Michelle", "Jason", "Karen Wood", "Tom", "Jenny", "Mr Lewis", "Becky", "Amir", "Claire", "Nadia", "Mark Dobson", "Lucy", "Dean", "Mrs Grant"]  # fmt: skip
_OPENINGS = ["Dear Sir or Madam,", "Hello,", "Dear Complaints Team,", "To whom it may concern,", "Dear Thrive Homes,", "Hi,", "Good morning,", "Dear Customer Services,"]  # fmt: skip
_SIGN_OFFS = ["Yours faithfully,", "Regards,", "Thanks,", "Kind regards,", "Yours sincerely,", "Many thanks,"]  # fmt: skip

# (subject, the complaint itself, paragraphs of history, the outcome wanted)
_SCENARIOS: list[tuple[str, str, list[str], str]] = [
    (
        "Formal complaint - black mould in my son's bedroom",
        "I am writing to make a formal complaint about the damp and mould at {addr}. I first reported black mould in my son's bedroom {ago} and it is still there.",
        [
            "A surveyor (I think his name was {staff}) came out, took photos and said the extractor fan needed replacing and the wall needed treating. Since then nothing has happened at all.",
            "The mould is now behind the bed and on his clothes in the wardrobe. I wipe it down every week with the spray your office told me to buy but it comes straight back.",
            "Every time I ring I am told the job is with the contractor. Nobody from the contractor has ever contacted me and nobody can tell me when they will come.",
        ],
        "I would like the mould treated and the cause fixed properly, the damaged clothes and mattress replaced, and an explanation of why I have been left like this.",
    ),
    (
        "Complaint - no heating again",
        "I want to complain about how my heating repair has been handled. The boiler at {addr} has broken down for the third time since {ago} and I have two children under five in a freezing flat.",
        [
            "Your engineer came on a {day}, said it was fixed and closed the job. It lasted four days. When I rang again I was told the earliest appointment was the following week.",
            "I was promised a call back from a supervisor, {staff}, and nobody called. I have had to buy two electric heaters and our electricity bill has gone through the roof.",
            "I have taken two days off work unpaid to wait in for engineers who either did not turn up or turned up without the part they needed.",
        ],
        "I want a new boiler, not another bodge job, and I want the extra electricity and the lost pay refunded.",
    ),
    (
        "Roof leak - patched four times and still leaking",
        "Please treat this as a formal complaint. The roof above my bedroom at {addr} has leaked every time it rains since {ago} and your contractors have patched it four times without fixing it.",
        [
            "Each time a different operative comes, looks at it from the ground, says it needs scaffolding and goes away. The job is then closed without anyone telling me.",
            "The ceiling is stained brown and the plaster is bubbling. I have a bucket on the bedroom floor and I am worried the ceiling will come down.",
            "I spoke to {staff} in the repairs team who said they would escalate it, but I have heard nothing since and my emails have not been answered.",
        ],
        "I would like the roof properly repaired, the ceiling made safe and redecorated, and an apology for the way I have been ignored.",
    ),
    (
        "Missed appointments - complaint",
        "I am making a complaint about repeated missed appointments for the repair to my kitchen at {addr}. The plumber has now failed to turn up twice.",
        [
            "The first appointment was on a {day} morning. I waited in from 8am until 1pm and nobody came or rang. When I called the contact centre they said the operative was running late and would come the next day. He did not.",
            "The second appointment was booked for {ago}. Again nobody came and nobody let me know. I lost another day's pay waiting in.",
            "The kitchen tap is still leaking into the cupboard underneath and the chipboard base has now swollen and split.",
        ],
        "I want a firm appointment that is kept, someone to ring me before they come, and compensation for the two days' pay I have lost.",
    ),
    (
        "Complaint about the way I was spoken to",
        "I want to complain about the way I was treated by a member of your staff, {staff}, when I phoned about my repair {ago}.",
        [
            'I explained that I had been waiting for weeks and he was sarcastic, said "well what do you expect us to do about it" and then put me on hold for twenty-five minutes until the line went dead.',
            "When I rang back I was told there was no note of my call at all. I am a tenant, not a nuisance, and I should not be spoken to like that for asking when my repair will be done.",
            "I have been a tenant for eleven years and have always paid my rent on time. I have never had to write like this before.",
        ],
        "I would like an apology, and for someone to tell me when the repair will actually be done.",
    ),
    (
        "Broken window still not fixed",
        "I am not happy with your service and I want to make a complaint. My bedroom window at {addr} has been broken for {ago} and nobody has come to fix it.",
        [
            "I rang twice and both times I was told someone would come within a week. Nobody came and nobody called me back.",
            "The window will not close properly and there is a draught all night. My baby has been unwell and I have to keep her in the living room.",
            "I went into the office on a {day} and the lady at the desk said the job had been cancelled by mistake and she would book it again. I still have no date.",
        ],
        "Please fix the window this week and tell me why the job was cancelled without anyone telling me.",
    ),
    (
        "Fire door and alarm panel - complaint about inaction",
        "I am writing to complain that the fire door on our landing at {addr} will not self-close and the communal fire alarm panel has shown FAULT for three weeks.",
        [
            "I reported both to the caretaker twice and to the contact centre {ago}. Each time I was told it had been passed on, but nothing has been done.",
            "Several of my neighbours are elderly and one uses a wheelchair. If there was a fire I do not believe the building is safe, and I am frightened for my family.",
            "I asked {staff} for the date of the last fire risk assessment and was told someone would get back to me. Nobody has.",
        ],
        "I want the door and the alarm panel repaired straight away and a written explanation of why urgent safety faults have been left.",
    ),
    (
        "Extractor fan - fourth time of asking",
        "This is the fourth email I have sent about the broken extractor fan in my bathroom at {addr} and I have had no reply to any of them, so I am now making a formal complaint.",
        [
            "The fan stopped working {ago}. Since then the bathroom ceiling has gone black with mould and the paint is peeling off the walls.",
            "It feels like talking to a brick wall. Every time I ring I get a reference number and a promise, and then nothing happens.",
            "An electrician came once, said the fan needed replacing and that he would order one. He never came back and nobody knows anything about the order.",
        ],
        "I would like the fan replaced, the ceiling treated and repainted, and someone to actually reply to my emails.",
    ),
    (
        "Complaint - grab rails and shower promised but not fitted",
        "I am writing on behalf of my mother, who has asked me to complain for her. The grab rails and level-access shower the occupational therapist recommended were promised {ago} and have still not been fitted at {addr}.",
        [
            "Your adaptations officer, {staff}, visited and agreed the work. We were told it would be done within eight weeks. We have chased it four times since.",
            "Mum has since fallen getting out of the bath and spent two nights in hospital. She is frightened to wash now and I have to go round every day to help her.",
            "Every time we ring we are told the job is waiting for approval, but nobody can tell us who has to approve it or how long it will take.",
        ],
        "We want the rails and shower fitted urgently and an explanation of why the work was delayed after it had been agreed.",
    ),
    (
        "Lift out of order for weeks - complaint",
        "I want to make a complaint about the lift at {addr}, which has been out of order for most of the last month, and about how you have dealt with it.",
        [
            "I live on the seventh floor with a bad hip. I have had to cancel hospital appointments because I cannot manage the stairs.",
            'The notice in the lobby has said "engineer booked" since {ago}. When I rang, {staff} said the part was on order but could not tell me when it would arrive.',
            "Nobody has offered any help in the meantime, even though you know there are older and disabled tenants in the block.",
        ],
        "I want the lift fixed, a date I can rely on, and for you to check on the tenants who cannot use the stairs.",
    ),
    (
        "Rent account mistake - complaint",
        "I am making a formal complaint about my rent account. I have been told I am in arrears when I am not, and nobody will put it right.",
        [
            "My housing benefit is paid direct to you every four weeks. {ago} I received a letter saying I owed you over four hundred pounds and that action would be taken if I did not pay.",
            "I rang and {staff} agreed the payments had been put on the wrong account and said it would be corrected. A week later I received another arrears letter.",
            "This has caused me a great deal of worry. I have not slept properly and I should not have to keep ringing to sort out your mistake.",
        ],
        "I want my account corrected, written confirmation that I owe nothing, and an apology for the letters.",
    ),
    (
        "Complaint about my repair being closed without the work done",
        "I want to complain because my repair was marked as completed when the work has not been done. This is at {addr}.",
        [
            "I reported that the back door would not lock {ago}. A text said an operative would attend on a {day}. Nobody came, and the next day I got a text saying the job was complete and asking me to rate the service.",
            "I cannot lock my back door at night. I have had to wedge a chair against it, and I do not feel safe in my own home.",
            "When I rang to report it again I was told I would have to start again with a new job number and wait another four weeks.",
        ],
        "I want the lock fixed this week and an explanation of how a job can be closed when nobody came.",
    ),
]
_CHASING = [
    "I have phoned the contact centre at least five times about this. Each time I have had to explain everything again from the start because there is no record of what I was told before.",
    "I was promised a call back within 48 hours on three separate occasions and I have never once been called back.",
    "I have emailed the repairs inbox twice and had no reply to either email, not even an automatic one.",
    "I asked to speak to a manager and was told one would ring me. Nobody did.",
    "I have kept a diary of every call and visit, which I can send you if that helps.",
    "My neighbour had the same problem and theirs was sorted in a week, so I do not understand why mine has taken so long.",
    "I went to the office in person and was told to phone the contact centre instead.",
    "Your website says urgent repairs are done within 24 hours and routine ones within 28 days. Mine has been neither.",
]
_IMPACT = [
    "This has affected my health. I suffer from anxiety and the stress of chasing this has made it much worse.",
    "I work shifts and every missed appointment means losing pay I cannot afford to lose.",
    "My children are asking why our home is like this and I do not know what to tell them.",
    "I have had to spend my own money trying to sort out problems that are your responsibility as my landlord.",
    "I am disabled and it is very hard for me to keep chasing this by phone.",
    "I feel completely let down. I pay my rent every month and I expect the basic repairs to be done.",
    "I am at the end of my tether with this and I do not know what else to do.",
    "I am frightened this will get worse over the winter if it is not dealt with now.",
]
_AGO = ["three weeks ago", "last month", "six weeks ago", "at the start of last month", "two months ago", "a fortnight ago", "eight weeks ago"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

# A JPEG-ish payload: the markers a JPEG starts and ends with around random bytes. Blobs are made
# once and shared (rendering 100,000 messages must stay cheap); each message's first base64 line
# is its own, so no two attachments are byte-identical.
_JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_B64_LINE = 57  # bytes per 76-character base64 line


def _attachment_blobs(count: int = 8, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    blobs = []
    for n in range(count):
        size = 20_000 + (40_000 * n) // max(count - 1, 1)  # 20-60 KB decoded
        size -= size % _B64_LINE  # whole lines, so a per-message line can be put in front
        payload = bytes(rng.getrandbits(8) for _ in range(size - 2)) + b"\xff\xd9"
        encoded = base64.b64encode(payload).decode("ascii")
        blobs.append("\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)))
    return blobs


@dataclass(frozen=True)
class Inbound:
    """One generated message, as appended to the mailbox."""

    message_id: str  # with angle brackets, as the letter's In-Reply-To will carry it
    sender: str
    raw: bytes
    attachment: bool
    alternative: bool

    @property
    def text_size(self) -> int:
        """Size without the attachment part (the 2-4 KB of text and headers)."""
        return _text_size(self.raw)


class MessageFactory:
    """Deterministic complaints: message ``i`` of a factory is the same every time it is rendered,
    so appenders render on demand and nothing holds 10,000 messages (and their attachments) in
    memory. ``prefix`` makes Message-IDs and senders unique per phase and per run."""

    SIZE_MIN = 2048
    SIZE_MAX = 4096

    def __init__(self, prefix: str, seed: int = 12, to: str | None = None) -> None:
        self.prefix = prefix
        self.seed = seed
        self.to = to or _complaints_address()
        self._blobs = _attachment_blobs()
        # Fixed when the factory is made, so a message renders to the same bytes every time.
        self.date = format_datetime(datetime.now(UTC))

    def identity(self, i: int) -> tuple[str, str, str, str]:
        """(Message-ID, sender address, first name, last name) of message ``i``, without rendering
        it: the benchmark lists what it expects before it appends."""
        rng = random.Random(f"{self.seed}:{self.prefix}:{i}")
        first, last, domain = rng.choice(_FIRST), rng.choice(_LAST), rng.choice(_DOMAINS)
        local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower())
        sender = f"{local}.{self.prefix}.{i}@{domain}".lower()
        message_id = f"<{self.prefix}.{i}.{rng.getrandbits(40):010x}@mail.{domain}>"
        return message_id, sender, first, last

    def message(self, i: int, attachment: bool | None = None) -> Inbound:
        message_id, sender, first, last = self.identity(i)
        domain = sender.rsplit("@", 1)[1]
        # The text depends on i only, so every phase and repeat gets the same workload.
        rng = random.Random(f"{self.seed}:{i}")
        # Exactly a third carry an attachment; half of each kind are multipart/alternative.
        with_attachment = (i % 3 == 2) if attachment is None else attachment
        alternative = (i // 3) % 2 == 1
        subject, complaint, history, outcome = rng.choice(_SCENARIOS)
        fill = {
            "addr": f"{rng.randint(1, 120)} {rng.choice(_STREETS)}, {rng.choice(_TOWNS)}",
            "ago": rng.choice(_AGO),
            "staff": rng.choice(_STAFF),
            "day": rng.choice(_DAYS),
        }
        core = [complaint.format(**fill)]
        optional = [p.format(**fill) for p in history]
        rng.shuffle(optional)
        extra = rng.sample(_CHASING, 5) + rng.sample(_IMPACT, 5)
        rng.shuffle(extra)
        optional += extra
        ending = [
            outcome,
            f"{rng.choice(_SIGN_OFFS)}\n{first} {last}\nTenancy ref T{rng.randint(100000, 999999)}\n"
            f"07700 9{rng.randint(0, 99999):05d}",
        ]
        opening = rng.choice(_OPENINGS)
        target = rng.randint(self.SIZE_MIN + 200, self.SIZE_MAX - 100)
        headers = self._headers(first, last, sender, domain, subject, message_id, rng)
        paragraphs = core + optional[:1]
        rest = optional[1:]

        def render(paras: list[str]) -> bytes:
            return self._render(
                headers, [opening, *paras, *ending], alternative, with_attachment, i, rng_seed=i
            )

        raw = render(paragraphs)
        # Add paragraphs up to the target; under the 2 KB floor add one more even past the target
        # (paragraphs are short enough that this never crosses 4 KB).
        for para in rest:
            candidate = render([*paragraphs, para])
            text_size = _text_size(candidate)
            if text_size <= target or (
                _text_size(raw) < self.SIZE_MIN and text_size <= self.SIZE_MAX
            ):
                paragraphs.append(para)
                raw = candidate
            else:
                break
        return Inbound(message_id, sender, raw, with_attachment, alternative)

    def plain(self, size: int, i: int) -> bytes:
        """A text/plain message of at least ``size`` bytes (the SMTP and PostgreSQL ceilings)."""
        raw = self.message(6 * i).raw  # 6i: neither an attachment nor multipart/alternative
        n = 0
        while len(raw) < size:
            raw += (_CHASING[n % len(_CHASING)] + "\r\n\r\n").encode()
            n += 1
        return raw

    def _headers(
        self,
        first: str,
        last: str,
        sender: str,
        domain: str,
        subject: str,
        message_id: str,
        rng: random.Random,
    ) -> list[str]:
        now = self.date
        relay = f"mail-{rng.choice(['db', 'am', 'lo', 'wr'])}{rng.randint(1, 9)}.{domain}"
        return [
            f"Return-Path: <{sender}>",
            f"Delivered-To: {self.to}",
            f"Received: from {relay} ({relay} [203.0.113.{rng.randint(1, 254)}])\r\n"
            f"\tby mx.thrivehomes.org.uk (Postfix) with ESMTPS id {rng.getrandbits(40):010X};\r\n"
            f"\t{now}",
            f"From: {first} {last} <{sender}>",
            f"To: {self.to}",
            f"Subject: {subject}",
            f"Date: {now}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
        ]

    def _render(
        self,
        headers: list[str],
        paragraphs: list[str],
        alternative: bool,
        attachment: bool,
        i: int,
        rng_seed: int,
    ) -> bytes:
        text = "\r\n\r\n".join(p.replace("\n", "\r\n") for p in paragraphs if p) + "\r\n"
        if alternative:
            html = "".join(
                "<p>" + _html_escape(p).replace("\n", "<br>") + "</p>\r\n" for p in paragraphs if p
            )
            b = f"alt-{self.prefix}-{i}"
            body_part = [
                f'Content-Type: multipart/alternative; boundary="{b}"',
                "",
                f"--{b}",
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 8bit",
                "",
                text,
                f"--{b}",
                "Content-Type: text/html; charset=utf-8",
                "Content-Transfer-Encoding: 8bit",
                "",
                f"<html><body>\r\n{html}</body></html>",
                f"--{b}--",
                "",
            ]
        else:
            body_part = [
                "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 8bit",
                "",
                text,
            ]
        if not attachment:
            return "\r\n".join([*headers, *body_part]).encode("utf-8")
        m = f"mixed-{self.prefix}-{i}"
        blob = self._blobs[rng_seed % len(self._blobs)]
        own = (_JPEG_HEAD + f"{self.prefix}:{i}".encode().ljust(_B64_LINE, b"\x00"))[:_B64_LINE]
        # The JPEG head goes in this message's own first line, so the blob's first line (random
        # bytes) follows it; the payload still ends with the JPEG end marker.
        first_line = base64.b64encode(own).decode("ascii")
        name = random.Random(rng_seed).choice(["IMG_", "photo_", "20251"]) + f"{rng_seed:05d}.jpg"
        return "\r\n".join(
            [
                *headers,
                f'Content-Type: multipart/mixed; boundary="{m}"',
                "",
                f"--{m}",
                *body_part,
                f"--{m}",
                f'Content-Type: image/jpeg; name="{name}"',
                f'Content-Disposition: attachment; filename="{name}"',
                "Content-Transfer-Encoding: base64",
                "",
                first_line,
                blob,
                f"--{m}--",
                "",
            ]
        ).encode("utf-8")


def _text_size(raw: bytes) -> int:
    marker = raw.find(b"Content-Type: image/jpeg")
    return len(raw) if marker < 0 else marker


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _complaints_address() -> str:
    """The landlord's complaints address from the profile the worker will load (the default one,
    since the benchmark leaves COMPLAINTS_LANDLORD alone)."""
    try:
        data = tomllib.loads((ROOT / "config" / "landlord.toml").read_text(encoding="utf-8"))
        return str(data["complaints_email"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "complaints@thrivehomes.org.uk"


# --- the SMTP recorder ---------------------------------------------------------------------------

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(rb"\r?\n[ \t]+")
_IN_REPLY_TO = re.compile(rb"(?im)^In-Reply-To:[ \t]*(<[^>\r\n]*>)")
_KIND = re.compile(rb"(?im)^X-Complaints-Letter-Kind:[ \t]*([^\r\n]*)")
_TO = re.compile(rb"(?im)^To:[ \t]*([^\r\n]*)")
_ADDRESS = re.compile(rb"<([^>]*)>")


@dataclass(frozen=True)
class Letter:
    arrived: float  # time.monotonic() when the DATA command finished
    in_reply_to: str
    to: str
    kind: str
    size: int


def letter_from_bytes(raw: bytes, arrived: float) -> Letter:
    """The few headers the benchmark needs, by regex over the header block only: parsing every
    letter with the email package would make the recorder, not the worker, the bottleneck."""
    end = _HEADER_END.search(raw)
    head = _FOLD.sub(b" ", raw[: end.start()] if end else raw)
    irt = _IN_REPLY_TO.search(head)
    kind = _KIND.search(head)
    to_match = _TO.search(head)
    to = b""
    if to_match:
        to = to_match.group(1).strip()
        inner = _ADDRESS.search(to)
        to = inner.group(1) if inner else to
    return Letter(
        arrived=arrived,
        in_reply_to=irt.group(1).decode("ascii", "replace") if irt else "",
        to=to.decode("utf-8", "replace").lower(),
        kind=kind.group(1).strip().decode("ascii", "replace") if kind else "(none)",
        size=len(raw),
    )


class _RecorderHandler:
    def __init__(self, recorder: LetterRecorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        arrived = time.monotonic()  # before any work of ours, so the recorder's cost is not latency
        self.recorder.record(letter_from_bytes(bytes(envelope.content), arrived))
        return "250 OK"


class LetterRecorder:
    """An aiosmtpd sink on 127.0.0.1 that keeps, per In-Reply-To, the letters that answered it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self._lock = threading.Lock()
        self._controller: Any = None
        self.reset()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(
            _RecorderHandler(self), hostname=self.host, port=self.port, ready_timeout=10
        )
        self._controller.start()

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def reset(self) -> None:
        with self._lock:
            self.letters: list[Letter] = []
            self.by_reply: dict[str, list[Letter]] = {}

    def record(self, letter: Letter) -> None:
        with self._lock:
            self.letters.append(letter)
            self.by_reply.setdefault(letter.in_reply_to, []).append(letter)

    def count(self) -> int:
        with self._lock:
            return len(self.letters)

    def answered(self, message_ids: Iterable[str]) -> int:
        with self._lock:
            return sum(1 for mid in message_ids if mid in self.by_reply)

    def first_letters(self, message_ids: Iterable[str]) -> dict[str, Letter]:
        with self._lock:
            return {mid: self.by_reply[mid][0] for mid in message_ids if mid in self.by_reply}

    def snapshot(self) -> list[Letter]:
        with self._lock:
            return list(self.letters)


@dataclass
class LetterAudit:
    """What the letters for one phase's messages looked like."""

    kinds: Counter[str]
    missing: list[str]
    doubled: int  # messages that got more than one letter
    wrong_recipient: int
    stray: int  # letters answering none of the phase's messages
    to_staff: Counter[str]  # notices to the landlord's own teams (hazards), by kind
    mean_size: float


# Sent to the landlord's own teams, not in reply to a resident's message: a message describing
# damp, mould or another hazard raises one (Awaab's Law), so a share of the generated
# complaints produce one each.
STAFF_NOTICES = frozenset({"hazard_notification"})


def audit_letters(recorder: LetterRecorder, expected: dict[str, str]) -> LetterAudit:
    """``expected`` maps Message-ID -> sender; warm-up letters are passed in ``expected`` too or
    counted as stray."""
    letters = recorder.snapshot()
    kinds: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    to_staff: Counter[str] = Counter()
    wrong = stray = 0
    for letter in letters:
        sender = expected.get(letter.in_reply_to)
        if sender is None and letter.kind in STAFF_NOTICES:
            to_staff[letter.kind] += 1
            continue
        if sender is None:
            stray += 1
            continue
        seen[letter.in_reply_to] += 1
        kinds[letter.kind] += 1
        if letter.to != sender:
            wrong += 1
    missing = [mid for mid in expected if mid not in seen]
    return LetterAudit(
        kinds=kinds,
        missing=missing,
        doubled=sum(1 for n in seen.values() if n > 1),
        wrong_recipient=wrong,
        stray=stray,
        to_staff=to_staff,
        mean_size=sum(x.size for x in letters) / len(letters) if letters else 0.0,
    )


# --- worker processes and their memory -----------------------------------------------------------


def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM``: a worker is told to stop even if the benchmark is killed with
    SIGKILL and its clean-up never runs (util-linux 2.33+; without it the prefix is empty)."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return []
    probe = subprocess.run([setpriv, "--help"], capture_output=True, text=True, check=False)
    return [setpriv, "--pdeathsig", "TERM", "--"] if "--pdeathsig" in probe.stdout else []


class WorkerGroup:
    """M ``complaints worker`` processes, each the leader of its own process group, so a stop
    reaches any children it starts and Ctrl-C on the benchmark is handled by our clean-up, not
    delivered to the workers mid-measurement."""

    def __init__(self, command: Sequence[str], env: dict[str, str], count: int, log_dir: Path):
        self.command = [*_pdeathsig_prefix(), *command]
        self.env = env
        self.count = count
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for n in range(self.count):
            log = (self.log_dir / f"worker-{n}.log").open("ab")
            try:
                proc = subprocess.Popen(
                    self.command,
                    env=self.env,
                    cwd=self.log_dir,  # no project .env is read; defaults land in a scratch dir
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            finally:
                log.close()
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def exited(self) -> list[tuple[int, int]]:
        return [(p.pid, rc) for p in self.procs if (rc := p.poll()) is not None]

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to every group, SIGKILL to whatever is left after ``grace`` seconds."""
        for proc in self.procs:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self.procs:
            # Also when the leader exited in time: children it left behind go with the group.
            _signal_group(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs = []

    def log_tail(self, lines: int = 25) -> str:
        out = []
        for path in sorted(self.log_dir.glob("worker-*.log")):
            text = path.read_text(errors="replace").splitlines()
            out.append(f"--- {path} (last {min(lines, len(text))} lines)")
            out.extend(text[-lines:])
        return "\n".join(out)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) from /proc/PID/stat; None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields resume after the last ")".
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def process_tree(roots: Iterable[int]) -> tuple[set[int], dict[int, float]]:
    """Every live descendant of ``roots`` (roots included) and each one's CPU seconds."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat is not None:
            children.setdefault(stat[0], []).append(int(entry))
            cpu[int(entry)] = stat[1]
    found: set[int] = set()
    todo = [r for r in roots if r in cpu]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found, {pid: cpu[pid] for pid in found}


class RssSampler:
    """Samples the workers' process trees from /proc every ``interval`` seconds: the peak of the
    summed RSS, the largest single process, and CPU seconds (the last value seen per process)."""

    def __init__(self, roots: Callable[[], list[int]], interval: float = 0.2) -> None:
        self.roots = roots
        self.interval = interval
        self.peak_total = 0
        self.peak_single = 0
        self.current_total = 0
        self.processes_seen: set[int] = set()
        self._cpu: dict[int, float] = {}
        self._lock = threading.Lock()  # the main thread samples too, at phase boundaries
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def sample(self) -> None:
        pids, cpu = process_tree(self.roots())
        sizes = [_rss(pid) for pid in pids]
        with self._lock:
            self.current_total = sum(sizes)
            self.peak_total = max(self.peak_total, self.current_total)
            self.peak_single = max([self.peak_single, *sizes])
            self.processes_seen |= pids
            for pid, seconds in cpu.items():
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), seconds)

    def cpu_seconds(self) -> float:
        """CPU used so far by every worker process seen (sampled now, so it is current)."""
        self.sample()
        with self._lock:
            return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


# --- IMAP ----------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _quote(text: str) -> bytes:
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


class RawImap:
    """Just enough IMAP over a socket for MULTIAPPEND with LITERAL+ (RFC 3502, RFC 7888): many
    messages in one command and no round trip per literal. imaplib sends one message per APPEND
    and waits for a continuation before each literal, too slow to pre-fill 100,000 messages."""

    def __init__(self, host: str, port: int, user: str, password: str, timeout: float = 120):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self._tag = 0
        self.file.readline()  # greeting
        self.command(b"LOGIN " + _quote(user) + b" " + _quote(password))
        caps = b" ".join(self.command(b"CAPABILITY")).upper()
        self.multiappend = b"MULTIAPPEND" in caps and b"LITERAL+" in caps

    def command(self, payload: bytes) -> list[bytes]:
        """Send one command (which may embed LITERAL+ literals) and return its untagged lines."""
        self._tag += 1
        tag = b"b%d" % self._tag
        self.sock.sendall(tag + b" " + payload + b"\r\n")
        lines: list[bytes] = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("IMAP server closed the connection")
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            if literal:
                self.file.read(int(literal.group(1)))
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                    raise RuntimeError(f"IMAP {payload[:40]!r}...: {line.decode(errors='replace')}")
                return lines
            lines.append(line)

    def append_many(self, folder: str, messages: Sequence[bytes], flags: str = "") -> None:
        parts = [b"APPEND " + _quote(folder)]
        for raw in messages:
            if flags:
                parts.append(b" (" + flags.encode() + b")")
            parts.append(b" {%d+}\r\n" % len(raw) + raw)
        self.command(b"".join(parts))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.command(b"LOGOUT")
        with contextlib.suppress(OSError):
            self.sock.close()


def imap_connect(host: str, port: int, user: str, password: str) -> imaplib.IMAP4:
    client = imaplib.IMAP4(host, port, timeout=60)
    client.login(user, password)
    return client


class AppendError(RuntimeError):
    pass


def _run_threads(targets: list[Callable[[], None]], stop: threading.Event) -> None:
    """Run ``targets`` in daemon threads; re-raise the first error; KeyboardInterrupt sets
    ``stop`` so they finish their current command and end."""
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                errors.append(exc)
                stop.set()

        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.5)
    except BaseException:
        stop.set()
        raise
    if errors:
        first = errors[0]
        raise AppendError(f"appending failed: {type(first).__name__}: {first}") from first


@dataclass
class AppendRun:
    started: float  # monotonic, just before the first APPEND was sent
    finished: float
    done_at: dict[str, float] = field(default_factory=dict)  # Message-ID -> its APPEND completed

    @property
    def rate(self) -> float:
        return len(self.done_at) / max(self.finished - self.started, 1e-9)


@dataclass(frozen=True)
class ImapLogin:
    host: str
    port: int
    user: str
    password: str

    def raw(self) -> RawImap:
        client = RawImap(self.host, self.port, self.user, self.password)
        if not client.multiappend:
            client.close()
            raise AppendError("the IMAP server lacks MULTIAPPEND or LITERAL+ (Dovecot has both)")
        return client


def append_batches(
    login: ImapLogin,
    render: Callable[[int], Inbound],
    count: int,
    connections: int,
    batch: int,
    folder: str = "INBOX",
    flags: str = "",
    progress: Callable[[int], None] | None = None,
) -> AppendRun:
    """APPEND messages 0..count-1 as fast as the server takes them: ``batch`` messages per
    MULTIAPPEND command (1 = one message per APPEND) over ``connections`` parallel sessions. A
    message's completion time is its command's."""
    stop = threading.Event()
    lock = threading.Lock()
    starts = iter(range(0, count, batch))
    result = AppendRun(started=0.0, finished=0.0)
    clients = [login.raw() for _ in range(connections)]  # logged in before the clock starts

    def work(client: RawImap) -> Callable[[], None]:
        def run() -> None:
            while not stop.is_set():
                with lock:
                    start = next(starts, None)
                if start is None:
                    return
                messages = [render(i) for i in range(start, min(start + batch, count))]
                client.append_many(folder, [m.raw for m in messages], flags)
                now = time.monotonic()
                with lock:
                    for m in messages:
                        result.done_at[m.message_id] = now
                    if progress is not None:
                        progress(len(result.done_at))

        return run

    try:
        with contextlib.suppress(RuntimeError):  # NO when the folder exists already
            clients[0].command(b"CREATE " + _quote(folder))
        result.started = time.monotonic()
        _run_threads([work(c) for c in clients], stop)
        result.finished = time.monotonic()
    finally:
        for client in clients:
            client.close()
    return result


def append_paced(
    login: ImapLogin,
    render: Callable[[int], Inbound],
    rate: float,
    seconds: float,
    connections: int = 4,
    max_batch: int = 50,
) -> AppendRun:
    """APPEND at a steady ``rate`` for ``seconds``: message k is due at start + k/rate. Sessions
    take messages in order and wait for each one's due time, so up to ``connections`` APPENDs
    are in flight; a session that finds several messages already due (the server or the machine
    was slow) sends them in one MULTIAPPEND, so the offered rate holds and a slow APPEND shows as
    a lower achieved rate only when the server cannot keep up at all."""
    stop = threading.Event()
    lock = threading.Lock()
    count = max(1, round(rate * seconds))
    state = {"next": 0}
    result = AppendRun(started=0.0, finished=0.0)
    clients = [login.raw() for _ in range(connections)]

    def due(k: int) -> float:
        return result.started + k / rate

    def work(client: RawImap) -> Callable[[], None]:
        def run() -> None:
            while not stop.is_set():
                with lock:
                    first = state["next"]
                    if first >= count:
                        return
                    now = time.monotonic()
                    last = first + 1
                    while last < count and last - first < max_batch and due(last) <= now:
                        last += 1
                    state["next"] = last
                if stop.wait(max(0.0, due(first) - time.monotonic())):
                    return
                messages = [render(k) for k in range(first, last)]
                client.append_many("INBOX", [m.raw for m in messages])
                now = time.monotonic()
                with lock:
                    for m in messages:
                        result.done_at[m.message_id] = now

        return run

    try:
        result.started = time.monotonic()
        _run_threads([work(c) for c in clients], stop)
        result.finished = time.monotonic()
    finally:
        for client in clients:
            client.close()
    return result


# --- stage ceilings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ceiling:
    rate: float  # items per second
    count: int
    seconds: float


def imap_fetch_ceiling(login: ImapLogin, chunk: int = 200) -> Ceiling:
    """UID FETCH BODY.PEEK[] of every message in INBOX, ``chunk`` UIDs per command, one session
    (imaplib, the library under the worker's imap-tools). Only the fetching is timed."""
    client = imap_connect(login.host, login.port, login.user, login.password)
    try:
        client.select("INBOX", readonly=True)
        typ, data = client.uid("SEARCH", "ALL")
        uids = sorted(int(x) for x in (data[0] or b"").split())
        fetched = 0
        started = time.monotonic()
        for n in range(0, len(uids), chunk):
            part = uids[n : n + chunk]
            contiguous = part[-1] - part[0] + 1 == len(part)
            spec = f"{part[0]}:{part[-1]}" if contiguous else ",".join(map(str, part))
            typ, data = client.uid("FETCH", spec, "(BODY.PEEK[])")
            if typ != "OK":
                raise RuntimeError(f"UID FETCH refused: {data!r}")
            fetched += sum(1 for item in data if isinstance(item, tuple))
        seconds = time.monotonic() - started
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return Ceiling(fetched / max(seconds, 1e-9), fetched, seconds)


def smtp_ceiling(
    host: str, port: int, count: int, connections: int = 20, size: int = 3000
) -> Ceiling:
    """``count`` messages of about ``size`` bytes over ``connections`` persistent aiosmtplib
    sessions. Meant to run in a separate process (see bench_e2e) so the client does not share a
    GIL with the recorder, as the worker does not."""
    factory = MessageFactory("smtp-ceiling")
    raws = [factory.plain(size, i) for i in range(count)]
    return asyncio.run(_smtp_send_all(host, port, raws, connections))


async def _smtp_send_all(host: str, port: int, raws: list[bytes], connections: int) -> Ceiling:
    import aiosmtplib

    clients = [
        aiosmtplib.SMTP(hostname=host, port=port, start_tls=False) for _ in range(connections)
    ]
    await asyncio.gather(*(c.connect() for c in clients))

    async def run(client: Any, items: list[bytes]) -> None:
        for raw in items:
            await client.sendmail("complaints@thrivehomes.org.uk", ["ceiling@example.org"], raw)

    try:
        started = time.monotonic()
        await asyncio.gather(*(run(c, raws[k::connections]) for k, c in enumerate(clients)))
        seconds = time.monotonic() - started
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.quit()
    return Ceiling(len(raws) / max(seconds, 1e-9), len(raws), seconds)


def pg_insert_ceiling(conninfo: str, count: int, batch: int = 100, size: int = 3000) -> Ceiling:
    """``count`` rows of about ``size`` bytes of bytea, ``batch`` rows per transaction, in a table
    shaped like the worker's raw-message store (a unique mailbox/UIDVALIDITY/UID key)."""
    import psycopg

    factory = MessageFactory("pg-ceiling")
    raws = [factory.plain(size, i) for i in range(count)]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, mailbox text NOT NULL, "
            "uidvalidity bigint NOT NULL, uid bigint NOT NULL, raw bytea NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now(), UNIQUE (mailbox, uidvalidity, uid))"
        )
        started = time.monotonic()
        for start in range(0, count, batch):
            rows = [
                ("imap://bench/INBOX", 1, i, raws[i])
                for i in range(start, min(start + batch, count))
            ]
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bench_raw (mailbox, uidvalidity, uid, raw) VALUES (%s, %s, %s, %s)",
                    rows,
                )
        seconds = time.monotonic() - started
    return Ceiling(count / max(seconds, 1e-9), count, seconds)


# --- services and the machine --------------------------------------------------------------------


class Postgres:
    """Creates and drops the benchmark's own databases on a server reached as ``url``
    (postgresql://user@host:port, no database part)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.created: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(f"{self.url}/postgres", autocommit=True, connect_timeout=5)

    def version(self) -> str:
        with self._admin() as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])

    def create(self, prefix: str = "complaints_bench") -> str:
        name = f"{prefix}_{os.urandom(5).hex()}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            # Workers that were SIGKILLed may leave sessions behind for a moment.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> list[str]:
        """Drop every database this object created; returns the names it could not drop."""
        failed = []
        for name in list(self.created):
            try:
                self.drop(name)
            except Exception:  # noqa: BLE001 - clean-up goes on with the others
                failed.append(name)
        return failed

    def conninfo(self, name: str) -> str:
        return f"{self.url}/{name}"

    def sqlalchemy_url(self, name: str) -> str:
        # The worker's settings accept postgresql+psycopg:// (psycopg 3, which it ships).
        return "postgresql+psycopg://" + self.url.split("://", 1)[1] + f"/{name}"


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def redis_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        return str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    usable = len(os.sched_getaffinity(0))
    return f"{os.cpu_count()} CPUs ({usable} usable), {model}{mem}, Linux {os.uname().release}"


def dovecot_version(binary: str = "/usr/sbin/dovecot") -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out.stdout.strip()


def worker_revision() -> str:
    """The checkout's commit and whether files differ from it (read-only git; no index lock)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]
