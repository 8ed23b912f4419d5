"""One list of D1 cases, run through the D1 stand-in and through the real local D1.

Each case is a list of calls on a fresh database; the outputs (results, the meta fields
that do not depend on timing, and error messages) must be identical on both.
"""

from __future__ import annotations

import re
from typing import Any

from continuum.storage.d1.boundary import JS_NULL

# A call: (method, sql, params) for all/run/first/raw, ("first", sql, params, column),
# ("batch", [(sql, params), ...]) or ("exec", sql).
Call = tuple[Any, ...]

_T = "CREATE TABLE t (a INTEGER, b TEXT, c REAL, d BLOB)"
_U = "CREATE TABLE u (k TEXT PRIMARY KEY, n INTEGER NOT NULL)"
_FTS = [
    ("run", "CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", []),
    ("run", "CREATE VIRTUAL TABLE doc_fts USING fts5 (body, content = 'doc', content_rowid = 'id')", []),
    ("run", "CREATE TRIGGER doc_ai AFTER INSERT ON doc BEGIN INSERT INTO doc_fts (rowid, body) "
     "VALUES (new.id, new.body); END", []),
]

# fmt: off
CASES: dict[str, list[Call]] = {
    "types round trip": [
        ("run", _T, []),
        ("run", "INSERT INTO t VALUES (?, ?, ?, ?)", [1, "x", 1.5, b"\x00\x01\xff"]),
        ("run", "INSERT INTO t VALUES (?, ?, ?, ?)", [-(2**53 - 1), "", 2.0, b""]),
        ("run", "INSERT INTO t VALUES (?, ?, ?, ?)", [2**53 - 1, "日本語 🚀 \u200f", 1e300, JS_NULL]),
        ("all", "SELECT a, b, c, d, typeof(c) AS tc, typeof(d) AS td FROM t ORDER BY rowid", []),
        ("raw", "SELECT a, b FROM t ORDER BY rowid", []),
        ("first", "SELECT a, b FROM t ORDER BY rowid", []),
        ("first", "SELECT a, b FROM t ORDER BY rowid", [], "b"),
        ("first", "SELECT a FROM t WHERE a = 99", []),
        ("all", "SELECT 0.1 + 0.2 AS f, '1' AS s, 1 AS i, ? AS p, ? AS q", [0.5, "007"]),
    ],
    "null and undefined": [
        ("all", "SELECT ? IS NULL AS is_null, ? AS v", [JS_NULL, JS_NULL]),
        ("all", "SELECT ? AS v", [None]),
        ("all", "SELECT ? AS v", [{"a": 1}]),
        ("all", "SELECT ? AS t, ? AS f", [True, False]),
        ("run", _T, []),
        ("run", "INSERT INTO t (a, b) VALUES (?, ?)", [1, JS_NULL]),
        ("all", "SELECT a, b, c FROM t", []),
        ("first", "SELECT b FROM t", [], "b"),
    ],
    "bound parameter limit": [
        ("all", "SELECT " + ", ".join("?" for _ in range(100)) + " AS x", list(range(100))),
        ("all", "SELECT " + ", ".join("?" for _ in range(101)) + " AS x", list(range(101))),
        ("all", "SELECT count(*) AS n FROM json_each(?)", ['["' + '","'.join(str(i) for i in range(5000)) + '"]']),
    ],
    "no transactions in SQL": [
        ("run", "BEGIN", []),
        ("run", "BEGIN TRANSACTION", []),
        ("run", "SAVEPOINT s1", []),
        ("run", "COMMIT", []),
        ("run", "ROLLBACK", []),
        ("exec", "BEGIN"),
    ],
    "batch is atomic": [
        ("run", _U, []),
        ("batch", [("INSERT INTO u VALUES (?, ?)", ["a", 1]), ("INSERT INTO nope VALUES (1)", [])]),
        ("all", "SELECT count(*) AS n FROM u", []),
        ("batch", [("INSERT INTO u VALUES (?, ?)", ["a", 1]), ("INSERT INTO u VALUES (?, ?)", ["a", 2])]),
        ("all", "SELECT count(*) AS n FROM u", []),
        ("batch", [("INSERT INTO u VALUES (?, ?)", ["b", 1]), ("INSERT INTO u VALUES (?, ?)", ["c", JS_NULL])]),
        ("all", "SELECT count(*) AS n FROM u", []),
        ("batch", [("INSERT INTO u VALUES (?, ?)", ["a", 1]), ("SELECT ? AS v", [None])]),
        ("all", "SELECT count(*) AS n FROM u", []),
        ("batch", [
            ("INSERT INTO u VALUES (?, ?)", ["a", 1]),
            ("INSERT INTO u VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n RETURNING k, n", ["a", 5]),
            ("SELECT k, n FROM u", []),
        ]),
        ("all", "SELECT k, n FROM u", []),
    ],
    "meta: changes and row ids": [
        ("run", _U, []),
        ("run", "INSERT INTO u VALUES ('a', 1), ('b', 2)", []),
        ("run", "UPDATE u SET n = n + 1", []),
        ("run", "INSERT INTO u VALUES ('c', 3) ON CONFLICT DO NOTHING", []),
        ("run", "INSERT INTO u VALUES ('c', 3) ON CONFLICT DO NOTHING", []),
        ("all", "SELECT k FROM u ORDER BY k", []),
        ("run", "DELETE FROM u WHERE n > 2", []),
        ("run", "UPDATE u SET n = n WHERE 0", []),
        ("run", "CREATE INDEX ix_u_n ON u (n)", []),
        ("all", "INSERT INTO u VALUES ('d', 4) RETURNING k, n", []),
    ],
    "fts triggers count as changes": [
        *_FTS,
        ("run", "INSERT INTO doc (body) VALUES (?)", ["hello world"]),
        ("run", "INSERT INTO doc (body) VALUES (?), (?)", ["brave new world", "nothing"]),
        ("all", "SELECT rowid, bm25(doc_fts) < 0 AS ranked FROM doc_fts WHERE doc_fts MATCH ? ORDER BY rowid",
         ['"world"']),
        ("all", "SELECT rowid FROM doc_fts WHERE doc_fts MATCH ?", ['"unbalanced']),
    ],
    "errors": [
        ("all", "SELEC 1", []),
        ("all", "SELECT * FROM missing_table", []),
        ("run", _U, []),
        ("run", "INSERT INTO u VALUES (?, ?)", ["a", JS_NULL]),
        ("first", "SELECT k FROM u", [], "nope"),
        ("batch", []),
    ],
    "json functions": [
        ("all", "SELECT value FROM json_each(?) ORDER BY value", ['["b","a","c"]']),
        ("all", "SELECT json_extract(?, '$.k') AS v, json_type(?, '$.k') AS t", ['{"k": 1}', '{"k": true}']),
        ("all", "SELECT json_extract(value, '$[0]') AS a, json_extract(value, '$[1]') AS b FROM json_each(?)",
         ['[["x","y"],["z","w"]]']),
    ],
    "exec": [
        ("exec", "CREATE TABLE e (x INTEGER);\nINSERT INTO e VALUES (1);\nINSERT INTO e VALUES (2);"),
        ("all", "SELECT sum(x) AS s FROM e", []),
        ("exec", "INSERT INTO e VALUES (3);\nINSERT INTO nowhere VALUES (4);"),
        ("all", "SELECT sum(x) AS s FROM e", []),
    ],
}
# fmt: on

