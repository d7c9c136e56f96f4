"""The Sec. 5 MPC experiments run green in quick mode; the docs example runs."""

import re
from pathlib import Path

import pytest

from controlml.reproduce import reproduce

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mpc_experiments_quick(tmp_path):
    names = ["lqr-turnpike", "mpc-convergence", "rbm-splitting", "rbm-mpc", "guidance"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [
        (r.name, r.status, r.error, [c for c in r.checks if not c.holds]) for r in rep.results]
    assert all(any(f.path.endswith(".png") for f in r.figures) for r in rep.results)


def test_docs_example_runs(capsys):
    text = (ROOT / "docs" / "mpc.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/mpc.md", "exec"), {})
    assert "RBM-MPC" in capsys.readouterr().out
