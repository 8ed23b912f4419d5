"""Embeddings on Amazon Bedrock through boto3 (`bedrock-runtime` InvokeModel).

Selected by CONTINUUM_EMBEDDING_PROVIDER=bedrock; CONTINUUM_EMBEDDING_MODEL picks the
model (default Titan Text Embeddings V2). Titan models embed one text per call
(`{"inputText"}` -> `{"embedding"}`); Cohere models take a batch (`{"texts"}` ->
`{"embeddings"}`). boto3 is imported on first use (the Lambda runtime has it); the
region and credentials are the function's own. Calls run in a worker thread because
boto3 blocks. Vectors are normalised to unit length.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from continuum.embeddings.errors import EmbeddingUnavailable
from continuum.vectors import normalise

DEFAULT_MODEL = "amazon.titan-embed-text-v2:0"
COHERE_BATCH = 96  # Cohere Embed on Bedrock takes at most 96 texts per call
TITAN_CONCURRENCY = 8


class BedrockEmbedder:
    def __init__(self, model: str | None = None, *, client: Any = None, dimensions: int = 0) -> None:
        self.model = model or DEFAULT_MODEL
        self.name = f"bedrock/{self.model}"
        self.dimensions = dimensions  # learnt from the first answer when not given
        self._client = client
        self._cohere = ".cohere." in f".{self.model}" or self.model.startswith("cohere.")

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("bedrock-runtime")
        return self._client

    def _invoke(self, body: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_model(
                modelId=self.model, body=json.dumps(body), contentType="application/json", accept="application/json"
            )
            return json.loads(response["body"].read())
        except (BotoCoreError, ClientError) as exc:
            raise EmbeddingUnavailable(f"Bedrock {self.model}: {exc}") from None
        except (ValueError, KeyError) as exc:
            raise EmbeddingUnavailable(f"Bedrock {self.model} gave an unreadable answer: {exc}") from None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if self._cohere:
            vectors: list[list[float]] = []
            for start in range(0, len(texts), COHERE_BATCH):
                batch = list(texts[start : start + COHERE_BATCH])
                answer = await asyncio.to_thread(
                    self._invoke, {"texts": batch, "input_type": "search_document", "truncate": "END"}
                )
                vectors += self._vectors(answer.get("embeddings"), len(batch))
        else:
            limit = asyncio.Semaphore(TITAN_CONCURRENCY)

            async def one(text: str) -> list[float]:
                async with limit:
                    answer = await asyncio.to_thread(self._invoke, {"inputText": text, "normalize": True})
                return self._vectors([answer.get("embedding")], 1)[0]

            vectors = list(await asyncio.gather(*(one(text) for text in texts)))
        if len({len(v) for v in vectors}) > 1:
            raise EmbeddingUnavailable(f"Bedrock {self.model} answered vectors of different lengths")
        if not self.dimensions:
            self.dimensions = len(vectors[0])
        return vectors

    def _vectors(self, raw: Any, expected: int) -> list[list[float]]:
        try:
            vectors = [normalise([float(x) for x in item]) for item in raw]
        except (TypeError, ValueError):
            raise EmbeddingUnavailable(f"Bedrock {self.model} gave no embedding list") from None
        if len(vectors) != expected or any(not v for v in vectors):
            raise EmbeddingUnavailable(f"Bedrock {self.model} answered {len(vectors)} vectors for {expected} texts")
        return vectors

    async def close(self) -> None:
        self._client = None


def from_settings(settings: Any, **bindings: Any) -> BedrockEmbedder:
    return BedrockEmbedder(settings.embedding_model, client=bindings.get("bedrock_client"))
