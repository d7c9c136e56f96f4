"""The Sec. 5 MLP experiments run green in quick mode."""

import pytest

from controlml.reproduce import reproduce


@pytest.mark.slow
def test_mlp_experiments_quick(tmp_path):
    names = ["mlp-classify", "mlp-uat", "mlp-training"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [
        (r.name, r.status, r.error, [c for c in r.checks if not c.holds]) for r in rep.results]
    assert all(len(r.checks) >= 4 for r in rep.results)
    assert (tmp_path / "index.html").exists()
    assert all(any(f.path.endswith(".png") for f in r.figures) for r in rep.results)
