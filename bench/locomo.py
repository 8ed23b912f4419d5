"""LoCoMo retrieval benchmark through the public HTTP API.

Protocol: ../shared/bench/locomo/README.md. One memory per dialog turn, stored with
POST /v1/memories/batch (the turn's dia_id in metadata), each conversation in its own
tenant; each question is sent as-is to POST /v1/search; recall@k counts the evidence
turns among the top k results.

    python bench/locomo.py --data ../shared/bench/locomo --ids 26 30 41 42 43 [--url URL]

Without --url it starts `continuum serve` on a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import local_server, percentile, table

EVIDENCE = re.compile(r"^D\d+:\d+$")
KS = (5, 10, 20)


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


def run(url: str, admin_key: str | None, data: Path, ids: list[str], mode: str, limit: int = 20) -> dict[str, Any]:
    admin = {"X-API-Key": admin_key} if admin_key else {}
    recalls: dict[int, list[float]] = {k: [] for k in KS}
    server_ms: list[float] = []
    client_ms: list[float] = []
    stored = ingest_seconds = 0.0
    per_category: dict[Any, list[float]] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for conv_id in ids:
            memories, questions = load_conversation(data / f"{conv_id}.json")
            tenant = f"locomo-{conv_id}"
            headers = dict(admin)
            if admin_key:
                client.delete(f"/v1/tenants/{tenant}", headers=admin)
                key = client.post("/v1/keys", json={"tenant_id": tenant}, headers=admin)
                key.raise_for_status()
                headers = {"X-API-Key": key.json()["api_key"]}
            started = time.perf_counter()
            for start in range(0, len(memories), 1000):
                response = client.post(
                    "/v1/memories/batch", json={"memories": memories[start : start + 1000]}, headers=headers
                )
                response.raise_for_status()
                stored += sum(1 for r in response.json()["results"] if r["status"] == "stored")
            ingest_seconds += time.perf_counter() - started
            by_id: dict[str, str] = {}
            for question in questions:
                began = time.perf_counter()
                response = client.post(
                    "/v1/search", json={"query": question["question"], "limit": limit, "mode": mode}, headers=headers
                )
                client_ms.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
                body = response.json()
                server_ms.append(body["query_time_ms"])
                ranked = [r["metadata"].get("dia_id") for r in body["results"]]
                evidence = set(question["evidence"])
                for k in KS:
                    recalls[k].append(len(evidence & set(ranked[:k])) / len(evidence))
                per_category.setdefault(question["category"], []).append(
                    len(evidence & set(ranked[:10])) / len(evidence)
                )
            _ = by_id
    return {
        "questions": len(recalls[10]),
        **{f"recall@{k}": statistics.fmean(v) for k, v in recalls.items()},
        "server_p50_ms": percentile(server_ms, 50),
        "server_p95_ms": percentile(server_ms, 95),
        "client_p50_ms": percentile(client_ms, 50),
        "client_p95_ms": percentile(client_ms, 95),
        "memories_stored": int(stored),
        "ingest_per_second": stored / ingest_seconds if ingest_seconds else 0.0,
        "recall@10_by_category": {str(c): statistics.fmean(v) for c, v in sorted(per_category.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/bench/locomo")
    parser.add_argument("--ids", nargs="+", default=["26", "30", "41", "42", "43"])
    parser.add_argument("--url", help="A running server (default: start one on a temporary SQLite file).")
    parser.add_argument("--api-key", help="Admin key of --url (creates one tenant per conversation).")
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "lexical", "semantic"])
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()

    if args.url:
        result = run(args.url, args.api_key, args.data, args.ids, args.mode)
    else:
        with local_server() as (url, admin_key):
            result = run(url, admin_key, args.data, args.ids, args.mode)
    rows = [[
        f"continuum ({args.mode})", result["questions"], result["recall@5"], result["recall@10"],
        result["recall@20"], result["server_p50_ms"], result["server_p95_ms"], result["ingest_per_second"],
    ]]  # fmt: skip
    print(table(["method", "questions", "R@5", "R@10", "R@20", "p50 ms", "p95 ms", "ingest/s"], rows))
    print("recall@10 by category:", {k: round(v, 3) for k, v in result["recall@10_by_category"].items()})
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
