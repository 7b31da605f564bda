"""Is a reply about the same matter as its case? (Code 6.8.)

Related points raised before the stage 1 response join the open case; an unrelated issue is a new
complaint. Deciding that is a person's job: this only says when a reply shares no subject matter
with the complaint as we defined it, so that a handler is asked to look. It never splits a case.
"""

from __future__ import annotations

import re

# Words that say nothing about what a complaint is about.
_STOPWORDS = frozenset(
    """
    about above after again against also because been before being below between both came
    cannot could didn does doing done down during each even ever every first from further had
    hasn have having here hers himself however into itself just know last like made make many
    might more most much must myself never next once only other ought ours over really same
    said says should since some still such than thank thanks that their theirs them then there
    these they thing things think this those though through time times today told under until
    upon very want wanted well were what when where which while will with within without would
    write writing wrote year years your yours yourself please regards sincerely kind best dear
    complaint complain complaining complained unhappy happy issue issues problem problems
    matter reference email letter reply replying message information update news week weeks
    month months day days thrive landlord housing team someone anyone nobody everyone sent send
    """.split()
)
_WORD = re.compile(r"[a-z]{4,}")


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words of four letters or more, minus the stop list, with a plural 's' off."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS:
            continue
        if word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def seems_related(new_text: str, case_text: str) -> bool:
    """True unless both texts have subject words and share none of them."""
    new, old = content_words(new_text), content_words(case_text)
    if not new or not old:
        return True  # nothing to judge by: it stays with the case it replied to
    return bool(new & old)
