"""The registry, runner and report writer, on experiments made for the test."""

import json

import matplotlib.pyplot as plt
import pytest

from controlml import ParameterError
from controlml.cli import main
from controlml.reproduce import (
    SECTIONS,
    Experiment,
    registry,
    run_experiments,
    select,
    write_report,
)


def _ok(ctx):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ctx.figure(fig, "a line")
    ctx.check("one equals one", 1, 1, True)


def _bad(ctx):
    ctx.check("a false claim", 1, 2, False)


def _boom(ctx):
    raise RuntimeError("kaboom")


def _skip(ctx):
    ctx.skip("no data: pass --data-dir")


def _empty(ctx):
    pass


EXPS = [Experiment(n, s, n, "caption " + n, f, i) for i, (n, s, f) in enumerate(
    [("ok", "3", _ok), ("bad", "2", _bad), ("boom", "4", _boom), ("skip", "5", _skip),
     ("empty", "3", _empty)])]


@pytest.mark.parametrize("jobs", [1])
def test_runner_isolates_failures_and_report_is_written(tmp_path, jobs):
    results = run_experiments(EXPS, quick=True, out_dir=tmp_path, jobs=jobs, progress=False)
    status = {r.name: r.status for r in results}
    assert status == {"ok": "passed", "bad": "failed", "boom": "error", "skip": "skipped",
                      "empty": "error"}
    boom = next(r for r in results if r.name == "boom")
    assert "kaboom" in boom.error
    index = write_report(results, tmp_path, quick=True)
    html = index.read_text()
    # sections in paper order, figures and captions, red and green rows
    assert html.index(SECTIONS["2"]) < html.index(SECTIONS["3"]) < html.index(SECTIONS["4"])
    assert "figures/ok-1.png" in html and "caption ok" in html
    assert 'class="bad"' in html and 'class="ok"' in html
    assert (tmp_path / "figures" / "ok-1.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["meta"]["counts"] == {"passed": 1, "failed": 1, "error": 2, "skipped": 1}
    assert [e["name"] for e in data["experiments"]] == [e.name for e in EXPS]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_registry_is_ordered_and_named_after_the_paper():
    exps = registry()
    assert exps, "no experiment registered"
    keys = list(SECTIONS)
    order = [keys.index(e.section) for e in exps]
    assert order == sorted(order)
    names = [e.name for e in exps]
    assert len(names) == len(set(names))
    for must in ("fig3.1", "fig3.2", "thm3.1", "thm3.3"):
        assert must in names


def test_select_by_name_prefix_and_section():
    assert [e.name for e in select(["thm3.1"])] == ["thm3.1"]
    assert {e.section for e in select(["sec3"])} == {"3"}
    assert all(e.name.startswith("fig3") for e in select(["fig3"]))
    with pytest.raises(ParameterError, match="no experiment named 'nope'"):
        select(["nope"])


def test_cli_list_and_exit_status(tmp_path, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fig3.1" in out and "3 Neural ODEs" in out
    rc = main(["reproduce", "fig3.1", "--quick", "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert (tmp_path / "index.html").exists() and "passed" in out
    assert main(["reproduce", "nope", "--out", str(tmp_path), "--no-progress"]) == 2
