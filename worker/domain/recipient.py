"""May an automatic letter go to the sender of this message, and to which address exactly?

One decision (SPEC section 6, "Trusted recipient"; issue 7), made before any automatic letter and
kept with its reasons. An acknowledgement repeats what the resident told us, so a letter to the
wrong address discloses personal data, and whoever writes the From header chooses the address.
So the address is read only with the standard library's modern header parser
(``email.policy.default`` / ``email.headerregistry``) from the raw From header, never dug out of a
broken header with a regular expression, and anything doubtful is *not* written to: the caller
still opens the case (its clock runs) and asks a person to confirm the address.

Doubtful means: the From header is ambiguous (more than one From header or address, a group,
parse defects, an encoded word or a line break inside it, a display name that is a different
address); the address is not a deliverable mailbox (no dot in the domain, RFC 5321 lengths, a
bang path or other routing, an address literal, non-ASCII before the @); our own receiving
server says DMARC failed; or the sender is a machine (worker/domain/mail_safety.py).
Pure: stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderDefect, ObsoleteHeaderDefect
from email.headerregistry import Address

from worker.domain.mail_safety import machine_sender
from worker.domain.parsing import ParsedMessage, safe_header_value

__all__ = [
    "MAX_DOMAIN",
    "MAX_LOCAL_PART",
    "MAX_PATH",
    "REASON_TEXT",
    "RecipientDecision",
    "SenderFacts",
    "TrustReason",
    "UnusableAddress",
    "decide",
    "explain",
    "facts_of",
    "typed_address",
]

# RFC 5321 section 4.5.3.1: local part 64 octets, domain 255, and a path of 256 including the
# angle brackets, so 254 for the address itself.
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255
MAX_PATH = 254
MAX_LABEL = 63  # RFC 1035 section 2.3.4

# What staff read in the triage queue for each reason (plain English; the detail follows).
REASON_TEXT: Mapping[str, str] = {
    "several_from_headers": (
        "The message has more than one From line, so we cannot tell who sent it."
    ),
    "several_addresses": (
        "The From line holds more than one address, so we cannot tell which one is the sender's."
    ),
    "group": "The From line is a named group of addresses rather than one sender.",
    "no_address": "The From line holds no address we could write to.",
    "unreadable": "The From line could not be read as an address at all.",
    "malformed": "The From line is malformed, so the address in it may not be the sender's.",
    "line_break": (
        "The From line hides a line break, a known way of adding other recipients to a reply."
    ),
    "encoded_word_in_address": (
        "The address itself contains encoded text, which a real address never does."
    ),
    "display_name_is_other_address": (
        "The name shown is itself a different email address, so the sender may be passing"
        " as someone else."
    ),
    "undeliverable": "The address is not a mailbox we can deliver to.",
    "dmarc_failed": (
        "Our mail server found that the sender's domain did not authorise this message "
        "(DMARC failed), so the address may be forged."
    ),
    "machine_sender": (
        "The sender is a machine address that nobody reads, so no automatic letter goes to it."
    ),
}


@dataclass(frozen=True)
class TrustReason:
    code: str  # a key of REASON_TEXT
    detail: str = ""  # what was seen, safe to show (no control characters), short

    def explain(self) -> str:
        return explain(self.code, self.detail)

    def record(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


def explain(code: str, detail: str = "") -> str:
    """Plain English for one reason, for staff."""
    text = REASON_TEXT.get(code, code.replace("_", " ").capitalize() + ".")
    return f"{text} ({detail})" if detail else text


@dataclass(frozen=True)
class SenderFacts:
    """What the decision reads, as the message carried it."""

    # Raw values of every From header, as received: folded, encoded words undecoded, 8-bit bytes
    # as surrogate escapes (what the compat32 parser keeps).
    from_headers: tuple[str, ...]
    # Raw values of every Authentication-Results header, top (newest) first.
    authentication_results: tuple[str, ...] = ()
    # Decoded first values by lower-case name, and the message's new words, for the machine rules.
    headers: Mapping[str, str] = field(default_factory=dict)
    new_text: str = ""


@dataclass(frozen=True)
class RecipientDecision:
    trusted: bool
    # Trusted: the mailbox every automatic letter goes to (lower case, domain in ASCII).
    # Not trusted: the best candidate for a person to confirm, or "" when there is none.
    address: str
    reasons: tuple[TrustReason, ...] = ()

    def records(self) -> list[str]:
        return [reason.record() for reason in self.reasons]

    def explanations(self) -> list[str]:
        return [reason.explain() for reason in self.reasons]


# --------------------------------------------------------------------------------------------

_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?]*)\?=")
# An encoded word inside an angle-addr, or glued to the "@" of an addr-spec (through a quote).
_ENCODED_IN_ADDR_RE = re.compile(r"<[^<>]*=\?[^?]*\?[BbQq]\?|=\?[^?]*\?[BbQq]\?[^?]*\?=\"?\s*@")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SOMETHING_AT_SOMETHING_RE = re.compile(r"[^\s<>()\",;:@]+@[^\s<>()\",;:@]+")
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_LONE_ANGLE_ADDR_RE = re.compile(r"<([^<>]*)>")


def _unfold(raw: str) -> str:
    return _FOLD_RE.sub("", raw)


def _from_surrogates(value: str) -> str:
    """8-bit header bytes (kept as surrogate escapes) read as UTF-8, as RFC 6532 writes them."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decoded_words(value: str) -> list[str]:
    """The text of each RFC 2047 encoded word in ``value``, decoded leniently."""
    out: list[str] = []
    for match in _ENCODED_WORD_RE.finditer(value):
        charset, encoding, payload = match.group(1), match.group(2), match.group(3)
        try:
            if encoding.lower() == "b":
                data = base64.b64decode(payload + "=" * (-len(payload) % 4))
            else:
                data = quopri.decodestring(
                    payload.replace("_", " ").encode("ascii", "replace"), True
                )
        except (binascii.Error, ValueError):
            continue
        try:
            out.append(data.decode(charset.split("*", 1)[0], errors="replace"))
        except LookupError:
            out.append(data.decode("latin-1"))
    return out


