"""`complaints train` writes the skops model and its compiled copy, and the copy is the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.train import DATA_DIR, load_rows, main_train
from classifiers.triage import Triager, _load_bundle, model_text


def test_training_writes_a_compiled_copy_that_gives_the_skops_models_probabilities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "triage.skops"
    assert main_train(["--out", str(out)]) == 0
    assert "compiled_model_bytes" in capsys.readouterr().out
    compiled = tmp_path / "triage.linear.npz"
    assert out.is_file() and compiled.is_file()
    loaded = Triager.load(out)
    assert loaded._pipeline is None, "the worker's load should not need scikit-learn"
    reference = Triager(_load_bundle(out))
    assert reference._pipeline is not None
    texts = [model_text(r["subject"], r["body"]) for r in load_rows(DATA_DIR / "test.jsonl")]
    assert loaded.probabilities(texts[:300]) == reference.probabilities(texts[:300])
    # And to the last bit what scikit-learn itself computes from the freshly trained pipeline.
    assert loaded._linear is not None
    assert np.array_equal(
        loaded._linear.predict_proba(texts[:300]), reference._pipeline.predict_proba(texts[:300])
    )
    assert loaded.threshold == reference.threshold
    assert loaded.metadata == reference.metadata
