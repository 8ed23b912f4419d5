"""`AsyncContinuum`: the asynchronous client, method for method `sync.Continuum` awaited."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
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
    from continuum.client.sync import Continuum

KEY = "Idempotency-Key"


class AsyncContinuum:
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
        transport: httpx.AsyncBaseTransport | None = None,
        tenant: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._config = configure(base_url, api_key, timeout=timeout, max_retries=max_retries, tenant=tenant,
                                 headers=headers, retry=retry)  # fmt: skip
        self._http = httpx.AsyncClient(
            base_url=self._config.base_url, headers=self._config.headers, timeout=timeout, transport=transport
        )
        self._idempotency_keys = True  # off once the server says it cannot honour them

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def close(self) -> None:
        await self._http.aclose()

    def sync_client(self) -> Continuum:
        """A `Continuum` with this client's settings (URL, credentials, retries)."""
        from continuum.client.sync import Continuum

        config = self._config
        return Continuum(config.base_url, "", timeout=config.timeout, headers=config.headers, retry=config.retry)

    async def __aenter__(self) -> AsyncContinuum:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:  # never the key
        return f"AsyncContinuum(base_url={self.base_url!r})"

    # ---- sending -----------------------------------------------------------------------

    async def _send(self, call: Call) -> Any:
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
                response = await self._http.request(
                    call.method, call.path, params=call.params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                await asyncio.sleep(after_failure(policy, attempt, call, exc, KEY in headers, self.base_url))
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
            await asyncio.sleep(wait)
            attempt += 1

    # ---- operations --------------------------------------------------------------------

    async def health(self) -> HealthResponse:
        """The server's health; a server that is down answers too (status `down`)."""
        return await self._send(ops.health())

    async def learn(self, *, user_message: str, ai_response: str = "", thinking: str | None = None,
              instance_id: str | None = None, session_id: str | None = None,
              metadata: dict[str, Any] | None = None) -> LearnResponse:  # fmt: skip
        """Learn one conversation turn: both messages, their concepts, links and decisions."""
        return await self._send(
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

    async def recall(self, *, message: str, max_concepts: int | None = None, limit: int | None = None,
               instance_id: str | None = None, session_id: str | None = None,
               explain: bool | None = None) -> RecallResponse:  # fmt: skip
        """Ranked memories and a context block for `message`; `explain`: each memory's score parts."""
        return await self._send(ops.recall(fields(message=message, max_concepts=max_concepts, limit=limit,
                                            instance_id=instance_id, session_id=session_id,
                                            explain=explain)))  # fmt: skip

    async def turn(self, *, user_message: str, ai_response: str = "", message: str | None = None,
             thinking: str | None = None, instance_id: str | None = None, session_id: str | None = None,
             metadata: dict[str, Any] | None = None, max_concepts: int | None = None,
             limit: int | None = None) -> TurnResponse:  # fmt: skip
        """Recall for `message` (default: `user_message`), then learn the turn."""
        return await self._send(ops.turn(fields(
            user_message=user_message, ai_response=ai_response, message=message, thinking=thinking,
            instance_id=instance_id, session_id=session_id, metadata=metadata, max_concepts=max_concepts, limit=limit,
        )))  # fmt: skip

    async def search(self, *, query: str, limit: int | None = None, mode: str | None = None,
               filters: SearchFilters | Mapping[str, Any] | None = None,
               explain: bool | None = None) -> SearchResponse:  # fmt: skip
        """Memories matching `query` (`mode`: hybrid, lexical or semantic); `filters` as the API's;
        `explain`: each result's score parts."""
        return await self._send(ops.search(fields(query=query, limit=limit, mode=mode, filters=as_dict(filters),
                                                explain=explain)))  # fmt: skip

    async def create_memory(self, *, content: str, role: str | None = None, instance_id: str | None = None,
                      session_id: str | None = None, metadata: dict[str, Any] | None = None,
                      expires_at: datetime | None = None) -> MemoryStored:  # fmt: skip
        """Store one memory (`status` "duplicate" and the stored id when the scope holds it already)."""
        return await self._send(ops.create_memory(fields(content=content, role=role, instance_id=instance_id,
                                                   session_id=session_id, metadata=metadata,
                                                   expires_at=moment(expires_at))))  # fmt: skip

    async def create_memories(self, *, memories: Sequence[MemoryCreate | Mapping[str, Any]]) -> MemoryBatchResponse:
        """Store up to 1000 memories atomically; results in input order."""
        return await self._send(ops.create_memories(fields(memories=[as_dict(m) for m in memories])))

    async def get_memory(self, memory_id: str) -> Memory:
        return await self._send(ops.get_memory(memory_id))

    async def update_memory(self, memory_id: str, *, content: str | None = None, role: str | None = None,
                      metadata: dict[str, Any] | None = None,
                      expires_at: datetime | EllipsisType | None = ...) -> Memory:  # fmt: skip
        """Change what is given: content, role, metadata (replaced whole), expiry (None clears it)."""
        body = fields(content=content, role=role, metadata=metadata)
        if not isinstance(expires_at, EllipsisType):
            body["expires_at"] = moment(expires_at)
        return await self._send(ops.update_memory(memory_id, body))

    async def delete_memory(self, memory_id: str) -> None:
        await self._send(ops.delete_memory(memory_id))

    async def list_memories_page(self, *, instance_id: str | None = None, session_id: str | None = None,
                           role: str | None = None, metadata: dict[str, Any] | None = None,
                           since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                           cursor: str | None = None) -> MemoryList:  # fmt: skip
        """One page, newest first; pass its `next_cursor` back as `cursor` for the next."""
        return await self._send(ops.list_memories(dict(
            instance_id=instance_id, session_id=session_id, role=role, metadata=metadata or None, since=since,
            until=until, limit=limit, cursor=cursor,
        )))  # fmt: skip

    async def list_memories(self, *, instance_id: str | None = None, session_id: str | None = None,
                      role: str | None = None, metadata: dict[str, Any] | None = None,
                      since: datetime | None = None, until: datetime | None = None, limit: int | None = None,
                      page_size: int = 100) -> AsyncIterator[Memory]:  # fmt: skip
        """Every matching memory, newest first, page after page (at most `limit` if given)."""
        cursor: str | None = None
        seen = 0
        while True:
            size = page_size if limit is None else min(page_size, limit - seen)
            if size <= 0:
                return
            page = await self.list_memories_page(instance_id=instance_id, session_id=session_id, role=role,
                                           metadata=metadata, since=since, until=until, limit=size,
                                           cursor=cursor)  # fmt: skip
            for memory in page.memories[:size]:
                yield memory
            seen += len(page.memories)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def entities(self, *, entity_type: str | None = None, limit: int | None = None,
                 offset: int | None = None) -> EntityList:  # fmt: skip
        """Concepts, most mentioned first."""
        return await self._send(ops.entities(dict(entity_type=entity_type, limit=limit, offset=offset)))

    async def entity(self, name: str) -> EntityDetail:
        """One concept (case-insensitive name) with its strongest links."""
        return await self._send(ops.entity(name))

    async def stats(self) -> Stats:
        return await self._send(ops.stats())

    # ---- keys (the admin key; a tenant key may list its own) ---------------------------

    async def create_key(self, *, tenant_id: str, name: str | None = None, scopes: Sequence[str] | None = None,
                   expires_at: datetime | None = None) -> KeyCreated:  # fmt: skip
        return await self._send(ops.create_key(fields(tenant_id=tenant_id, name=name, scopes=list(scopes) if scopes
                                                else None, expires_at=moment(expires_at))))  # fmt: skip

    async def list_keys(self, *, tenant_id: str | None = None) -> KeyList:
        return await self._send(ops.list_keys(tenant_id))

    async def revoke_key(self, key_id: str, *, tenant_id: str | None = None) -> Key:
        return await self._send(ops.revoke_key(key_id, tenant_id))
