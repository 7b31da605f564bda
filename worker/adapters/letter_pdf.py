"""Letters kept for post, printed (issue 9, item 2): an A4 PDF of the letter exactly as it was
written, for staff to print and post when the resident prefers post or gave no email address.

Large print follows RNIB's clear print guidance: at least 16 pt, a sans serif, left aligned,
generous line spacing. The letter's plain text is printed as it stands (paragraphs, the
Ombudsman block), wrapped to the page, so the posted letter says what the record says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from worker.domain.errors import UserError

if TYPE_CHECKING:
    from worker.adapters.db_models import Letter
    from worker.bootstrap import App
    from worker.domain.landlord import Landlord

# 12 pt normally (a letter, not small print); 16 pt for large print (RNIB's minimum).
NORMAL_PT = 12
LARGE_PT = 16
# Line height as a multiple of the font size: 1.5 is the spacing clear print asks for.
LINE_SPACING = 1.5
_PT_TO_MM = 25.4 / 72
_MARGIN_MM = 20
_LONDON = ZoneInfo("Europe/London")
# The letters the case page offers to print: ones that were not emailed (SPEC 5.10).
KEPT_FOR_POST = ("by_post", "no_address", "by_phone")


def _letter_date(letter: Letter) -> str:
    when = letter.created_at or datetime.now(_LONDON)
    if when.tzinfo is not None:
        when = when.astimezone(_LONDON)
    return f"{when.day} {when:%B %Y}"


def _address_lines(postal_address: str) -> list[str]:
    # The profile holds the address on one line, comma separated; a letterhead sets it one part
    # a line, as Royal Mail and residents expect.
    parts = postal_address.replace("\n", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


def letter_pdf(letter: Letter, *, large_print: bool, landlord: Landlord | None) -> bytes:
    """The letter as a print-ready A4 PDF: letterhead (when the profile has a name or address),
    date, the recipient's name, then the letter's plain text; "Page N of M" on every page."""
    from fpdf import FPDF

    from worker.adapters.pdf import setup_fonts

    size = LARGE_PT if large_print else NORMAL_PT
    line = size * LINE_SPACING * _PT_TO_MM

    class _Printed(FPDF):
        def footer(self) -> None:
            self.set_y(-_MARGIN_MM + 5)
            self.set_font(family, "", size)
            # {nb} is replaced by the page count when the document is finished.
            self.cell(0, line, f"Page {self.page_no()} of {{nb}}", align="L")

    pdf: Any = _Printed(format="A4")
    family, clean = setup_fonts(pdf)
    title = letter.subject or f"Letter about {letter.ref}"
    pdf.set_title(clean(title))
    pdf.set_lang("en-GB")
    pdf.set_creator("complaints intake worker")
    pdf.set_subject(clean(f"{letter.kind.replace('_', ' ')} {letter.ref}".strip()))
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    # Room at the foot of each page for the page number.
    pdf.set_auto_page_break(auto=True, margin=_MARGIN_MM + line)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, *, bold: bool = False) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(width, line, clean(text), align="L", new_x="LMARGIN", new_y="NEXT")

    if landlord is not None and (landlord.name or landlord.postal_address):
        if landlord.name:
            para(landlord.name, bold=True)
        for part in _address_lines(landlord.postal_address):
            # The profile's address may begin with the landlord's name; print it once.
            if part != landlord.name:
                para(part)
        pdf.ln(line)
    para(_letter_date(letter))
    pdf.ln(line / 2)
    if letter.recipient_name:
        para(letter.recipient_name)
    pdf.ln(line)
    for text_line in letter.text.replace("\r\n", "\n").split("\n"):
        if text_line.strip():
            para(text_line.rstrip())
        else:
            # A blank line in the text is a paragraph break on paper too.
            pdf.ln(line)
    return bytes(pdf.output())


@dataclass(frozen=True)
class PrintedLetter:
    letter_id: int
    ref: str
    status: str
    large_print: bool
    filename: str
    pdf: bytes


def print_letter(app: App, letter_id: int, *, by: str) -> PrintedLetter:
    """Render a stored letter as a PDF for posting, in large print when its resident asked, and
    audit who printed it (``letter.printed``). An unknown letter is a ``UserError``."""
    from worker.adapters.db_models import Case, Letter, Resident, ServiceRequest
    from worker.records import audit

    with app.db.session() as s:
        letter = s.get(Letter, letter_id)
        if letter is None:
            raise UserError(f"there is no letter {letter_id}")
        resident: Resident | None = None
        case = s.get(Case, letter.case_id) if letter.case_id is not None else None
        if case is not None:
            resident = case.resident
        elif letter.service_request_id is not None:
            sr = s.get(ServiceRequest, letter.service_request_id)
            resident = s.get(Resident, sr.resident_id) if sr is not None else None
        large = bool(resident and resident.large_print)
        body = letter_pdf(letter, large_print=large, landlord=app.landlord)
        audit(
            s,
            by,
            "letter.printed",
            f"{by} printed the {letter.kind.replace('_', ' ')} letter for {letter.ref}"
            + (" in large print" if large else ""),
            case_id=letter.case_id,
            letter_id=letter.id,
            large_print=large,
        )
        safe_ref = "".join(c if c.isalnum() or c in "-_" else "-" for c in letter.ref)
        return PrintedLetter(
            letter.id,
            letter.ref,
            letter.status,
            large,
            f"letter-{safe_ref or letter.id}-{letter.id}.pdf",
            body,
        )
