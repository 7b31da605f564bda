"""Renders letters from ``letter_templates/<kind>/`` with Jinja2 (plain text and HTML).

A letter missing a required element is refused (``MissingLetterElement``) before anything is
rendered, so it never reaches the outbox. Undefined template variables are errors
(``StrictUndefined``), HTML is autoescaped (resident text can hold markup), and the rendered
subject must hold the case reference and no CR/LF: a line break there would let resident text
inject mail headers, so it is refused with ``ValueError`` rather than silently altered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from time import monotonic
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup, escape

from worker.domain.letters import check_required

DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "letter_templates"


@dataclass(frozen=True)
class RenderedLetter:
    kind: str
    ref: str
    subject: str
    text: str
    html: str


def _href(address: str) -> str:
    """A link target for a web address written as residents see it (``www.x.org.uk/...``)."""
    return address if "://" in address else f"https://{address}"


def _tel(number: str) -> str:
    return "tel:" + "".join(ch for ch in number if ch.isdigit() or ch == "+")


def _paragraphs(text: object) -> Markup:
    """Free text (often the resident's own words) as escaped HTML paragraphs."""
    blocks = [b.strip() for b in str(text).replace("\r\n", "\n").split("\n\n")]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in b.split("\n")))
        for b in blocks
        if b
    )


# How long a compiled template is used before Jinja looks at its file again. Jinja's own check
# (a stat per template, three per letter, plus resolving the folder) was a tenth of the route
# stage's time; an edited template still takes effect without a restart, within this time.
RECHECK_SECONDS: float = 2.0


class _RecheckingLoader(FileSystemLoader):
    """Jinja looks at a template's file for a change each time the template is used, and a
    letter uses four to six (its body, the base it extends, the parts it includes): a stat each.
    This loader lets it look at most every ``RECHECK_SECONDS`` a template, so that an edited
    file, included ones too, still takes effect within that time without a restart."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        checked = monotonic()

        def recheck() -> bool:
            nonlocal checked
            now = monotonic()
            if now - checked < RECHECK_SECONDS:
                return True
            checked = now
            return uptodate()

        return source, filename, recheck


class _LetterEnvironment(Environment):
    """Each template's globals as one dict rather than Jinja's ChainMap over the environment's:
    Jinja makes a set of their names for every template rendered (four to six a letter), and
    going through a ChainMap's maps for that was a tenth of rendering. The letter environment's
    globals are never changed once it is made, which is all the ChainMap was there to follow."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``landlord.name`` on a plain dict: its item, as Jinja's own ``getattr`` gives it, but
        without first raising and catching an AttributeError (Jinja tries the attribute first;
        a letter's context is nested dicts, about 37 look-ups a letter). A name that is an
        attribute of dict (``items``, ``get``) still gives the attribute, as in Jinja."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except LookupError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))


@lru_cache(maxsize=8)
def environment(template_dir: Path = DEFAULT_TEMPLATE_DIR) -> Environment:
    """The Jinja2 environment for one template folder (cached: templates compile once)."""
    env = _LetterEnvironment(
        loader=_RecheckingLoader(str(template_dir)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["href"] = _href
    env.filters["tel"] = _tel
    env.filters["paragraphs"] = _paragraphs
    return env


@lru_cache(maxsize=8)
def _resolved(template_dir: Path) -> Path:
    return template_dir.resolve()


_templates: dict[tuple[Path, str], tuple[float, Template]] = {}


def _template(folder: Path, name: str) -> Template:
    key = (folder, name)
    now = monotonic()
    cached = _templates.get(key)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[1]
    template = environment(folder).get_template(name)  # Jinja reloads it if the file changed
    _templates[key] = (now, template)
    return template


def render_letter(
    kind: str, context: Mapping[str, object], template_dir: Path | None = None
) -> RenderedLetter:
    """Check the required elements of ``kind``, then render its subject, text and HTML.

    Raises ``MissingLetterElement`` for a missing element, ``ValueError`` for an unknown kind, a
    context built for another kind, or a subject without the reference or with a line break.
    """
    check_required(kind, context)  # raises ValueError for an unknown kind, before any I/O
    if context.get("kind", kind) != kind:
        raise ValueError(f"context was built for {context.get('kind')!r}, not {kind!r}")
    ref = str(context["ref"])
    folder = _resolved(template_dir or DEFAULT_TEMPLATE_DIR)

    subject = _template(folder, f"{kind}/subject.txt").render(context).strip()
    if "\r" in subject or "\n" in subject:
        raise ValueError(f"{kind} subject contains a line break (header injection refused)")
    if ref not in subject:
        raise ValueError(f"{kind} subject does not carry the case reference {ref!r}")

    full = {**context, "subject": subject}
    text = _template(folder, f"{kind}/body.txt").render(full)
    html = _template(folder, f"{kind}/body.html").render(full)
    return RenderedLetter(kind=kind, ref=ref, subject=subject, text=text, html=html)


__all__ = ["DEFAULT_TEMPLATE_DIR", "RenderedLetter", "environment", "render_letter"]
