"""The README's example runs as written; docstring examples of the core run as doctests."""

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("exact")


@pytest.mark.parametrize("module", ["controlml.node.simultaneous._interpolate"])
def test_doctests(module):
    import importlib

    mod = importlib.import_module(module)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0


def test_reproduce_in_parallel_processes(tmp_path):
    from controlml.reproduce import reproduce

    rep = reproduce(["fig3.1", "fig3.2"], quick=True, out=tmp_path, jobs=2, progress=False)
    assert [r.status for r in rep.results] == ["passed", "passed"]
    assert rep.ok and (tmp_path / "figures" / "fig3.2-1.png").exists()
