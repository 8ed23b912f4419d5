"""The retrieval plan: which signals run for one request, decided once.

Built from the ranking config (what the deployment allows), the request (what the
caller asks: a recall, or a search in one mode) and whether an embedder is present.
Retrieval only reads the plan; nothing downstream decides again.
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

from typing import NamedTuple

from continuum.core.ranking import asks_for_time
from continuum.core.ranking_config import RankingConfig


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class RetrievalPlan(NamedTuple):
    limit: int
    max_concepts: int
    lexical: bool
    graph: bool
    dense: bool
    context: bool  # neighbouring turns are fetched and lend their scores
    temporal: bool  # the text asks for a time: memories that place something in time gain
    recency: bool
    lexical_candidates: int
    dense_candidates: int


def plan_retrieval(
    config: RankingConfig,
    text: str,
    *,
    limit: int,
    max_concepts: int = 10,
    mode: str = "hybrid",
    has_embedder: bool,
) -> RetrievalPlan:
    """A recall runs as a `hybrid` search; `lexical` and `semantic` searches drop the
    other signals (and the graph, which only expands lexical terms)."""
    lexical = config.lexical and mode != "semantic"
    dense = has_embedder and mode != "lexical"
    graph = config.graph and mode == "hybrid" and lexical
    if not lexical and not dense:
        lexical = True  # something must rank: lexical is always available
    return RetrievalPlan(
        limit=limit,
        max_concepts=max_concepts,
        lexical=lexical,
        graph=graph,
        dense=dense,
        context=config.context and config.context_weight > 0,
        temporal=config.time and config.time_boost > 0 and asks_for_time(text),
        recency=config.recency,
        lexical_candidates=max(config.candidates, limit * 5),
        dense_candidates=max(config.dense_candidates, limit * 3),
    )
