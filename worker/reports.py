"""`complaints report tsm|annual|mrc` (SPEC section 8): the Regulator's CH01/CH02 as JSON, the
annual complaints performance and service improvement report (Code 8.1) and the Member
Responsible for Complaints report (9.7), as Markdown or accessible HTML.

This module loads facts from the configured database and lays the figures out; every figure is
worked out by ``worker.domain.reporting``, whose docstring defines each one.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.clock import london_date
from worker.domain import reporting as rp
from worker.domain.errors import UserError
from worker.domain.working_days import Calendar

# Plain-English names for the exclusion reasons of SPEC section 3 (8.1b: types refused).
REFUSAL_NAMES = {
    "legal_proceedings": "Legal proceedings already started (Code 2.2)",
    "over_12_months": "Issue arose more than 12 months ago (Code 2.2, 2.3)",
    "previously_considered": "Already considered under the complaints process (Code 2.2)",
    "insurance_claim": "Insurance claim",
    "lettings_decision": "Lettings or allocations decision",
    "asb_report": "Report of anti-social behaviour (not a complaint about how we handled it)",
    "councillor_mp_general": "General enquiry from a councillor or MP",
    "leaseholder_consultation": "Leaseholder consultation",
    "external_appeal_or_tribunal": "Matter for an external appeal or tribunal",
    "policy_dissatisfaction": "Disagreement with a policy (kept for the annual policy review)",
    "survey_feedback": "Survey feedback (told how to complain, Code 1.6)",
    "statutory_notice": "Statutory notice (environmental health or HHSRS)",
    "not_landlord_matter": "Not a matter for the landlord",
    "stage2_not_escalated": "Request to escalate to stage 2 refused (Code 5.11)",
}
DECISION_NAMES = {
    "upheld": "Upheld",
    "partly_upheld": "Partly upheld",
    "not_upheld": "Not upheld",
}
LABEL_NAMES = {
    "complaint": "Complaint",
    "service_request": "Service request",
    "excluded": "Proposed exclusion (a person decided)",
    "not_resident_mail": "Not resident mail (auto-replies, bounces, bulk, spam)",
    "": "Not yet labelled",
}
RISK_NAMES = {"on_track": "On track", "due_soon": "Due within 2 working days", "overdue": "Overdue"}


# ---------------------------------------------------------------------------------------------
# Loading facts


@dataclass
class Facts:
    stages: list[rp.StageFacts] = field(default_factory=list)
    refusals: list[rp.Refusal] = field(default_factory=list)
    remedies: list[rp.Remedy] = field(default_factory=list)
    # (day received, triage label) of every inbound message: what came in, for context.
    inbound: list[tuple[date, str]] = field(default_factory=list)
    service_requests: list[date] = field(default_factory=list)


def _iso_date(value: Any) -> date | None:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def load_facts(session: Session) -> Facts:
    from worker.adapters.db_models import (
        AuditEvent,
        Case,
        CaseAction,
        InboundMessage,
        ServiceRequest,
    )

    facts = Facts()
    cases = list(session.scalars(select(Case).order_by(Case.id)))
    origin_ids = [c.origin_inbound_id for c in cases if c.origin_inbound_id is not None]
    labels: dict[int, str] = {}
    if origin_ids:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.label).where(InboundMessage.id.in_(origin_ids))
        )
        labels = {row_id: label for row_id, label in rows}
    refusal_events: dict[int, dict[str, Any]] = {}
    for event in session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(("triage.refuse", "case.refuse")))
        .order_by(AuditEvent.id)
    ):
        if event.case_id is None:
            continue
        seen = refusal_events.setdefault(event.case_id, {})
        details = event.details or {}
        if details.get("exclusion"):
            seen["reason"] = details["exclusion"]
        seen.setdefault("on", _iso_date(details.get("on")) or london_date(event.at))

    by_case_stage: dict[tuple[int, int], date | None] = {}
    for case in cases:
        extraction = case.extraction or {}
        text = case.understanding or str(extraction.get("issue") or "") or case.subject
        category = str(extraction.get("category") or "") or rp.categorise(text)
        if case.origin_inbound_id is None:
            label = "complaint"  # entered by staff: it reached us as a complaint
        else:
            label = labels.get(case.origin_inbound_id, "")
        has_stage2 = any(s.stage == 2 for s in case.stages)
        for s in case.stages:
            by_case_stage[(case.id, s.stage)] = s.responded
            facts.stages.append(
                rp.StageFacts(
                    case_ref=case.ref,
                    stage=s.stage,
                    received=s.received,
                    acknowledged=s.acknowledged,
                    acknowledge_by=s.acknowledge_by,
                    respond_by=s.respond_by,
                    original_respond_by=s.original_respond_by,
                    extension_days=s.extension_days or 0,
                    extension_notified=s.extension_notified,
                    good_reason=s.good_reason or "",
                    approved_by=s.approved_by or "",
                    responded=s.responded,
                    decision=s.decision or "",
                    case_status=case.status,
                    has_stage2=has_stage2,
                    category=category,
                    label=label,
                    definition=" ".join((case.understanding or case.subject or "").split()),
                )
            )
        if case.status == "refused":
            event_facts = refusal_events.get(case.id, {})
            stage = 2 if has_stage2 else 1
            default_reason = "stage2_not_escalated" if has_stage2 else ""
            reason = str(event_facts.get("reason") or case.proposed_reason or default_reason)
            decided = event_facts.get("on") or case.closed_on
            if decided is None:
                decided = max(s.received for s in case.stages) if case.stages else None
            if decided is not None:
                facts.refusals.append(rp.Refusal(case.ref, stage, reason, decided))

    refs = {c.id: c.ref for c in cases}
    for action in session.scalars(select(CaseAction).where(CaseAction.kind == "remedy")):
        facts.remedies.append(
            rp.Remedy(
                case_ref=refs.get(action.case_id, str(action.case_id)),
                stage=action.stage,
                offered_on=by_case_stage.get((action.case_id, action.stage)),
                amount_pence=action.amount_pence,
                completed_on=action.completed_on,
            )
        )
    for received_on, stored_at, label in session.execute(
        select(InboundMessage.received_on, InboundMessage.stored_at, InboundMessage.label)
    ):
        facts.inbound.append((received_on or london_date(stored_at), label or ""))
    facts.service_requests = list(session.scalars(select(ServiceRequest.received)))
    return facts


# ---------------------------------------------------------------------------------------------
# A small document model, rendered to Markdown or HTML


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Chart:
    """A horizontal bar chart; the same figures are always in a table nearby, so the chart is an
    aid, never the only place a number appears (accessibility)."""

    title: str
    description: str
    bars: list[tuple[str, float]]
    unit: str = ""


Block = Heading | Para | Bullets | Table | Chart


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(doc: Document) -> str:
    out: list[str] = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * (block.level + 1)} {block.text}", ""]
        elif isinstance(block, Para):
            out += [block.text, ""]
        elif isinstance(block, Bullets):
            out += [f"- {_md_cell(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            out += [f"*{block.caption}*", ""]
            out.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            out.append("| " + " | ".join("---" for _ in block.headers) + " |")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("")
        else:
            out += [f"**Chart: {block.title}**", "", "```text"]
            top = max((v for _, v in block.bars), default=0)
            width = max((len(name) for name, _ in block.bars), default=0)
            for name, value in block.bars:
                bar = "█" * round(30 * value / top) if top > 0 else ""
                out.append(f"{name.ljust(width)}  {bar} {_num(value)}{block.unit}")
            out += ["```", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 1rem; line-height: 1.5;
  color: #0b0c0c; background: #fff; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
table { border-collapse: collapse; margin: 0 0 1.5rem; min-width: 50%; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #505a5f; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
figure { margin: 0 0 1.5rem; }
figcaption { font-weight: bold; }
.bar { fill: #1d70b8; }
svg text { font-family: Arial, Helvetica, sans-serif; font-size: 13px; fill: #0b0c0c; }
"""


