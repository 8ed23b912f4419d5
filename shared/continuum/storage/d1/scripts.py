"""Splitting an SQL script into statements for D1's `batch` (it takes one statement each)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _is_trigger(words: list[str]) -> bool:
    head = [w.upper() for w in words[:3]]
    return head[:2] == ["CREATE", "TRIGGER"] or (
        head[:1] == ["CREATE"] and head[1:3] in (["TEMP", "TRIGGER"], ["TEMPORARY", "TRIGGER"])
    )


def _quoted_end(script: str, start: int) -> int:
    """Index just past the quoted token opening at `start` ('', "", `` double to escape)."""
    close = "]" if script[start] == "[" else script[start]
    j = start + 1
    while j < len(script):
        if script[j] == close:
            if close != "]" and script.startswith(close * 2, j):
                j += 2
                continue
            return j + 1
        j += 1
    return len(script)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements, keeping trigger bodies (BEGIN ... END) whole.

    Understands quotes ('', "", ``, []), line and block comments; comments are dropped.
    """
    statements: list[str] = []
    current: list[str] = []
    words: list[str] = []
    depth = 0  # BEGIN/CASE ... END nesting inside a CREATE TRIGGER
    i = 0
    while i < len(script):
        ch = script[i]
        if script.startswith("--", i):
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
        elif script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = len(script) if end < 0 else end + 2
            current.append(" ")
        elif ch in "'\"`[":
            end = _quoted_end(script, i)
            current.append(script[i:end])
            i = end
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(script, i)
            assert match is not None
            token = match.group(0)
            current.append(token)
            words.append(token)
            i = match.end()
            if _is_trigger(words):
                if token.upper() in ("BEGIN", "CASE"):
                    depth += 1
                elif token.upper() == "END":
                    depth -= 1
        elif ch == ";" and depth <= 0:
            text = "".join(current).strip()
            if text:
                statements.append(text)
            current, words, depth = [], [], 0
            i += 1
        else:
            current.append(ch)
            i += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements
