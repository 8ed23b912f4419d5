"""Any OpenAI-compatible embeddings endpoint (OpenAI, Azure, vLLM, Ollama, LiteLLM, TEI...).

`POST {base}/embeddings` with `{"model", "input": [texts]}`; the answer's
`data[i].embedding` (ordered by `data[i].index`) are the vectors. `base` is the
configured URL (e.g. https://api.openai.com/v1); a URL already ending in
/embeddings is used as it is. Vectors are normalised to unit length here, so
cosine is a dot product whatever the endpoint returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from continuum.embeddings.errors import EmbeddingUnavailable
from continuum.vectors import normalise

DEFAULT_MODEL = "text-embedding-3-small"
MAX_PER_REQUEST = 256


def endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/embeddings") else f"{url}/embeddings"


class OpenAIEmbedder:
    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        timeout: float = 30.0,
        dimensions: int = 0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = endpoint(url)
        self.model = model or DEFAULT_MODEL
        self.name = f"openai/{self.model}"
        self.dimensions = dimensions  # learnt from the first answer when not given
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client_args: dict[str, Any] = {"headers": headers, "timeout": timeout, "transport": transport}
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(**self._client_args)
        return self._client

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), MAX_PER_REQUEST):
            vectors += await self._request(list(texts[start : start + MAX_PER_REQUEST]))
        return vectors

    async def _request(self, texts: list[str]) -> list[list[float]]:
        try:
            response = await self._http().post(self.url, json={"model": self.model, "input": texts})
        except httpx.HTTPError as exc:
            raise EmbeddingUnavailable(f"embedding endpoint {self.url} unreachable: {exc.__class__.__name__}") from None
        if response.status_code != 200:
            raise EmbeddingUnavailable(f"embedding endpoint {self.url} answered HTTP {response.status_code}")
        try:
            items = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
            vectors = [normalise([float(x) for x in item["embedding"]]) for item in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EmbeddingUnavailable(f"embedding endpoint {self.url} gave no data[].embedding list") from None
        if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1:
            raise EmbeddingUnavailable(
                f"embedding endpoint {self.url} answered {len(vectors)} vectors for {len(texts)} texts"
            )
        if vectors and not self.dimensions:
            self.dimensions = len(vectors[0])
        return vectors

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
