"""The triage model's arithmetic without scikit-learn: TF-IDF features, a linear classifier and
sigmoid calibration, from the fitted numbers alone, with the very probabilities scikit-learn gives.

Why: importing scikit-learn (with SciPy and skops) adds about 90 MiB to every worker process,
more than a third of the 250 MiB a process may use, and each ``predict_proba`` call spends
milliseconds validating its input. The shipped model is a ``Pipeline`` of a ``FeatureUnion`` of
``TfidfVectorizer``s and a ``CalibratedClassifierCV(LinearSVC, method="sigmoid", ensemble=False)``;
once fitted, all it does is count n-grams, weight and normalise them, take dot products and map
them through a sigmoid. This module keeps those numbers (saved next to the skops file by
``complaints train``, ``triage.linear.npz``, with the skops file's SHA-256 so a stale copy is never
used) and repeats each step in the order scikit-learn does it, so every probability is
bit-identical (``tests/unit/test_classifier.py`` checks it on the labelled corpus):

* counting: ``CountVectorizer``'s analyzers (word n-grams from the token pattern, ``char_wb``
  n-grams within words), looked up in the vocabulary; a word's ``char_wb`` columns are
  remembered, since residents' mail reuses a few thousand words;
* weighting: ``1 + log(count)`` over the whole batch's counts at once (as scikit-learn calls
  ``np.log``), times the IDF, then each row divided by its L2 norm summed in column order;
* scoring: each row's products summed in column order (SciPy's sparse-times-dense loop), plus
  the intercept; the sigmoid ``1 / (1 + exp(a*s + b))`` with the C library's ``exp`` (as
  ``scipy.special.expit``), then each row divided by its sum.

A model of any other shape is not compiled (``from_pipeline`` returns None) and scikit-learn runs
it as before. Nothing here imports scikit-learn or SciPy.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import numpy as np
import numpy.typing as npt

FORMAT = 1
#: The compiled copy lives next to the skops file: ``triage.skops`` -> ``triage.linear.npz``.
SUFFIX = ".linear.npz"
#: Words remembered with their ``char_wb`` columns, per loaded model (about 4 MiB when full; a
#: full cache simply starts again).
WORD_CACHE_SIZE = 20_000

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]
#: Rows in CSR form: row pointers, columns (ascending within a row), weights.
Rows = tuple[Indices, Indices, Floats]
_MISSING = itertools.repeat(-1)
# Token patterns whose tokens never hold a space (scikit-learn's default, and with one letter).
_WORDS_WITHOUT_SPACES = frozenset({r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"})


class CompiledModelError(Exception):
    """The compiled file cannot be used (missing, damaged, another format or a stale copy)."""


def compiled_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name.removesuffix(".skops") + SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _strip_accents_unicode(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _strip_accents_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


_ACCENTS: dict[str | None, Callable[[str], str] | None] = {
    None: None,
    "unicode": _strip_accents_unicode,
    "ascii": _strip_accents_ascii,
}


@dataclass
class Features:
    """One fitted ``TfidfVectorizer``: how it cuts a text into terms, and its numbers."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool
    strip_accents: str | None
    token_pattern: str
    sublinear_tf: bool
    norm: str | None  # "l2" or None
    terms: list[str]  # in column order
    idf: Floats
    vocabulary: dict[str, int] = field(init=False, repr=False)
    _words: dict[str, Indices] = field(init=False, repr=False, default_factory=dict)
    _by_words: dict[int, dict[tuple[str, ...], int]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self.vocabulary = {term: i for i, term in enumerate(self.terms)}
        self._accents = _ACCENTS[self.strip_accents]
        self._tokens = re.compile(self.token_pattern).findall
        # Another token pattern might make tokens holding a space: their n-grams are then
        # joined as scikit-learn joins them, and looked up as they are.
        self._spaced = self.token_pattern not in _WORDS_WITHOUT_SPACES

    @property
    def width(self) -> int:
        return len(self.terms)

    def _preprocess(self, text: str) -> str:
        if self.lowercase:
            text = text.lower()
        return self._accents(text) if self._accents is not None else text

    def columns(self, text: str) -> tuple[Indices, Indices]:
        """The document's vocabulary columns in ascending order, and how often each occurs
        (``CountVectorizer``'s row). Counted by sorting in numpy: a Counter and a sort of its
        keys in Python took half the time of the whole model."""
        text = self._preprocess(text)
        if self.analyzer == "char_wb":
            found = self._char_wb_columns(text)
        else:
            found = self._word_columns_of(self._tokens(text))
        return _counted(found, self.width)

    def _word_columns_of(self, tokens: list[str]) -> Indices:
        """The columns of a text's word n-grams, in no particular order (``columns`` sorts).

        Every look-up runs in C: an n-gram of two or more words is looked up as the tuple of its
        words (``zip`` makes them) in a copy of the vocabulary keyed that way, rather than
        joined into a string first in a Python loop, which took most of this analyzer's time.
        The two are the same look-up when a token never holds a space (the words of a term are
        then its split on spaces). -1 marks an n-gram not in the vocabulary (most of them),
        dropped."""
        low, high = self.ngram_range
        spaced = self._spaced
        lookups: list[Iterable[int]] = []
        count = 0
        for n in range(low, min(high, len(tokens)) + 1):
            starts = range(len(tokens) - n + 1)
            if n == 1:
                lookups.append(map(self.vocabulary.get, tokens, _MISSING))
            elif spaced:
                grams = (" ".join(tokens[i : i + n]) for i in starts)
                lookups.append(map(self.vocabulary.get, grams, _MISSING))
            else:
                # The shorter slices end the n-grams: strict=False is the point.
                words = zip(*(itertools.islice(tokens, k, None) for k in range(n)), strict=False)
                lookups.append(map(self._ngrams(n).get, words, _MISSING))
            count += len(starts)
        found = np.fromiter(itertools.chain(*lookups), dtype=np.intp, count=count)
        return found[found >= 0]

    def _ngrams(self, n: int) -> dict[tuple[str, ...], int]:
        """The vocabulary's terms of ``n`` words, keyed by their words (made once)."""
        by_words = self._by_words.get(n)
        if by_words is None:
            by_words = {}
            for term, column in self.vocabulary.items():
                words = tuple(term.split(" "))
                if len(words) == n:
                    by_words[words] = column
            self._by_words[n] = by_words
        return by_words

    def _char_wb_columns(self, text: str) -> Indices:
        # A word's n-grams never cross its edges, so each distinct word is cut once (and kept
        # for the next texts), and a word the text repeats is counted by repeating its columns
        # in numpy rather than in one Python list of every n-gram's column, converted after
        # (the whole model: 452 -> 420 microseconds a message on the benchmark's texts, with
        # the same columns and counts).
        cache = self._words
        # scikit-learn first turns each run of white space (``\s\s+``) into one space, then
        # splits on white space: the words are those of ``split()`` alone, since ``re``'s
        # ``\s`` and ``str.split`` both use the interpreter's one test for white space.
        times = Counter(text.split())
        parts: list[Indices] = []
        for word in times:
            found = cache.get(word)
            if found is None:
                if len(cache) >= WORD_CACHE_SIZE:
                    cache.clear()
                found = cache[word] = np.array(self._word_columns(word), dtype=np.intp)
            parts.append(found)
        if not parts:
            return np.zeros(0, dtype=np.intp)
        each = np.repeat(
            np.fromiter(times.values(), dtype=np.intp, count=len(times)),
            [part.size for part in parts],
        )
        return np.repeat(np.concatenate(parts), each)

    def _word_columns(self, word: str) -> list[int]:
        # scikit-learn's loop for one word: a padded word no longer than n is counted once,
        # whole, and ends the word.
        low, high = self.ngram_range
        padded = " " + word + " "
        size = len(padded)
        vocabulary = self.vocabulary
        found: list[int] = []
        for n in range(low, high + 1):
            for i in range(max(1, size - n + 1)):
                column = vocabulary.get(padded[i : i + n])
                if column is not None:
                    found.append(column)
            if size <= n:
                break
        return found

    def weigh(self, texts: Sequence[str]) -> Rows:
        """The batch's TF-IDF rows as ``TfidfVectorizer.transform`` computes them, in CSR form:
        row pointers, columns (ascending within a row) and weights."""
        rows = [self.columns(text) for text in texts]
        indptr = np.zeros(len(rows) + 1, dtype=np.intp)
        np.cumsum([len(columns) for columns, _counts in rows], out=indptr[1:])
        if rows:
            columns = np.concatenate([c for c, _n in rows]).astype(np.intp, copy=False)
            data = np.concatenate([n for _c, n in rows]).astype(np.float64)
        else:
            columns, data = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float64)
        if self.sublinear_tf:
            # One call over the whole batch, as scikit-learn makes it: numpy's vectorised log
            # may round an element differently depending on where it falls in the array.
            np.log(data, data)
            data += 1.0
        data *= self.idf.take(columns)
        if self.norm == "l2":
            squares = data * data
            for start, end in zip(indptr, indptr[1:], strict=False):
                if end > start:
                    # Summed in column order (cumsum is sequential), as scikit-learn's loop.
                    total = float(np.cumsum(squares[start:end])[-1])
                    if total != 0.0:
                        data[start:end] /= math.sqrt(total)
        return np.asarray(indptr, dtype=np.intp), columns, data


