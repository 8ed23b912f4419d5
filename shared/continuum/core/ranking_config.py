"""Which ranking signals take part, and their weights: plain data, cheap to import
(the engine builds its retriever, and imports the ranking code, only on first search)."""

# No `from __future__ import annotations` here: typing.NamedTuple compiles each string
# annotation (a ForwardRef), which doubles what defining it costs on every cold start.

from typing import NamedTuple


# A NamedTuple, not a frozen dataclass: as immutable and comparable, and several times
# cheaper to define, which every Lambda cold start pays for.
class RankingConfig(NamedTuple):
    """Which signals take part, and their few weights. Defaults: the best general recall."""

    lexical: bool = True
    graph: bool = True
    context: bool = True
    time: bool = True
    recency: bool = True
    candidates: int = 150
    dense_candidates: int = 100
    vector_scan_limit: int = 20_000
    context_anchors: int = 20
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    dense_floor: float = 0.1
    graph_term_weight: float = 0.35
    hub_share: float = 0.05
    second_hop: float = 0.5
    context_weight: float = 0.7
    time_boost: float = 0.2
    recency_weight: float = 0.02
