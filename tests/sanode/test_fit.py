"""Integration against independent solvers, data against closed forms, training, bad inputs."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torchdiffeq import odeint

from controlml.errors import DatasetError, ParameterError
from controlml.sanode import (
    SANODE,
    VanillaNODE,
    fit_sanode,
    integrate,
    ode_data,
    predict,
    trajectory_errors,
)


def _weights(m):
    return [p.detach().clone() for p in (m.W, m.A, m.beta, m.b)]


def test_integration_matches_torchdiffeq_with_the_same_field():
    """Our integrate(model) against torchdiffeq's odeint on a closure built from the weights."""
    m = SANODE(2, 25, activation="tanh", random_state=0, dtype=torch.float64)
    with torch.no_grad():
        m.W.mul_(50.0)
    W, A, beta, b = _weights(m)

    def f(t, x):
        return torch.tanh(x @ A.T + beta * t + b) @ W.T

    x0 = torch.randn(30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(0.0, 2.0, 21, dtype=torch.float64)
    for solver in ("euler", "rk4"):
        ours = integrate(m, x0, t, solver=solver)
        ref = odeint(f, x0, t, method=solver)
        assert torch.allclose(ours, ref, rtol=0, atol=1e-12)
    ours = integrate(m, x0, t, solver="dopri5", rtol=1e-10, atol=1e-12)
    ref = odeint(f, x0, t, method="dopri5", rtol=1e-10, atol=1e-12)
    assert torch.allclose(ours, ref, atol=1e-9)
    assert (ours[-1] - x0).abs().max() > 0.5  # the flow moves the points


def test_integration_matches_scipy_and_rk4_converges_at_order_4():
    m = SANODE(2, 10, activation="sigmoid", random_state=1, dtype=torch.float64)
    with torch.no_grad():
        m.W.mul_(100.0)
    W, A, beta, b = (p.numpy() for p in _weights(m))
    x0 = np.array([[0.5, -1.0], [1.5, 0.2]])

    def f(t, u):
        X = u.reshape(-1, 2)
        return (1 / (1 + np.exp(-(X @ A.T + beta * t + b))) @ W.T).ravel()

    sol = solve_ivp(f, (0, 3), x0.ravel(), method="DOP853", rtol=1e-12, atol=1e-12)
    ref = sol.y[:, -1].reshape(-1, 2)
    errs = []
    for n in (20, 40, 80):
        t = torch.linspace(0, 3, n + 1, dtype=torch.float64)
        out = integrate(m, torch.as_tensor(x0), t, solver="rk4")[-1].detach().numpy()
        errs.append(np.abs(out - ref).max())
    order = np.log2(errs[0] / errs[1]), np.log2(errs[1] / errs[2])
    assert min(order) > 3.6, (errs, order)
    dp = predict(m, x0, np.linspace(0, 3, 4), solver="dopri5")
    assert dp.shape == (2, 4, 2) and np.abs(dp[:, -1] - ref).max() < 1e-5


def test_data_against_closed_forms():
    D = ode_data("linear_nonaut", n_grid=5, T=5.0, num_times=11, random_state=0)
    t = D.t
    for traj in D.train:
        x0, y0 = traj[0]
        u, v = x0 - 1.0, y0 + 1.0  # deviation from the particular solution (t + 1, t - 1)
        x = t + 1 + u * np.cos(t) - v * np.sin(t)
        y = t - 1 + u * np.sin(t) + v * np.cos(t)
        np.testing.assert_allclose(traj, np.column_stack([x, y]), atol=1e-8)
    D = ode_data("linear", n_grid=5, num_times=11, random_state=0)
    for traj in D.test:   # x'' + 3x' + 2x = 0: x = c1 e^-t + c2 e^-2t
        x0, y0 = traj[0]
        c2 = -(y0 + x0)
        c1 = x0 - c2
        x = c1 * np.exp(-D.t) + c2 * np.exp(-2 * D.t)
        np.testing.assert_allclose(traj[:, 0], x, atol=1e-9)


def test_data_grid_and_split():
    D = ode_data("pendulum", random_state=3)
    assert D.t.shape == (101,) and D.t[-1] == 5.0
    assert D.train.shape == (220, 101, 2) and D.test.shape == (221, 101, 2)
    assert sorted(np.concatenate([D.train_index, D.test_index])) == list(range(441))
    x0 = np.concatenate([D.train[:, 0], D.test[:, 0]])
    assert x0.min() == -2.0 and x0.max() == 2.0
    # pendulum energy y^2/2 - cos x is conserved by the reference
    E = D.train[..., 1] ** 2 / 2 - np.cos(D.train[..., 0])
    assert np.abs(E - E[:, :1]).max() < 1e-8
    same = ode_data("pendulum", random_state=3)
    assert np.array_equal(same.train_index, D.train_index)


def test_training_beats_initialisation_by_a_factor_10():
    D = ode_data("linear", n_grid=7, num_times=26, T=2.5, random_state=0)
    m = SANODE(2, 20, random_state=0, dtype=torch.float64)
    fit = fit_sanode(D.train, D.t, model=m, test=D.test, epochs=150, lr=2e-2, progress=False)
    assert fit.status == "ok" and fit.num_parameters == 120
    assert fit.train_max_error < fit.initial_train_max_error / 10
    assert fit.test_max_error < fit.initial_train_max_error / 10
    assert fit.loss_history[-1] < fit.loss_history[0] / 50
    # the errors are the authors' (max over time of the mean Euclidean error), recomputed here
    pred = fit.predict(D.test[:, 0], D.t)
    mx, end, _ = trajectory_errors(pred, D.test)
    assert mx == pytest.approx(fit.test_max_error, rel=1e-9)
    assert end == pytest.approx(fit.test_end_error, rel=1e-9)
    assert torch.equal(m.W, SANODE(2, 20, random_state=0, dtype=torch.float64).W)  # not modified


def test_vanilla_node_trains_and_device_cpu():
    D = ode_data("linear", n_grid=5, num_times=11, T=2.0, random_state=0)
    m = VanillaNODE(2, 8, 5, T=2.0, random_state=0, dtype=torch.float64)
    fit = fit_sanode(D.train, D.t, model=m, epochs=60, lr=2e-2, device="cpu", progress=False)
    assert fit.train_max_error < fit.initial_train_max_error / 3
    assert fit.device == "cpu" and np.isnan(fit.test_max_error)


def test_default_model_float32_and_rk4():
    D = ode_data("linear", n_grid=4, num_times=6, T=1.0, random_state=0)
    fit = fit_sanode(D.train, D.t, P=5, epochs=3, solver="rk4", random_state=0, progress=False)
    assert next(fit.model.parameters()).dtype == torch.float32
    assert fit.solver == "rk4" and fit.num_parameters == 30 and np.all(np.isfinite(fit.loss_history))


def test_cuda_request_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the request is valid here")
    D = ode_data("linear", n_grid=3, num_times=4, random_state=0)
    with pytest.raises(ParameterError, match="CUDA is not available"):
        fit_sanode(D.train, D.t, P=3, epochs=1, device="cuda", progress=False)


_T = np.linspace(0, 1, 4)
_GOOD = np.zeros((3, 4, 2))


@pytest.mark.parametrize("args, kwargs, err, match", [
    (([np.zeros((4, 2)), np.zeros((3, 2))], _T), {}, DatasetError, "same number of samples"),
    ((_GOOD, _T[::-1]), {}, DatasetError, "strictly increasing"),
    ((_GOOD, np.array([0, 0.5, 0.5, 1])), {}, DatasetError, "strictly increasing"),
    ((np.where(np.arange(24).reshape(3, 4, 2) == 7, np.nan, 0.0), _T), {}, DatasetError,
     "non-finite"),
    ((_GOOD, _T), dict(model=SANODE(3, 4)), DatasetError, "dimension 2 but model.d = 3"),
    ((_GOOD, _T), dict(P=0), ParameterError, "P must be >= 1"),
    ((_GOOD, _T), dict(solver="midpoint"), ParameterError, "solver must be one of"),
    ((_GOOD, _T), dict(epochs=0), ParameterError, "epochs must be >= 1"),
    ((_GOOD, _T), dict(lr=-1.0), ParameterError, "lr must be > 0"),
    ((_GOOD, _T), dict(barron_penalty=-1.0), ParameterError, "barron_penalty must be >= 0"),
    ((_GOOD, _T), dict(test=np.zeros((2, 4, 3))), DatasetError, "test have dimension 3"),
    ((_GOOD, _T[:3]), {}, DatasetError, "t must be a vector of the 4 sample times"),
    ((np.zeros((3, 4)), _T), {}, DatasetError, r"shape \(N, M, d\)"),
    ((_GOOD, _T), dict(model=torch.nn.Linear(2, 2)), ParameterError, "model must be"),
])
def test_bad_inputs(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        fit_sanode(*args, epochs=kwargs.pop("epochs", 1), progress=False, **kwargs)


def test_bad_data_arguments():
    with pytest.raises(ParameterError, match="system must be one of"):
        ode_data("lorenz")
    with pytest.raises(ParameterError, match="train_fraction"):
        ode_data("pendulum", train_fraction=1.0)


def test_fit_many_equals_separate_fits():
    from controlml.sanode import SYSTEMS, fit_many

    Ds = [ode_data(s, n_grid=4, num_times=11, T=1.0, random_state=0) for s in SYSTEMS]
    ms = [SANODE(2, p, random_state=i, dtype=torch.float64) for i, p in enumerate([5, 9, 9, 3])]
    fs = fit_many([D.train for D in Ds], Ds[0].t, models=ms, tests=[D.test for D in Ds],
                  epochs=15, progress=False)
    for D, m, f in zip(Ds, ms, fs, strict=True):
        g = fit_sanode(D.train, D.t, model=m, test=D.test, epochs=15, progress=False)
        assert f.test_max_error == pytest.approx(g.test_max_error, rel=1e-10)
        for p, q in zip(f.model.parameters(), g.model.parameters(), strict=True):
            assert torch.allclose(p, q, atol=1e-12)
    vs = [VanillaNODE(2, 3, 2, T=1.0, random_state=i, dtype=torch.float64) for i in range(2)]
    fv = fit_many([Ds[0].train, Ds[1].train], Ds[0].t, models=vs, epochs=5, progress=False)
    gv = fit_sanode(Ds[1].train, Ds[0].t, model=vs[1], epochs=5, progress=False)
    assert fv[1].train_max_error == pytest.approx(gv.train_max_error, rel=1e-10)
    with pytest.raises(ParameterError, match="one kind"):
        fit_many([Ds[0].train] * 2, Ds[0].t, models=[ms[0], vs[0]], epochs=1, progress=False)


def test_per_row_times_equal_scalar_times():
    m = SANODE(2, 6, per_component=True, random_state=0, dtype=torch.float64)
    x = torch.randn(4, 2, dtype=torch.float64)
    t = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    rows = m(t[:, None], x)
    for i in range(4):
        assert torch.allclose(rows[i], m.field(x[i:i + 1], float(t[i]))[0], atol=1e-14)
    assert torch.allclose(m.divergence(x, t[:, None]),
                          torch.stack([m.divergence(x[i:i + 1], float(t[i]))[0] for i in range(4)]))


def test_multiple_shooting_horizon_trains_and_checks_its_input():
    D = ode_data("linear_nonaut", n_grid=6, num_times=26, T=2.5, random_state=0)
    m = SANODE(2, 20, random_state=0, dtype=torch.float64)
    fit = fit_sanode(D.train, D.t, model=m, epochs=100, lr=2e-2, horizon=3, progress=False)
    assert fit.train_max_error < fit.initial_train_max_error / 5
    with pytest.raises(ParameterError, match="horizon needs an SA-NODE"):
        fit_sanode(D.train, D.t, model=VanillaNODE(2, 3, 2), epochs=1, horizon=2, progress=False)
    t = D.t.copy()
    t[3] += 0.01
    with pytest.raises(DatasetError, match="equispaced"):
        fit_sanode(D.train, t, model=m, epochs=1, horizon=2, progress=False)
    with pytest.raises(ParameterError, match="horizon must be <"):
        fit_sanode(D.train, D.t, model=m, epochs=1, horizon=26, progress=False)
