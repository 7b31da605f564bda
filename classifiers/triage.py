"""Triage one inbound item: mail-safety rules, then the model, then named exclusion rules.

Order and why (SPEC section 3):

1. Mail safety (RFC 3834, ``worker.domain.mail_safety``): automatic mail is ``not_resident_mail``
   and never answered; if it may still carry a resident's words a person looks at it.
2. The model (TF-IDF word and character n-grams, calibrated linear classifier) reads the
   resident's *new* text (quoted landlord text in forwarded chains is dropped first). Text that
   reads as an automatic notification from a system or platform (a booking confirmation, an
   e-signature request, a survey digest: ``triage_rules.automatic_notification``) is
   ``not_resident_mail``, for a person to check unless the model is sure and no words show
   dissatisfaction: it is never labelled complaint without review.
3. Named rules (``worker.domain.triage_rules``): a claim filed at court and an issue certainly
   older than 12 months (counted from when it last happened or the resident became aware of
   it, Code 2.3; not applied to a first request the model is sure of) propose ``excluded``
   whatever the model says; softer exclusion evidence
   (a reply to our survey, tribunal, statutory notice, insurance, section 20) proposes it unless
   the model is sure it is a complaint; complaint signals (dissatisfaction, escalation, a threat of
   court rather than a filed claim) overrule a model-proposed exclusion when the model has any
   doubt (Code 1.2, 1.5). A survey reply that complains beyond its rating (asks to complain,
   "nobody turned up") is a complaint for a person to check (1.3, 1.6). An explicit wish to
   complain on anything not labelled complaint sends it to a person (1.3: the choice to complain
   is the resident's).
4. Confidence below the threshold chosen at training time for complaint recall sends the item to
   review; when unsure between complaint and something else, the label is ``complaint``.
5. Complaint favoured (Code 1.2, 2.1: a landlord accepts a complaint unless there is a valid
   reason not to): when the model gives complaint at least ``complaint_at`` (chosen at training
   time on grouped out-of-fold predictions, like the threshold) but another label comes first
   and no rule explains the message, the label is ``complaint`` for a person to check, whatever
   the top label's confidence. A person turning a complaint into a service request costs a
   little of their time; a complaint handled as something else costs the resident the process.

``excluded`` always has ``needs_review=True``: nothing is refused automatically (Code 2.1, 2.5).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from classifiers import linear_model
from classifiers.linear_model import LinearModel
from worker.domain import triage_rules as rules
from worker.domain.errors import ComplaintsError
from worker.domain.extraction import Extraction, Flags, detect_flags, extract

__all__ = [
    "DEFAULT_MODEL_PATH",
    "ModelError",
    "TriageInput",
    "TriageResult",
    "Triager",
    "main_triage",
    "model_text",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "triage.skops"
MODEL_FORMAT = 1
#: Confidence given to a decision resting on a high-precision named rule (court claim filed, an
#: issue certainly older than 12 months, mail-safety headers) rather than on the model.
RULE_CONFIDENCE = 0.9
#: Hard exclusion rules: these beat the model (still only a proposal for a person).
HARD_EXCLUSIONS = ("court_claim_filed", "issue_older_than_12_months")
#: Exclusions that rest on a fact only a rule can check (a filed claim, a date against the
#: received date): the model alone may not propose them; without the rule the item is treated
#: as the complaint it otherwise looks like, for a person to check.
RULE_ONLY_REASONS = ("legal_proceedings", "over_12_months")
#: A softer exclusion rule (a tribunal, a notice, an insurance claim...) gives way to the model
#: only when the model is this sure of a complaint, or fairly sure and the words show
#: dissatisfaction with the landlord's service. (Issue 13 tried 0.8: one more hand-written
#: complaint kept out-of-fold, but survey replies with mild criticism, which the Code calls
#: feedback (1.6), became complaints; complaints inside survey replies are the survey rule's job.)
SOFT_RULE_YIELDS_AT = 0.9
#: A first request the model is at least this sure of is not put through the 12-month rule.
FIRST_REQUEST_AT = 0.5
#: Explicit words of dissatisfaction turn a service request (or spam) into a complaint for review
#: unless the model all but rules a complaint out (Code 1.5: dissatisfaction with the response to
#: a service request is a complaint).
SIGNAL_FLOOR = 0.05
#: ``complaint_at`` for a model file saved before it existed: never relabel (the old behaviour).
COMPLAINT_AT_OFF = 1.0
#: The types a shipped model file may contain; anything else is refused at load time (skops).
TRUSTED_TYPES = [
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.float",
    "builtins.int",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.preprocessing._label.LabelEncoder",
]


class ModelError(ComplaintsError):
    """The triage model file is missing, corrupt or holds types we do not trust."""


@dataclass(frozen=True)
class TriageInput:
    id: str
    subject: str
    body: str
    from_addr: str
    received: date
    channel: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""
    return_path: str | None = None
    #: The whole body as received, quoted text kept (``ParsedMessage.text``), when ``body`` holds
    #: only the sender's new words. Rules read it for context (our survey invitation quoted
    #: beneath a reply); the model never does. Empty: ``body`` is the whole body.
    full_text: str = ""


@dataclass(frozen=True)
class TriageResult:
    id: str
    label: str
    reason: str
    confidence: float
    needs_review: bool
    reasons: tuple[str, ...]
    extraction: Extraction
    flags: Flags

    def contract_json(self) -> dict[str, Any]:
        """The stable ``complaints triage`` output record (SPEC section 9)."""
        return {
            "id": self.id,
            "label": self.label,
            "reason": self.reason,
            "confidence": round(self.confidence, 4),
            "needs_review": self.needs_review,
        }

    @property
    def automatic_letter(self) -> str | None:
        """The letter kind that may go without a person, or None (SPEC sections 3 and 6)."""
        if self.label == "not_resident_mail":
            return None
        if self.needs_review or self.label == "excluded":
            return "receipt"
        if self.label == "complaint":
            return "stage1_acknowledgement"
        return "service_request_acknowledgement"


def split_class(cls: str) -> tuple[str, str]:
    label, _, reason = cls.partition("/")
    return label, reason


def model_text(subject: str, body: str) -> str:
    """What the model reads: subject plus the sender's new words (whole body if these are few)."""
    own = rules.new_text(body)
    if len(own.split()) < 5:
        own = body
    return f"{subject}\n{own}"


