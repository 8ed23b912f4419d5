"""Metadata filters compare numbers without ever overflowing, on every adapter.

The API accepts only numbers a double can hold (schemas.py), but a database may hold
others written before that rule (a 400-digit integer): a filter must still answer, and
every backend the same, rather than fail in a cast (PostgreSQL's float8 overflowed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from continuum.models import MemoryFilters
from continuum.ports import Storage
from tests.contract.test_storage_contract import NOW, all_ids, memory

pytestmark = pytest.mark.asyncio(loop_scope="session")

HUGE = 10**400


async def test_number_filters_never_overflow_and_match_exactly(storage: Storage, tenant: str) -> None:
    values: dict[str, Any] = {
        "huge": HUGE, "-huge": -HUGE, "max": 1.7976931348623157e308, "1.5": 1.5, "0.1": 0.1,
        "0.30000000000000004": 0.1 + 0.2, "0.3": 0.3, "2": 2, "tiny": 5e-324,
    }  # fmt: skip
    rows = {name: memory(tenant, f"number {name}", metadata={"n": value}) for name, value in values.items()}
    await storage.insert_memories(tenant, list(rows.values()), NOW)

    async def names(value: Any) -> set[str]:
        filters = MemoryFilters(metadata={"n": value})
        ids = set(await all_ids(storage, tenant, filters, now=NOW + timedelta(minutes=1)))
        return {name for name, r in rows.items() if r.id in ids}

    assert await names(1.5) == {"1.5"}
    assert await names(0.1) == {"0.1"}
    assert await names(0.1 + 0.2) == {"0.30000000000000004"}
    assert await names(0.3) == {"0.3"}
    assert await names(2.0) == {"2"}
    assert await names(2) == {"2"}
    assert await names(1.7976931348623157e308) == {"max"}
    assert await names(5e-324) == {"tiny"}
    assert await names(7) == set()
    assert await names(-1.5) == set()