def _counted(found: Indices, width: int) -> tuple[Indices, Indices]:
    """The distinct columns of ``found`` in ascending order, and how often each occurs (what
    ``np.unique(found, return_counts=True)`` gives). Counted into an array as wide as the
    vocabulary when that is cheaper than sorting: a quarter of the time for the 4,000 columns
    of a 3 KB complaint's character n-grams in a 24,000-term vocabulary."""
    if found.size * _SORT_OR_COUNT < width:
        columns, counts = np.unique(found, return_counts=True)
        return columns, counts
    tally = np.bincount(found, minlength=width)
    columns = np.flatnonzero(tally)
    return columns, tally[columns]


#: Sort a text's columns when fewer than width / this; count them in a vocabulary-wide array
#: otherwise (the two cost about the same at one column in ten, for 12,000 and 24,000 terms).
_SORT_OR_COUNT = 8


@functools.lru_cache(maxsize=8)
def _column_sums(classes: int) -> Callable[[Floats], Floats]:
    """How to sum a (columns, classes) array of products down each class, adding the rows in
    order as SciPy does (a sum in another order may differ in the last bit).

    ``np.add.reduce`` over the first axis of such an array adds row after row, a third of the
    time ``np.add.accumulate`` takes, but numpy does not promise that order: with one class
    the array is summed as a flat vector, pairwise. So it is used only where it gives exactly
    the running sum on this numpy, for this many classes, on probes whose rounding depends on
    the order; otherwise the running sum itself."""

    def running(products: Floats) -> Floats:
        out: Floats = np.add.accumulate(products, axis=0, out=products)[-1]
        return out

    def reduced(products: Floats) -> Floats:
        out: Floats = np.add.reduce(products, axis=0)
        return out

    rng = np.random.default_rng(20261201)
    for rows in (2, 3, 8, 9, 17, 100, 129, 1000, 4099):
        probe = rng.standard_normal((rows, classes)) * rng.choice([1e-8, 1.0, 1e8], (rows, 1))
        if not np.array_equal(reduced(probe), running(probe.copy())):
            return running
    return reduced


