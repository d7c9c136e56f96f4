"""No module reaches into another package's private modules or names.

A module of ``controlml.P`` may import ``controlml.P.<anything>._x``; from another package
``controlml.Q`` it imports only public names of public modules.  The top-level private
helpers shared by every package (``controlml._checks``, ``controlml._io``,
``controlml._torch``) are the exception.  Benchmarks are outside every package.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = {"_checks", "_io", "_torch"}


def _module_name(path: Path) -> list[str]:
    rel = path.relative_to(ROOT / "src").with_suffix("")
    parts = list(rel.parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _owner(parts: list[str]) -> str | None:
    """The package of controlml a dotted name belongs to (``node`` for controlml.node.flows._flow)."""
    if len(parts) < 2 or parts[0] != "controlml":
        return None
    return parts[1]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    if path.is_relative_to(ROOT / "src"):
        me = _module_name(path)
        pkg = me if path.name == "__init__.py" else me[:-1]
        mine = _owner(me)
    else:  # benchmarks: outside every package
        pkg, mine = [], None
    bad = []
    for node in ast.walk(tree):
        targets: list[tuple[list[str], str | None]] = []
        if isinstance(node, ast.Import):
            targets = [(a.name.split("."), None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = base + (node.module.split(".") if node.module else [])
            else:
                mod = (node.module or "").split(".")
            targets = [(mod, a.name) for a in node.names]
        for mod, name in targets:
            owner = _owner(mod)
            if owner is None or owner == mine:
                continue
            private_parts = [p for p in mod[1:] if _is_private(p)]
            if mod[1:2] and mod[1] in SHARED and len(mod) == 2:
                private_parts = []
            if private_parts or (name is not None and _is_private(name) and mod[1] not in SHARED):
                what = ".".join(mod) + (f" import {name}" if name else "")
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {what}")
    return bad


def _files():
    files = sorted((ROOT / "src" / "controlml").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    assert files
    return files


def test_no_cross_package_private_imports():
    bad = [v for f in _files() for v in _violations(f)]
    assert bad == [], "cross-package private imports:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("from controlml.node._transport import _grid_midpoints", 1),
    ("import controlml.diffusion._torchutil", 1),
    ("from controlml.node import _something", 1),
    ("from controlml._torch import limit_threads", 0),
    ("from controlml.node.transport import grid_midpoints", 0),
    ("from ..diffusion._score import HeatKernelScore", 1),
    ("from .._checks import check_int", 0),
])
def test_the_scan_catches_private_imports(tmp_path, source, expected, monkeypatch):
    # pretend to be a module of controlml.attention
    fake = ROOT / "src" / "controlml" / "attention" / "_probe_for_scan.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert len(_violations(fake)) == expected
