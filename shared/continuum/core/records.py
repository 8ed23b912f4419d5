"""Between the engine's models and the stored records: what a write stores (encrypted,
hashed, indexed) and what a read shows (decrypted)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import TYPE_CHECKING, Any

from continuum.core.crypto import ContentCipher
from continuum.core.text import analyze
from continuum.ids import IdGenerator
from continuum.models import (
    ConceptMention,
    DecisionRecord,
    EntityRecord,
    LearnWrite,
    MemoryRecord,
    MessageRecord,
)

if TYPE_CHECKING:
    from continuum.core.operations.concepts import EntityView
    from continuum.core.operations.learn import LearnInput
    from continuum.core.operations.memories import MemoryView

LINK_RATE = 0.2  # strength s becomes s + rate * (1 - s) at each co-occurrence
MAX_LINKED_CONCEPTS = 12


def _description(text: str, name: str) -> str:
    """The sentence where a concept first appears, as its description."""
    index = text.find(name)
    if index < 0:
        index = text.lower().find(name.lower())
    if index < 0:
        return ""
    start = max(text.rfind(".", 0, index), text.rfind("\n", 0, index), text.rfind("!", 0, index), -1) + 1
    end_candidates = [p for p in (text.find(c, index) for c in ".!?\n") if p >= 0]
    end = min(end_candidates) + 1 if end_candidates else len(text)
    return " ".join(text[start:end].split())[:280]


class Records:
    def __init__(self, cipher: ContentCipher, ids: IdGenerator) -> None:
        self.cipher = cipher
        self.ids = ids

    def index_fields(self, content: str) -> tuple[str, str, str]:
        """What is stored for a content: ciphertext, content hash, index terms."""
        cipher = self.cipher
        return cipher.encrypt(content), cipher.content_hash(content), " ".join(cipher.index_terms(analyze(content)))

    def new_memory(
        self,
        tenant_id: str,
        content: str,
        *,
        role: str,
        instance_id: str | None,
        session_id: str | None,
        metadata: dict[str, Any],
        now: datetime,
        expires_at: datetime | None = None,
        memory_id: str | None = None,
        updated_at: datetime | None = None,
    ) -> MemoryRecord:
        stored, content_hash, search_terms = self.index_fields(content)
        return MemoryRecord(
            id=memory_id or self.ids.new_id(),
            tenant_id=tenant_id,
            content=stored,
            content_hash=content_hash,
            search_terms=search_terms,
            role=role,
            instance_id=instance_id,
            session_id=session_id,
            metadata=metadata,
            created_at=now,
            updated_at=updated_at or now,
            expires_at=expires_at,
        )

    def learn_write(self, tenant_id: str, request: LearnInput, now: datetime) -> LearnWrite:
        """One learned turn as stored: its memories, concepts, links, decisions, message."""
        from continuum.core.extraction import Concept, extract_concepts, extract_decisions

        encrypt = self.cipher.encrypt
        text = f"{request.user_message}\n{request.ai_response}"
        concepts: dict[str, Concept] = {}
        for concept in extract_concepts(request.user_message) + extract_concepts(request.ai_response):
            concepts.setdefault(concept.key, concept)
        mentions = [
            ConceptMention(key=c.key, name=c.name, kind=c.kind, description=encrypt(_description(text, c.name)))
            for c in concepts.values()
        ]
        linked = sorted(concepts)[:MAX_LINKED_CONCEPTS] if len(concepts) > 1 else []
        message_id = self.ids.new_id()
        decisions = [
            DecisionRecord(
                id=self.ids.new_id(),
                tenant_id=tenant_id,
                instance_id=request.instance_id,
                session_id=request.session_id,
                message_id=message_id,
                decision=encrypt(decision),
                created_at=now,
            )
            for decision in dict.fromkeys(
                extract_decisions(request.user_message) + extract_decisions(request.ai_response)
            )
        ]
        memories = [
            self.new_memory(
                tenant_id,
                body,
                role=role,
                instance_id=request.instance_id,
                session_id=request.session_id,
                metadata=request.metadata,
                now=now,
            )
            for role, body in (("user", request.user_message), ("assistant", request.ai_response))
            if body.strip()
        ]
        message = MessageRecord(
            id=message_id,
            tenant_id=tenant_id,
            instance_id=request.instance_id,
            session_id=request.session_id,
            user_message=encrypt(request.user_message),
            ai_response=encrypt(request.ai_response),
            thinking=encrypt(request.thinking) if request.thinking is not None else None,
            metadata=request.metadata,
            created_at=now,
        )
        return LearnWrite(
            message=message,
            memories=memories,
            concepts=mentions,
            links=list(itertools.combinations(sorted(linked), 2)),
            decisions=decisions,
            link_increment=LINK_RATE,
            now=now,
        )

    # The views are imported where they are built: a process serving recall or learn never
    # imports the memory listings' or concepts' values (see continuum.core.operations).

    def memory_view(self, record: MemoryRecord) -> MemoryView:
        from continuum.core.operations.memories import MemoryView

        return MemoryView(
            id=record.id,
            content=self.cipher.decrypt(record.content),
            role=record.role,
            instance_id=record.instance_id,
            session_id=record.session_id,
            metadata=record.metadata,
            created_at=record.created_at,
            updated_at=record.updated_at,
            expires_at=record.expires_at,
            tenant_id=record.tenant_id,
        )

    def entity_view(self, record: EntityRecord) -> EntityView:
        from continuum.core.operations.concepts import EntityView

        return EntityView(
            name=record.name,
            entity_type=record.entity_type,
            description=self.cipher.decrypt(record.description),
            mention_count=record.mention_count,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
        )