@dataclass
class LinearModel:
    """The fitted pipeline's numbers: features, one linear score per class, sigmoid calibration."""

    features: list[Features]
    classes: list[str]  # the order of predict_proba's columns
    weights: Floats  # (total feature width, classes), C order: a row per feature column
    intercept: Floats  # (classes,)
    sigmoid_a: list[float]  # per score column
    sigmoid_b: list[float]
    score_class: list[int]  # the probability column each score column calibrates

    def predict_proba(self, texts: Sequence[str]) -> Floats:
        texts = list(texts)
        n_classes = len(self.classes)
        scores = np.zeros((len(texts), self.weights.shape[1]))
        if texts:
            indptr, columns, data = self._rows(texts)
            column_sums = _column_sums(self.weights.shape[1])
            for row, (start, end) in enumerate(zip(indptr, indptr[1:], strict=False)):
                if end > start:
                    # A row's products summed down in column order, as SciPy's sparse-times-
                    # dense loop adds them. ``take`` gathers the same rows as indexing, in a
                    # third of the time.
                    products = self.weights.take(columns[start:end], axis=0)
                    products *= data[start:end, None]
                    scores[row] = column_sums(products)
        scores = scores + self.intercept
        proba = np.zeros((len(texts), n_classes))
        for k, (a, b, column) in enumerate(
            zip(self.sigmoid_a, self.sigmoid_b, self.score_class, strict=True)
        ):
            linear = -(a * scores[:, k] + b)
            proba[:, column] = [_expit(float(x)) for x in linear]
        denominator = np.sum(proba, axis=1)[:, np.newaxis]
        uniform = np.full_like(proba, 1 / n_classes)
        np.divide(proba, denominator, out=uniform, where=denominator != 0)
        proba = uniform
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    def _rows(self, texts: Sequence[str]) -> Rows:
        """The FeatureUnion's rows: each text's columns of the first vectorizer, then those of
        the next (offset by the widths before it), in CSR form."""
        blocks = [f.weigh(texts) for f in self.features]
        if len(blocks) == 1:
            return blocks[0]
        rows = np.arange(len(texts))
        offset = 0
        row_of, all_columns, all_data = [], [], []
        for feature, (indptr, columns, data) in zip(self.features, blocks, strict=True):
            row_of.append(np.repeat(rows, np.diff(indptr)))
            all_columns.append(columns + offset)
            all_data.append(data)
            offset += feature.width
        # A stable sort by row keeps each row's blocks in order, and each block's columns.
        order = np.argsort(np.concatenate(row_of), kind="stable")
        lengths = sum(np.diff(indptr) for indptr, _c, _d in blocks)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.intp)
        return indptr, np.concatenate(all_columns)[order], np.concatenate(all_data)[order]

    # --- saving and loading ------------------------------------------------------------------

    def save(self, path: Path, *, source_sha256: str, fields: Mapping[str, Any]) -> None:
        """Write the numbers (and the bundle's JSON-able ``fields``) to ``path``, an ``.npz``
        without pickles."""
        header = {
            "format": FORMAT,
            "source_sha256": source_sha256,
            "fields": dict(fields),
            "classes": self.classes,
            "sigmoid_a": self.sigmoid_a,
            "sigmoid_b": self.sigmoid_b,
            "score_class": self.score_class,
            "features": [
                {
                    "analyzer": f.analyzer,
                    "ngram_range": list(f.ngram_range),
                    "lowercase": f.lowercase,
                    "strip_accents": f.strip_accents,
                    "token_pattern": f.token_pattern,
                    "sublinear_tf": f.sublinear_tf,
                    "norm": f.norm,
                }
                for f in self.features
            ],
        }
        arrays: dict[str, Any] = {
            "header": np.array(json.dumps(header)),
            "weights": self.weights,
            "intercept": self.intercept,
        }
        for i, f in enumerate(self.features):
            arrays[f"terms_{i}"] = np.array("\n".join(f.terms))
            arrays[f"idf_{i}"] = f.idf
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as out:
            np.savez_compressed(out, **arrays)
        partial.replace(path)


