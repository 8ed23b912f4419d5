"""`Continuum`: the synchronous client (httpx). `aio.AsyncContinuum` mirrors it method for method."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import EllipsisType, TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from continuum.client import operations as ops
from continuum.client.core import (
    DROP_KEY,
    Call,
    RetryPolicy,
    after_answer,
    after_failure,
    as_dict,
    configure,
    fields,
    moment,
    read,
)
from continuum.schemas import (
    EntityDetail,
    EntityList,
    HealthResponse,
    Key,
    KeyCreated,
    KeyList,
    LearnResponse,
    Memory,
    MemoryBatchResponse,
    MemoryCreate,
    MemoryList,
    MemoryStored,
    RecallResponse,
    SearchFilters,
    SearchResponse,
    Stats,
    TurnResponse,
)

if TYPE_CHECKING:
    from continuum.client.aio import AsyncContinuum

KEY = "Idempotency-Key"


class Continuum:
    """A CONTINUUM server's API. `base_url` / `api_key` default to CONTINUUM_URL /
    CONTINUUM_API_KEY; the key travels as `Authorization: Bearer`. `tenant`: the tenant an
    admin key acts on (X-Continuum-Tenant). Close it, or use it as a context manager."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        tenant: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._config = configure(base_url, api_key, timeout=timeout, max_retries=max_retries, tenant=tenant,
                                 headers=headers, retry=retry)  # fmt: skip
        self._http = httpx.Client(
            base_url=self._config.base_url, headers=self._config.headers, timeout=timeout, transport=transport
        )
        self._idempotency_keys = True  # off once the server says it cannot honour them

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def close(self) -> None:
        self._http.close()

    def async_client(self) -> AsyncContinuum:
        """An `AsyncContinuum` with this client's settings (URL, credentials, retries)."""
        from continuum.client.aio import AsyncContinuum

        config = self._config
        return AsyncContinuum(config.base_url, "", timeout=config.timeout, headers=config.headers, retry=config.retry)

    def __enter__(self) -> Continuum:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:  # never the key
        return f"Continuum(base_url={self.base_url!r})"

    # ---- sending -----------------------------------------------------------------------

    def _send(self, call: Call) -> Any:
        headers: dict[str, str] = {}
        if call.keyed and self._idempotency_keys:
            headers[KEY] = str(uuid.uuid4())  # the same on every retry of this call
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        content = call.content()
        policy = self._config.retry
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, params=call.params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                time.sleep(after_failure(policy, attempt, call, exc, KEY in headers, self.base_url))
                attempt += 1
                continue
            body = response.content
            wait = after_answer(policy, attempt, call, response.status_code, response.headers, body, KEY in headers)
            if wait is None:
                return read(call, response.status_code, response.headers, body)
            if wait == DROP_KEY:
                self._idempotency_keys = False
                del headers[KEY]
                continue
            time.sleep(wait)
            attempt += 1

    # ---- operations --------------------------------------------------------------------

    def health(self) -> HealthResponse:
        """The server's health; a server that is down answers too (status `down`)."""
        return self._send(ops.health())

    def learn(self, *, user_message: str, ai_response: str = "", thinking: str | None = None,
              instance_id: str | None = None, session_id: str | None = None,
              metadata: dict[str, Any] | None = None) -> LearnResponse:  # fmt: skip
        """Learn one conversation turn: both messages, their concepts, links and decisions."""
        return self._send(
            ops.learn(
                fields(
                    user_message=user_message,
                    ai_response=ai_response,
                    thinking=thinking,
                    instance_id=instance_id,
                    session_id=session_id,
                    metadata=metadata,
                )
            )
        )

    def recall(self, *, message: str, max_concepts: int | None = None, limit: int | None = None,
               instance_id: str | None = None, session_id: str | None = None,
               explain: bool | None = None) -> RecallResponse:  # fmt: skip
        """Ranked memories and a context block for `message`; `explain`: each memory's score parts."""
        return self._send(ops.recall(fields(message=message, max_concepts=max_concepts, limit=limit,
                                            instance_id=instance_id, session_id=session_id,
                                            explain=explain)))  # fmt: skip

    def turn(self, *, user_message: str, ai_response: str = "", message: str | None = None,
             thinking: str | None = None, instance_id: str | None = None, session_id: str | None = None,
             metadata: dict[str, Any] | None = None, max_concepts: int | None = None,
             limit: int | None = None) -> TurnResponse:  # fmt: skip
        """Recall for `message` (default: `user_message`), then learn the turn."""
        return self._send(ops.turn(fields(
            user_message=user_message, ai_response=ai_response, message=message, thinking=thinking,
            instance_id=instance_id, session_id=session_id, metadata=metadata, max_concepts=max_concepts, limit=limit,
        )))  # fmt: skip

    def search(self, *, query: str, limit: int | None = None, mode: str | None = None,
               filters: SearchFilters | Mapping[str, Any] | None = None,
               explain: bool | None = None) -> SearchResponse:  # fmt: skip
        """Memories matching `query` (`mode`: hybrid, lexical or semantic); `filters` as the API's;
        `explain`: each result's score parts."""
        return self._send(ops.search(fields(query=query, limit=limit, mode=mode, filters=as_dict(filters),
                                                explain=explain)))  # fmt: skip

    def create_memory(self, *, content: str, role: str | None = None, instance_id: str | None = None,
                      session_id: str | None = None, metadata: dict[str, Any] | None = None,
                      expires_at: datetime | None = None) -> MemoryStored:  # fmt: skip
        """Store one memory (`status` "duplicate" and the stored id when the scope holds it already)."""
        return self._send(ops.create_memory(fields(content=content, role=role, instance_id=instance_id,
                                                   session_id=session_id, metadata=metadata,
                                                   expires_at=moment(expires_at))))  # fmt: skip

    def create_memories(self, *, memories: Sequence[MemoryCreate | Mapping[str, Any]]) -> MemoryBatchResponse:
        """Store up to 1000 memories atomically; results in input order."""
        return self._send(ops.create_memories(fields(memories=[as_dict(m) for m in memories])))

    def get_memory(self, memory_id: str) -> Memory:
        return self._send(ops.get_memory(memory_id))

    def update_memory(self, memory_id: str, *, content: str | None = None, role: str | None = None,
                      metadata: dict[str, Any] | None = None,
                      expires_at: datetime | EllipsisType | None = ...) -> Memory:  # fmt: skip
        """Change what is given: content, role, metadata (replaced whole), expiry (None clears it)."""
        body = fields(content=content, role=role, metadata=metadata)
        if not isinstance(expires_at, EllipsisType):
            body["expires_at"] = moment(expires_at)
        return self._send(ops.update_memory(memory_id, body))

    def delete_memory(self, memory_id: str) -> None:
        self._send(ops.delete_memory(memory_id))

    def list_memories_page(self, *, instance_id: str | None = None, session_id: str | None = None,
                           role: str | None = None, metadata: dict[str, Any] | None = None,
                           since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                           cursor: str | None = None) -> MemoryList:  # fmt: skip
        """One page, newest first; pass its `next_cursor` back as `cursor` for the next."""
        return self._send(ops.list_memories(dict(
            instance_id=instance_id, session_id=session_id, role=role, metadata=metadata or None, since=since,
            until=until, limit=limit, cursor=cursor,
        )))  # fmt: skip

    def list_memories(self, *, instance_id: str | None = None, session_id: str | None = None,
                      role: str | None = None, metadata: dict[str, Any] | None = None,
                      since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                      page_size: int = 100) -> Iterator[Memory]:  # fmt: skip
        """Every matching memory, newest first, page after page (at most `limit` if given)."""
        cursor: str | None = None
        seen = 0
        while True:
            size = page_size if limit is None else min(page_size, limit - seen)
            if size <= 0:
                return
            page = self.list_memories_page(instance_id=instance_id, session_id=session_id, role=role,
                                           metadata=metadata, since=since, until=until, limit=size,
                                           cursor=cursor)  # fmt: skip
            yield from page.memories[:size]
            seen += len(page.memories)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def entities(self, *, entity_type: str | None = None, limit: int | None = None,
                 offset: int | None = None) -> EntityList:  # fmt: skip
        """Concepts, most mentioned first."""
        return self._send(ops.entities(dict(entity_type=entity_type, limit=limit, offset=offset)))

    def entity(self, name: str) -> EntityDetail:
        """One concept (case-insensitive name) with its strongest links."""
        return self._send(ops.entity(name))

    def stats(self) -> Stats:
        return self._send(ops.stats())

    # ---- keys (the admin key; a tenant key may list its own) ---------------------------

    def create_key(self, *, tenant_id: str, name: str | None = None, scopes: Sequence[str] | None = None,
                   expires_at: datetime | None = None) -> KeyCreated:  # fmt: skip
        return self._send(ops.create_key(fields(tenant_id=tenant_id, name=name, scopes=list(scopes) if scopes
                                                else None, expires_at=moment(expires_at))))  # fmt: skip

    def list_keys(self, *, tenant_id: str | None = None) -> KeyList:
        return self._send(ops.list_keys(tenant_id))

    def revoke_key(self, key_id: str, *, tenant_id: str | None = None) -> Key:
        return self._send(ops.revoke_key(key_id, tenant_id))
