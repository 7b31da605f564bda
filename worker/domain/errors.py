"""The product's exception tree.

Transient errors are retried with backoff (connection refused, SMTP 4xx); permanent ones are
quarantined with their reason and shown to staff (SMTP 5xx, unparsable mail). User errors become a
one-line message and exit status 2 on the command line.
"""

from __future__ import annotations


class ComplaintsError(Exception):
    """Base of every error the product raises on purpose."""


class UserError(ComplaintsError):
    """Bad input from a person: arguments, configuration, a form. Shown as one line, exit 2."""


class ConfigurationError(UserError):
    """A setting or the landlord profile is wrong; the message names the field."""


class TransientError(ComplaintsError):
    """Worth retrying later: the other side may recover (SMTP 4xx, connection refused)."""


class PermanentError(ComplaintsError):
    """Retrying will not help; the item is quarantined with this reason."""


class DeliveryUncertain(ComplaintsError):
    """The mail server may have taken the letter (the connection failed once DATA had begun):
    sending it again could give the resident a second copy, so a person checks instead."""


class MissingLetterElement(PermanentError):
    """A letter lacks an element the Code requires; it never reaches the outbox."""

    def __init__(self, kind: str, element: str) -> None:
        super().__init__(f"{kind} letter refused: required element '{element}' is missing")
        self.kind = kind
        self.element = element


class TransitionRefused(UserError):
    """A case change the Code forbids (e.g. stage 2 handled by the stage 1 handler, 6.13)."""
