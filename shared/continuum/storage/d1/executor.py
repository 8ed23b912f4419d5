"""Runs the dialect's statements through a D1 binding (`prepare(sql).bind(...).all()`,
`batch([...])`): D1 has no BEGIN, so every write is one `batch`, which D1 runs
atomically; at most 100 parameters are bound per statement, and this executor refuses
anything over the limit by name before it reaches D1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from continuum.errors import DependencyUnavailable
from continuum.storage.d1.boundary import JsBoundary
from continuum.storage.sql.dialect import Statement
from continuum.storage.sql.rows import Row

MAX_BOUND_PARAMETERS = 100

# Messages of D1 failures that are worth a retry rather than a 500.
_TRANSIENT_HINTS = (
    "network connection lost",
    "storage caused object to be reset",
    "transient",
    "overloaded",
    "timed out",
    "timeout",
    "reset because its code was updated",
    "internal error",
)


class TooManyParameters(ValueError):
    """A statement would bind more parameters than D1 allows."""


class D1QueryError(RuntimeError):
    """D1 refused a statement (a bug in the SQL, not a bad request)."""


def check_parameters(sql: str, params: Sequence[Any]) -> None:
    if len(params) > MAX_BOUND_PARAMETERS:
        head = " ".join(sql.split())[:120]
        raise TooManyParameters(
            f"D1 binds at most {MAX_BOUND_PARAMETERS} parameters per statement; "
            f"{len(params)} given for: {head}"
        )


def _translate(exc: Exception) -> Exception:
    text = str(exc)
    lowered = text.lower()
    if "no such table" in lowered:
        return DependencyUnavailable(
            f"D1 schema is missing ({text}): apply the migrations with "
            "`wrangler d1 migrations apply`",
            retry_after=5,
        )
    if any(hint in lowered for hint in _TRANSIENT_HINTS):
        return DependencyUnavailable(f"D1 unavailable: {text}", retry_after=1)
    return D1QueryError(text)


class D1Executor:
    """The two operations the dialect needs, over a D1 binding (real or stand-in)."""

    def __init__(self, binding: Any, boundary: JsBoundary | None = None) -> None:
        # The workers SDK wraps bindings (`_BindingWrapper`) and converts arguments its
        # own way; this executor does the crossing itself, on the raw JS object.
        self.binding = getattr(binding, "_binding", binding)
        self.js = boundary or JsBoundary()

    def _statement(self, sql: str, params: Sequence[Any]) -> Any:
        check_parameters(sql, params)
        values = [self.js.param(p) for p in params]  # our refusals (TypeError, ValueError) stay ours
        try:
            statement = self.binding.prepare(sql)
            return statement.bind(*values) if values else statement
        except Exception as exc:  # D1 validates at bind() (D1_TYPE_ERROR)
            raise _translate(exc) from exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        statement = self._statement(sql, params)
        try:
            result = await statement.all()
        except Exception as exc:
            raise _translate(exc) from exc
        return self.js.rows(result)

    async def run_batch(self, statements: Sequence[Statement]) -> None:
        if not statements:
            return
        prepared = [self._statement(sql, params) for sql, params in statements]
        try:
            await self.binding.batch(self.js.array(prepared))
        except Exception as exc:
            raise _translate(exc) from exc