def _expit(x: float) -> float:
    # scipy.special.expit(-x) is 1 / (1 + exp(x)) with the C library's exp (math.exp here);
    # numpy's vectorised exp can differ in the last bit.
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:
        return 0.0


def load(path: Path, *, source_sha256: str | None = None) -> tuple[LinearModel, dict[str, Any]]:
    """The compiled model and the bundle fields saved with it. With ``source_sha256``, a copy
    compiled from another skops file is refused."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(str(npz["header"]))
            if header.get("format") != FORMAT:
                raise CompiledModelError(f"{path} is not a format {FORMAT} compiled model")
            if source_sha256 is not None and header.get("source_sha256") != source_sha256:
                raise CompiledModelError(f"{path} was compiled from another model file")
            features = [
                Features(
                    analyzer=spec["analyzer"],
                    ngram_range=(int(spec["ngram_range"][0]), int(spec["ngram_range"][1])),
                    lowercase=bool(spec["lowercase"]),
                    strip_accents=spec["strip_accents"],
                    token_pattern=spec["token_pattern"],
                    sublinear_tf=bool(spec["sublinear_tf"]),
                    norm=spec["norm"],
                    terms=str(npz[f"terms_{i}"]).split("\n"),
                    idf=np.ascontiguousarray(npz[f"idf_{i}"], dtype=np.float64),
                )
                for i, spec in enumerate(header["features"])
            ]
            model = LinearModel(
                features=features,
                classes=[str(c) for c in header["classes"]],
                weights=np.ascontiguousarray(npz["weights"], dtype=np.float64),
                intercept=np.ascontiguousarray(npz["intercept"], dtype=np.float64),
                sigmoid_a=[float(a) for a in header["sigmoid_a"]],
                sigmoid_b=[float(b) for b in header["sigmoid_b"]],
                score_class=[int(c) for c in header["score_class"]],
            )
    except CompiledModelError:
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, BadZipFile) as exc:
        raise CompiledModelError(f"{path} is unreadable: {exc}") from exc
    if model.weights.shape != (sum(f.width for f in features), len(model.sigmoid_a)):
        raise CompiledModelError(f"{path}: its weights do not match its vocabularies")
    return model, dict(header.get("fields", {}))


# --- compiling a fitted scikit-learn pipeline --------------------------------------------------


def _type_name(obj: Any) -> str:
    return type(obj).__name__


def _features_of(vectorizer: Any) -> Features | None:
    plain = (
        _type_name(vectorizer) == "TfidfVectorizer"
        and vectorizer.analyzer in ("word", "char_wb")
        and vectorizer.input == "content"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.binary
        and vectorizer.strip_accents in _ACCENTS
        and vectorizer.norm in ("l2", None)
        and vectorizer.use_idf
        and hasattr(vectorizer, "idf_")
        and hasattr(vectorizer, "vocabulary_")
        and np.dtype(vectorizer.dtype) == np.float64
        and re.compile(vectorizer.token_pattern).groups <= 1
    )
    if not plain:
        return None
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if [vocabulary[t] for t in terms] != list(range(len(terms))) or any("\n" in t for t in terms):
        return None
    low, high = vectorizer.ngram_range
    return Features(
        analyzer=vectorizer.analyzer,
        ngram_range=(int(low), int(high)),
        lowercase=bool(vectorizer.lowercase),
        strip_accents=vectorizer.strip_accents,
        token_pattern=vectorizer.token_pattern,
        sublinear_tf=bool(vectorizer.sublinear_tf),
        norm=vectorizer.norm,
        terms=terms,
        idf=np.ascontiguousarray(vectorizer.idf_, dtype=np.float64),
    )


def from_pipeline(pipeline: Any) -> LinearModel | None:
    """The compiled form of a fitted triage pipeline, or None when it has another shape (then
    scikit-learn runs it). Reads attributes only; imports nothing."""
    steps = getattr(pipeline, "named_steps", None)
    if not steps or list(steps) != ["features", "clf"]:
        return None
    union, calibrated = steps["features"], steps["clf"]
    if _type_name(union) != "FeatureUnion" or union.transformer_weights:
        return None
    features = [_features_of(v) for _name, v in union.transformer_list]
    if not features or any(f is None for f in features):
        return None
    if (
        _type_name(calibrated) != "CalibratedClassifierCV"
        or calibrated.method != "sigmoid"
        or len(getattr(calibrated, "calibrated_classifiers_", ())) != 1
    ):
        return None
    inner = calibrated.calibrated_classifiers_[0]
    estimator = inner.estimator
    classes = [str(c) for c in calibrated.classes_]
    if (
        _type_name(estimator) != "LinearSVC"
        or len(classes) < 3  # two classes take scikit-learn's other branch
        or estimator.coef_.shape[0] != len(inner.calibrators)
        or any(_type_name(c) != "_SigmoidCalibration" for c in inner.calibrators)
        or sorted(classes) != classes
    ):
        return None
    position = {c: i for i, c in enumerate(classes)}
    try:
        score_class = [position[str(c)] for c in estimator.classes_]
    except KeyError:
        return None
    return LinearModel(
        features=[f for f in features if f is not None],
        classes=[str(c) for c in pipeline.classes_],
        weights=np.ascontiguousarray(estimator.coef_.T, dtype=np.float64),
        intercept=np.ascontiguousarray(estimator.intercept_, dtype=np.float64),
        sigmoid_a=[float(c.a_) for c in inner.calibrators],
        sigmoid_b=[float(c.b_) for c in inner.calibrators],
        score_class=score_class,
    )


__all__ = [
    "CompiledModelError",
    "Features",
    "LinearModel",
    "compiled_path",
    "file_sha256",
    "from_pipeline",
    "load",
]
