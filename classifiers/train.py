"""Train the triage model from ``classifiers/data/train.jsonl`` and save it with skops.

The model: TF-IDF over word 1-2-grams and character 2-5-grams (robust to typos and limited
English), a linear SVM, and sigmoid calibration (3-fold) so its scores are usable probabilities.
Classes are ``label`` or ``label/reason`` (e.g. ``excluded/asb_report``).

The review threshold, the complaint floor and ``complaint_at`` (the complaint probability at
which a runner-up complaint beats the model's top label, for review) are chosen on out-of-fold
predictions (grouped by template or near-miss pair, so a fold never sees its own templates): the
lowest threshold at which, on the hand-written training messages, complaints handled without a
person are right at least ``TARGET_HANDWRITTEN_AUTO_RECALL`` of the time, and over all training
messages complaint recall is at least ``TARGET_COMPLAINT_RECALL``; then, among the floors and
``complaint_at`` values that keep both, those that bring hand-written complaint recall to
``TARGET_HANDWRITTEN_COMPLAINT_RECALL``, with the best macro-F1. The test split is never read
here, so the hand-written held-out messages are never tuned on.

Run: ``.venv/bin/python -m classifiers.train`` (or ``complaints train``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from classifiers.triage import (
    COMPLAINT_AT_OFF,
    DEFAULT_MODEL_PATH,
    MODEL_FORMAT,
    compile_model,
    decide,
    model_text,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
VERSION = "1.0.0"
TARGET_COMPLAINT_RECALL = 0.98
#: Among complaints handled without a person, the share the threshold must get right (all rows).
TARGET_AUTO_COMPLAINT_RECALL = 0.99
#: The same, on the hand-written training messages alone: they are nearer real mail than the
#: generated ones, which flatter the model (issue 13: 0.99 among items not sent to a person).
TARGET_HANDWRITTEN_AUTO_RECALL = 0.99
#: Complaint recall on the hand-written training messages, whether or not a person looks (issue
#: 13). The Code has a landlord accept a complaint unless there is a valid reason not to (2.1),
#: so when the model is unsure the safe side is complaint: ``complaint_at`` buys this recall with
#: some non-complaints labelled complaint for a person to check.
TARGET_HANDWRITTEN_COMPLAINT_RECALL = 0.99
#: Never below even odds: a label the model gives less than a 50% chance is never automatic.
THRESHOLDS = [round(0.50 + 0.05 * i, 2) for i in range(10)]  # 0.50 .. 0.95
FLOORS = [0.10, 0.15, 0.20, 0.25, 0.30, 0.35]
#: Candidate ``complaint_at`` values; 1.0 never relabels (a complaint at 0.5 or more is the top
#: label already, so 0.45 is the highest value that can act).
COMPLAINT_ATS = [0.25, 0.30, 0.35, 0.40, 0.45, COMPLAINT_AT_OFF]


def load_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def row_class(row: dict[str, Any]) -> str:
    return f"{row['label']}/{row['reason']}" if row["reason"] else str(row["label"])


def build_pipeline(seed: int = 0) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=20000,
                    strip_accents="unicode",
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=40000,
                ),
            ),
        ]
    )
    svm = LinearSVC(C=0.5, class_weight="balanced", random_state=seed)
    return Pipeline(
        [
            ("features", features),
            ("clf", CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False)),
        ]
    )


def _label(cls: str) -> str:
    return cls.partition("/")[0]


def _score(
    rows: Sequence[dict[str, Any]],
    probs: Sequence[dict[str, float]],
    texts: Sequence[str],
    threshold: float,
    floor: float,
    complaint_at: float = COMPLAINT_AT_OFF,
) -> dict[str, float]:
    from sklearn.metrics import f1_score

    y_true, y_pred, review = [], [], []
    for row, p, text in zip(rows, probs, texts, strict=True):
        d = decide(
            p, text, date.fromisoformat(row["received"]), threshold=threshold,
            complaint_floor=floor, complaint_at=complaint_at,
        )  # fmt: skip
        y_true.append(row["label"])
        y_pred.append(d.label)
        review.append(d.needs_review or d.label == "excluded")
    complaints = [i for i, y in enumerate(y_true) if y == "complaint"]
    recall = sum(y_pred[i] == "complaint" for i in complaints) / max(1, len(complaints))
    auto = [i for i in complaints if not review[i]]
    auto_recall = sum(y_pred[i] == "complaint" for i in auto) / max(1, len(auto))
    hand = [i for i in auto if rows[i].get("source") == "handwritten"]
    hand_all = [i for i in complaints if rows[i].get("source") == "handwritten"]
    return {
        "handwritten_auto_complaint_recall": (
            sum(y_pred[i] == "complaint" for i in hand) / len(hand) if hand else 1.0
        ),
        "handwritten_complaint_recall": (
            sum(y_pred[i] == "complaint" for i in hand_all) / len(hand_all) if hand_all else 1.0
        ),
        "auto_complaint_recall": auto_recall,
        "macro_f1": float(f1_score(y_true, y_pred, average="macro")),
        "complaint_recall": recall,
        "review_share": sum(review) / len(review),
    }


@dataclass(frozen=True)
class Settings:
    """The decision settings chosen out-of-fold, with the out-of-fold scores they give."""

    threshold: float
    floor: float
    complaint_at: float
    scores: dict[str, float]


def choose_threshold(
    rows: Sequence[dict[str, Any]], probs: Sequence[dict[str, float]], texts: Sequence[str]
) -> Settings:
    """The lowest threshold that meets the recall targets, with the floor and ``complaint_at``
    that best keep complaints among the hand-written messages.

    Lowest threshold: fewest items sent to a person while complaints handled without one stay
    right (on the hand-written training messages at least ``TARGET_HANDWRITTEN_AUTO_RECALL``).
    Floor and ``complaint_at``: among those meeting the targets at that threshold, the ones that
    reach ``TARGET_HANDWRITTEN_COMPLAINT_RECALL`` (or, if none does, the highest hand-written
    complaint recall), then the best macro-F1 (rounded to 0.001 so noise does not decide), then
    the highest ``complaint_at`` and floor (fewest non-complaints relabelled). Hand-written
    messages are nearer real mail, and a complaint treated as something else is the costly
    error. Out-of-fold predictions over the training split only.
    """
    for t in THRESHOLDS:
        met = []
        for f in FLOORS:
            for c in COMPLAINT_ATS:
                s = _score(rows, probs, texts, t, f, c)
                if (
                    s["complaint_recall"] >= TARGET_COMPLAINT_RECALL
                    and s["auto_complaint_recall"] >= TARGET_AUTO_COMPLAINT_RECALL
                    and s["handwritten_auto_complaint_recall"] >= TARGET_HANDWRITTEN_AUTO_RECALL
                ):
                    met.append(Settings(t, f, c, s))
        if met:

            def rank(m: Settings) -> tuple[float, float, float, float]:
                recall = m.scores["handwritten_complaint_recall"]
                return (
                    min(recall, TARGET_HANDWRITTEN_COMPLAINT_RECALL),
                    round(m.scores["macro_f1"], 3),
                    m.complaint_at,
                    m.floor,
                )

            return max(met, key=rank)
    # Recall targets unreachable: take the most cautious setting.
    t, f, c = THRESHOLDS[-1], FLOORS[0], COMPLAINT_ATS[0]
    return Settings(t, f, c, _score(rows, probs, texts, t, f, c))


def out_of_fold(
    rows: Sequence[dict[str, Any]], texts: Sequence[str], classes: Sequence[str], folds: int
) -> list[dict[str, float]]:
    from sklearn.model_selection import StratifiedGroupKFold

    y = [row_class(r) for r in rows]
    strat = [r["label"] for r in rows]
    groups = [str(r.get("group") or r["id"]) for r in rows]
    out: list[dict[str, float]] = [{} for _ in rows]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_idx, val_idx in splitter.split(texts, strat, groups):
        pipe = build_pipeline()
        pipe.fit([texts[i] for i in train_idx], [y[i] for i in train_idx])
        fold_classes = [str(c) for c in pipe.classes_]
        matrix = pipe.predict_proba([texts[i] for i in val_idx])
        for i, row in zip(val_idx, matrix, strict=True):
            probs = dict.fromkeys(classes, 0.0)
            probs.update({c: float(p) for c, p in zip(fold_classes, row, strict=True)})
            out[i] = probs
    return out


def train(data_dir: Path = DATA_DIR, out_path: Path = DEFAULT_MODEL_PATH) -> dict[str, Any]:
    """Fit on ``data_dir/train.jsonl``, choose the threshold, save to ``out_path``."""
    import skops.io as sio

    started = time.perf_counter()
    rows = load_rows(Path(data_dir) / "train.jsonl")
    texts = [model_text(r["subject"], r["body"]) for r in rows]
    y = [row_class(r) for r in rows]
    classes = sorted(set(y))
    oof = out_of_fold(rows, texts, classes, folds=4)
    chosen = choose_threshold(rows, oof, texts)
    threshold, floor, cv = chosen.threshold, chosen.floor, chosen.scores
    pipe = build_pipeline()
    pipe.fit(texts, y)
    vocabularies: dict[str, str] = {}
    for name, vectorizer in pipe.named_steps["features"].transformer_list:
        # The terms cut by min_df/max_features; only kept for introspection (sklearn docs).
        if hasattr(vectorizer, "stop_words_"):
            delattr(vectorizer, "stop_words_")
        # Tens of thousands of dict entries load slowly through skops' audited tree (seconds);
        # one newline-joined string in index order loads at once and is rebuilt on load. Terms
        # never contain a newline (both analyzers split on whitespace).
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        vocabularies[name] = "\n".join(terms)
        delattr(vectorizer, "vocabulary_")
    metrics: dict[str, Any] = {
        "version": VERSION,
        "train_rows": len(rows),
        "classes": len(classes),
        "threshold": threshold,
        "complaint_floor": floor,
        "complaint_at": chosen.complaint_at,
        "cv_macro_f1": round(cv["macro_f1"], 4),
        "cv_complaint_recall": round(cv["complaint_recall"], 4),
        "cv_review_share": round(cv["review_share"], 4),
        "cv_auto_complaint_recall": round(cv["auto_complaint_recall"], 4),
        "cv_handwritten_auto_complaint_recall": round(cv["handwritten_auto_complaint_recall"], 4),
        "cv_handwritten_complaint_recall": round(cv["handwritten_complaint_recall"], 4),
        "seconds": round(time.perf_counter() - started, 1),
    }
    bundle = {
        "format": MODEL_FORMAT,
        "version": VERSION,
        "pipeline": pipe,
        "classes": [str(c) for c in pipe.classes_],
        "threshold": threshold,
        "complaint_floor": floor,
        "complaint_at": chosen.complaint_at,
        "vocabularies": vocabularies,
        "metadata": {k: v for k, v in metrics.items() if k != "seconds"},
    }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(bundle, out_path, compression=8)  # ZIP_DEFLATED
    metrics["model_bytes"] = out_path.stat().st_size
    # The numbers alone, for workers that then never import scikit-learn (linear_model.py).
    compiled = compile_model(out_path)
    metrics["compiled_model_bytes"] = compiled.stat().st_size if compiled else 0
    return metrics


def main_train(argv: list[str]) -> int:
    """``complaints train [--data DIR] [--out FILE]``: retrain from the shipped labelled data."""
    parser = argparse.ArgumentParser(prog="complaints train", description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder with train.jsonl")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="model file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    if not (args.data / "train.jsonl").is_file():
        print(f"complaints train: no train.jsonl in {args.data}", file=sys.stderr)
        return 2
    metrics = train(args.data, args.out)
    for k, v in metrics.items():
        print(f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main_train(sys.argv[1:]))
