"""Regularised training against the construction's norm bound (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from controlml.errors import ParameterError
from controlml.mlp import balance, classify_narrow, train_narrow


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    c = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y = rng.integers(0, 3, 24)
    X = c[y] + rng.standard_normal((24, 2))
    return X, y, classify_narrow(X, y, random_state=0)


def test_balance_keeps_the_map_and_reaches_the_optimal_rescaling(data):
    X, y, cons = data
    bal = balance(cons.network)
    assert np.allclose(bal(X), cons.network(X), atol=1e-8)
    assert bal.parameter_norm() < cons.network.parameter_norm()
    # optimality: no single-neuron rescaling lowers the norm (first-order condition a = c)
    for k in range(bal.depth - 1):
        A, b = bal.layers[k]
        An = bal.layers[k + 1][0]
        a = np.sum(A * A, axis=1) + b * b
        c = np.sum(An * An, axis=0)
        assert np.allclose(a, c, rtol=1e-6)
    # independent check: a generic convex solver finds the same minimal norm
    from scipy.optimize import minimize

    net = cons.network
    sizes = [A.shape[0] for A, _ in net.layers[:-1]]

    def fun(t):
        s = np.split(t, np.cumsum(sizes)[:-1])
        s = [np.zeros(net.widths[0]), *s, np.zeros(1)]
        val, grads = 0.0, [np.zeros_like(x) for x in s]
        for k, (A, b) in enumerate(net.layers):
            W = (A * np.exp(s[k + 1])[:, None] * np.exp(-s[k])[None, :]) ** 2
            B = (b * np.exp(s[k + 1])) ** 2
            val += W.sum() + B.sum()
            grads[k + 1] += 2 * (W.sum(axis=1) + B)
            grads[k] -= 2 * W.sum(axis=0)
        return val, np.concatenate(grads[1:-1])

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        ref = minimize(fun, np.zeros(sum(sizes)), jac=True, method="BFGS",
                       options={"gtol": 1e-10}).fun
    assert bal.parameter_norm() ** 2 <= ref * (1 + 1e-6)


@pytest.mark.parametrize("lam", [1e-1, 1e-3, 1e-7])
def test_trained_from_construction_obeys_the_bounds(data, lam):
    X, y, cons = data
    r = train_narrow(X, y, lam=lam, steps=60, construction=cons, random_state=1)
    assert r.status == "below bound" and r.objective <= r.objective_bound * (1 + 1e-12)
    assert r.norm <= r.bound * (1 + 1e-9)
    assert r.loss <= lam * r.bound ** 2 * (1 + 1e-9)
    assert r.depth == cons.depth and r.network.max_width == 2
    if lam < r.lam_critical:
        assert r.accuracy == 1.0
        assert np.array_equal(r.network.predict(X), y)


def test_accuracy_tends_to_one_and_large_lambda_shrinks(data):
    X, y, cons = data
    big = train_narrow(X, y, lam=1.0, steps=60, construction=cons)
    tiny = train_narrow(X, y, lam=1e-9, steps=20, construction=cons)
    assert big.norm < 0.5 * big.bound and big.accuracy < 1.0
    assert tiny.accuracy == 1.0


def test_random_init_and_adam_run_and_report_status(data):
    X, y, cons = data
    r = train_narrow(X, y, lam=1e-3, init="random", optimizer="adam", steps=30, lr=1e-2,
                     construction=cons, random_state=2)
    assert r.status in ("below bound", "above bound") and 0.0 <= r.accuracy <= 1.0
    assert (r.status == "below bound") == (r.objective <= r.objective_bound * (1 + 1e-12))
    deep = train_narrow(X, y, lam=1e-3, depth=cons.depth + 2, steps=10, construction=cons)
    assert deep.depth == cons.depth + 2 and deep.status == "below bound"


def test_bad_options(data):
    X, y, cons = data
    with pytest.raises(ParameterError, match="lam"):
        train_narrow(X, y, lam=-1.0, construction=cons)
    with pytest.raises(ParameterError, match="init"):
        train_narrow(X, y, lam=0.1, init="zeros", construction=cons)
    with pytest.raises(ParameterError, match="depth must be >="):
        train_narrow(X, y, lam=0.1, depth=2, construction=cons)
    with pytest.raises(ParameterError, match="optimizer"):
        train_narrow(X, y, lam=0.1, optimizer="sgd", construction=cons)
