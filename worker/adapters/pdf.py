"""The font every PDF the product writes uses (reports, letters kept for post).

DejaVu Sans, a sans serif with every character a resident's name may hold, when the system has
it; otherwise the PDF core font Helvetica, which can only show Latin-1, so text meant for it is
cleaned: dashes and curly quotes become their plain forms, anything else becomes "?" rather than
stopping the PDF being made."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _as_is(text: str) -> str:
    return text


def _latin1(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    text = text.replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return text.encode("latin-1", "replace").decode("latin-1")


def setup_fonts(pdf: Any) -> tuple[str, Callable[[str], str]]:
    """Register the body font (regular and bold) on an ``fpdf.FPDF`` and return its family name
    and the function that makes text safe for it."""
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if regular.is_file() and bold.is_file():
        pdf.add_font("Body", "", str(regular))
        pdf.add_font("Body", "B", str(bold))
        return "Body", _as_is
    return "Helvetica", _latin1
