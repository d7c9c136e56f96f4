"""The command line and the files it writes (issue 11, section 2): bad arguments are refused
before any experiment runs, an interrupted run leaves an earlier report intact, written files
get the umask's permissions, damaged checkpoints are named."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import matplotlib.pyplot as plt
import pytest

from controlml import DataNotFoundError, ParameterError
from controlml._io import atomic_write_bytes, load_checkpoint_file, save_checkpoint_file
from controlml.cli import main
from controlml.reproduce import Experiment, _runner

RAN: list[str] = []


def _fig(ctx):
    RAN.append(ctx.name)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ctx.figure(fig, "a line")
    ctx.check("one equals one", 1, 1, True)


def _long_skip(ctx):
    RAN.append(ctx.name)
    ctx.skip("no data here: " + "x" * 300 + " END-OF-REASON")


def _interrupt(ctx):
    RAN.append(ctx.name)
    fig, ax = plt.subplots()
    ctx.figure(fig, "half-way figure")
    raise KeyboardInterrupt


EXPS = [Experiment("alpha", "3", "alpha", "", _fig, 0),
        Experiment("beta", "3", "beta", "", _fig, 1),
        Experiment("skipper", "4", "skipper", "", _long_skip, 2),
        Experiment("ctrlc", "5", "ctrlc", "", _interrupt, 3)]


@pytest.fixture(autouse=True)
def _fake_registry(monkeypatch):
    monkeypatch.setattr(_runner, "registry", lambda: list(EXPS))
    RAN.clear()


def _run(*args):
    return main(["reproduce", *args, "--no-progress"])


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("controlml: error: ") and "\n" not in err, err
    return err


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    f = tmp_path / "report.txt"
    f.write_text("mine")
    assert _run("alpha", "--out", str(f)) == 2
    assert "existing file" in _one_line_error(capsys)
    assert RAN == [] and f.read_text() == "mine"


def test_out_below_a_file_cannot_be_created(tmp_path, capsys):
    f = tmp_path / "plain"
    f.write_text("")
    assert _run("alpha", "--out", str(f / "sub")) == 2
    assert "cannot be created" in _one_line_error(capsys)
    assert RAN == []


def test_index_html_that_is_a_folder_is_refused(tmp_path, capsys):
    (tmp_path / "index.html").mkdir()
    assert _run("alpha", "--out", str(tmp_path)) == 2
    assert "'index.html' as a folder" in _one_line_error(capsys)
    assert RAN == [] and not (tmp_path / "results.json").exists()


def test_missing_data_dir_is_an_error_not_a_skip(tmp_path, capsys):
    assert _run("alpha", "--out", str(tmp_path / "r"), "--data-dir", str(tmp_path / "nope")) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert RAN == []
    with pytest.raises(DataNotFoundError):
        from controlml.reproduce import reproduce

        reproduce(["alpha"], out=tmp_path / "r", data_dir=tmp_path / "nope", progress=False)


@pytest.mark.parametrize("names", [[""], ["alpha", "  "]])
def test_empty_experiment_name_is_refused(tmp_path, capsys, names):
    assert _run(*names, "--out", str(tmp_path)) == 2
    assert "is empty" in _one_line_error(capsys)
    assert RAN == []


def test_skip_reasons_are_printed_whole(tmp_path, capsys):
    assert _run("skipper", "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "END-OF-REASON" in out and "x" * 300 in out


def test_interrupt_keeps_the_earlier_report_intact(tmp_path, capsys):
    assert _run("alpha", "beta", "--out", str(tmp_path)) == 0
    capsys.readouterr()
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert len([p for p in before if str(p).startswith("figures")]) == 2
    assert _run("alpha", "ctrlc", "--out", str(tmp_path)) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("controlml: interrupted") and "\n" not in err
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # same files, same bytes, no staging folder left behind
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_new_run_replaces_the_report_whole(tmp_path, capsys):
    assert _run("alpha", "beta", "--out", str(tmp_path)) == 0
    (tmp_path / "notes.txt").write_text("the user's own file")
    assert _run("beta", "--out", str(tmp_path)) == 0
    figs = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figs == ["beta-1.png"]  # alpha's stale figure is gone with its report
    names = [e["name"] for e in json.loads((tmp_path / "results.json").read_text())["experiments"]]
    assert names == ["beta"]
    assert (tmp_path / "notes.txt").read_text() == "the user's own file"


def test_written_files_get_the_umask_permissions(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert _run("alpha", "--out", str(tmp_path / "r")) == 0
        for p in [tmp_path / "r" / "index.html", tmp_path / "r" / "results.json",
                  tmp_path / "r" / "figures" / "alpha-1.png"]:
            assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
        assert stat.S_IMODE((tmp_path / "r" / "figures").stat().st_mode) == 0o755
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "private.bin", b"x")
        assert stat.S_IMODE((tmp_path / "private.bin").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_reproduce_help_says_what_no_names_means_and_the_data_layouts(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "none means every experiment" in out and "controlml list" in out
    assert "rt-polarity.pos" in out and "aclImdb" in out and "review,sentiment" in out


def test_checkpoint_with_broken_metadata_is_named(tmp_path):
    import torch
    from safetensors.torch import save

    path = tmp_path / "m.safetensors"
    path.write_bytes(save({"w": torch.zeros(2)}, metadata={"format": "fmt", "meta": "{not json"}))
    with pytest.raises(ParameterError, match="not valid JSON") as exc:
        load_checkpoint_file(path, "fmt", what="test")
    assert str(path) in str(exc.value)
    save_checkpoint_file(path, "fmt", {"w": torch.zeros(2)}, {"a": 1})
    with pytest.raises(ParameterError, match=r"missing metadata key 'b', tensor 'v'"):
        load_checkpoint_file(path, "fmt", what="test", meta_keys=("a", "b"), tensor_keys=("w", "v"))
    tensors, meta = load_checkpoint_file(path, "fmt", what="test", meta_keys=("a",),
                                         tensor_keys=("w",))
    assert meta == {"a": 1} and tensors["w"].shape == (2,)


def test_saving_to_a_folder_is_a_clear_error(tmp_path):
    import torch

    with pytest.raises(ParameterError, match="it is a folder"):
        save_checkpoint_file(tmp_path, "fmt", {"w": torch.zeros(1)}, {})


_SCRIPT = textwrap.dedent("""
    import sys, time
    from controlml.reproduce import Experiment, _runner
    def slow(ctx):
        print("started", flush=True)
        time.sleep(60)
    exps = [Experiment("slow1", "3", "slow", "", slow, 0),
            Experiment("slow2", "3", "slow", "", slow, 1)]
    _runner.registry = lambda: exps
    from controlml.cli import main
    sys.exit(main(["reproduce", "--out", sys.argv[1], "--no-progress", "--jobs", sys.argv[2]]))
""")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_is_one_line_and_exit_130(tmp_path, jobs):
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(script), str(out), jobs], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 60
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=max(5.0, deadline - time.monotonic()))
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().startswith("controlml: interrupted"), err
    assert not (out / "index.html").exists()
    assert [p.name for p in out.iterdir()] == []
