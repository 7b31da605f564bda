"""Evaluate a saved triage model on the held-out split and print a plain-text report.

Runs the whole triage (mail-safety rules, model, named rules, threshold) over
``classifiers/data/test.jsonl``, which training never reads. Prints per-class precision, recall
and F1, macro-F1, the confusion matrix, the share sent to review, complaint recall overall and
among items not sent to review, reason accuracy, flag detection, near-miss pairs and calibration;
then the same headline figures for the hand-written held-out messages alone (never trained or
tuned on: the better guide to real mail) and for the generated ones, each with its expected
calibration error. ``--diagram FILE.png`` also draws the reliability diagram.

Run: ``.venv/bin/python -m classifiers.evaluate`` (or ``complaints evaluate``).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from classifiers.train import DATA_DIR, load_rows
from classifiers.triage import DEFAULT_MODEL_PATH, ModelError, TriageInput, Triager, TriageResult

LABELS = ("complaint", "service_request", "excluded", "not_resident_mail")
FLAG_NAMES = ("building_safety", "vulnerability", "representative", "escalation_request")


def to_input(row: dict[str, Any]) -> TriageInput:
    headers = {str(k): str(v) for k, v in (row.get("headers") or {}).items()}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return TriageInput(
        id=row["id"],
        subject=row["subject"],
        body=row["body"],
        from_addr=row.get("from", ""),
        received=date.fromisoformat(row["received"]),
        channel=row.get("channel", "email"),
        headers=headers,
        content_type=content_type,
    )


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def compute_report(
    rows: Sequence[dict[str, Any]], results: Sequence[TriageResult], *, subsets: bool = True
) -> dict[str, Any]:
    y_true = [r["label"] for r in rows]
    y_pred = [res.label for res in results]
    per_class: dict[str, dict[str, float]] = {}
    for lab in LABELS:
        tp = sum(t == lab and p == lab for t, p in zip(y_true, y_pred, strict=True))
        fp = sum(t != lab and p == lab for t, p in zip(y_true, y_pred, strict=True))
        fn = sum(t == lab and p != lab for t, p in zip(y_true, y_pred, strict=True))
        prec, rec, f1 = _prf(tp, fp, fn)
        per_class[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    confusion = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for t, pred in zip(y_true, y_pred, strict=True):
        confusion[t][pred] += 1
    complaints = [i for i, t in enumerate(y_true) if t == "complaint"]
    auto = [i for i in complaints if not results[i].needs_review]
    reviewed = sum(res.needs_review for res in results)
    # Reasons: among items whose label is right and carries a reason.
    reason_total = reason_right = 0
    for row, res in zip(rows, results, strict=True):
        if row["reason"] and res.label == row["label"]:
            reason_total += 1
            reason_right += res.reason == row["reason"]
    # Flags against the expected flags recorded with each row.
    flags: dict[str, dict[str, int]] = {}
    for name in FLAG_NAMES:
        tp = fp = fn = 0
        for row, res in zip(rows, results, strict=True):
            want = name in row.get("flags", [])
            got = bool(getattr(res.flags, name))
            tp += want and got
            fp += got and not want
            fn += want and not got
        flags[name] = {"tp": tp, "fp": fp, "fn": fn}
    # Near-miss pairs (hand-written rows sharing a group 'pair-...').
    pairs: dict[str, list[bool]] = defaultdict(list)
    for row, res in zip(rows, results, strict=True):
        g = str(row.get("group", ""))
        if g.startswith("pair-"):
            pairs[g].append(res.label == row["label"])
    # Calibration of the model-based confidences: 5 bins.
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(5)]
    for t, res in zip(y_true, results, strict=True):
        bins[min(4, int(res.confidence * 5))].append((res.confidence, res.label == t))
    ece = (
        sum(
            len(b)
            / len(results)
            * abs(sum(c for c, _ in b) / len(b) - sum(ok for _, ok in b) / len(b))
            for b in bins
            if b
        )
        if results
        else 0.0
    )
    out = {
        "n": len(rows),
        "per_class": per_class,
        "macro_f1": sum(per_class[lab]["f1"] for lab in LABELS) / len(LABELS),
        "accuracy": sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(rows),
        "confusion": confusion,
        "review_share": reviewed / len(rows),
        "complaint_recall": sum(y_pred[i] == "complaint" for i in complaints) / len(complaints),
        "complaint_recall_not_reviewed": (
            sum(y_pred[i] == "complaint" for i in auto) / len(auto) if auto else 1.0
        ),
        "complaints_not_reviewed": len(auto),
        "excluded_all_reviewed": all(
            res.needs_review for res in results if res.label == "excluded"
        ),
        "reason_accuracy": reason_right / reason_total if reason_total else 1.0,
        "reason_total": reason_total,
        "flags": flags,
        "pairs_total": len(pairs),
        "pairs_both_right": sum(all(v) for v in pairs.values()),
        "calibration_bins": [
            (len(b), sum(c for c, _ in b) / len(b), sum(ok for _, ok in b) / len(b)) if b else None
            for b in bins
        ],
        "ece": ece,
        "handwritten_accuracy": _subset_accuracy(rows, results, "handwritten"),
        "generated_accuracy": _subset_accuracy(rows, results, "generated"),
    }
    if subsets:
        out["handwritten"] = split_report(rows, results, "handwritten")
        out["generated"] = split_report(rows, results, "generated")
    return out


#: Bins for the expected calibration error of the split sections and the reliability diagram.
ECE_BINS = 10


def calibration(
    y_true: Sequence[str], results: Sequence[TriageResult], n_bins: int = ECE_BINS
) -> tuple[float, list[tuple[int, float, float] | None]]:
    """Expected calibration error and per-bin (count, mean confidence, accuracy)."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for t, res in zip(y_true, results, strict=True):
        bins[min(n_bins - 1, int(res.confidence * n_bins))].append((res.confidence, res.label == t))
    total = max(1, len(results))
    stats: list[tuple[int, float, float] | None] = []
    ece = 0.0
    for b in bins:
        if not b:
            stats.append(None)
            continue
        conf = sum(c for c, _ in b) / len(b)
        acc = sum(ok for _, ok in b) / len(b)
        ece += len(b) / total * abs(conf - acc)
        stats.append((len(b), conf, acc))
    return ece, stats


