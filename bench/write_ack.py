"""How long a write waits with embeddings on: the batch API's acknowledgement time,
without embeddings and with the background indexer busy embedding earlier batches.

    .venv/bin/python bench/write_ack.py [--conversation ../shared/bench/locomo/26.json] [--batches 3]

Each batch is one LoCoMo conversation's turns (the protocol's content) in fresh sessions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import local_server
from locomo import EMBEDDINGS_ENV, load_conversation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parents[2] / "shared/bench/locomo/26.json"
    parser.add_argument("--conversation", type=Path, default=default)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    memories, _ = load_conversation(args.conversation)
    for label, env in (("no embeddings", {}), ("local embeddings, background indexer", EMBEDDINGS_ENV)):
        with local_server(env) as (url, key):
            headers = {"X-API-Key": key, "X-Continuum-Tenant": "write-ack"}
            with httpx.Client(base_url=url, timeout=600, headers=headers) as client:
                if env:  # load the model before the clock starts
                    client.post("/v1/search", json={"query": "warm up", "mode": "semantic"})
                seconds = []
                for number in range(args.batches):
                    batch = [dict(m, session_id=f"{m['session_id']}-{number}") for m in memories]
                    began = time.perf_counter()
                    client.post("/v1/memories/batch", json={"memories": batch}).raise_for_status()
                    seconds.append(time.perf_counter() - began)
            shown = ", ".join(f"{s:.2f}" for s in seconds)
            print(f"{label}: {len(memories)} memories per batch acknowledged in {shown} s", flush=True)


if __name__ == "__main__":
    main()
