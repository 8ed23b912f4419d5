"""Text analysis shared by indexing and querying: the same terms on every runtime."""

from __future__ import annotations

import re
import unicodedata

from continuum.core.stemmer import stem

# Letters and digits only: FTS5's unicode61 and Postgres' `simple` parser split on
# everything else, so the stored term string tokenises back to exactly these terms.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don down during each few for from further had hadn has hasn have haven having he
    her here hers herself him himself his how i if in into is isn it its itself just ll
    me more most mustn my myself no nor not now of off on once only or other ought our ours
    ourselves out over own re same shan she should shouldn so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    ve very was wasn we were weren what when where which while who whom why will with won
    would wouldn you your yours yourself yourselves also got get gets getting yeah yes oh
    ok okay really just like d m s t
    """.split()
)

MAX_TERM_LENGTH = 64


def normalize(text: str) -> str:
    """Unicode-compatibility fold and case fold (so 'Ｃａｆé' and 'café' meet)."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    """Case-folded word tokens, before stopword removal and stemming."""
    return _WORD.findall(normalize(text))


def analyze(text: str) -> list[str]:
    """Index terms of a text, in order, with repeats (term frequency matters)."""
    terms = []
    for word in _WORD.findall(normalize(text)):
        if word in STOPWORDS or len(word) > MAX_TERM_LENGTH:
            continue
        terms.append(stem(word) if word.isascii() and word.isalpha() else word)
    return terms


def query_terms(text: str) -> list[str]:
    """Distinct query terms in first-seen order."""
    return list(dict.fromkeys(analyze(text)))
