"""The HYCO experiments run in quick mode, produce their checks and figures, and the docs example runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_hyco_experiments_quick(tmp_path):
    from controlml.reproduce import reproduce

    names = ["hyco-helmholtz", "hyco-heat"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    # the claims are measured, not assumed: a comparison may fail at quick sizes, never crash
    assert all(r.status in ("passed", "failed") for r in rep.results), [r.error for r in rep.results]
    for r in rep.results:
        assert len(r.checks) >= 3 and len(r.figures) >= 2
    helm = rep.results[0]
    assert helm.checks[0].holds      # the FEM's O(h^2) order holds at any size


def test_docs_example_runs(capsys):
    text = (ROOT / "docs" / "hyco.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    ns: dict = {}
    for code in blocks:
        exec(compile(code, "docs/hyco.md", "exec"), ns)
    assert "parameter error" in capsys.readouterr().out
