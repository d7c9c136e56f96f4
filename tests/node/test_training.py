"""fit / J_alpha (3.13), checkpoints, the a-priori bound study (3.11)-(3.15), reproduce entries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from controlml.errors import DataNotFoundError, DatasetError, ParameterError
from controlml.node import (
    TorchNODE,
    apriori_bound_study,
    fit,
    interpolate,
    load_checkpoint,
    save_checkpoint,
    training_objective,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    return rng.uniform(-1, 1, (4, 2)), rng.uniform(-1, 1, (4, 2))


def test_training_objective_is_alpha_K_for_a_constructed_control(data):
    X, Y = data
    c = interpolate(X, Y, random_state=0).control
    J, risk, bv2 = training_objective(c, X, Y, alpha=0.5)
    assert bv2 == pytest.approx(c.bv_norm() ** 2, rel=1e-15)
    assert risk < 1e-16
    assert J == pytest.approx(0.5 * bv2 + risk, rel=1e-15)


def test_fit_decreases_J_and_reports_exact_values(data):
    X, Y = data
    res = fit(X, Y, alpha=1e-3, num_pieces=4, epochs=80, lr=5e-2, random_state=0)
    assert res.objective < 0.5 * res.initial_objective
    J, risk, bv2 = training_objective(res.control, X, Y, alpha=1e-3)
    assert (res.objective, res.risk, res.bv_norm_sq) == pytest.approx((J, risk, bv2), rel=1e-12)
    assert res.history.shape == (res.epochs,)
    assert len(res.control.pieces) == 4 and res.control.T == pytest.approx(1.0)
    # same seed, same numbers
    res2 = fit(X, Y, alpha=1e-3, num_pieces=4, epochs=80, lr=5e-2, random_state=0)
    np.testing.assert_array_equal(res.history, res2.history)


def test_fit_from_constructed_control_never_exceeds_alpha_K(data):
    X, Y = data
    c = interpolate(X, Y, random_state=0).control
    K = c.bv_norm() ** 2
    alpha = np.sum((X - Y) ** 2) / K
    res = fit(X, Y, alpha=alpha, init=c, optimizer="lbfgs", lr=0.5, epochs=5, patience=2)
    J_c = training_objective(c, X, Y, alpha=alpha)[0]
    assert res.initial_objective == pytest.approx(J_c, rel=1e-14)
    assert res.objective <= J_c * (1 + 1e-12)
    assert res.bv_norm_sq <= K * (1 + 1e-12)  # (3.15)


@settings(max_examples=6)
@given(seed=st.integers(0, 10_000), N=st.integers(2, 4), c=st.sampled_from([0.01, 0.1, 1.0]))
def test_bound_315_from_the_construction_property(seed, N, c):
    """(3.15) over random data: training from the constructed control keeps
    J_alpha(theta*) <= alpha K, hence ||theta*||^2_BV <= K."""
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(-1, 1, (N, 2)), rng.uniform(-1, 1, (N, 2))
    res_c = interpolate(X, Y, random_state=seed)
    K = res_c.control.bv_norm() ** 2
    alpha = c * np.sum((X - Y) ** 2) / K
    J_c, risk_c, _ = training_objective(res_c.control, X, Y, alpha=alpha)
    res = fit(X, Y, alpha=alpha, init=res_c.control, optimizer="lbfgs", lr=0.5, epochs=2,
              patience=1, dtype=torch.float64)
    assert res.objective <= J_c * (1 + 1e-12)
    assert res.bv_norm_sq <= (K + risk_c / alpha) * (1 + 1e-12)


def test_early_stopping_and_status(data):
    X, Y = data
    res = fit(X, Y, alpha=1.0, num_pieces=2, epochs=5000, lr=1e-2, patience=20, tol=1e-3, random_state=1)
    assert res.status == "converged"
    assert res.epochs < 5000


def test_width2_and_smooth_activation_train(data):
    X, Y = data
    res = fit(X, Y, alpha=1e-4, num_pieces=2, width=2, activation="tanh", steps_per_piece=2,
              epochs=60, lr=5e-2, random_state=0)
    assert res.objective < res.initial_objective


def test_checkpoint_round_trip(tmp_path, data):
    X, Y = data
    res = fit(X, Y, alpha=1e-3, num_pieces=3, epochs=30, random_state=0, checkpoint_dir=tmp_path / "ck",
              checkpoint_every=10)
    assert res.checkpoint is not None
    m, epoch = load_checkpoint(res.checkpoint)
    assert epoch == res.epochs
    for k in range(4):
        np.testing.assert_array_equal(m.to_control().arrays[k], res.control.arrays[k])
    # resume from the module
    res2 = fit(X, Y, alpha=1e-3, init=m, epochs=10)
    assert res2.initial_objective == pytest.approx(res.objective, rel=1e-12)
    # explicit save / load keeps options, no temporary files left
    m2 = TorchNODE.from_control(res.control, activation="tanh", method="rk4", steps_per_piece=5)
    p = save_checkpoint(m2, tmp_path / "m.pt", epoch=7)
    m3, ep = load_checkpoint(p)
    assert (m3.activation, m3.method, m3.steps_per_piece, ep) == ("tanh", "rk4", 5, 7)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["ck", "m.pt"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"format": "other"}, bad)
    with pytest.raises(ParameterError, match="not a controlml TorchNODE checkpoint"):
        load_checkpoint(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ParameterError, match="not a controlml TorchNODE checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(ParameterError, match="must be a TorchNODE"):
        save_checkpoint("x", tmp_path / "x.pt")


def test_fit_errors(data, tmp_path):
    X, Y = data
    with pytest.raises(DatasetError, match="same number of rows"):
        fit(X, Y[:3], alpha=1.0)
    with pytest.raises(ParameterError, match="alpha must be >= 0"):
        fit(X, Y, alpha=-1.0)
    with pytest.raises(ParameterError, match="num_pieces is taken from init"):
        fit(X, Y, alpha=1.0, init=interpolate(X, Y, random_state=0).control, num_pieces=3)
    with pytest.raises(ParameterError, match="optimizer must be one of"):
        fit(X, Y, alpha=1.0, optimizer="sgd")
    with pytest.raises(ParameterError, match="random_state must be None"):
        fit(X, Y, alpha=1.0, random_state="a")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ParameterError, match="is not a folder"):
        fit(X, Y, alpha=1.0, checkpoint_dir=f)
    with pytest.raises(TypeError):
        fit(X, Y, alpha=1.0, unknown=3)


def test_apriori_bound_study_small(data):
    X, Y = data
    st = apriori_bound_study(X, Y, alphas=[1e-7, 1e-6], num_random=1, epochs=40,
                             constructed_epochs=2, random_state=0)
    assert st.K == pytest.approx(st.constructed.control.bv_norm() ** 2)
    assert len(st.runs) == 4
    for r in st.runs:
        # (3.15): the premise implies the bound, checked on exact float64 values
        if r.below_constructive:
            assert r.bv_norm_sq <= st.K * (1 + 1e-9)
        assert r.constructive_objective == pytest.approx(r.alpha * st.K + st.constructed_risk)
    assert all(r.below_constructive for r in st.runs if r.init == "constructed")
    assert st.status == "holds"
    with pytest.raises(ParameterError, match="alphas"):
        apriori_bound_study(X, Y, alphas=[])
    with pytest.raises(ParameterError):
        apriori_bound_study(X, Y, alphas=[-1.0])


@pytest.mark.slow
def test_reproduce_quick(tmp_path):
    from controlml.reproduce import reproduce

    rep = reproduce(["training-bound", "turnpike"], quick=True, out=tmp_path, progress=False)
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error) for r in rep.results]
    assert all(r.figures for r in rep.results)
