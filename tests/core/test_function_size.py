"""Functions that had grown past two screens are split into small ones (issue 11 §4)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "controlml"
LIMIT = 150  # lines, docstring included


def _function(path: Path, name: str) -> ast.FunctionDef:
    tree = ast.parse(path.read_text())
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


@pytest.mark.parametrize("module, name", [
    ("node/flows/_flow.py", "_general"),
    ("diffusion/_sampler.py", "sample"),
    ("node/simultaneous/_classify.py", "classify"),
])
def test_function_fits_in_two_screens(module, name):
    f = _function(SRC / module, name)
    assert f.end_lineno - f.lineno + 1 <= LIMIT


def test_the_sampler_uses_the_public_score_method_and_picks_its_stepper_once():
    f = _function(SRC / "diffusion" / "_sampler.py", "sample")
    src = ast.unparse(f)
    assert "_score_tensor" not in src
    loops = [n for n in ast.walk(f) if isinstance(n, ast.For)]
    for loop in loops:  # no string comparison with the method inside the loop
        for node in ast.walk(loop):
            if isinstance(node, ast.Compare):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                assert "method" not in names, ast.unparse(node)
