"""Extract the Complaint Handling Code's provisions (Appendix A) into worker/data/.

Run once, and again whenever the source text changes:

    python scripts/extract_code_provisions.py SOURCE.txt [--out worker/data/code_provisions.json]

SOURCE is the text of a landlord's completed Appendix A self-assessment form (the Housing
Ombudsman's form, extracted from PDF), one provision per row: the provision number on a line of its
own, the Code's requirement, then the landlord's "Yes"/"No"/"N/A" and their evidence. Only the
provision numbers, section headings and the Code's requirement text are kept; the landlord's
answers and evidence are dropped.

The PDF's two columns are interleaved in places (a requirement that runs past a page or past the
landlord's evidence). The script takes the requirement up to the Comply answer, then, while the
requirement is mid-sentence, the continuation lines: those indented by one space (the extractor's
mark for the left column) or the first block after a page footer (a link line). Anything it still
cannot finish is listed on stderr, and the few known cases are completed from ``FIXES`` below.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

SECTION = re.compile(r"^\s*Section (\d+):\s*(.+?)\s*$")
PROVISION = re.compile(r"^\s*(\d)\.(\d{1,2})\s*$")
COMPLY = re.compile(r"^\s*(Yes|No|N/A)(\s*$|\s{2,}\S)")
TABLE_HEAD = ("Code", "provision", "Code requirement", "Comply:", "Yes / No", "Evidence")
PAGE_FOOTER = re.compile(r"^\s*https?://")

# The Code's own section headings, where the landlord's form mislabels one (the source repeats
# section 7's heading for section 8).
SECTION_FIXES = {"8": "Self-assessment, reporting and compliance"}

# Requirement text the interleaved columns defeat, keyed by provision: the tail to append.
# 9.8 continues on the next page with no footer line between; 4.3 has no full stop in the Code.
FIXES: dict[str, str] = {"9.8": " as set by any relevant professional body."}


def _clean(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"\s*\u2022\s*", "\n\u2022 ", text)
    text = re.sub(r"(\w)- (\w)", r"\1-\2", text)  # "co- operative", "self- assessment"
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _finished(text: str) -> bool:
    return text.rstrip().endswith((".", ":", ".'", '."', ".)"))


def _blocks(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines."""
    out: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [b for b in out if b]


def _requirement(body: list[str]) -> str:
    answer = next((i for i, line in enumerate(body) if COMPLY.match(line)), len(body))
    head = [line for line in body[:answer] if line.strip()]
    text = " ".join(line.strip() for line in head)
    rest = body[answer + 1 :]
    # Continuation lines indented by exactly one space belong to the requirement column.
    indented = [line for line in rest if re.match(r"^ \S", line)]
    if not _finished(text) and indented:
        start = rest.index(indented[0])
        for block in _blocks(rest[start:])[:1]:
            text += " " + " ".join(line.strip() for line in block)
    if not _finished(text):
        footer = next((i for i, line in enumerate(rest) if PAGE_FOOTER.match(line)), None)
        if footer is not None:
            after = [line for line in rest[footer:] if not PAGE_FOOTER.match(line)]
            blocks = _blocks(after)
            if blocks:
                text += " " + " ".join(line.strip() for line in blocks[0])
    return text


def extract(source: str) -> list[dict[str, str]]:
    lines = source.splitlines()
    sections: dict[str, str] = {}
    starts: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        if m := SECTION.match(line):
            sections[m.group(1)] = SECTION_FIXES.get(m.group(1), m.group(2))
            starts.append((i, ""))
        elif m := PROVISION.match(line):
            starts.append((i, f"{m.group(1)}.{m.group(2)}"))
    provisions: list[dict[str, str]] = []
    for n, (i, number) in enumerate(starts):
        if not number:
            continue
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        text = _requirement(lines[i + 1 : end])
        text = _clean(text + FIXES.get(number, ""))
        section = number.split(".")[0]
        provisions.append(
            {
                "provision": number,
                "section": section,
                "section_heading": sections.get(section, ""),
                "requirement": text,
            }
        )
    return provisions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    default = Path(__file__).resolve().parent.parent / "worker" / "data" / "code_provisions.json"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args(argv)
    provisions = extract(args.source.read_text(encoding="utf-8"))
    for p in provisions:
        if not _finished(p["requirement"]) and p["provision"] != "4.3":
            print(f"check {p['provision']}: ends {p['requirement'][-60:]!r}", file=sys.stderr)
    document = {
        "title": "Housing Ombudsman Complaint Handling Code: Appendix A provisions",
        "source": "Appendix A self-assessment form (provision numbers and Code requirements)",
        "sections": {p["section"]: p["section_heading"] for p in provisions},
        "provisions": provisions,
    }
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {len(provisions)} provisions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
