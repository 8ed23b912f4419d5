"""The end-to-end smoke every deployment runs: store, learn, recall, search, then the data
checked again (after a restart, through another instance)."""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass

import httpx


@dataclass
class Written:
    tenant_marker: str
    memory_id: str
    learned_ids: list[str]


def client(base_url: str, *, api_key: str | None = None, verify: bool | ssl.SSLContext = True) -> httpx.Client:
    headers = {"X-API-Key": api_key} if api_key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30.0, verify=verify)


def store_learn_recall_search(http: httpx.Client) -> Written:
    marker = f"zephyr{uuid.uuid4().hex[:8]}"
    stored = http.post("/v1/memories", json={"content": f"Kim owns the {marker} launch checklist",
                                             "metadata": {"team": "ops"}})  # fmt: skip
    assert stored.status_code == 201, stored.text
    learned = http.post("/v1/learn", json={
        "user_message": f"I decided to build the {marker} dashboard with FastAPI and PostgreSQL.",
        "ai_response": "Good choice. It will also want Redis for caching.",
        "session_id": "smoke",
    })  # fmt: skip
    assert learned.status_code in (200, 201), learned.text
    assert learned.json()["concepts_extracted"] > 0
    written = Written(marker, stored.json()["id"], learned.json()["memory_ids"])
    check_present(http, written)
    return written


def check_present(http: httpx.Client, written: Written) -> None:
    got = http.get(f"/v1/memories/{written.memory_id}")
    assert got.status_code == 200, got.text
    assert written.tenant_marker in got.json()["content"]
    recalled = http.post("/v1/recall", json={"message": f"What stack did we pick for {written.tenant_marker}?"})
    assert recalled.status_code == 200, recalled.text
    recalled_ids = {m["id"] for m in recalled.json()["memories"]}
    assert recalled_ids & set(written.learned_ids), recalled.json()
    found = http.post("/v1/search", json={"query": f"who owns the {written.tenant_marker} checklist", "limit": 5,
                                          "filters": {"metadata": {"team": "ops"}}})  # fmt: skip
    assert found.status_code == 200, found.text
    assert written.memory_id in [r["id"] for r in found.json()["results"]], found.json()