def render_html(doc: Document) -> str:
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(doc.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{esc(doc.title)}</h1>",
    ]
    charts = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            level = min(block.level + 1, 6)
            out.append(f"<h{level}>{esc(block.text)}</h{level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{esc(block.text)}</p>")
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            out.append("<table>")
            out.append(f"<caption>{esc(block.caption)}</caption>")
            numeric = [
                all(_looks_numeric(row[i]) for row in block.rows) and bool(block.rows)
                for i in range(len(block.headers))
            ]
            out.append(
                "<thead><tr>"
                + "".join(
                    f'<th scope="col"{_num_class(numeric[i])}>{esc(h)}</th>'
                    for i, h in enumerate(block.headers)
                )
                + "</tr></thead>"
            )
            out.append("<tbody>")
            for row in block.rows:
                cells = [f'<th scope="row">{esc(row[0])}</th>'] + [
                    f"<td{_num_class(numeric[i + 1])}>{esc(c)}</td>" for i, c in enumerate(row[1:])
                ]
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table>")
        else:
            charts += 1
            out.append(_svg_chart(block, f"chart-{charts}"))
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _num_class(numeric: bool) -> str:
    return ' class="num"' if numeric else ""


# -- PDF (issue 9, item 6): the same document, printed --------------------------------------------


