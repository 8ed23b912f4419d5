"""Records from database rows, for every SQL dialect: each says how it stores a moment
(ISO text in SQLite and D1, timestamptz in PostgreSQL) and a JSON document (text, jsonb)."""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from continuum.models import DecisionRecord, EntityRecord, HistoryRecord, LinkRecord, MemoryRecord, MessageRecord

Row = Mapping[str, Any]


class RowReader:
    def __init__(self, *, moment: Callable[[Any], datetime], document: Callable[[Any], Any]) -> None:
        self._moment = moment
        self._document = document

    def moment(self, value: Any) -> datetime:
        return self._moment(value)

    def document(self, value: Any) -> Any:
        return self._document(value)

    def memory(self, row: Row) -> MemoryRecord:
        return MemoryRecord(
            id=row["id"],
            tenant_id=row["tenant_id"],
            content=row["content"],
            content_hash=row["content_hash"],
            search_terms=row["search_terms"],
            role=row["role"],
            instance_id=row["instance_id"],
            session_id=row["session_id"],
            metadata=self._document(row["metadata"]),
            created_at=self._moment(row["created_at"]),
            updated_at=self._moment(row["updated_at"]),
            expires_at=self._moment(row["expires_at"]) if row["expires_at"] else None,
        )

    def entity(self, row: Row) -> EntityRecord:
        return EntityRecord(
            tenant_id=row["tenant_id"],
            key=row["name_key"],
            name=row["name"],
            entity_type=row["entity_type"],
            description=row["description"],
            mention_count=row["mention_count"],
            created_at=self._moment(row["created_at"]),
            last_seen_at=self._moment(row["last_seen_at"]),
        )

    def link(self, row: Row) -> LinkRecord:
        return LinkRecord(
            concept_a=row["concept_a"],
            concept_b=row["concept_b"],
            strength=float(row["strength"]),
            occurrences=row["occurrences"],
            created_at=self._moment(row["created_at"]),
            updated_at=self._moment(row["updated_at"]),
        )

    def message(self, row: Row) -> MessageRecord:
        return MessageRecord(
            id=row["id"],
            tenant_id=row["tenant_id"],
            instance_id=row["instance_id"],
            session_id=row["session_id"],
            user_message=row["user_message"],
            ai_response=row["ai_response"],
            thinking=row["thinking"],
            metadata=self._document(row["metadata"]),
            created_at=self._moment(row["created_at"]),
        )

    def decision(self, row: Row) -> DecisionRecord:
        return DecisionRecord(
            id=row["id"],
            tenant_id=row["tenant_id"],
            instance_id=row["instance_id"],
            session_id=row["session_id"],
            message_id=row["message_id"],
            decision=row["decision"],
            created_at=self._moment(row["created_at"]),
        )

    def history(self, row: Row) -> HistoryRecord:
        return HistoryRecord(
            id=row["id"],
            memory_id=row["memory_id"],
            instance_id=row["instance_id"],
            session_id=row["session_id"],
            event=row["event"],
            old_content=row["old_content"],
            new_content=row["new_content"],
            metadata=self._document(row["metadata"]),
            created_at=self._moment(row["created_at"]),
        )
