"""What mem0's own client (PyPI `mem0ai`, `MemoryClient` and `AsyncMemoryClient`), unchanged
but for `host`, must be able to do against a CONTINUUM deployment: every method that maps
onto memory operations, the hosted-only ones answering a clear error, tenant isolation and
bad input (never a 500). Run on every e2e target (tests/e2e/test_mem0.py) and through the
Lambda function (tests/lambda/test_mem0.py).
"""

from __future__ import annotations

import os

os.environ["MEM0_TELEMETRY"] = "False"  # before mem0 is imported: it otherwise posts to an outside host

import asyncio
import itertools
import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from mem0.exceptions import MemoryError as Mem0Error
from mem0.exceptions import MemoryNotFoundError, ValidationError

from mem0 import AsyncMemoryClient, MemoryClient


def texts(results: list[dict]) -> list[str]:
    return sorted(r["memory"] for r in results)


def wrong_key_fails_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match=r"Error: .*(key|credential)"):
        MemoryClient(api_key="ck_not-a-key", host=url)


def every_method_of_the_sync_client(mem0: MemoryClient) -> None:
    added = mem0.add(
        [{"role": "user", "content": "I love hiking in the Alps"}, {"role": "assistant", "content": "Noted, the Alps"}],
        user_id="alice", agent_id="planner", metadata={"topic": "travel", "rating": 5},
    )  # fmt: skip
    assert added["status"] == "SUCCEEDED"
    assert [r["event"] for r in added["results"]] == ["ADD", "ADD"]
    assert {r["user_id"] for r in added["results"]} == {"alice"}
    event = mem0.client.get(f"/v1/event/{added['event_id']}/").json()
    assert (event["status"], len(event["results"])) == ("SUCCEEDED", 2)

    then = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    mem0.add("Bob prefers tea over coffee", user_id="bob", app_id="kitchen", run_id="r1", timestamp=then)
    mem0.add("Alice's passport expires soon", filters={"user_id": "alice"}, metadata={"topic": "admin", "rating": 2})
    mem0.add([{"role": "user", "content": "hello"}], user_id="carol", infer=True)

    everything = mem0.get_all(filters={"user_id": "*"})
    assert everything["count"] == 5
    alice = mem0.get_all(filters={"user_id": "alice"})
    assert texts(alice["results"]) == ["Alice's passport expires soon", "I love hiking in the Alps", "Noted, the Alps"]
    first = mem0.get_all(filters={"user_id": "alice"}, page=1, page_size=2)
    second = mem0.get_all(filters={"user_id": "alice"}, page=2, page_size=2)
    assert first["count"] == 3 and first["next"] and first["previous"] is None and second["next"] is None
    assert len({r["id"] for r in first["results"] + second["results"]}) == 3

    bob = mem0.get_all(filters={"AND": [{"app_id": "kitchen"}, {"run_id": "r1"}]})["results"]
    assert [(b["user_id"], b["app_id"], b["run_id"], b["created_at"][:10]) for b in bob] == [
        ("bob", "kitchen", "r1", "2024-03-01")
    ]
    old = mem0.get_all(filters={"created_at": {"lt": "2025-01-01"}})["results"]
    assert texts(old) == ["Bob prefers tea over coffee"]
    rated = mem0.get_all(filters={"AND": [{"user_id": "alice"}, {"metadata": {"rating": {"gte": 3}}}]})
    assert texts(rated["results"]) == ["I love hiking in the Alps", "Noted, the Alps"]
    either = mem0.get_all(filters={"OR": [{"user_id": "bob"}, {"user_id": "carol"}], "NOT": [{"run_id": "r1"}]})
    assert texts(either["results"]) == ["hello"]
    contains = mem0.get_all(filters={"memory": {"icontains": "ALPS"}, "agent_id": {"in": ["planner", "x"]}})
    assert texts(contains["results"]) == ["I love hiking in the Alps", "Noted, the Alps"]

    found = mem0.search("hiking alps", filters={"user_id": "alice"}, top_k=5)["results"]
    assert found and found[0]["memory"] == "I love hiking in the Alps"
    assert all(r["user_id"] == "alice" for r in found)
    assert found[0]["score"] > 0 and found[0]["score_breakdown"]["lexical"] > 0
    assert mem0.search("hiking alps", filters={"user_id": "bob"})["results"] == []
    assert mem0.search("hiking alps", filters={"user_id": "alice"}, top_k=1)["results"][0]["id"] == found[0]["id"]
    assert mem0.search("hiking alps", filters={"user_id": "alice"}, threshold=1e9)["results"] == []
    only_travel = mem0.search("alps passport", filters={"user_id": "alice", "topic": {"ne": "travel"}})["results"]
    assert texts(only_travel) == ["Alice's passport expires soon"]

    target = found[0]["id"]
    got = mem0.get(target)
    assert (got["memory"], got["user_id"], got["agent_id"], got["metadata"]) == (
        "I love hiking in the Alps", "alice", "planner", {"topic": "travel", "rating": 5},
    )  # fmt: skip
    updated = mem0.update(target, text="I love hiking in the Dolomites", metadata={"topic": "travel", "rating": 4})
    assert (updated["memory"], updated["user_id"], updated["metadata"]["rating"]) == (
        "I love hiking in the Dolomites", "alice", 4,
    )  # fmt: skip
    history = mem0.history(target)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "I love hiking in the Alps"),
        ("UPDATE", "I love hiking in the Alps", "I love hiking in the Dolomites"),
    ]

    entities = {(e["type"], e["name"]): e["total_memories"] for e in mem0.users()["results"]}
    assert entities == {
        ("user", "alice"): 3, ("agent", "planner"): 2, ("user", "bob"): 1, ("app", "kitchen"): 1,
        ("run", "r1"): 1, ("user", "carol"): 1,
    }  # fmt: skip

    ids = [r["id"] for r in alice["results"]]
    mem0.batch_update([{"memory_id": ids[0], "text": "batch edited"}, {"memory_id": ids[1], "metadata": {"b": 1}}])
    assert mem0.get(ids[0])["memory"] == "batch edited" and mem0.get(ids[1])["metadata"] == {"b": 1}

    assert mem0.delete(target)["message"]
    with pytest.raises(MemoryNotFoundError):
        mem0.get(target)
    assert mem0.history(target)[-1]["event"] == "DELETE"

    mem0.delete_all(user_id="carol")
    assert mem0.get_all(filters={"user_id": "carol"})["count"] == 0
    assert mem0.get_all(filters={"user_id": "bob"})["count"] == 1  # never wider than asked
    mem0.delete_users(user_id="bob")
    assert mem0.get_all(filters={"user_id": "bob"})["count"] == 0
    left = [r["id"] for r in mem0.get_all(filters={"user_id": "alice"})["results"]]
    mem0.batch_delete([{"memory_id": i} for i in left])
    assert mem0.get_all(filters={})["count"] == 0
    mem0.add("one more", agent_id="solo")
    mem0.reset()  # every entity, one by one
    assert mem0.get_all(filters={})["count"] == 0


