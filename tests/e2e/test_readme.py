"""The README's first conversation, run for real on every target: what it shows is what the server answers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _documented_context() -> str:
    """The context sample in the README's recall comment (two comment lines), cut at its '...'."""
    text = README.read_text(encoding="utf-8")
    lines = text[text.index('# {"context": "') :].splitlines()
    joined = lines[0].removeprefix('# {"context": "') + " " + lines[1].removeprefix("#   ")
    return joined.split("\\n...")[0]


def test_the_recall_example_matches_the_server(tenant) -> None:
    _, client = tenant
    learned = client.post("/v1/learn", json={
        "user_message": "I decided to build the Orion dashboard with FastAPI and PostgreSQL.",
        "ai_response": "Good choice. Orion will also want Redis for caching.",
        "session_id": "s1",
    })  # fmt: skip
    assert learned.status_code == 200, learned.text
    assert learned.json()["concepts_extracted"] == 4
    recalled = client.post("/v1/recall", json={"message": "What stack did we pick for Orion?"})
    context = STAMP.sub("<time>", recalled.json()["context"])
    header, first = STAMP.sub("<time>", _documented_context()).split("\\n", 1)
    lines = context.split("\n")
    assert lines[0] == header
    assert lines[1] == first
