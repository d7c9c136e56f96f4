"""The Sec. 3.2 experiments (clusters, prob-bound, thm3.2, thm3.4) pass in quick mode."""

from __future__ import annotations

import pytest

from controlml.reproduce import reproduce


@pytest.mark.slow
def test_sec32_experiments_quick(tmp_path):
    names = ["clusters", "prob-bound", "thm3.2", "thm3.4"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    assert all(r.figures for r in rep.results)