@dataclass(frozen=True)
class Decision:
    label: str
    reason: str
    confidence: float
    needs_review: bool
    reasons: tuple[str, ...]


def decide(
    probs: Mapping[str, float],
    text: str,
    received: date,
    *,
    threshold: float,
    complaint_floor: float,
    complaint_at: float = COMPLAINT_AT_OFF,
    context: str = "",
) -> Decision:
    """Combine class probabilities (``label`` or ``label/reason``) with the text rules.

    ``text`` is what the model read (subject and the sender's new words); ``context`` is the
    whole message as received, quoted text kept, which only the survey rule reads.
    ``complaint_at``: a complaint probability at which the model's runner-up complaint beats its
    top label (for review) when no rule explains the message (step 5 above).
    """
    notice = rules.automatic_notification(text)
    if notice is not None:
        return _notification(probs, text, notice, threshold)
    d = _decide(
        probs, text, received, threshold=threshold, complaint_floor=complaint_floor,
        complaint_at=complaint_at, context=context,
    )  # fmt: skip
    wish = rules.wish_to_complain(text)
    if wish is not None and d.label != "complaint" and not _noted(d, wish):
        why = d.reasons + (
            f"rule {wish.name}: {wish.why}",
            "the resident says they want to complain and the choice is theirs (Code 1.3): "
            f"labelled {d.label} for a person to confirm or log as a complaint",
        )
        return Decision(d.label, d.reason, d.confidence, True, why)
    return d


def _label_probs(probs: Mapping[str, float]) -> dict[str, float]:
    label_p: dict[str, float] = {}
    for cls, p in probs.items():
        lab, _ = split_class(cls)
        label_p[lab] = label_p.get(lab, 0.0) + p
    return label_p


def _notification(
    probs: Mapping[str, float], text: str, notice: rules.RuleHit, threshold: float
) -> Decision:
    """Text that reads as an automatic notification (a booking confirmation, an e-signature
    request, a survey digest) is never labelled a complaint without a person: an automatic
    acknowledgement would go to a machine, and a digest quoting residents' comments is not
    itself a complaint. Only when the model is sure it is automatic mail and the words show no
    dissatisfaction does it go through unseen (it is never answered anyway, SPEC section 6).
    """
    label_p = _label_probs(probs)
    p_mail = label_p.get("not_resident_mail", 0.0)
    mail_reasons = {c: p for c, p in probs.items() if split_class(c)[0] == "not_resident_mail"}
    reason = notice.reason
    if mail_reasons and p_mail >= threshold:
        reason = split_class(max(mail_reasons, key=mail_reasons.__getitem__))[1] or reason
    signals = rules.complaint_signals(text)
    p_complaint = label_p.get("complaint", 0.0)
    why = [
        f"model: not_resident_mail p={p_mail:.2f} (complaint p={p_complaint:.2f})",
        f"rule {notice.name}: {notice.why}",
    ] + [f"noted {s.name}: {s.why}" for s in signals]
    sure = p_mail >= threshold and not signals
    if not sure:
        why.append("automatic notification the model is not sure of: a person looks")
    return Decision("not_resident_mail", reason, max(p_mail, 0.5), not sure, tuple(why))