# The commonest From header, "Sam Patel <sam.patel@example.org>" or a bare address: words of
# letters one space apart, then one address of dot-separated atoms of letters, digits, "_",
# "+" and "-". The modern parser reads such a header one way only, without defects (a test
# compares the two on thousands of them and on every header of the corpus), so it is read here
# in a regex rather than by the parser in Python (2 % of a worker's time, a From a message).
_ATOMS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
_LABELS = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_SIMPLE_FROM_RE = re.compile(
    rf"([A-Za-z]+(?: [A-Za-z]+)*) <({_ATOMS})@({_LABELS})>|({_ATOMS})@({_LABELS})"
)


def _parse_from(value: str) -> tuple[list[Address], list[HeaderDefect], bool, str]:
    """Addresses, defects, whether any came as a named group, and an error ("" if it parsed)."""
    simple = _SIMPLE_FROM_RE.fullmatch(value)
    if simple is not None:
        name, local, domain, bare_local, bare_domain = simple.groups()
        if name is None:
            local, domain = bare_local, bare_domain
        return [Address(display_name=name or "", username=local, domain=domain)], [], False, ""
    try:
        header = policy.default.header_factory("From", value)
        groups = list(header.groups)
        addresses = list(header.addresses)
        defects = list(header.defects)
    except Exception as exc:  # noqa: BLE001 - headerregistry raises ValueError and others on hostile input
        return [], [], False, type(exc).__name__
    named_group = any(group.display_name is not None for group in groups)
    return addresses, defects, named_group, ""


