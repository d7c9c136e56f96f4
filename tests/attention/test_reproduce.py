"""The Sec. 4 report entries run green in quick mode."""

from controlml.reproduce import reproduce


def test_sec4_experiments_quick(tmp_path):
    names = ["fig4.1", "thm4.1", "tau-limit", "seq-interp"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    assert all(r.checks and r.figures for r in rep.results)
    for r in rep.results:
        for f in r.figures:
            assert (tmp_path / f.path).stat().st_size > 1000