def _noted(d: Decision, hit: rules.RuleHit) -> bool:
    return any(r.startswith(f"rule {hit.name}:") for r in d.reasons)


def _decide(
    probs: Mapping[str, float],
    text: str,
    received: date,
    *,
    threshold: float,
    complaint_floor: float,
    complaint_at: float,
    context: str,
) -> Decision:
    label_p = _label_probs(probs)
    top = max(label_p, key=lambda k: label_p[k])
    p_complaint = label_p.get("complaint", 0.0)
    best_reason = {
        lab: split_class(
            max((c for c in probs if split_class(c)[0] == lab), key=probs.__getitem__)
        )[1]
        for lab in label_p
    }
    why = [f"model: {top} p={label_p[top]:.2f} (complaint p={p_complaint:.2f})"]

    proposals = rules.exclusion_proposals(text, received)
    signals = rules.complaint_signals(text)
    survey = rules.survey_reply(text, context)
    hard = [h for h in proposals if h.name in HARD_EXCLUSIONS]
    soft = [h for h in proposals if h.name not in HARD_EXCLUSIONS]

    court = [h for h in hard if h.name == "court_claim_filed"]
    if (
        not court
        and hard
        and top == "service_request"
        and label_p[top] >= FIRST_REQUEST_AT
        and not signals
    ):
        # A first request ("can I have a copy of the tenancy I signed in 2017") is not a
        # complaint, so the age of what it mentions does not matter (Code 1.4, 2.2).
        why += [f"noted {h.name}: {h.why}" for h in hard]
        why.append("a first request, not a complaint: the 12-month rule does not apply")
        hard = []
    if court or (hard and not soft):
        # A filed claim beats everything; an old date only when no more specific exclusion
        # (a tribunal, a notice, a consultation...) explains the message.
        h = (court or hard)[0]
        why += [f"rule {h.name}: {h.why}"] + [f"noted {s.name}: {s.why}" for s in signals]
        return Decision("excluded", h.reason, max(RULE_CONFIDENCE, label_p.get("excluded", 0.0)),
                        True, tuple(why))  # fmt: skip
    if survey is not None:
        beyond = rules.complaint_in_survey_reply(text)
        if beyond is not None:
            # Survey feedback is not itself a complaint (1.6), but a reply that complains in so
            # many words beyond the rating is one for a person to check (1.2, 1.3).
            why.append(f"noted {survey.name}: {survey.why}")
            why.append(f"rule {beyond.name}: {beyond.why}")
            why.append("a survey reply that complains beyond its rating: a complaint for review")
            return Decision("complaint", "", p_complaint, True, tuple(why))
        soft.insert(0, survey)
    if soft:
        h = soft[0]
        # In a survey reply the rating's own words ("very dissatisfied") are not a signal.
        if p_complaint >= SOFT_RULE_YIELDS_AT or (top == "complaint" and signals and h != survey):
            why.append(f"exclusion evidence noted for a person ({h.name}): {h.why}")
            return Decision("complaint", "", p_complaint, True, tuple(why))
        why.append(f"rule {h.name}: {h.why}")
        conf = max(label_p.get("excluded", 0.0), 0.5)
        return Decision("excluded", h.reason, conf, True, tuple(why))

    if top == "excluded":
        if best_reason["excluded"] in RULE_ONLY_REASONS:
            others = {
                c: p
                for c, p in probs.items()
                if split_class(c)[0] == "excluded" and split_class(c)[1] not in RULE_ONLY_REASONS
            }
            other = max(others, key=others.__getitem__) if others else ""
            why.append(
                f"model suggested {best_reason['excluded']} but no rule found the evidence "
                "(a claim filed at court, a date over 12 months before receipt)"
            )
            # Another reason takes over only if the model gives it real weight: a message it
            # thought too old to consider, that no rule dates, is otherwise a complaint (2.3).
            if other and others[other] >= max(p_complaint, complaint_floor):
                best_reason["excluded"] = split_class(other)[1]
            else:
                why.append("treated as a complaint for a person to check")
                return Decision("complaint", "", max(p_complaint, 0.5), True, tuple(why))
        if p_complaint >= complaint_at:
            # No rule found the exclusion, and the model gives complaint real weight: the Code
            # has the landlord accept a complaint unless there is a valid reason not to (2.1),
            # so a person confirms the exclusion from a complaint rather than the reverse.
            why.append(
                f"complaint p={p_complaint:.2f} at or above {complaint_at:.2f} against an "
                "exclusion no rule proposed: labelled complaint for a person to check"
            )
            return Decision("complaint", "", p_complaint, True, tuple(why))
        wish = rules.wish_to_complain(text)
        if signals and (p_complaint >= complaint_floor or wish is not None):
            # Words of dissatisfaction, with some doubt in the model or a resident saying in so
            # many words that they want to complain (1.3), beat an exclusion no rule proposed.
            why += [f"rule {s.name}: {s.why}" for s in signals]
            why.append("complaint signal overrules a model-proposed exclusion (Code 1.2, 1.5)")
            return Decision("complaint", "", p_complaint, True, tuple(why))
        why += [f"noted {s.name}: {s.why}" for s in signals]
        return Decision("excluded", best_reason["excluded"], label_p["excluded"], True, tuple(why))

    confidence = label_p[top]
    if top != "complaint" and p_complaint >= complaint_at:
        # Complaint a strong runner-up: the safe side is a complaint a person may downgrade
        # (Code 1.2, 2.1), not a request or notice a person would have to spot as a complaint.
        why.append(
            f"complaint p={p_complaint:.2f} at or above {complaint_at:.2f}: labelled complaint "
            "for a person to check"
        )
        return Decision("complaint", "", p_complaint, True, tuple(why))
    if top != "complaint" and signals and p_complaint >= SIGNAL_FLOOR:
        why += [f"rule {s.name}: {s.why}" for s in signals]
        why.append("complaint signal with doubt in the model: treated as a complaint")
        return Decision("complaint", "", p_complaint, True, tuple(why))
    if confidence < threshold:
        why.append(f"confidence {confidence:.2f} below threshold {threshold:.2f}: sent to review")
        if top != "complaint" and p_complaint >= complaint_floor:
            why.append("unsure between complaint and something else: labelled complaint")
            return Decision("complaint", "", p_complaint, True, tuple(why))
        return Decision(top, best_reason[top], confidence, True, tuple(why))
    why += [f"noted {s.name}: {s.why}" for s in signals]
    if top != "complaint" and p_complaint >= complaint_floor:
        # Above the threshold but with complaint a close second: the costly error is a
        # complaint treated as something else, so a person decides (SPEC section 3).
        why.append(
            f"complaint p={p_complaint:.2f} at or above the floor {complaint_floor:.2f}: "
            "sent to review"
        )
        return Decision(top, best_reason[top], confidence, True, tuple(why))
    if top != "complaint" and signals:
        # The model is sure, but the resident's words say they are unhappy: missing a complaint
        # is the costly error (Code 1.2, 1.3), so a person looks before anything else happens.
        why.append("words of dissatisfaction against a confident model: sent to review")
        return Decision(top, best_reason[top], confidence, True, tuple(why))
    return Decision(top, best_reason[top], confidence, False, tuple(why))