def render_pdf(doc: Document) -> bytes:
    """The document as a real PDF (A4, tagged with its title and language), charts drawn as bars
    beside the tables that hold their figures. DejaVu Sans when the system has it (any
    character); else the PDF core font, with characters it cannot show replaced."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from worker.adapters.pdf import setup_fonts

    pdf = FPDF(format="A4")
    pdf.set_title(doc.title)
    pdf.set_lang("en-GB")
    pdf.set_creator("complaints intake worker")
    pdf.set_auto_page_break(auto=True, margin=15)
    family, clean = setup_fonts(pdf)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(family, "B", 18)
    pdf.multi_cell(width, 9, clean(doc.title), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for block in doc.blocks:
        if isinstance(block, Heading):
            pdf.ln(2)
            pdf.set_font(family, "B", max(11, 16 - 2 * block.level))
            pdf.multi_cell(width, 7, clean(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
        elif isinstance(block, Para):
            pdf.set_font(family, "", 10)
            pdf.multi_cell(width, 5, clean(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif isinstance(block, Bullets):
            pdf.set_font(family, "", 10)
            for item in block.items:
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(
                    width - 4, 5, clean(f"- {item}"), align="L", new_x="LMARGIN", new_y="NEXT"
                )
            pdf.ln(2)
        elif isinstance(block, Table):
            pdf.set_font(family, "B", 10)
            pdf.multi_cell(width, 6, clean(block.caption), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(family, "", 9)
            numeric = [
                all(_looks_numeric(row[i]) for row in block.rows) and bool(block.rows)
                for i in range(len(block.headers))
            ]
            with pdf.table(
                headings_style=FontFace(emphasis="BOLD", fill_color=(243, 242, 241)),
                text_align=tuple("RIGHT" if n else "LEFT" for n in numeric),
                line_height=5,
            ) as table:
                for row in [block.headers, *block.rows]:
                    cells = table.row()
                    for cell in row:
                        cells.cell(clean(cell))
            pdf.ln(3)
        else:
            _pdf_chart(pdf, block, family, clean, width)
    return bytes(pdf.output())


def _pdf_chart(pdf: Any, chart: Chart, family: str, clean: Any, width: float) -> None:
    """Horizontal bars, each labelled with its name and value (never colour alone)."""
    pdf.set_font(family, "B", 10)
    pdf.multi_cell(
        width, 6, clean(f"Chart: {chart.title}"), align="L", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font(family, "", 9)
    if chart.description:
        pdf.multi_cell(width, 5, clean(chart.description), align="L", new_x="LMARGIN", new_y="NEXT")
    top = max((v for _, v in chart.bars), default=0)
    label_w, value_w = width * 0.35, 22
    bar_w = width - label_w - value_w
    for name, value in chart.bars:
        if pdf.will_page_break(6):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w, 6, clean(name)[:48])
        length = bar_w * value / top if top > 0 else 0
        pdf.set_fill_color(29, 112, 184)
        if length > 0:
            pdf.rect(pdf.l_margin + label_w, y + 1, length, 4, style="F")
        pdf.set_xy(pdf.l_margin + label_w + length + 1, y)
        pdf.cell(value_w, 6, clean(f"{_num(value)}{chart.unit}"))
        pdf.set_xy(pdf.l_margin, y + 6)
    pdf.ln(3)


def _looks_numeric(text: str) -> bool:
    cleaned = text.replace(",", "").replace("%", "").replace("£", "").replace(".", "", 1)
    return cleaned.isdigit()


def _svg_chart(chart: Chart, chart_id: str) -> str:
    esc = html.escape
    label_width = 230
    bar_space = 360
    row_height = 24
    height = row_height * max(len(chart.bars), 1) + 10
    width = label_width + bar_space + 70
    top = max((v for _, v in chart.bars), default=0)
    parts = [
        "<figure>",
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'style="max-width: 100%; height: auto" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{esc(chart.title)}</title>',
        f'<desc id="{chart_id}-desc">{esc(chart.description)}</desc>',
    ]
    for i, (name, value) in enumerate(chart.bars):
        y = 5 + i * row_height
        length = round(bar_space * value / top) if top > 0 else 0
        text_y = y + row_height - 8
        parts.append(
            f'<text x="{label_width - 8}" y="{text_y}" text-anchor="end">{esc(name)}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{y + 2}" width="{length}" '
            f'height="{row_height - 6}"></rect>'
        )
        parts.append(
            f'<text x="{label_width + length + 6}" y="{text_y}">'
            f"{esc(_num(value) + chart.unit)}</text>"
        )
    parts += ["</svg>", f"<figcaption>{esc(chart.title)}</figcaption>", "</figure>"]
    return "\n".join(parts)


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _pct(share: float | None, empty: str = "no responses yet") -> str:
    return empty if share is None else f"{share * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "not available" if value is None else f"{value:.2f}"


# ---------------------------------------------------------------------------------------------
# The reports


@dataclass(frozen=True)
class Context:
    year: rp.ReportingYear
    homes: int
    today: date
    calendar: Calendar
    landlord: str


def tsm_json(facts: Facts, ctx: Context) -> dict[str, Any]:
    c1 = rp.ch01(facts.stages, ctx.year, ctx.homes)
    c2 = rp.ch02(facts.stages, ctx.year)
    ch01: dict[str, Any] = {
        "stage1_per_1000": c1.stage1_per_1000,
        "stage2_per_1000": c1.stage2_per_1000,
        "stage1_count": c1.stage1_count,
        "stage2_count": c1.stage2_count,
    }
    if c1.note:
        ch01["note"] = c1.note
    return {
        "year": ctx.year.label,
        "period": {"start": ctx.year.start.isoformat(), "end": ctx.year.end.isoformat()},
        "homes": ctx.homes,
        "CH01": ch01,
        "CH02": {
            "stage1_within_timescale": c2.stage1_share,
            "stage2_within_timescale": c2.stage2_share,
            "stage1_responded": c2.stage1_responded,
            "stage1_within_count": c2.stage1_within,
            "stage2_responded": c2.stage2_responded,
            "stage2_within_count": c2.stage2_within,
        },
    }


def _in_year(facts: Facts, year: rp.ReportingYear) -> list[rp.StageFacts]:
    return [s for s in facts.stages if rp.is_complaint(s) and year.contains(s.received)]


def _headline(facts: Facts, ctx: Context) -> Table:
    c1 = rp.ch01(facts.stages, ctx.year, ctx.homes)
    c2 = rp.ch02(facts.stages, ctx.year)
    ack = rp.acknowledgement_timeliness(facts.stages, ctx.year)
    total, valued, _ = rp.remedies_total_pence(facts.remedies, ctx.year)
    rows = [
        ["Stage 1 complaints received", _num(c1.stage1_count)],
        ["Stage 2 complaints received (escalations)", _num(c1.stage2_count)],
        ["Stage 1 complaints per 1,000 homes (CH01)", _rate(c1.stage1_per_1000)],
        ["Stage 2 complaints per 1,000 homes (CH01)", _rate(c1.stage2_per_1000)],
        ["Stage 1 responses within the Code's timescale (CH02)", _pct(c2.stage1_share)],
        ["Stage 2 responses within the Code's timescale (CH02)", _pct(c2.stage2_share)],
        [
            "Complaints acknowledged within 5 working days",
            _pct(ack.share_on_time, "none acknowledged yet"),
        ],
        ["Money offered as remedies", f"{rp.format_pounds(total)} ({valued} payments)"],
    ]
    return Table("Key figures for the year", ["Measure", "Figure"], rows)


def _ch01_note(facts: Facts, ctx: Context) -> list[Block]:
    c1 = rp.ch01(facts.stages, ctx.year, ctx.homes)
    if c1.note:
        return [Para(f"Note: {c1.note[0].upper()}{c1.note[1:]}.")]
    return [Para(f"Rates per 1,000 homes use {ctx.homes:,} homes owned.")]


def _volume_blocks(facts: Facts, ctx: Context, until: date | None = None) -> list[Block]:
    months = rp.volumes_by_month(facts.stages, ctx.year)
    if until is not None:
        keep = sum(1 for y, m in ctx.year.months() if date(y, m, 1) <= until)
        months = months[: max(keep, 1)]
    rows = [[m.label, _num(m.stage1), _num(m.stage2), _num(m.stage1 + m.stage2)] for m in months]
    rows.append(
        [
            "Total",
            _num(sum(m.stage1 for m in months)),
            _num(sum(m.stage2 for m in months)),
            _num(sum(m.stage1 + m.stage2 for m in months)),
        ]
    )
    return [
        Table(
            "Complaints received each month",
            ["Month", "Stage 1", "Stage 2", "All"],
            rows,
        ),
        Chart(
            "Stage 1 and stage 2 complaints received each month",
            "Bar chart of the number of complaints received in each month of the year; the "
            "figures are in the table above.",
            [(m.label, m.stage1 + m.stage2) for m in months],
        ),
    ]


def _category_blocks(facts: Facts, ctx: Context) -> list[Block]:
    in_year = _in_year(facts, ctx.year)
    stage1 = [s for s in in_year if s.stage == 1]
    categories = rp.count_by(s.category for s in stage1)
    blocks: list[Block] = [
        Para(
            "Categories come from the complaint as we defined it. Where staff have not set a "
            "category, a simple keyword match on the definition is used, so some complaints may "
            "sit in 'Other'."
        ),
        Table(
            "Stage 1 complaints received, by what they were about",
            ["Category", "Complaints"],
            [[name, _num(n)] for name, n in categories] or [["None", "0"]],
        ),
    ]
    if categories:
        blocks.append(
            Chart(
                "Stage 1 complaints by category",
                "Bar chart of stage 1 complaints received in the year in each category; the "
                "figures are in the table above.",
                [(name, float(n)) for name, n in categories],
            )
        )
    return blocks


def _outcome_blocks(facts: Facts, ctx: Context) -> list[Block]:
    s1 = rp.outcomes(facts.stages, ctx.year, 1)
    s2 = rp.outcomes(facts.stages, ctx.year, 2)
    names = list(dict.fromkeys([*s1, *s2]))
    rows = [[DECISION_NAMES.get(n, n), _num(s1.get(n, 0)), _num(s2.get(n, 0))] for n in names]
    rows.append(["Total", _num(sum(s1.values())), _num(sum(s2.values()))])
    return [
        Table(
            "Decisions in responses sent during the year", ["Decision", "Stage 1", "Stage 2"], rows
        ),
        Chart(
            "Stage 1 decisions",
            "Bar chart of stage 1 responses that upheld, partly upheld or did not uphold the "
            "complaint; the figures are in the table above.",
            [(DECISION_NAMES.get(n, n), float(s1.get(n, 0))) for n in names],
        ),
    ]


def _timeliness_blocks(facts: Facts, ctx: Context) -> list[Block]:
    c2 = rp.ch02(facts.stages, ctx.year)
    a1 = rp.acknowledgement_timeliness(facts.stages, ctx.year, 1)
    a2 = rp.acknowledgement_timeliness(facts.stages, ctx.year, 2)
    responded = [s for s in facts.stages if rp.is_complaint(s) and ctx.year.contains(s.responded)]
    extended = [s for s in responded if s.extension_days > 0]
    return [
        Para(
            "A response is within the Code's timescale when it was sent on or before its "
            "response date: 10 working days after acknowledgement at stage 1 and 20 at stage 2. "
            "An extension moves that date only if the resident was told before the original "
            "date, and it was within the Code's limit (10 or 20 working days) or had a recorded "
            "good reason and a manager's approval."
        ),
        Table(
            "Responses within the Code's timescale (CH02)",
            ["Stage", "Responses sent", "Within timescale", "Share"],
            [
                [
                    "Stage 1",
                    _num(c2.stage1_responded),
                    _num(c2.stage1_within),
                    _pct(c2.stage1_share),
                ],
                [
                    "Stage 2",
                    _num(c2.stage2_responded),
                    _num(c2.stage2_within),
                    _pct(c2.stage2_share),
                ],
            ],
        ),
        Chart(
            "Share of responses within the Code's timescale",
            "Bar chart of the percentage of stage 1 and stage 2 responses sent within the "
            "Code's timescale; the figures are in the table above.",
            [
                ("Stage 1", round((c2.stage1_share or 0) * 100, 1)),
                ("Stage 2", round((c2.stage2_share or 0) * 100, 1)),
            ],
            unit="%",
        ),
        Table(
            "Acknowledgements within 5 working days (Code 6.2, 6.11)",
            ["Stage", "On time", "Late", "Not yet acknowledged", "Share on time"],
            [
                [
                    "Stage 1",
                    _num(a1.on_time),
                    _num(a1.late),
                    _num(a1.not_yet),
                    _pct(a1.share_on_time, "none yet"),
                ],
                [
                    "Stage 2",
                    _num(a2.on_time),
                    _num(a2.late),
                    _num(a2.not_yet),
                    _pct(a2.share_on_time, "none yet"),
                ],
            ],
        ),
        Para(
            f"{len(extended)} of the {len(responded)} responses sent in the year had an extension."
        ),
    ]


def _refused_blocks(facts: Facts, ctx: Context) -> list[Block]:
    refused = rp.refused_types(facts.refusals, ctx.year)
    return [
        Para(
            "Matters are never refused automatically: a member of staff decides each one and "
            "writes to the resident with the reasons and their right to go to the Housing "
            "Ombudsman (Code 2.1, 2.4, 2.5)."
        ),
        Table(
            "Matters not accepted as complaints, by reason",
            ["Reason", "Number"],
            [[REFUSAL_NAMES.get(r, r.replace("_", " ")), _num(n)] for r, n in refused]
            or [["None refused", "0"]],
        ),
    ]


def _remedy_blocks(facts: Facts, ctx: Context) -> list[Block]:
    total, valued, unvalued = rp.remedies_total_pence(facts.remedies, ctx.year)
    return [
        Para(
            f"Remedies offered in responses sent during the year: {valued + unvalued} "
            f"({valued} with a money amount totalling {rp.format_pounds(total)}, {unvalued} "
            "without one, such as an apology or putting something right)."
        )
    ]


def _learning_blocks(facts: Facts, ctx: Context) -> list[Block]:
    upheld = [
        s
        for s in facts.stages
        if rp.is_complaint(s)
        and ctx.year.contains(s.responded)
        and s.decision in ("upheld", "partly_upheld")
    ]
    items = [
        f"{s.case_ref} (stage {s.stage}, {DECISION_NAMES[s.decision].lower()}, {s.category}): "
        f"{s.definition or 'no definition recorded'}"
        for s in sorted(upheld, key=lambda s: (s.responded or s.received, s.case_ref))
    ]
    return [
        Para(
            "To be completed by the complaints team: the service improvements made as a result "
            "of learning from complaints (Code 8.1d, 9.1-9.3). The complaints upheld or partly "
            "upheld this year are listed below as a starting point."
        ),
        Bullets(items or ["No complaints were upheld or partly upheld this year."]),
    ]


def annual_report(facts: Facts, ctx: Context) -> Document:
    doc = Document(
        f"{ctx.landlord}: annual complaints performance and service improvement report "
        f"{ctx.year.label}".lstrip(": ")
    )
    inbound = [label for day, label in facts.inbound if ctx.year.contains(day)]
    srs = sum(1 for d in facts.service_requests if ctx.year.contains(d))
    doc.add(
        Para(
            f"This report covers {ctx.year.start:%-d %B %Y} to {ctx.year.end:%-d %B %Y}. It is "
            "the annual report required by the Housing Ombudsman's Complaint Handling Code "
            f"(provision 8.1). Figures are taken from the complaints system on "
            f"{ctx.today:%-d %B %Y}."
        ),
        Heading(1, "Key figures"),
        _headline(facts, ctx),
        *_ch01_note(facts, ctx),
        Heading(1, "How many complaints we received"),
        *_volume_blocks(facts, ctx),
        Heading(2, "Everything that reached the complaints inbox"),
        Table(
            "Messages received, by how they were first sorted",
            ["Sorted as", "Messages"],
            [[LABEL_NAMES.get(lbl, lbl), _num(n)] for lbl, n in rp.count_by(inbound)]
            or [["None", "0"]],
        ),
        Para(f"{srs} service requests were logged and passed to the right team."),
        Heading(1, "What complaints were about"),
        *_category_blocks(facts, ctx),
        Heading(1, "Outcomes"),
        *_outcome_blocks(facts, ctx),
        Heading(1, "Timeliness"),
        *_timeliness_blocks(facts, ctx),
        Heading(1, "Types of complaint we refused to accept"),
        *_refused_blocks(facts, ctx),
        Heading(1, "Putting things right"),
        *_remedy_blocks(facts, ctx),
        Heading(1, "Learning and service improvements"),
        *_learning_blocks(facts, ctx),
        Heading(1, "Other items this report must include"),
        Bullets(
            [
                "The annual self-assessment against the Complaint Handling Code (8.1a): to be "
                "attached.",
                "Any findings of non-compliance with the Code by the Ombudsman (8.1c): to be "
                "completed.",
                "Any annual report about our performance from the Ombudsman (8.1e): to be "
                "completed.",
                "Any other relevant reports or publications by the Ombudsman (8.1f): to be "
                "completed.",
                "The governing body's response, published alongside this report (8.2): to be "
                "completed.",
            ]
        ),
        Heading(1, "How the figures are worked out"),
        Bullets(
            [
                "The year runs from 1 April to 31 March.",
                "A complaint is counted once accepted into the complaints process; matters "
                "still waiting for a person to decide, and matters refused, are not counted as "
                "complaints. Withdrawn complaints are counted.",
                "Complaints received are counted by the date received; stage 2 by the date the "
                "request to escalate was received.",
                "Timeliness and outcomes are counted for responses sent during the year.",
            ]
        ),
    )
    return doc


def mrc_report(facts: Facts, ctx: Context) -> Document:
    as_of = min(ctx.today, ctx.year.end)
    doc = Document(
        f"{ctx.landlord}: complaints report for the Member Responsible for Complaints".lstrip(": ")
    )
    open_now = rp.open_cases(facts.stages, ctx.today, ctx.calendar)
    counts = rp.open_case_counts(open_now)
    in_year = _in_year(facts, ctx.year)
    top = rp.count_by(s.category for s in in_year if s.stage == 1)[:3]
    trend = (
        "The most common subjects of stage 1 complaints were "
        + "; ".join(f"{name.lower()} ({n})" for name, n in top)
        + "."
        if top
        else "No stage 1 complaints have been received this year."
    )
    doc.add(
        Para(
            f"Year to date: {ctx.year.start:%-d %B %Y} to {as_of:%-d %B %Y} ({ctx.year.label}). "
            "This is the regular report to the Member Responsible for Complaints and the "
            "governing body (Complaint Handling Code 9.6, 9.7)."
        ),
        Heading(1, "Headline figures"),
        _headline(facts, ctx),
        *_ch01_note(facts, ctx),
        Heading(1, "Volume, categories and outcomes (9.7a)"),
        *_volume_blocks(facts, ctx, until=as_of),
        *_category_blocks(facts, ctx),
        *_outcome_blocks(facts, ctx),
        Heading(1, "Complaint handling performance (9.7a)"),
        *_timeliness_blocks(facts, ctx),
        Heading(2, "Open complaints today"),
        Table(
            f"Open complaints by deadline status on {ctx.today:%-d %B %Y}",
            ["Status", "Complaints"],
            [[RISK_NAMES[k], _num(v)] for k, v in counts.items()],
        ),
        Bullets(
            [
                f"{c.case_ref}: stage {c.stage} {c.due} by {c.deadline:%-d %B %Y} "
                f"({RISK_NAMES[c.status].lower()})"
                for c in open_now
                if c.status != "on_track"
            ]
            or ["No open complaint is overdue or due within 2 working days."]
        ),
        Heading(1, "Issues and trends (9.7b)"),
        Para(trend),
        *_refused_blocks(facts, ctx),
        Heading(1, "Ombudsman investigations (9.7c)"),
        Para(
            "To be completed by the complaints team: outcomes of the Ombudsman's investigations "
            "and progress with any orders following severe maladministration findings."
        ),
        Heading(1, "Annual report (9.7d)"),
        Para(
            "The annual complaints performance and service improvement report is produced with "
            f"`complaints report annual --year {ctx.year.start_year}`."
        ),
    )
    return doc


# ---------------------------------------------------------------------------------------------
# Entry point


def main_report(args: argparse.Namespace) -> int:
    """`complaints report KIND [--year YYYY] [--out PATH]`; see the module docstring."""
    from worker.bootstrap import existing_database

    kind = getattr(args, "kind", None) or "tsm"
    if kind == "self-assessment":
        from worker.self_assessment import main_self_assessment

        return main_self_assessment(args)
    if kind == "hazards":
        return _hazard_report(args)
    if kind not in ("tsm", "annual", "mrc"):
        raise UserError(f"report must be tsm, annual, mrc or self-assessment, got {kind!r}")
    year_arg, out = report_options(args)
    with existing_database() as app, app.db.session() as session:
        facts = load_facts(session)
    ctx = report_context(app, year_arg)
    if kind == "tsm":
        text = json.dumps(tsm_json(facts, ctx), indent=2) + "\n"
    else:
        doc = annual_report(facts, ctx) if kind == "annual" else mrc_report(facts, ctx)
        if kind == "annual":
            doc.add(*_hazard_blocks(app, ctx))
        text = render_for(doc, out)
    return write_report(text, out, f"the {kind} report")


def _hazard_report(args: argparse.Namespace) -> int:
    """`complaints report hazards [--year YYYY] [--out FILE.json]`: Awaab's Law (SPEC 11)."""
    from worker.bootstrap import existing_database
    from worker.service.hazards import HazardService

    year_arg, out = report_options(args)
    with existing_database() as app:
        data = HazardService(app).report(year=year_arg)
    return write_report(json.dumps(data, indent=2) + "\n", out, "the hazards report")


