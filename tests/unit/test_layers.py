"""The layers hold: the core and the ground floor import no adapter, no HTTP, no settings,
and no `continuum` modules import one another in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "continuum"
GROUND_FLOOR = ["errors", "clock", "ids", "models", "ports", "vectors", "keys"]
OUTWARD = [
    "continuum.api", "continuum.schemas", "continuum.storage", "continuum.cache", "continuum.embeddings",
    "continuum.aws", "continuum.workers", "continuum.cli", "continuum.settings", "continuum.runtime",
    "continuum.observability",
]  # fmt: skip
# Removed once the runtime branch lands (these take injected configs and fallbacks there).
KNOWN_EXCEPTIONS = {"continuum.core.auth", "continuum.core.ratelimit", "continuum.core.idempotency"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _all_imports(path: Path) -> list[str]:
    """Every import in the module, including those inside functions."""
    return [name for node in ast.walk(ast.parse(path.read_text())) for name in _imported(node)]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(path: Path) -> list[str]:
    """Imports that run when the module is imported (not in functions, not for type checkers)."""
    found: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            found.extend(_imported(node))
            if isinstance(node, ast.If) and not _is_type_checking(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(path.read_text()).body)
    return found


def _inner_modules() -> list[str]:
    modules = _modules()
    core = [name for name in modules if name == "continuum.core" or name.startswith("continuum.core.")]
    return core + [f"continuum.{name}" for name in GROUND_FLOOR]


@pytest.mark.parametrize("module", _inner_modules())
def test_the_core_and_the_ground_floor_import_nothing_outward(module: str) -> None:
    if module in KNOWN_EXCEPTIONS:
        pytest.skip("removed once the runtime branch lands")
    path = _modules()[module]
    outward = sorted(
        {name for name in _all_imports(path) for prefix in OUTWARD if name == prefix or name.startswith(prefix + ".")}
    )
    assert not outward, f"{module} imports {outward}"


def test_the_ground_floor_imports_only_itself() -> None:
    modules = _modules()
    floor = {f"continuum.{name}" for name in GROUND_FLOOR}
    for module in floor:
        inward = {n for n in _all_imports(modules[module]) if n in modules and n != "continuum"}
        assert inward <= floor, f"{module} imports {sorted(inward - floor)}"


def test_no_import_circles() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in _module_level_imports(path) if target in modules and target != name}
    visiting: list[str] = []
    done: set[str] = set()

    def walk(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            circle = [*visiting[visiting.index(node) :], node]
            raise AssertionError("import circle: " + " -> ".join(circle))
        visiting.append(node)
        for target in sorted(graph[node]):
            walk(target)
        visiting.pop()
        done.add(node)

    for name in sorted(graph):
        walk(name)
