"""The Sec. 5 diffusion experiments run green in quick mode."""

from controlml.reproduce import reproduce


def test_diffusion_experiments_quick(tmp_path):
    names = ["fig5.1", "memorisation", "li-yau", "surrogate-score"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error, [c for c in r.checks if not c.holds]) for r in rep.results]
    assert (tmp_path / "index.html").exists()
    assert any(f.path.endswith(".png") for r in rep.results for f in r.figures)
