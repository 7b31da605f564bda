"""The model's features, computed as scikit-learn computes them, with less Python per message.

scikit-learn's ``CountVectorizer`` counts a document's n-grams in a Python loop that looks every
one of them up in the vocabulary and catches a ``KeyError`` for each that is not there: for a
2-4 KB message that is some 7,000 character n-grams, most of them unknown, and it was the largest
single cost of triage. Here the n-grams are counted by ``collections.Counter`` (in C) and only
the distinct ones are looked up. The analyzer, the TF-IDF weighting and the classifier are
scikit-learn's own, so the probabilities are identical (``tests/unit/test_classifier.py`` checks
it on the labelled corpus); any model this module does not recognise goes through scikit-learn
unchanged.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse


def _plain_tfidf(vectorizer: Any) -> bool:
    """A fitted TfidfVectorizer whose transform is count, then TF-IDF weighting (no binary
    counts, no custom transform)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return (
        type(vectorizer) is TfidfVectorizer
        and not vectorizer.binary
        and hasattr(vectorizer, "vocabulary_")
        and hasattr(vectorizer, "_tfidf")
    )


# Words remembered with their n-gram columns, per vectorizer. Residents' mail reuses a few
# thousand words, so most words of a message are found here; the cap bounds the memory (about
# 4 MiB when full), and a full cache simply starts again.
WORD_CACHE_SIZE = 20_000


def _char_wb_columns(vectorizer: Any) -> Callable[[str], Counter[int]] | None:
    """The vocabulary columns of a document's ``char_wb`` n-grams, with their counts: the same
    multiset scikit-learn's ``_char_wb_ngrams`` gives, computed once per distinct word (its
    n-grams never cross a word's edge) and then only looked up."""
    if vectorizer.analyzer != "char_wb":
        return None
    low, high = vectorizer.ngram_range
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    preprocess = vectorizer.build_preprocessor()
    decode = vectorizer.decode
    white = vectorizer._white_spaces
    cache: dict[str, list[int]] = {}

    def word_columns(word: str) -> list[int]:
        # scikit-learn's loop for one word, kept step for step (a word no longer than n is
        # counted once, whole, and ends the word).
        padded = " " + word + " "
        size = len(padded)
        grams: list[str] = []
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, size - n + 1)))
            if size <= n:
                break
        return [c for g in grams if (c := vocabulary.get(g)) is not None]

    def count(doc: str) -> Counter[int]:
        columns: list[int] = []
        for word in white.sub(" ", preprocess(decode(doc))).split():
            found = cache.get(word)
            if found is None:
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                found = cache[word] = word_columns(word)
            columns.extend(found)
        return Counter(columns)

    return count


# One counting function (and so one word cache) per loaded vectorizer, kept while it lives.
_counters: weakref.WeakKeyDictionary[Any, Callable[[str], Counter[int]] | None] = (
    weakref.WeakKeyDictionary()
)


def _tfidf(vectorizer: Any, docs: Sequence[str]) -> sparse.csr_matrix:
    if vectorizer not in _counters:
        _counters[vectorizer] = _char_wb_columns(vectorizer)
    columns_of = _counters[vectorizer]
    if columns_of is None:
        analyze = vectorizer.build_analyzer()
        vocabulary: dict[str, int] = vectorizer.vocabulary_

        def columns_of(doc: str) -> Counter[int]:
            found: Counter[int] = Counter()
            for term, n in Counter(analyze(doc)).items():
                column = vocabulary.get(term)
                if column is not None:
                    found[column] = n
            return found

    indices: list[int] = []
    values: list[int] = []
    indptr = [0]
    for doc in docs:
        for column, count in columns_of(doc).items():
            indices.append(column)
            values.append(count)
        indptr.append(len(indices))
    counts = sparse.csr_matrix(
        (
            np.asarray(values, dtype=vectorizer.dtype),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int32),
        ),
        shape=(len(docs), len(vectorizer.vocabulary_)),
        dtype=vectorizer.dtype,
    )
    counts.sort_indices()  # as CountVectorizer leaves it
    return vectorizer._tfidf.transform(counts, copy=False)


def predict_proba(pipeline: Any, texts: Sequence[str]) -> Any:
    """``pipeline.predict_proba(texts)`` for the triage pipeline (a FeatureUnion of TF-IDF
    vectorizers, then a classifier), the counting done as described above."""
    from sklearn.pipeline import FeatureUnion

    steps = getattr(pipeline, "named_steps", {})
    features, classifier = steps.get("features"), steps.get("clf")
    if (
        len(steps) != 2
        or not isinstance(features, FeatureUnion)
        or features.transformer_weights
        or classifier is None
        or not all(_plain_tfidf(v) for _name, v in features.transformer_list)
    ):
        return pipeline.predict_proba(list(texts))
    blocks = [_tfidf(vectorizer, texts) for _name, vectorizer in features.transformer_list]
    return classifier.predict_proba(sparse.hstack(blocks).tocsr())


__all__ = ["predict_proba"]
