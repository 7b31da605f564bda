"""The compiled model's word n-grams (``Features._word_columns_of``) are looked up by their
words, not joined into strings: the rows must still be scikit-learn's, for n-gram ranges that
start above one or reach three, and for a token pattern whose tokens hold a space (where the
words of a term cannot be told from its spaces, and the strings are joined as before)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers import linear_model
from classifiers.train import DATA_DIR, load_rows
from classifiers.triage import model_text


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rows = load_rows(DATA_DIR / "test.jsonl")[:300]
    return [model_text(r["subject"], r["body"]) for r in rows] + [
        "",
        "a",
        "repair repair repair the the the boiler boiler",
        "Not happy. Not happy at all: the damp, the damp!",
    ]


@pytest.mark.parametrize(
    ("token_pattern", "ngram_range"),
    [
        (r"(?u)\b\w\w+\b", (1, 2)),
        (r"(?u)\b\w\w+\b", (2, 3)),
        (r"(?u)\b\w+\b", (1, 3)),
        (r"(?u)\b\w+ \w+\b", (1, 2)),  # tokens of two words: their bigrams hold three spaces
        (r"[^,.\n]+", (1, 2)),  # tokens run across spaces
    ],
)
def test_word_rows_are_scikit_learns(
    texts: list[str], token_pattern: str, ngram_range: tuple[int, int]
) -> None:
    vectorizer = TfidfVectorizer(
        token_pattern=token_pattern, ngram_range=ngram_range, sublinear_tf=True, min_df=2
    ).fit(texts)
    features = linear_model._features_of(vectorizer)
    assert features is not None
    expected = vectorizer.transform(texts)
    indptr, columns, data = features.weigh(texts)
    assert np.array_equal(indptr, expected.indptr)
    for row in range(len(texts)):
        start, end = indptr[row], indptr[row + 1]
        order = np.argsort(expected.indices[expected.indptr[row] : expected.indptr[row + 1]])
        assert np.array_equal(
            columns[start:end],
            expected.indices[expected.indptr[row] : expected.indptr[row + 1]][order],
        )
        assert np.allclose(
            data[start:end], expected.data[expected.indptr[row] : expected.indptr[row + 1]][order]
        )
