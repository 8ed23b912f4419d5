"""Concept and decision extraction: rules, no model, microseconds per turn.

Concepts are names (capitalised phrases), quoted terms and technical terms
(CamelCase, snake_case, dotted.names, ACRONYMS, words with digits, file names).
Decisions are first-person statements of a choice ("I decided to ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from continuum.core.text import STOPWORDS, normalize

MAX_CONCEPTS_PER_TEXT = 24
MAX_CONCEPT_LENGTH = 80


@dataclass(frozen=True)
class Concept:
    """A concept found in text: its name and how it was recognised."""

    name: str
    kind: str  # "name" | "quoted" | "technical"

    @property
    def key(self) -> str:
        return concept_key(self.name)


def concept_key(name: str) -> str:
    """The identity of a concept: case- and width-insensitive, spaces collapsed."""
    return " ".join(normalize(name).split())


_QUOTED = re.compile(r"[\"“”«»`]([^\"“”«»`\n]{2,60})[\"“”«»`]")
_TECHNICAL = re.compile(
    r"""
    (?<![\w.])(
        [A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+(?:\(\))?   # dotted.names, file.ext, call()
      | [a-z]+(?:_[a-z0-9]+)+                           # snake_case
      | [a-z]+[A-Z][A-Za-z0-9]*                         # camelCase
      | [A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+               # PascalCase
      | [A-Za-z]+-?[0-9]+(?:\.[0-9]+)*                  # gpt-4, Python3, v2.1
      | [A-Z]{2,}[0-9]*s?                               # ACRONYMS, S3
      | [a-z]+(?:-[a-z0-9]+)+(?=\s|$|[,.;:!?)])         # kebab-case ids
    )(?![\w])
    """,
    re.VERBOSE,
)
_CAPITALISED = re.compile(
    r"\b([A-Z][A-Za-z'’-]*(?:\s+(?:of|de|van|von|la|du|del|the)?\s*[A-Z][A-Za-z'’-]*)*)(?![\w.-]*\d)"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*|[:;]\s+|[\"“(]\s*)$")

# Capitalised words that are ordinary at the start of a sentence or in chat.
_COMMON_CAPITALISED = STOPWORDS | frozenset(
    """
    hey hi hello thanks thank sure great wow well so yes yeah no not oh ok okay sorry
    please let lets maybe anyway also actually hmm haha lol cool nice awesome good
    today tomorrow yesterday monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december
    i'm i've i'll i'd it's that's what's there's here's can't don't didn't won't
    noted absolutely definitely congrats congratulations perfect exactly indeed right true
    agreed done glad happy hope wish remember check try make keep look note tell think perhaps
    probably honestly basically seriously totally interesting amazing wonderful fantastic
    beautiful lovely yay wait plus still even something anything everything nothing someone
    everyone nobody last next first later soon since although though however therefore
    meanwhile besides instead otherwise unfortunately luckily hopefully thankfully obviously
    apparently sounds means feels looks seems love enjoy welcome bye goodbye cheers ah uh um
    whoa ugh aww hehe omg btw fyi yep nope alright fine nice sweet neat best better oops
    excellent brilliant true sad sounds hopefully anyways thx ty np glad
    """.split()
)
_KEBAB_NOISE = frozenset({"e-mail", "t-shirt", "x-ray"})

_DECISION = re.compile(
    r"""(?ix)
    \b(?:i|we)\s*(?:'ve|\s+have|'d|\s+had)?\s*
    (?:decided|chose|chosen|opted|committed|settled|resolved|agreed)
    (?:\s+(?:to|on|that|for))?\s+
    (?P<what>(?:[^.!?\n]|\.(?=\S)){3,200})
    | \b(?:i|we)(?:'m|\s+am|'re|\s+are)\s+going\s+(?:to|with)\s+(?P<what2>[^.!?\n]{3,200})
    | \b(?:i|we)(?:'ll|\s+will)\s+(?:go\s+with|use|switch\s+to|stick\s+with)\s+(?P<what3>[^.!?\n]{2,200})
    | \blet'?s\s+go\s+with\s+(?P<what4>[^.!?\n]{2,200})
    | \b(?:the\s+)?decision\s+(?:is|was)\s+(?:to\s+)?(?P<what5>[^.!?\n]{3,200})
    """
)


def _add(found: dict[str, Concept], name: str, kind: str) -> None:
    name = " ".join(name.split()).strip(" '’-.,")
    if len(name) < 2 or len(name) > MAX_CONCEPT_LENGTH:
        return
    key = concept_key(name)
    if key in STOPWORDS or key in _COMMON_CAPITALISED or key in found:
        return
    found[key] = Concept(name=name, kind=kind)


def _is_contraction(word: str) -> bool:
    head, sep, _ = normalize(word).replace("’", "'").partition("'")
    return bool(sep) and head in _COMMON_CAPITALISED


def extract_concepts(text: str) -> list[Concept]:
    """Concepts in order of first appearance, at most MAX_CONCEPTS_PER_TEXT."""
    found: dict[str, Concept] = {}
    for match in _QUOTED.finditer(text):
        quoted = match.group(1).strip()
        if len(quoted.split()) <= 6:
            _add(found, quoted, "quoted")
    for match in _TECHNICAL.finditer(text):
        term = match.group(1)
        if term.lower() in _KEBAB_NOISE or term.endswith(".") or term[0].isdigit():
            continue
        # "e.g", "i.e" and sentence-joined words like "it.The" are not technical terms.
        if "." in term and normalize(term.split(".", 1)[0]) in STOPWORDS | {"e", "i"}:
            continue
        _add(found, term, "technical")
    for match in _CAPITALISED.finditer(text):
        phrase = match.group(1)
        words = phrase.split()
        at_start = bool(_SENTENCE_START.search(text[: match.start()]))
        if at_start and len(words) == 1 and normalize(words[0]) in _COMMON_CAPITALISED:
            continue
        while words and normalize(words[0].strip("'’")) in _COMMON_CAPITALISED:
            words = words[1:]
        while words and normalize(words[-1]) in {"of", "de", "van", "von", "la", "du", "del", "the"}:
            words = words[:-1]
        if not words:
            continue
        candidate = " ".join(words)
        if candidate.isupper() and len(words) == 1:
            continue  # acronyms come from the technical pass
        candidate = re.sub(r"['’]s$", "", candidate)
        if len(words) == 1 and _is_contraction(candidate):
            continue
        key = concept_key(candidate)
        if any(key in existing for existing in found):
            continue  # already inside a quoted title or a longer name
        _add(found, candidate, "name")
    return list(found.values())[:MAX_CONCEPTS_PER_TEXT]


def extract_decisions(text: str) -> list[str]:
    """Sentences in which the speaker records a decision, trimmed."""
    decisions = []
    for match in _DECISION.finditer(text):
        what = next(g for g in match.groups() if g)
        sentence = match.group(0).strip().rstrip(",;:")
        if len(what.split()) >= 1 and sentence not in decisions:
            decisions.append(sentence[:300])
    return decisions
