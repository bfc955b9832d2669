"""The house's layering: the packages below the edges never import the edges."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EDGES = {"app", "cli", "commands", "desk", "simulator"}


def imported(path: Path) -> set[str]:
    """Return the top-level names a module imports, lazily inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["workers", "registry", "conversations", "phonetext"])
def test_a_package_below_the_edges_imports_no_edge(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported(path) & EDGES)
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and imported(path) & EDGES
    }
    assert offenders == {}


def test_every_console_script_names_a_function_that_exists() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "janela-worker" in scripts
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))