def hosted_platform_methods_answer_a_clear_error(mem0: MemoryClient) -> None:
    for call in (
        lambda: mem0.get_summary(),
        lambda: mem0.create_memory_export("{}", user_id="a"),
        lambda: mem0.get_memory_export(user_id="a"),
        lambda: mem0.feedback("m", "POSITIVE"),
        lambda: mem0.get_profile("alice"),
        lambda: mem0.get_project(),
        lambda: mem0.project.get(),
        lambda: mem0.project.get_members(),
        lambda: mem0.get_webhooks("default"),
    ):
        with pytest.raises(Mem0Error, match="hosted platform"):
            call()


def bad_input_is_a_clear_4xx(mem0: MemoryClient) -> None:
    cases = {
        "unknown operator": lambda: mem0.get_all(filters={"user_id": {"like": "a"}}),
        "must be a list": lambda: mem0.search("x", filters={"OR": {"user_id": "a"}}),
        "not an ISO 8601": lambda: mem0.get_all(filters={"created_at": {"gt": "yesterday"}}),
        "never deletes everything": lambda: mem0.delete_all(),
        "messages": lambda: mem0.add([{"role": "user", "content": 42}], user_id="a"),
        "role": lambda: mem0.add([{"role": "robot", "content": "hi"}], user_id="a"),
        "top_k": lambda: mem0.search("x", top_k=0),
        "timestamp": lambda: mem0.add("x", user_id="a", timestamp="last week"),
        "expiration_date": lambda: mem0.add("x", user_id="a", expiration_date="2000-01-01"),
        "user_id": lambda: mem0.add("x", user_id="a" * 500),
        "entity type": lambda: mem0.client.delete("/v2/entities/planet/earth/").raise_for_status(),
        "memory_id": lambda: mem0.batch_delete([{"id": "x"}]),
    }
    for expected, call in cases.items():
        with pytest.raises((ValidationError, httpx.HTTPStatusError)) as caught:
            call()
        message = caught.value.response.json()["detail"] if isinstance(caught.value, httpx.HTTPStatusError) else str(
            caught.value
        )
        assert expected in message, (expected, message)
    with pytest.raises(MemoryNotFoundError):
        mem0.update("01ARZ3NDEKTSV4RRFFQ69G5FAV", text="x")
    with pytest.raises(MemoryNotFoundError):
        mem0.history("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    raw = mem0.client.post("/v3/memories/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert raw.status_code == 400 and "not valid JSON" in raw.json()["detail"]
    raw = mem0.client.post("/v3/memories/search/", json=["a", "list"])
    assert raw.status_code == 400 and "JSON object" in raw.json()["detail"]
    odd = [None, True, -1, 1e300, "", "x" * 300, [], [1], {}, {"AND": 1}, {"created_at": {"gt": 1e300}}, "\u0000"]
    routes = [("POST", "/v3/memories/add/"), ("POST", "/v3/memories/"), ("POST", "/v3/memories/search/"),
              ("POST", "/v2/memories/search/"), ("PUT", "/v1/batch/"), ("DELETE", "/v1/batch/")]  # fmt: skip
    fields = ("messages", "filters", "metadata", "user_id", "timestamp", "expiration_date", "top_k", "threshold",
              "page_size", "memories")  # fmt: skip
    for (method, path), field, value in itertools.product(routes, fields, odd):
        answer = mem0.client.request(method, path, json={"messages": "hi", "query": "hi", field: value})
        assert answer.status_code < 500, (method, path, field, value, answer.text)
        assert answer.status_code < 300 or answer.json()["detail"], (method, path, field, value)


def tenants_never_see_or_change_each_others_memories(url: str, key_a: str, key_b: str) -> None:
    a, b = (MemoryClient(api_key=k, host=url) for k in (key_a, key_b))
    try:
        mine = a.add("the secret launch code is 42", user_id="shared-name")["results"][0]["id"]
        b.add("nothing to see", user_id="shared-name")
        event = a.add("another", user_id="x")["event_id"]
        assert texts(b.get_all(filters={"user_id": "shared-name"})["results"]) == ["nothing to see"]
        assert b.search("secret launch code", filters={"user_id": "shared-name"})["results"] == []
        for call in (
            lambda: b.get(mine), lambda: b.update(mine, text="stolen"), lambda: b.delete(mine),
            lambda: b.history(mine), lambda: b.batch_update([{"memory_id": mine, "text": "stolen"}]),
            lambda: b.batch_delete([{"memory_id": mine}]),
        ):  # fmt: skip
            with pytest.raises(MemoryNotFoundError):
                call()
        assert b.client.get(f"/v1/event/{event}/").status_code == 404
        b.delete_all(user_id="shared-name")
        assert {(e["type"], e["name"]) for e in b.users()["results"]} == set()
        assert a.get(mine)["memory"] == "the secret launch code is 42"
        assert a.history(mine)[0]["new_memory"] == "the secret launch code is 42"
    finally:
        a.client.close()
        b.client.close()


def the_async_client(url: str, key: str) -> None:
    async def run() -> None:
        client = AsyncMemoryClient(api_key=key, host=url)
        async with client:
            added = await client.add("Dana runs marathons", user_id="dana", metadata={"sport": "running"})
            memory_id = added["results"][0]["id"]
            await client.add([{"role": "user", "content": "Dana swims too"}], user_id="dana", run_id="s1")
            listed = await client.get_all(filters={"user_id": "dana"}, page=1, page_size=10)
            assert listed["count"] == 2
            found = (await client.search("marathons", filters={"user_id": "dana"}))["results"]
            assert found[0]["id"] == memory_id and "score" in found[0]
            assert (await client.get(memory_id))["metadata"] == {"sport": "running"}
            await client.update(memory_id, text="Dana runs ultramarathons")
            assert [h["event"] for h in await client.history(memory_id)] == ["ADD", "UPDATE"]
            assert {e["name"] for e in (await client.users())["results"]} == {"dana", "s1"}
            others = (await client.get_all(filters={"run_id": "s1"}))["results"]
            await client.batch_update([{"memory_id": others[0]["id"], "text": "Dana swims daily"}])
            await client.batch_delete([{"memory_id": others[0]["id"]}])
            await client.delete(memory_id)
            await client.add("again", user_id="dana")
            await client.delete_all(user_id="dana")
            await client.add("and again", agent_id="coach")
            await client.delete_users(agent_id="coach")
            assert (await client.get_all(filters={}))["count"] == 0
            with pytest.raises(MemoryNotFoundError):
                await client.get(memory_id)

    asyncio.run(run())


def the_1x_routes_as_mem0ai_1x_sends_them(url: str, key: str) -> None:
    """The shapes mem0ai 1.0.x sends: POST /v1/memories/ (add), POST /v2/memories/ (get_all,
    a bare array), POST /v2/memories/search/ (a bare array); run with the real 1.x client
    in `mem0_1x_client` when its environment exists."""
    headers = {"Authorization": f"Token {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as raw:
        added = raw.post("/v1/memories/", json={
            "messages": [{"role": "user", "content": "Erin collects stamps"}], "user_id": "erin",
            "async_mode": True, "output_format": "v1.1",
        })  # fmt: skip
        assert added.status_code == 200, added.text
        listed = raw.post("/v2/memories/", json={"filters": {"user_id": "erin"}}).json()
        assert isinstance(listed, list) and [m["memory"] for m in listed] == ["Erin collects stamps"]
        paged = raw.post("/v2/memories/", json={"user_id": "erin"}, params={"page": 1, "page_size": 5}).json()
        assert paged["count"] == 1
        found = raw.post("/v2/memories/search/", json={"query": "stamps", "user_id": "erin", "top_k": 3}).json()
        assert isinstance(found, list) and found[0]["memory"] == "Erin collects stamps"
        assert raw.post("/v2/memories/search/", json={"query": "stamps", "user_id": "nobody"}).json() == []


def a_timestamp_is_the_memorys_time(mem0: MemoryClient) -> None:
    when = time.time() - 86400 * 400
    mem0.add("an old note about gardening", user_id="f", timestamp=when)
    got = mem0.get_all(filters={"user_id": "f"})["results"][0]
    assert abs(datetime.fromisoformat(got["created_at"].replace("Z", "+00:00")).timestamp() - when) < 1


REPO = Path(__file__).resolve().parents[2]
MEM0_1X_SCRIPT = """
import json, sys
from mem0 import MemoryClient
url, key = sys.argv[1], sys.argv[2]
c = MemoryClient(api_key=key, host=url)
added = c.add([{"role": "user", "content": "Gina grows tomatoes"}], user_id="gina", metadata={"plot": 7})
mid = added["results"][0]["id"]
listed = c.get_all(user_id="gina")
paged = c.get_all(user_id="gina", page=1, page_size=10)
found = c.search("tomatoes", user_id="gina")
c.update(mid, text="Gina grows peppers")
out = {
    "listed": [m["memory"] for m in listed["results"]], "paged": paged["count"],
    "found": [m["memory"] for m in (found["results"] if isinstance(found, dict) else found)],
    "got": c.get(mid)["memory"], "history": [h["event"] for h in c.history(mid)],
    "users": sorted(e["name"] for e in c.users()["results"]),
}
c.delete_all(user_id="gina")
out["after"] = len(c.get_all(user_id="gina")["results"])
print(json.dumps(out))
"""


def mem0_1x_python() -> str:
    python = os.environ.get("MEM0_1X_PYTHON") or str(REPO / ".venv-mem0-1x" / "bin" / "python")
    assert Path(python).exists(), f"mem0ai 1.x environment missing: run .ci/setup.d/65-mem0-1x.sh ({python})"
    return python


def the_1x_client(url: str, key: str) -> None:
    """The real mem0ai 1.x MemoryClient (its own environment), as a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["MEM0_TELEMETRY"] = "False"
    done = subprocess.run(
        [mem0_1x_python(), "-c", MEM0_1X_SCRIPT, url, key], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {
        "listed": ["Gina grows tomatoes"], "paged": 1, "found": ["Gina grows tomatoes"], "got": "Gina grows peppers",
        "history": ["ADD", "UPDATE"], "users": ["gina"], "after": 0,
    }  # fmt: skip