# Meta fields that describe the work done (timings and storage sizes vary by engine).
COMPARED_META = ("changes", "last_row_id", "changed_db")


def _normalise_error(message: str) -> str:
    return re.sub(r" at offset \d+", "", message)


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        if "meta" in value and "results" in value:
            meta = value["meta"]
            return {
                "success": value.get("success"),
                "results": _normalise(value["results"]),
                "meta": {k: meta.get(k) for k in COMPARED_META},
            }
        if set(value) == {"count", "duration"}:
            return {"count": value["count"]}
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if value is JS_NULL:
        return "<null>"
    return value


async def run_call(binding: Any, call: Call) -> Any:
    method = call[0]
    try:
        if method == "batch":
            statements = [
                binding.prepare(sql).bind(*params) if params else binding.prepare(sql) for sql, params in call[1]
            ]
            result = await binding.batch(statements)
        elif method == "exec":
            result = await binding.exec(call[1])
        else:
            sql, params = call[1], call[2]
            statement = binding.prepare(sql)
            if params:
                statement = statement.bind(*params)
            if method == "first" and len(call) > 3:
                result = await statement.first(call[3])
            else:
                result = await getattr(statement, method)()
    except Exception as exc:  # D1 rejects with an Error whose message is the contract
        return {"error": _normalise_error(str(exc))}
    return _normalise(result)


async def reset(binding: Any) -> None:
    """Drop everything the cases created (D1's own `_cf_*` tables stay)."""
    listing = await binding.prepare(
        "SELECT type, name, coalesce(sql, '') AS sql FROM sqlite_master WHERE type IN ('table', 'trigger') "
        "AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).all()
    rows = listing["results"]
    # Triggers first, then virtual tables (their shadow tables go with them), then tables.
    rows.sort(key=lambda r: (r["type"] != "trigger", not r["sql"].upper().startswith("CREATE VIRTUAL")))
    for row in rows:
        await binding.prepare(f'DROP {row["type"].upper()} IF EXISTS "{row["name"]}"').run()


async def run_case(binding: Any, calls: list[Call]) -> list[Any]:
    await reset(binding)
    return [await run_call(binding, call) for call in calls]
