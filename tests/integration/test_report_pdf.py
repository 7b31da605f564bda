"""`complaints report ... --out FILE.pdf` writes a real PDF (issue 9, item 6), with the report's
sections, tables and charts; a data report asked for as .pdf is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.integration.test_reports import database  # noqa: F401 - the shared fixture
from worker import cli


def _text(path: Path) -> tuple[PdfReader, str]:
    reader = PdfReader(str(path))
    # Words as a reader meets them, whatever the line breaks.
    return reader, " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def test_annual_report_as_pdf_is_a_real_pdf_with_every_section(database: Path) -> None:  # noqa: F811
    out = database / "annual.pdf"
    assert cli.main(["report", "annual", "--year", "2026", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    reader, text = _text(out)
    assert len(reader.pages) >= 2
    assert "annual complaints performance and service improvement report 2026-27" in text
    assert reader.metadata is not None and "2026-27" in str(reader.metadata.title)
    for heading in ("Key figures", "Outcomes", "Timeliness", "Learning and service improvements"):
        assert heading in text, heading
    assert "Legal proceedings already started" in text
    assert "£150.00" in text and "66.7%" in text
    assert "Chart:" in text  # the charts are drawn, each labelled with its figures


def test_mrc_report_as_pdf(database: Path) -> None:  # noqa: F811
    out = database / "mrc.pdf"
    assert cli.main(["report", "mrc", "--year", "2026", "--out", str(out)]) == 0
    _, text = _text(out)
    assert "Member Responsible for Complaints" in text or "complaints" in text.lower()


def test_a_data_report_named_pdf_is_refused_in_one_line(
    database: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = database / "tsm.pdf"
    assert cli.main(["report", "tsm", "--year", "2026", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "name a .json file" in err
    assert not out.exists()