def _hazard_blocks(app: Any, ctx: Context) -> list[Any]:
    """The annual report's Awaab's Law section: hazards by kind, time to investigate, clocks
    met and missed, per month of the reporting year."""
    from worker.service.hazards import HazardService

    months = HazardService(app).report(start=ctx.year.start, end=ctx.year.end)["months"]
    rows = [
        [
            m["month"],
            _num(m["reported"]),
            ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in m["by_kind"].items()) or "-",
            "-"
            if m["median_hours_to_investigate"] is None
            else str(m["median_hours_to_investigate"]),
            _num(sum(m["clocks_met"].values())),
            _num(sum(m["clocks_missed"].values())),
        ]
        for m in months
    ]
    return [
        Heading(1, "Hazards reported to us (Awaab's Law)"),
        Para(
            "Every message is checked for potential damp and mould and emergency hazards. The "
            "Hazards in Social Housing (Prescribed Requirements) (England) Regulations 2025 set "
            "the time limits these clocks are measured against."
        ),
        Table(
            "Potential hazards by month",
            [
                "Month",
                "Reported",
                "By kind",
                "Median hours to investigate",
                "Clocks met",
                "Clocks missed",
            ],
            rows or [["None", "0", "-", "-", "0", "0"]],
        ),
    ]


def report_options(args: argparse.Namespace) -> tuple[int | None, Path | None]:
    """The --year and --out every report takes, checked (one-line errors)."""
    year_arg = getattr(args, "year", None)
    if year_arg is not None and not 2000 <= year_arg <= 2100:
        raise UserError(
            f"--year must be the year a reporting year starts, e.g. 2026, got {year_arg}"
        )
    out = Path(args.out) if getattr(args, "out", None) else None
    if out is not None and not out.parent.is_dir():
        raise UserError(f"--out: the folder {str(out.parent)!r} does not exist")
    return year_arg, out


