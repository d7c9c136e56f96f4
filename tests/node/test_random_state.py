"""Sec. 3 training takes ``random_state`` (int, None, numpy Generator); ``seed`` is a deprecated alias."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from controlml.errors import ParameterError
from controlml.node import apriori_bound_study, fit, fit_turnpike

X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
Y = np.array([[0.5, 1.0], [1.0, 1.0], [-1.0, 0.0]])


def _fit(**kw):
    return fit(X, Y, alpha=1e-3, num_pieces=2, epochs=3, lr=1e-2, dtype=torch.float64, **kw)


def _turnpike(**kw):
    return fit_turnpike(X, Y, T=0.5, h=0.25, epochs=2, steps_per_piece=1, samples_per_piece=2,
                        dtype=torch.float64, **kw)


@pytest.mark.parametrize("train", [_fit, _turnpike])
def test_a_numpy_generator_is_accepted_and_reproducible(train):
    a = train(random_state=np.random.default_rng(5))
    b = train(random_state=np.random.default_rng(5))
    c = train(random_state=np.random.default_rng(6))
    assert np.array_equal(a.control.arrays[1], b.control.arrays[1])
    assert not np.array_equal(a.control.arrays[1], c.control.arrays[1])


@pytest.mark.parametrize("train", [_fit, _turnpike])
def test_seed_is_a_deprecated_alias_of_random_state(train):
    with pytest.warns(FutureWarning, match="seed=.*deprecated.*random_state"):
        old = train(seed=3)
    new = train(random_state=3)
    assert np.array_equal(old.control.arrays[1], new.control.arrays[1])
    with pytest.warns(FutureWarning), pytest.raises(ParameterError, match="random_state only"):
        train(seed=3, random_state=3)


def test_bad_random_state_is_refused_naming_it():
    with pytest.raises(ParameterError, match="random_state must be None, an int or a numpy Generator"):
        _fit(random_state=1.5)


def test_apriori_bound_study_takes_a_generator_and_the_deprecated_seed():
    kw = dict(alphas=[0.1], num_random=1, epochs=2, constructed_epochs=1)
    a = apriori_bound_study(X, Y, random_state=np.random.default_rng(0), **kw)
    b = apriori_bound_study(X, Y, random_state=np.random.default_rng(0), **kw)
    assert [r.seed for r in a.runs] == [r.seed for r in b.runs]
    assert [r.objective for r in a.runs] == [r.objective for r in b.runs]
    with pytest.warns(FutureWarning, match="seed=.*deprecated"):
        c = apriori_bound_study(X, Y, random_state=0, seed=7, **kw)
    assert [r.seed for r in c.runs] == [-1, 7]


def test_docs_describe_the_checkpoint_format_that_is_written(tmp_path):
    from pathlib import Path

    from safetensors import safe_open

    doc = (Path(__file__).resolve().parents[2] / "docs" / "node_training.md").read_text()
    assert "torch.save" not in doc and ".pt`" not in doc and "not in the environment" not in doc
    res = _fit(random_state=0, checkpoint_dir=tmp_path)
    path = Path(res.checkpoint)
    assert path.name == "node_fit.safetensors" and f"`{path.name}`" in doc
    with safe_open(str(path), framework="pt") as fh:
        header = fh.metadata()
        assert sorted(fh.keys()) == ["A", "W", "b", "durations"]
    assert f'`"{header["format"]}"`' in doc
    import json

    for key in json.loads(header["meta"]):
        assert f"`{key}`" in doc, key


def test_one_status_name_for_an_unmet_tolerance():
    from controlml.node import transport

    box = np.array([[-1.0, -1.0], [1.0, 1.0]])
    r = transport([[0, 0], [1, 1]], np.array([[1.0, 2.0], [3.0, 1.0]]), box=box, tol=1e-9, max_cells=2,
                  grid=16, num_samples=50, random_state=0)
    assert r.status == "tolerance_not_met"


def test_damaged_node_checkpoint_names_the_file_and_what_is_missing(tmp_path):
    """Issue 11 §2: a checkpoint lacking a tensor or a key is refused with a ParameterError
    naming the file (was a KeyError)."""
    import json

    import pytest
    import torch
    from safetensors.torch import save

    from controlml import ParameterError
    from controlml.node import load_checkpoint

    path = tmp_path / "node.safetensors"
    meta = {"activation": "relu", "method": "exact", "steps_per_piece": 8, "rtol": 1e-7,
            "atol": 1e-9}
    path.write_bytes(save({"W": torch.zeros(1, 2, 1)},
                          metadata={"format": "controlml-torchnode-v1", "meta": json.dumps(meta)}))
    from controlml.node.training import _training

    if _training._FORMAT != "controlml-torchnode-v1":
        path.write_bytes(save({"W": torch.zeros(1, 2, 1)},
                              metadata={"format": _training._FORMAT, "meta": json.dumps(meta)}))
    with pytest.raises(ParameterError, match="missing metadata key 'epoch', tensor 'durations'") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)