def _skops_io() -> Any:
    """``skops.io``, imported without its default list of trusted types: skops builds that list
    from ``sklearn.utils.all_estimators()``, which imports every sklearn module (and pytest),
    12 MiB of RSS in every process that loads the model. load() names every type it trusts
    (TRUSTED_TYPES); without skops' list a sklearn estimator outside it is refused as well."""
    if "skops.io" not in sys.modules:
        import sklearn.utils

        all_estimators = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda type_filter=None: []
        try:
            import skops.io  # noqa: F401
        finally:
            sklearn.utils.all_estimators = all_estimators
    return sys.modules["skops.io"]


def _load_bundle(path: Path) -> dict[str, Any]:
    """The skops file's bundle, trusting only known types."""
    sio = _skops_io()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many kinds for a damaged zip
        raise ModelError(f"triage model {path} is unreadable: {exc}") from exc
    unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelError(f"triage model {path} holds untrusted types: {', '.join(unknown)}")
    try:
        bundle = sio.load(path, trusted=sorted(set(untrusted)))
    except Exception as exc:
        raise ModelError(f"triage model {path} could not be loaded: {exc}") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != MODEL_FORMAT:
        raise ModelError(f"triage model {path} is not a format {MODEL_FORMAT} triage model")
    return bundle