def _ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA for an internationalised one), or None if it cannot be."""
    domain = domain.strip().lower()
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _undeliverable(address: Address) -> tuple[str, str]:
    """("", ascii address) when this is a mailbox we can deliver to; (why, "") otherwise."""
    local, domain = address.username, address.domain
    if not local or not domain:
        return "no local part or no domain", ""
    if not local.isascii():
        # Needs SMTPUTF8 end to end; we cannot promise our relay has it.
        return "non-ASCII characters before the @", ""
    if "!" in local:
        return "a bang path (!), which routes mail", ""
    if "%" in local or "@" in local:
        return "source routing (% or a second @) in the local part", ""
    if domain.startswith("["):
        return "an address literal instead of a domain", ""
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return "a domain that cannot be written in ASCII", ""
    if "." not in ascii_domain.strip("."):
        return "no dot in the domain", ""
    labels = ascii_domain.split(".")
    if any(not _LABEL_RE.match(label) or len(label) > MAX_LABEL for label in labels):
        return "a domain that is not a valid host name", ""
    if labels[-1].isdigit():
        return "a domain that is a number", ""
    addr_spec = f"{Address(username=local, domain='x').addr_spec[:-2]}@{ascii_domain}"
    local_part = addr_spec.rsplit("@", 1)[0]
    if len(local_part.encode()) > MAX_LOCAL_PART:
        return f"a local part of {len(local_part)} characters (most is {MAX_LOCAL_PART})", ""
    if len(ascii_domain) > MAX_DOMAIN:
        return f"a domain of {len(ascii_domain)} characters (most is {MAX_DOMAIN})", ""
    if len(addr_spec) > MAX_PATH:
        return f"an address of {len(addr_spec)} characters (most is {MAX_PATH})", ""
    return "", addr_spec.lower()


def _candidate(addresses: Sequence[Address], unfolded: str) -> str:
    """The address a person is asked to confirm when the header is doubtful: the one clean
    address found, or the single angle-addr of the header read on its own. Only ever shown to a
    person, never written to without their confirmation."""
    for address in addresses:
        if address.username and address.domain:
            why, clean = _undeliverable(address)
            if not why:
                return clean
    angles = _LONE_ANGLE_ADDR_RE.findall(unfolded)
    if len(angles) == 1:
        inner, _defects, _group, error = _parse_from(f"<{angles[0]}>")
        if not error and len(inner) == 1:
            why, clean = _undeliverable(inner[0])
            if not why:
                return clean
    return ""  # nothing deliverable: a person reaches the resident another way


def _same_address_as_name(unfolded: str) -> str | None:
    """``jane@example.org <jane@example.org>``: some clients write the address unquoted as the
    display name. Against RFC 5322, but harmless when the two are the same address: the value
    is then re-read as the angle-addr alone."""
    match = re.fullmatch(r"\s*([^\s<>\"]+@[^\s<>\"]+)\s*<\s*([^<>\s]+)\s*>\s*", unfolded)
    if match and match.group(1).lower() == match.group(2).lower():
        return f"<{match.group(2)}>"
    return None


def _dmarc_failed(results: Sequence[str], trusted_ids: Collection[str]) -> str:
    """The authserv-id of one of *our* servers whose Authentication-Results says dmarc=fail.

    Anyone can write an Authentication-Results header into a message before it reaches us, so
    only those whose authserv-id (the first item, RFC 8601 section 2.2) is one of ours count;
    RFC 8601 section 5 has the receiving server remove forged ones bearing its own id."""
    wanted = {i.strip().lower() for i in trusted_ids if i.strip()}
    if not wanted:
        return ""
    for raw in results:
        value = re.sub(r"\([^()]*\)", " ", _unfold(raw))  # comments may hold anything
        head = value.split(";", 1)[0].strip().split()
        authserv_id = head[0].lower() if head else ""
        if authserv_id in wanted and re.search(r"(?:^|[;\s])dmarc\s*=\s*fail\b", value, re.I):
            return authserv_id
    return ""


def decide(
    facts: SenderFacts,
    *,
    trusted_authserv_ids: Collection[str] = (),
) -> RecipientDecision:
    """Decide whether automatic letters may go to the sender, and to which address.

    ``trusted_authserv_ids``: the authserv-ids of our own receiving servers (settings); an
    Authentication-Results header from anyone else is ignored.
    """
    reasons: list[TrustReason] = []
    raws = [r for r in facts.from_headers if r is not None]
    if len(raws) > 1:
        reasons.append(TrustReason("several_from_headers", f"{len(raws)} From lines"))
    raw = raws[0] if raws else ""
    unfolded = _from_surrogates(_unfold(raw))

    # Line breaks left after unfolding, or hidden in an encoded word, are header injection.
    words = _decoded_words(unfolded)
    if _CONTROL_RE.search(unfolded.replace("\t", " ")) or any(
        _CONTROL_RE.search(w.replace("\t", " ")) for w in words
    ):
        reasons.append(TrustReason("line_break"))
    if _ENCODED_IN_ADDR_RE.search(unfolded):
        reasons.append(TrustReason("encoded_word_in_address"))

    value = _same_address_as_name(unfolded) or unfolded
    addresses, defects, named_group, error = _parse_from(value)
    if error:
        reasons.append(TrustReason("unreadable", error))
    serious = [d for d in defects if not isinstance(d, ObsoleteHeaderDefect)]
    if serious:
        seen = "; ".join(dict.fromkeys(safe_header_value(str(d))[:80] for d in serious))
        reasons.append(TrustReason("malformed", seen[:200]))
    real = [a for a in addresses if a.username or a.domain]
    if named_group:
        reasons.append(TrustReason("group"))
    if len(real) > 1:
        reasons.append(TrustReason("several_addresses", f"{len(real)} addresses"))
    if not real and not error:
        reasons.append(TrustReason("no_address"))
        if re.search(r"[^\s<>\"]+![^\s<>\"]+@", unfolded):
            # The modern parser gives up on a bang path; say what it was.
            reasons.append(TrustReason("undeliverable", "a bang path (!), which routes mail"))

    address = ""
    if len(real) == 1:
        mailbox = real[0]
        if "=?" in mailbox.addr_spec:
            reasons.append(TrustReason("encoded_word_in_address"))
        name = mailbox.display_name or ""
        if _CONTROL_RE.search(name):
            reasons.append(TrustReason("line_break"))
        why, address = _undeliverable(mailbox)
        if why:
            reasons.append(TrustReason("undeliverable", why))
        for other in _SOMETHING_AT_SOMETHING_RE.findall(name):
            if other.strip(".'").lower() != mailbox.addr_spec.lower():
                reasons.append(
                    TrustReason("display_name_is_other_address", safe_header_value(other)[:100])
                )
                break

    authserv_id = _dmarc_failed(facts.authentication_results, trusted_authserv_ids)
    if authserv_id:
        reasons.append(TrustReason("dmarc_failed", f"reported by {authserv_id}"))

    machine = machine_sender(
        facts.headers,
        address or (real[0].addr_spec if len(real) == 1 else ""),
        body=facts.new_text,
    )
    for rule_text in machine.explanations:
        reasons.append(TrustReason("machine_sender", rule_text[:200]))

    unique = tuple(dict.fromkeys(reasons))
    if unique:
        return RecipientDecision(False, address or _candidate(real, unfolded), unique)
    return RecipientDecision(True, address, ())


def facts_of(parsed: ParsedMessage, new_text: str | None = None) -> SenderFacts:
    """The decision's facts from a parsed message (``new_text`` if already computed)."""
    return SenderFacts(
        from_headers=tuple(value for name, value in parsed.sender_headers if name == "from"),
        authentication_results=tuple(
            value for name, value in parsed.sender_headers if name == "authentication-results"
        ),
        headers=parsed.headers,
        new_text=parsed.new_text() if new_text is None else new_text,
    )


