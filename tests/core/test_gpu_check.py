"""The prepared GPU check (``python -m benchmarks.gpu_check``) runs as a CPU smoke test:
every CUDA path of the library, once on each side, within its stated tolerance."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_gpu_check_runs_every_path_on_cpu(tmp_path, capsys):
    from benchmarks import gpu_check

    rc = gpu_check.main(["--device", "cpu", "--json", str(tmp_path / "rows.json")])
    out = capsys.readouterr().out
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert rc == 0, out
    assert len(rows) == len(gpu_check.PATHS) and all(r["ok"] for r in rows)
    # same seed, same device: the CPU smoke run must agree to rounding on every path
    assert all(r["difference"] <= 1e-12 for r in rows), rows


def test_gpu_check_refuses_a_missing_device(capsys):
    import torch
    from benchmarks import gpu_check

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gpu_check.main(["--device", "cuda"]) == 2
    assert "not available" in capsys.readouterr().err