#: What a compiled copy keeps of the bundle besides the numbers (all JSON).
COMPILED_FIELDS = (
    "format",
    "version",
    "classes",
    "threshold",
    "complaint_floor",
    "complaint_at",
    "metadata",
)


def compile_model(path: Path) -> Path | None:
    """Write the compiled copy of the skops model at ``path`` next to it (``complaints train``
    does this after saving); None, and any stale copy removed, when the model has a shape
    ``classifiers/linear_model.py`` does not know."""
    path = Path(path)
    target = linear_model.compiled_path(path)
    bundle = _load_bundle(path)
    fields = {k: bundle[k] for k in COMPILED_FIELDS if k in bundle}
    linear = Triager(bundle)._linear
    if linear is None:
        target.unlink(missing_ok=True)
        return None
    linear.save(target, source_sha256=linear_model.file_sha256(path), fields=fields)
    return target


class Triager:
    """A loaded model plus its decision settings; safe to share between threads."""

    #: Class-level default so subclasses that set their own settings (``classifiers.compare``)
    #: keep the old behaviour unless they choose one.
    complaint_at: float = COMPLAINT_AT_OFF

    def __init__(self, bundle: Mapping[str, Any], linear: LinearModel | None = None) -> None:
        """``bundle``: what ``classifiers.train`` saves. With ``linear`` (the compiled model,
        ``classifiers/linear_model.py``) the bundle needs no pipeline, and scikit-learn is
        never imported; without it the pipeline is compiled here when it has the known shape,
        and run by scikit-learn otherwise."""
        self._pipeline: Any = None
        if linear is None:
            self._pipeline = bundle["pipeline"]
            vocabularies = bundle.get("vocabularies", {})
            for name, vectorizer in self._pipeline.named_steps["features"].transformer_list:
                if name in vocabularies and not hasattr(vectorizer, "vocabulary_"):
                    terms = str(vocabularies[name]).split("\n")
                    vectorizer.vocabulary_ = {t: i for i, t in enumerate(terms)}
            linear = linear_model.from_pipeline(self._pipeline)
        self._linear = linear
        self.classes: list[str] = [str(c) for c in bundle["classes"]]
        self.threshold = float(bundle["threshold"])
        self.complaint_floor = float(bundle["complaint_floor"])
        self.complaint_at = float(bundle.get("complaint_at", COMPLAINT_AT_OFF))
        self.version = str(bundle.get("version", ""))
        self.metadata: dict[str, Any] = dict(bundle.get("metadata", {}))

    @classmethod
    def load(cls, path: Path | None = None) -> Triager:
        """Load a model saved by ``classifiers.train``: its compiled copy when there is one
        made from this very file (no scikit-learn then), else the skops file itself."""
        path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not path.is_file():
            raise ModelError(
                f"triage model not found at {path}; run 'complaints train' to build it"
            )
        compiled = linear_model.compiled_path(path)
        if compiled.is_file():
            try:
                linear, fields = linear_model.load(
                    compiled, source_sha256=linear_model.file_sha256(path)
                )
            except (linear_model.CompiledModelError, OSError) as exc:
                log.warning("%s; loading the model with scikit-learn instead", exc)
            else:
                if fields.get("format") == MODEL_FORMAT:
                    return cls(fields, linear)
        return cls(_load_bundle(path))

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if self._linear is not None:
            matrix = self._linear.predict_proba(texts)
            model_classes = self._linear.classes
        else:
            matrix = self._pipeline.predict_proba(list(texts))
            model_classes = [str(c) for c in self._pipeline.classes_]
        return [{c: float(p) for c, p in zip(model_classes, row, strict=True)} for row in matrix]

    def triage(
        self,
        item: TriageInput,
        *,
        own_addresses: Collection[str] = (),
        closed_issue_texts: Sequence[str] = (),
    ) -> TriageResult:
        text = model_text(item.subject, item.body)
        probs = self.probabilities([text])[0]
        return self._result(item, probs, own_addresses, closed_issue_texts, text)

    def triage_many(
        self,
        items: Sequence[TriageInput],
        *,
        own_addresses: Collection[str] = (),
        closed_issue_texts: Sequence[Sequence[str]] | None = None,
    ) -> list[TriageResult]:
        """Triage a batch with one model call (a per-message call costs about 40 times more).
        ``closed_issue_texts``, when given, holds one list per item, as for ``triage``."""
        if not items:
            return []
        closed: Sequence[Sequence[str]] = closed_issue_texts or [() for _ in items]
        if len(closed) != len(items):
            raise ValueError("closed_issue_texts needs one entry per item")
        texts = [model_text(i.subject, i.body) for i in items]
        all_probs = self.probabilities(texts)
        return [
            self._result(item, probs, own_addresses, texts_for_item, text)
            for item, probs, texts_for_item, text in zip(
                items, all_probs, closed, texts, strict=True
            )
        ]

    def _result(
        self,
        item: TriageInput,
        probs: Mapping[str, float],
        own_addresses: Collection[str],
        closed_issue_texts: Sequence[str],
        text: str,
    ) -> TriageResult:
        """``text``: ``model_text`` of the item, as the model read it."""
        extraction = extract(item.subject, item.body, item.received)
        flags = detect_flags(item.subject, item.body, closed_issue_texts)
        headers = dict(item.headers)
        if item.subject and not any(k.lower() == "subject" for k in headers):
            headers["Subject"] = item.subject
        return_path = item.return_path
        if return_path is None:
            return_path = next((v for k, v in headers.items() if k.lower() == "return-path"), None)
        hit, resident_words = rules.mail_safety_rule(
            headers,
            item.from_addr,
            content_type=item.content_type,
            return_path=return_path,
            own_addresses=own_addresses,
            body=item.body,
        )
        if hit is not None:
            why = [f"rule {hit.name}: {hit.why}"]
            if resident_words:
                why.append("automatic mail that may hold a resident's words: a person looks")
            return TriageResult(
                item.id, hit.label, hit.reason, RULE_CONFIDENCE, resident_words, tuple(why),
                extraction, flags,
            )  # fmt: skip
        d = decide(
            probs,
            text,
            item.received,
            threshold=self.threshold,
            complaint_floor=self.complaint_floor,
            complaint_at=self.complaint_at,
            context=item.full_text or item.body,
        )
        reasons = d.reasons + tuple(f"flag {r}" for r in flags.reasons)
        needs_review = d.needs_review or d.label == "excluded"
        return TriageResult(
            item.id, d.label, d.reason, d.confidence, needs_review, reasons, extraction, flags
        )