def split_report(
    rows: Sequence[dict[str, Any]], results: Sequence[TriageResult], source: str
) -> dict[str, Any] | None:
    """Headline figures for the rows of one source (``handwritten`` or ``generated``)."""
    idx = [i for i, r in enumerate(rows) if r.get("source") == source]
    if not idx:
        return None
    sub_rows = [rows[i] for i in idx]
    sub_res = [results[i] for i in idx]
    rep = compute_report(sub_rows, sub_res, subsets=False)
    ece, stats = calibration([r["label"] for r in sub_rows], sub_res)
    rep["ece10"] = ece
    rep["calibration10"] = stats
    # The costly error: a complaint labelled something else and not sent to a person.
    rep["complaints_missed_unreviewed"] = sum(
        r["label"] == "complaint" and res.label != "complaint" and not res.needs_review
        for r, res in zip(sub_rows, sub_res, strict=True)
    )
    return rep


def _subset_accuracy(
    rows: Sequence[dict[str, Any]], results: Sequence[TriageResult], source: str
) -> tuple[int, float]:
    idx = [i for i, r in enumerate(rows) if r.get("source") == source]
    if not idx:
        return 0, 0.0
    return len(idx), sum(results[i].label == rows[i]["label"] for i in idx) / len(idx)


def format_report(rep: dict[str, Any], model_path: Path, test_path: Path) -> str:
    lines = [
        f"triage evaluation: {rep['n']} held-out items from {test_path}",
        f"model: {model_path}",
        "",
    ]
    lines.append(f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for lab in LABELS:
        c = rep["per_class"][lab]
        lines.append(
            f"{lab:<20}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}"
            f"{int(c['support']):>10d}"
        )
    lines += [
        "",
        f"{'macro-F1':<40}{rep['macro_f1']:.3f}",
        f"{'accuracy':<40}{rep['accuracy']:.3f}",
    ]
    lines += [
        f"{'complaint recall (overall)':<40}{rep['complaint_recall']:.3f}",
        f"{'complaint recall (not sent to review)':<40}{rep['complaint_recall_not_reviewed']:.3f}"
        f"  ({rep['complaints_not_reviewed']} items)",
        f"{'share sent to review':<40}{rep['review_share']:.3f}",
        f"{'every excluded item sent to review':<40}{rep['excluded_all_reviewed']}",
        f"{'reason accuracy (label right)':<40}{rep['reason_accuracy']:.3f}"
        f"  ({rep['reason_total']} items)",
        f"{'near-miss pairs both right':<40}{rep['pairs_both_right']}/{rep['pairs_total']}",
        f"{'accuracy on hand-written items':<40}{rep['handwritten_accuracy'][1]:.3f}"
        f"  ({rep['handwritten_accuracy'][0]} items)",
        f"{'accuracy on generated items':<40}{rep['generated_accuracy'][1]:.3f}"
        f"  ({rep['generated_accuracy'][0]} items)",
        "",
        "confusion matrix (rows: true, columns: predicted)",
    ]
    short = {"complaint": "compl", "service_request": "serv_req", "excluded": "excluded",
             "not_resident_mail": "not_res"}  # fmt: skip
    lines.append(f"{'':<20}" + "".join(f"{short[p]:>10}" for p in LABELS))
    for t in LABELS:
        lines.append(f"{t:<20}" + "".join(f"{rep['confusion'][t][p]:>10d}" for p in LABELS))
    lines += ["", "flags (tp / fp / fn against expected flags)"]
    for name, c in rep["flags"].items():
        lines.append(f"  {name:<22}{c['tp']:>5} /{c['fp']:>4} /{c['fn']:>4}")
    lines += ["", f"calibration (confidence bins; ECE {rep['ece']:.3f})"]
    for i, b in enumerate(rep["calibration_bins"]):
        lo, hi = i / 5, (i + 1) / 5
        if b:
            lines.append(
                f"  {lo:.1f}-{hi:.1f}: n={b[0]:<4} mean confidence {b[1]:.2f}  accuracy {b[2]:.2f}"
            )
    for key, title in (
        ("handwritten", "hand-written held-out split alone (never trained or tuned on)"),
        ("generated", "generated held-out split alone"),
    ):
        sub = rep.get(key)
        if sub:
            lines += ["", *_split_lines(sub, title)]
    return "\n".join(lines)


def _split_lines(sub: dict[str, Any], title: str) -> list[str]:
    lines = [f"{title}: {sub['n']} items"]
    lines.append(f"{'class':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for lab in LABELS:
        c = sub["per_class"][lab]
        lines.append(
            f"{lab:<20}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}"
            f"{int(c['support']):>10d}"
        )
    lines += [
        f"{'macro-F1':<40}{sub['macro_f1']:.3f}",
        f"{'accuracy':<40}{sub['accuracy']:.3f}",
        f"{'complaint recall (overall)':<40}{sub['complaint_recall']:.3f}",
        f"{'complaint recall (not sent to review)':<40}{sub['complaint_recall_not_reviewed']:.3f}"
        f"  ({sub['complaints_not_reviewed']} items)",
        f"{'complaints labelled otherwise unreviewed':<42}{sub['complaints_missed_unreviewed']}",
        f"{'share sent to review':<40}{sub['review_share']:.3f}",
        f"{'reason accuracy (label right)':<40}{sub['reason_accuracy']:.3f}"
        f"  ({sub['reason_total']} items)",
        f"{'near-miss pairs both right':<40}{sub['pairs_both_right']}/{sub['pairs_total']}",
        f"{'expected calibration error (10 bins)':<40}{sub['ece10']:.3f}",
    ]
    return lines


def reliability_diagram(rep: dict[str, Any], out: Path) -> Path:
    """Draw the reliability diagram (confidence against accuracy, per split) as a PNG.

    matplotlib is a train-time tool only (``pip install .[train]``); the worker never imports it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    ax.plot([0, 1], [0, 1], color="#555555", linestyle="--", label="perfect calibration")
    styles = {"handwritten": ("#0b5394", "o"), "generated": ("#b45f06", "s")}
    names = {"handwritten": "hand-written held-out", "generated": "generated held-out"}
    for key, label in names.items():
        sub = rep.get(key)
        if not sub:
            continue
        pts = [b for b in sub["calibration10"] if b]
        colour, marker = styles[key]
        ax.plot(
            [b[1] for b in pts], [b[2] for b in pts], color=colour, marker=marker,
            label=f"{label} (n={sub['n']}, ECE {sub['ece10']:.3f})",
        )  # fmt: skip
        for n, conf, acc in pts:
            ax.annotate(str(n), (conf, acc), textcoords="offset points", xytext=(4, -10),
                        fontsize=8, color=colour)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence the triage gave its label (10 bins; numbers are items per bin)")
    ax.set_ylabel("share of those labels that were right")
    ax.set_title("Triage reliability on the held-out split")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def evaluate(
    model_path: Path = DEFAULT_MODEL_PATH,
    test_path: Path = DATA_DIR / "test.jsonl",
    diagram: Path | None = None,
) -> dict[str, Any]:
    """Triage every held-out item with the model at ``model_path``; print and return the report."""
    triager = Triager.load(Path(model_path))
    rows = load_rows(Path(test_path))
    results = triager.triage_many([to_input(r) for r in rows])
    rep = compute_report(rows, results)
    rep["text"] = format_report(rep, Path(model_path), Path(test_path))
    print(rep["text"])
    if diagram is not None:
        print(f"\nreliability diagram written to {reliability_diagram(rep, Path(diagram))}")
    return rep


def main_evaluate(argv: list[str]) -> int:
    """``complaints evaluate [--model FILE] [--test FILE]``."""
    parser = argparse.ArgumentParser(prog="complaints evaluate", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--test", type=Path, default=DATA_DIR / "test.jsonl")
    parser.add_argument(
        "--diagram", type=Path, default=None, help="also write the reliability diagram (PNG)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    if not args.test.is_file():
        print(f"complaints evaluate: no test file at {args.test}", file=sys.stderr)
        return 2
    try:
        evaluate(args.model, args.test, args.diagram)
    except ModelError as exc:
        print(f"complaints evaluate: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"complaints evaluate: --diagram needs matplotlib ({exc.name} is missing)",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main_evaluate(sys.argv[1:]))
