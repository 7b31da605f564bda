"""The compiled triage model (classifiers/linear_model.py): the very probabilities scikit-learn
gives, loaded without scikit-learn, and never used when it was made from another model file."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers import linear_model
from classifiers.train import DATA_DIR, load_rows
from classifiers.triage import (
    DEFAULT_MODEL_PATH,
    Triager,
    _load_bundle,
    compile_model,
    model_text,
)

ROOT = Path(__file__).resolve().parents[2]

AWKWARD = [
    "",
    "   \t\n ",
    "a",
    "I  am\tNOT\u00a0happy!!\n\nThe ſtaff at İstanbul Road, K-block: £200 😀 naïve café",
    "Ça ne va pas: l'équipe n'est jamais venue. Ñandú ﬁx ² ½ Ⅷ",
    "x" * 3000,
    "word " * 500,
    "\u200b\u200b zero width \ufeff and CR\r\nLF\r\n",
]


@pytest.fixture(scope="module")
def pipeline() -> object:
    bundle = _load_bundle(DEFAULT_MODEL_PATH)
    return Triager(bundle)._pipeline


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    rows = load_rows(DATA_DIR / "test.jsonl") + load_rows(DATA_DIR / "train.jsonl")[::4]
    return [model_text(r["subject"], r["body"]) for r in rows] + AWKWARD


def test_compiled_probabilities_are_scikit_learns_bit_for_bit(pipeline, corpus) -> None:  # type: ignore[no-untyped-def]
    compiled = linear_model.from_pipeline(pipeline)
    assert compiled is not None
    for start in range(0, len(corpus), 100):
        chunk = corpus[start : start + 100]
        assert np.array_equal(compiled.predict_proba(chunk), pipeline.predict_proba(chunk))  # type: ignore[attr-defined]
    # One text at a time (the worker's batches are often small), and with every word remembered.
    for text in corpus[:40] + AWKWARD:
        assert np.array_equal(
            compiled.predict_proba([text]),
            pipeline.predict_proba([text]),  # type: ignore[attr-defined]
        )
    assert compiled.classes == [str(c) for c in pipeline.classes_]  # type: ignore[attr-defined]


def test_a_word_cache_that_keeps_starting_over_changes_nothing(
    pipeline, corpus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(linear_model, "WORD_CACHE_SIZE", 3)
    compiled = linear_model.from_pipeline(pipeline)
    assert compiled is not None
    chunk = corpus[:150]
    assert np.array_equal(compiled.predict_proba(chunk), pipeline.predict_proba(chunk))  # type: ignore[attr-defined]


def test_an_empty_batch_gives_no_rows(pipeline) -> None:  # type: ignore[no-untyped-def]
    compiled = linear_model.from_pipeline(pipeline)
    assert compiled is not None
    assert compiled.predict_proba([]).shape == (0, len(compiled.classes))


def test_the_shipped_compiled_copy_is_of_the_shipped_model(corpus) -> None:  # type: ignore[no-untyped-def]
    """Retraining rewrites both files; a skops file changed without its copy would be caught
    here (and the worker would fall back to scikit-learn, slower and 90 MiB larger)."""
    compiled = linear_model.compiled_path(DEFAULT_MODEL_PATH)
    model, fields = linear_model.load(
        compiled, source_sha256=linear_model.file_sha256(DEFAULT_MODEL_PATH)
    )
    from_skops = Triager(_load_bundle(DEFAULT_MODEL_PATH))
    loaded = Triager.load()
    assert loaded._pipeline is None and loaded._linear is not None
    assert (loaded.classes, loaded.threshold, loaded.complaint_floor, loaded.complaint_at) == (
        from_skops.classes,
        from_skops.threshold,
        from_skops.complaint_floor,
        from_skops.complaint_at,
    )
    assert loaded.metadata == from_skops.metadata and loaded.version == from_skops.version
    assert loaded.probabilities(corpus[:200]) == from_skops.probabilities(corpus[:200])
    assert fields["format"] == 1


def test_loading_the_shipped_model_imports_no_scikit_learn() -> None:
    probe = (
        "import sys\n"
        "from classifiers.triage import Triager\n"
        "t = Triager.load()\n"
        "t.probabilities(['My boiler has been broken for a month and nobody came'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'skops'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _copy_model(tmp_path: Path) -> Path:
    model = tmp_path / "triage.skops"
    shutil.copy(DEFAULT_MODEL_PATH, model)
    return model


def test_compile_model_writes_a_copy_that_loads_to_the_same_results(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    model = _copy_model(tmp_path)
    written = compile_model(model)
    assert written == tmp_path / "triage.linear.npz"
    assert not list(tmp_path.glob("*.partial"))
    fast = Triager.load(model)
    assert fast._pipeline is None
    slow = Triager(_load_bundle(model))
    assert fast.probabilities(corpus[:100]) == slow.probabilities(corpus[:100])


def test_a_copy_made_from_another_model_file_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _copy_model(tmp_path)
    compile_model(model)
    with model.open("ab") as f:  # a retrained (here: altered) skops file, the copy left behind
        f.write(b"\0")
    with caplog.at_level(logging.WARNING):
        triager = Triager.load(model)
    assert triager._pipeline is not None  # scikit-learn ran it
    assert "compiled from another model file" in caplog.text


def test_a_damaged_copy_falls_back_to_the_skops_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _copy_model(tmp_path)
    linear_model.compiled_path(model).write_bytes(b"PK\x03\x04 not really")
    with caplog.at_level(logging.WARNING):
        triager = Triager.load(model)
    assert triager._pipeline is not None
    assert "unreadable" in caplog.text
    assert triager.probabilities(["the lift is broken again"])[0]


def test_a_copy_of_another_format_falls_back(tmp_path: Path) -> None:
    model = _copy_model(tmp_path)
    target = compile_model(model)
    assert target is not None
    with np.load(target, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(str(arrays["header"]))
    header["format"] = 99
    arrays["header"] = np.array(json.dumps(header))
    with open(target, "wb") as out:
        np.savez(out, **arrays)
    assert Triager.load(model)._pipeline is not None


def test_a_pipeline_of_another_shape_is_left_to_scikit_learn(pipeline) -> None:  # type: ignore[no-untyped-def]
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    features = clone(pipeline.named_steps["features"])  # type: ignore[attr-defined]
    other = Pipeline([("features", features), ("clf", LogisticRegression())])
    assert linear_model.from_pipeline(other) is None
    texts = ["the boiler is broken", "I want to complain about the repair", "thanks for the survey"]
    other.fit(texts * 2, ["service_request", "complaint", "excluded/survey_feedback"] * 2)
    assert linear_model.from_pipeline(other) is None
    triager = Triager(
        {
            "pipeline": other,
            "classes": list(other.classes_),
            "threshold": 0.5,
            "complaint_floor": 0.1,
        }
    )
    assert triager._linear is None
    got = triager.probabilities(texts)
    want = other.predict_proba(texts)
    assert [list(d.values()) for d in got] == want.tolist()


def test_long_complaints_counted_in_a_vocabulary_wide_array_score_as_scikit_learn(
    pipeline, corpus
) -> None:  # type: ignore[no-untyped-def]
    # Texts of 2-12 KB make enough n-grams that their columns are counted with bincount, not
    # sorted (the corpus's short texts are sorted): both ways must give scikit-learn's rows.
    long_texts = [
        "\n\n".join(corpus[start : start + size])
        for size in (8, 20, 40)
        for start in range(0, min(len(corpus), 1200), 60)
    ]
    compiled = linear_model.from_pipeline(pipeline)
    assert compiled is not None
    char_wb = next(f for f in compiled.features if f.analyzer == "char_wb")
    counted = [
        t for t in long_texts if char_wb._char_wb_columns(t.lower()).size * 8 >= char_wb.width
    ]
    assert len(counted) > len(long_texts) // 2
    for start in range(0, len(long_texts), 25):
        chunk = long_texts[start : start + 25]
        assert np.array_equal(compiled.predict_proba(chunk), pipeline.predict_proba(chunk))  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [1, 7, 100, 5_000])
def test_counted_columns_are_numpys_unique_both_ways(width: int) -> None:
    rng = np.random.default_rng(width)
    for size in (0, 1, 2, width // 8, width // 8 + 1, width, 3 * width):
        found = rng.integers(0, width, size).astype(np.intp)
        columns, counts = linear_model._counted(found, width)
        want_columns, want_counts = np.unique(found, return_counts=True)
        assert np.array_equal(columns, want_columns)
        assert np.array_equal(counts, want_counts)


@pytest.mark.parametrize("classes", [1, 2, 3, 19])
def test_column_sums_add_the_rows_in_order(classes: int) -> None:
    rng = np.random.default_rng(classes)
    column_sums = linear_model._column_sums(classes)
    for rows in (1, 2, 5, 9, 16, 33, 257, 2_130):
        products = rng.standard_normal((rows, classes)) * rng.choice([1e-9, 1.0, 1e9], (rows, 1))
        running = np.zeros(classes)
        for row in products:  # the order SciPy adds them in
            running = running + row
        assert np.array_equal(column_sums(products.copy()), running)


def test_one_class_is_summed_as_a_running_sum_since_numpy_sums_it_pairwise() -> None:
    rng = np.random.default_rng(5)
    products = rng.standard_normal((5_000, 1)) * rng.choice([1e-9, 1.0, 1e9], (5_000, 1))
    running = np.add.accumulate(products.copy(), axis=0)[-1]
    # The guard is needed: numpy's own sum of one column is not the running sum...
    assert not np.array_equal(np.add.reduce(products, axis=0), running)
    # ...so the model adds such a column the slow way.
    assert np.array_equal(linear_model._column_sums(1)(products.copy()), running)


def test_the_words_of_split_are_scikit_learns_words_after_collapsing_white_space() -> None:
    import re
    import sys as _sys

    white = re.compile(r"\s")
    spaces = [chr(c) for c in range(_sys.maxunicode + 1) if white.fullmatch(chr(c))]
    # re's \s and str.split's white space are the same characters...
    assert spaces == [chr(c) for c in range(_sys.maxunicode + 1) if chr(c).isspace()]
    # ...so collapsing runs first (as scikit-learn does) never changes the words.
    collapse = re.compile(r"\s\s+")
    rng = np.random.default_rng(9)
    pieces = spaces + ["a", "bc", "é", "😀", "\u200b", "x y"]
    for _ in range(3_000):
        text = "".join(rng.choice(pieces, int(rng.integers(0, 30))))
        assert collapse.sub(" ", text).split() == text.split()