def report_context(app: Any, year_arg: int | None) -> Context:
    today = app.clock.today()
    year = (
        rp.ReportingYear(year_arg) if year_arg is not None else rp.ReportingYear.containing(today)
    )
    return Context(year, app.landlord.homes_owned, today, app.calendar, app.landlord.name)


def render_for(doc: Any, out: Path | None) -> str | bytes:
    """A PDF when --out names a .pdf file, HTML for .html, Markdown otherwise."""
    suffix = out.suffix.lower() if out is not None else ""
    if suffix == ".pdf":
        return render_pdf(doc)
    return render_html(doc) if suffix in (".html", ".htm") else render_markdown(doc)


def write_report(text: str | bytes, out: Path | None, what: str) -> int:
    if out is not None and out.suffix.lower() == ".pdf" and isinstance(text, str):
        # Never text in a file named .pdf (issue 9, item 6): only documents are printed.
        raise UserError(
            f"--out: {what} is data (JSON), not a document; name a .json file. "
            "The annual, mrc and self-assessment reports can be written as .pdf"
        )
    if out is None:
        sys.stdout.write(text if isinstance(text, str) else text.decode("latin-1"))
    elif isinstance(text, bytes):
        out.write_bytes(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(f"complaints: wrote {what} to {out}", file=sys.stderr)
    return 0