class UnusableAddress(ValueError):
    """A typed address the product must not write to; the message is one plain-English line."""


def typed_address(value: str) -> str:
    """The mailbox a person typed (a corrected sender address, a representative's), checked by
    the rules an automatic letter's address must meet: one address, no line break or encoded
    text, a deliverable mailbox. Returns it in lower case with the domain in ASCII; raises
    UnusableAddress saying what is wrong. A person may type ``Name <address>``: only the
    address is kept."""
    shown = safe_header_value(value).strip()[:100]
    text = value.strip()
    if not text:
        raise UnusableAddress("no address was given")
    if _CONTROL_RE.search(text.replace("\t", " ")):
        raise UnusableAddress(f"{shown!r} contains a line break or control character")
    if "=?" in text:
        raise UnusableAddress(f"{shown!r} contains encoded text, which a real address never does")
    addresses, defects, named_group, error = _parse_from(text)
    real = [a for a in addresses if a.username or a.domain]
    serious = [d for d in defects if not isinstance(d, ObsoleteHeaderDefect)]
    if error or named_group or len(real) > 1 or (serious and len(real) != 1):
        raise UnusableAddress(f"{shown!r} is not a single email address")
    if not real:
        raise UnusableAddress(f"{shown!r} is not an email address")
    if serious:
        raise UnusableAddress(f"{shown!r} is not written as a plain email address")
    mailbox = real[0]
    why, address = _undeliverable(mailbox)
    if why:
        raise UnusableAddress(f"{shown!r} is not a mailbox we can deliver to: {why}")
    for other in _SOMETHING_AT_SOMETHING_RE.findall(mailbox.display_name or ""):
        if other.strip(".'").lower() != mailbox.addr_spec.lower():
            raise UnusableAddress(f"{shown!r} names two different addresses")
    return address
