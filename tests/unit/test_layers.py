"""The layers hold: every module imports only the layers beneath it (the core and the ground
floor import no adapter, HTTP, settings or runtime), no `continuum` modules import one another
in a circle, and the diagram in docs/architecture.md is the one the code draws."""

from __future__ import annotations

from tests.support import layers


def test_every_module_belongs_to_a_layer() -> None:
    for module in layers.modules():
        assert layers.layer_of(module)


def test_the_core_and_the_ground_floor_import_nothing_outward() -> None:
    assert layers.ALLOWED["ground"] == set()
    assert layers.ALLOWED["core"] == {"ground"}
    outward = [
        imp for imp in layers.all_imports()
        if layers.layer_of(imp.source) in ("ground", "core")
        and layers.layer_of(imp.target) not in ("ground", "core")
    ]  # fmt: skip
    assert outward == [], "\n".join(f"{i.source}:{i.line} imports {i.target}" for i in outward)


def test_every_layer_imports_only_the_layers_beneath_it() -> None:
    assert layers.violations() == []


def test_no_import_circles() -> None:
    assert layers.cycles() == []


def test_the_architecture_diagram_is_the_one_the_code_draws() -> None:
    assert layers.documented() == layers.diagram(), "run: python -m tests.support.layers --write"


def test_a_core_module_importing_an_adapter_is_caught(tmp_path, monkeypatch) -> None:
    package = tmp_path / "continuum"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    (package / "core" / "leaky.py").write_text("def f():\n    from continuum.storage.sqlite import SqliteStorage\n")
    (package / "storage").mkdir()
    (package / "storage" / "__init__.py").write_text("")
    (package / "storage" / "sqlite.py").write_text("import continuum.core.leaky\n")
    monkeypatch.setattr(layers, "PACKAGE", package)
    assert any("continuum.core.leaky" in v and "continuum.storage.sqlite" in v for v in layers.violations())
    assert layers.cycles() == []  # the core's import is inside a function: no import-time circle


# Unit tests that cover the package as a whole rather than one module.
WHOLE_PACKAGE_TESTS = {"test_layers"}


def test_unit_test_files_are_named_after_the_modules_they_cover() -> None:
    """A reader finds a module's unit tests by its name: tests/unit/test_<module>.py, where
    <module> is the module's (or package's) name, or its path joined by '_' when the name
    alone is ambiguous (test_runtime_profiles.py for runtime/profiles.py)."""
    names: set[str] = set()
    for module in layers.modules():
        parts = module.split(".")[1:]
        for start in range(len(parts)):
            names.add("_".join(parts[start:]))
    unit = layers.REPO / "tests" / "unit"
    strays = [
        path.name for path in sorted(unit.glob("test_*.py"))
        if path.stem.removeprefix("test_") not in names and path.stem not in WHOLE_PACKAGE_TESTS
    ]  # fmt: skip
    assert strays == [], f"unit test files named after no module: {strays}"
