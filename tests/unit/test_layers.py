"""The layers point one way: webapp → workflows → engine; only engine/ imports SpiffWorkflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "engine": {"flask", "flask_sqlalchemy", "flask_socketio", "celery", "werkzeug", "workflows", "webapp",
               "vision", "reports"},
    "workflows": {"flask", "flask_sqlalchemy", "flask_socketio", "celery", "werkzeug", "webapp", "SpiffWorkflow",
                  "RestrictedPython"},
    "vision": {"flask", "celery", "webapp", "SpiffWorkflow"},
    "reports": {"flask", "celery", "webapp", "SpiffWorkflow"},
    "webapp": {"SpiffWorkflow", "RestrictedPython"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a Python file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_may(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        bad = imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert offenders == []


def test_only_the_engine_adapters_touch_spiffworkflow():
    users = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "engine").rglob("*.py")
                   if "SpiffWorkflow" in imported_roots(p))
    assert users == ["engine/clock.py", "engine/expressions.py", "engine/migration.py", "engine/spiff.py"]
