"""How values cross between Python and D1's JavaScript API.

Crossing into JavaScript, Python `None` becomes `undefined`, which D1 rejects: SQL NULL
is bound as `pyodide.ffi.jsnull`. Coming back, JS `null` (jsnull) and `undefined` become
`None`, and BLOBs (arrays of byte values) become `bytes`. Numbers come back as
JavaScript numbers: integral values are ints, so a REAL column holding 2.0 reads as 2
(the core converts where it needs floats).
"""

from __future__ import annotations

from typing import Any

from continuum.storage.sql.rows import Row

MAX_SAFE_INTEGER = 2**53 - 1


class _JsNull:
    """CPython's stand-in for `pyodide.ffi.jsnull` (JavaScript `null`).

    Outside Pyodide there is no JavaScript; D1 stand-ins and bridges (tests) treat this
    object as `null` and Python `None` as `undefined`, exactly as the real boundary does.
    """

    _instance: _JsNull | None = None

    def __new__(cls) -> _JsNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "jsnull"

    def __bool__(self) -> bool:
        return False


JS_NULL = _JsNull()


class JsBoundary:
    """How values cross between Python and D1's JavaScript API.

    In Pyodide it uses `pyodide.ffi` (jsnull, to_js); under CPython (D1 stand-in, bridge
    to the real local D1) the same rules apply with `JS_NULL` in place of jsnull.
    """

    def __init__(self) -> None:
        try:
            from pyodide.ffi import jsnull, to_js  # type: ignore[import-not-found]
        except ImportError:
            self.null: Any = JS_NULL
            self._to_js: Any = None
        else:
            self.null = jsnull
            self._to_js = to_js

    def param(self, value: Any) -> Any:
        if value is None:
            return self.null
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise ValueError(f"integer {value} cannot cross to JavaScript without losing precision")
            return value
        if isinstance(value, str | float):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return self._to_js(bytes(value)) if self._to_js is not None else bytes(value)
        raise TypeError(f"cannot bind a {type(value).__name__} to a D1 statement")

    def array(self, items: list[Any]) -> Any:
        """A JavaScript array (D1's batch takes one, not a Python list proxy)."""
        return self._to_js(items, depth=1) if self._to_js is not None else items

    def value(self, value: Any) -> Any:
        if value is None or value is self.null or type(value).__name__ in ("JsNull", "_JsNull"):
            return None
        if isinstance(value, list):  # a BLOB: D1 returns its bytes as numbers
            return bytes(value)
        if isinstance(value, memoryview | bytearray):
            return bytes(value)
        return value

    def rows(self, result: Any) -> list[Row]:
        if hasattr(result, "to_py"):
            result = result.to_py()
        rows = result["results"] if isinstance(result, dict) else result.results
        if rows is None or rows is self.null:
            return []
        return [{key: self.value(v) for key, v in dict(row).items()} for row in rows]