# --- complaints triage --input FILE.jsonl ---------------------------------------------------

REQUIRED_FIELDS = ("id", "subject", "body", "from", "received", "channel")
CHANNELS = ("email", "webform")


class InputError(ComplaintsError):
    """A line of the triage input is not usable; the message names the line and field."""


def parse_input_line(line: str, lineno: int) -> TriageInput:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise InputError(f"line {lineno}: expected a JSON object")
    for name in REQUIRED_FIELDS:
        if name not in obj:
            raise InputError(f"line {lineno}: missing field '{name}'")
        if not isinstance(obj[name], str):
            raise InputError(f"line {lineno}: field '{name}' must be a string")
    try:
        received = date.fromisoformat(obj["received"])
    except ValueError:
        raise InputError(f"line {lineno}: field 'received' must be YYYY-MM-DD") from None
    if obj["channel"] not in CHANNELS:
        raise InputError(f"line {lineno}: field 'channel' must be one of {', '.join(CHANNELS)}")
    headers = obj.get("headers", {})
    if headers is None:
        headers = {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise InputError(f"line {lineno}: field 'headers' must be an object of strings")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return TriageInput(
        id=obj["id"],
        subject=obj["subject"],
        body=obj["body"],
        from_addr=obj["from"],
        received=received,
        channel=obj["channel"],
        headers=headers,
        content_type=content_type,
    )


def read_input(path: Path) -> list[TriageInput]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            items.append(parse_input_line(line, n))
    return items


def main_triage(argv: list[str]) -> int:
    """``complaints triage --input FILE.jsonl``: one JSON line per input on stdout."""
    parser = argparse.ArgumentParser(prog="complaints triage", description=__doc__)
    parser.add_argument("--input", required=True, type=Path, help="JSON lines file")
    parser.add_argument("--model", type=Path, default=None, help=argparse.SUPPRESS)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        items = read_input(args.input)
    except InputError as exc:
        print(f"complaints triage: {exc}", file=sys.stderr)
        return 2
    try:
        triager = Triager.load(args.model)
    except ModelError as exc:
        print(f"complaints triage: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout
    for result in triager.triage_many(items):
        out.write(json.dumps(result.contract_json(), ensure_ascii=False) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main_triage(sys.argv[1:]))
