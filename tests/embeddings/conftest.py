"""The real local model (loaded once per session) and a real OpenAI-compatible HTTP
endpoint serving its vectors, for the embedding tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from continuum.embeddings.local import LocalEmbedder


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    embedder = LocalEmbedder()
    embedder.load()
    return embedder


@dataclass
class EmbeddingEndpoint:
    """`POST /v1/embeddings` answered from the local model, like any OpenAI-compatible server.

    `mode` switches behaviour at run time: "ok", "fail" (HTTP 500), "garbage" (200, no data).
    Answers list the items in reverse order (with their index), as the protocol allows.
    """

    url: str
    api_key: str
    mode: str = "ok"
    requests: list[dict] = field(default_factory=list)


@pytest.fixture(scope="session")
def embedding_endpoint(local_embedder: LocalEmbedder) -> Iterator[EmbeddingEndpoint]:
    state = EmbeddingEndpoint(url="", api_key="sk-test-" + "x" * 24)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/v1/embeddings":
                return self._send(404, {"error": {"message": "not found"}})
            if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                return self._send(401, {"error": {"message": "bad key"}})
            state.requests.append(body)
            if state.mode == "fail":
                return self._send(500, {"error": {"message": "overloaded"}})
            if state.mode == "garbage":
                return self._send(200, {"object": "list"})
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = local_embedder.embed_sync(texts)
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
            return self._send(200, {"object": "list", "data": data[::-1], "model": body.get("model")})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()
