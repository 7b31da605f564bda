"""Letters kept for post print as real PDFs (issue 9, item 2): readable text with the resident's
name, the case reference and the Ombudsman block; large print where the resident asked; from the
command line and as a download on the case page, both audited."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.integration.test_web import Console, audit_actions, console  # noqa: F401
from worker import cli
from worker.adapters.db_models import Case, Letter
from worker.adapters.letter_pdf import letter_pdf
from worker.bootstrap import App
from worker.residents import ResidentService
from worker.services import StaffService

FONT_SIZE = re.compile(rb"/F\d+ ([\d.]+) Tf")


def _posted_letter(app: App, ref: str, *, large_print: bool) -> Letter:
    """The resident of ``ref`` asks for post; the stage 1 response is then kept for posting."""
    with app.db.session() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        email = case.resident.email
    ResidentService(app).record_adjustments(
        email,
        adjustments="Letters by post" + (" in large print" if large_print else ""),
        large_print=large_print,
        preferred_channel="post",
        review_on=date(2027, 5, 1),
        by="Sam Patel",
    )
    StaffService(app).respond(
        ref, decision="not_upheld", reasons="The damp was treated on 2 November.", by="Sam Patel"
    )
    with app.db.session() as s:
        letter = s.scalars(
            select(Letter).where(Letter.ref == ref, Letter.kind == "stage1_response")
        ).one()
        s.expunge(letter)
    assert letter.status == "by_post"
    return letter


def _text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())


def _font_sizes(data: bytes) -> set[float]:
    reader = PdfReader(io.BytesIO(data))
    sizes: set[float] = set()
    for page in reader.pages:
        contents = page.get_contents()
        assert contents is not None
        sizes |= {float(v) for v in FONT_SIZE.findall(contents.get_data())}
    return sizes


def test_a_letter_kept_for_post_prints_as_a_readable_pdf(console: Console) -> None:  # noqa: F811
    ref = console.seeded.acknowledged
    letter = _posted_letter(console.app, ref, large_print=False)
    data = letter_pdf(letter, large_print=False, landlord=console.app.landlord)
    assert data.startswith(b"%PDF-")
    reader, text = _text(data)
    assert letter.recipient_name and letter.recipient_name in text
    assert ref in text and "Housing Ombudsman" in text
    assert console.app.landlord.name in text
    assert f"Page 1 of {len(reader.pages)}" in text
    assert reader.metadata is not None and reader.metadata.title == letter.subject
    assert b"/Lang (en-GB)" in data
    assert max(_font_sizes(data)) <= 12 and min(_font_sizes(data)) >= 11


def test_large_print_uses_at_least_16_point(console: Console) -> None:  # noqa: F811
    letter = _posted_letter(console.app, console.seeded.acknowledged, large_print=True)
    normal = letter_pdf(letter, large_print=False, landlord=console.app.landlord)
    large = letter_pdf(letter, large_print=True, landlord=console.app.landlord)
    assert min(_font_sizes(large)) >= 16
    # Bigger type, so more pages, and every word still there.
    assert len(PdfReader(io.BytesIO(large)).pages) > len(PdfReader(io.BytesIO(normal)).pages)
    large_text = _text(large)[1]
    assert "Housing Ombudsman" in large_text and letter.ref in large_text
    assert letter.recipient_name in large_text


def test_a_long_unbroken_line_wraps_inside_the_page(console: Console) -> None:  # noqa: F811
    letter = _posted_letter(console.app, console.seeded.acknowledged, large_print=False)
    letter.text = "See https://" + "x" * 400 + ".example/page\n\n" + letter.text
    data = letter_pdf(letter, large_print=True, landlord=None)
    _, text = _text(data)
    assert "x" * 20 in text and "Housing Ombudsman" in text


def test_the_cli_writes_the_pdf_and_audits_it(
    console: Console,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    letter = _posted_letter(console.app, console.seeded.acknowledged, large_print=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", str(console.app.settings.database_url))
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("COMPLAINTS_LANDLORD", raising=False)
    out = tmp_path / "letter.pdf"
    assert cli.main(["letter", "pdf", str(letter.id), "--out", str(out), "--by", "Sam"]) == 0
    assert '"large_print": true' in capsys.readouterr().out
    assert min(_font_sizes(out.read_bytes())) >= 16
    assert "Housing Ombudsman" in _text(out.read_bytes())[1]
    assert "letter.printed" in audit_actions(console.app)


def test_the_cli_refuses_an_unknown_letter_in_one_line(
    console: Console,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", str(console.app.settings.database_url))
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("COMPLAINTS_LANDLORD", raising=False)
    out = tmp_path / "none.pdf"
    assert cli.main(["letter", "pdf", "999999", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "complaints: there is no letter 999999"
    assert not out.exists()


def test_the_case_page_offers_the_letter_as_a_pdf_download(console: Console) -> None:  # noqa: F811
    ref = console.seeded.acknowledged
    letter = _posted_letter(console.app, ref, large_print=True)
    console.login()
    page = console.client.get(f"/cases/{ref}").text
    assert f'href="/letters/{letter.id}.pdf"' in page
    response = console.client.get(f"/letters/{letter.id}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-")
    assert min(_font_sizes(response.content)) >= 16
    assert "letter.printed" in audit_actions(console.app)
    assert console.client.get("/letters/999999.pdf").status_code == 404


def test_the_letter_download_needs_sign_in(console: Console) -> None:  # noqa: F811
    letter = _posted_letter(console.app, console.seeded.acknowledged, large_print=False)
    response = console.client.get(f"/letters/{letter.id}.pdf", follow_redirects=False)
    assert response.status_code in (303, 401)
    assert not response.content.startswith(b"%PDF-")
    assert "letter.printed" not in audit_actions(console.app)
