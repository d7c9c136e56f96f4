"""fit_sparse: certificates, Thm 2.1 atom bound, comparison with a fine-grid LP."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from controlml.shallow import ShallowNetwork, caratheodory_reduce, exact_representation, fit_sparse


def _data(seed, N, d, eps_noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, d))
    y = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1]) + eps_noise * rng.standard_normal(N)
    return X, y


def _grid_lp(X, y, eps, M):
    """Independent computation: the LP over a fixed grid of M neurons on the circle (d = 1)."""
    t = np.linspace(0, 2 * np.pi, M, endpoint=False)
    T = np.column_stack([np.cos(t), np.sin(t)])
    Phi = np.maximum(np.column_stack([X, np.ones(len(X))]) @ T.T, 0)
    B = np.hstack([Phi, -Phi])
    c = np.ones(2 * M)
    if eps == 0:
        r = linprog(c, A_eq=B, b_eq=y, bounds=(0, None), method="highs")
    else:
        r = linprog(c, A_ub=np.vstack([B, -B]), b_ub=np.r_[y + eps, eps - y], bounds=(0, None),
                    method="highs")
    return r.fun


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_value_below_fine_grid_and_above_certificate(eps):
    X, y = _data(0, 20, 1)
    fit = fit_sparse(X, y, eps=eps, random_state=0)
    grid = _grid_lp(X, y, eps, 20000)
    assert fit.status == "optimal" and fit.bound_kind == "exact"
    assert fit.lower_bound <= fit.value + 1e-9
    assert fit.value <= grid * (1 + 1e-7)  # continuum beats any grid
    assert grid <= fit.value * (1 + 2e-3)  # and a fine grid comes close
    assert fit.max_residual <= eps + 1e-8


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 12), d=st.integers(1, 2),
       eps=st.sampled_from([0.0, 0.05, 0.3]))
def test_thm21_atoms_at_most_N_and_certified(seed, N, d, eps):
    X, y = _data(seed, N, d)
    fit = fit_sparse(X, y, eps=eps, random_state=seed)
    assert fit.n_atoms <= N
    assert fit.network.n_atoms == fit.n_atoms
    assert np.max(np.abs(fit.network(X) - y)) <= eps + 1e-7
    assert fit.bound_kind == "exact"
    assert fit.gap <= 1e-5 * max(1.0, fit.value)
    assert abs(fit.value - fit.network.total_variation) <= 1e-12 * max(1, fit.value)
    # atoms on the unit sphere, and the dual certificate is tight on them
    th = np.column_stack([fit.network.A, fit.network.b])
    assert np.allclose(np.linalg.norm(th, axis=1), 1.0)


def test_dual_is_tight_on_atoms_and_signs_match():
    X, y = _data(3, 15, 2)
    fit = fit_sparse(X, y, random_state=1)
    Phi = fit.network.features(X)
    eta = Phi.T @ fit.dual
    assert np.allclose(np.abs(eta), 1.0, atol=1e-6)
    assert np.all(np.sign(eta) == np.sign(fit.network.w))
    # strong duality: p.Y = value
    assert abs(fit.dual @ y - fit.value) <= 1e-6 * fit.value


def test_eps_large_gives_zero_network_and_value_decreases():
    X, y = _data(4, 10, 1)
    vals = [fit_sparse(X, y, eps=e, random_state=0).value for e in (0.0, 0.1, 0.3)]
    assert vals[0] >= vals[1] >= vals[2]
    fit = fit_sparse(X, y, eps=float(np.max(np.abs(y))), random_state=0)
    assert fit.value == 0.0 and fit.n_atoms == 0


def test_ball_and_sphere_give_same_value():
    X, y = _data(5, 10, 2)
    a = fit_sparse(X, y, domain="sphere", random_state=0).value
    b = fit_sparse(X, y, domain="ball", random_state=0).value
    assert abs(a - b) <= 1e-5 * a


def test_high_dimension_ascent_is_estimated_and_feasible():
    X, y = _data(6, 15, 4)
    fit = fit_sparse(X, y, random_state=0, max_iter=60)
    assert fit.bound_kind == "estimated"
    assert fit.n_atoms <= 15
    assert np.max(np.abs(fit.network(X) - y)) <= 1e-7
    # no worse than the constructive exact representation's l1 norm
    assert fit.value <= exact_representation(X, y, random_state=0).total_variation + 1e-9


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 25), d=st.integers(1, 4),
       extra=st.integers(0, 10))
def test_exact_representation_interpolates(seed, N, d, extra):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, d))
    y = rng.normal(size=N)
    net = exact_representation(X, y, P=N + extra, random_state=seed)
    assert net.width == N + extra
    assert np.max(np.abs(net(X) - y)) <= 1e-8 * max(1.0, np.abs(y).max()) * N


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 8), M=st.integers(1, 30))
def test_caratheodory_keeps_phi_w_and_never_increases_l1(seed, N, M):
    rng = np.random.default_rng(seed)
    Phi = np.maximum(rng.normal(size=(N, M)), 0) + 0.01 * rng.random((N, M))
    w = rng.normal(size=M)
    r = caratheodory_reduce(Phi, w)
    assert np.count_nonzero(r) <= np.linalg.matrix_rank(Phi)
    assert np.allclose(Phi @ r, Phi @ w, atol=1e-9 * max(1, np.abs(Phi @ w).max()))
    assert np.abs(r).sum() <= np.abs(w).sum() * (1 + 1e-12)


def test_shallow_network_evaluation_and_measure_view():
    rng = np.random.default_rng(0)
    w, A, b = rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=4)
    net = ShallowNetwork(w, A, b)
    X = rng.normal(size=(7, 3))
    manual = np.array([sum(w[j] * max(0.0, A[j] @ x + b[j]) for j in range(4)) for x in X])
    assert np.allclose(net(X), manual)
    weights, atoms = net.as_measure()
    assert np.allclose(ShallowNetwork.from_measure(weights, atoms)(X), manual)
    nn = net.normalized()
    assert np.allclose(nn(X), manual)
    assert np.allclose(np.linalg.norm(np.column_stack([nn.A, nn.b]), axis=1), 1)
    assert nn.total_variation <= net.total_variation * max(1, np.linalg.norm(atoms, axis=1).max())


@pytest.mark.parametrize("seed", [0, 1])
def test_estimated_bound_never_exceeds_the_value(seed):
    """An ascent's sup |eta| is only a lower estimate: bounds from different rounds must not be
    maxed (that picked the most optimistic one and reported lower_bound > value)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (80, 8))
    y = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, -1])
    fit = fit_sparse(X, y, eps=0.05, random_state=seed, max_iter=40)
    assert fit.bound_kind == "estimated"
    assert fit.lower_bound <= fit.value * (1 + 1e-9)
    assert fit.gap >= -1e-9 * fit.value


def test_trace_logs_every_round_and_time_to_target():
    X, y = _data(3, 40, 2)
    fit = fit_sparse(X, y, eps=0.05, random_state=0)
    tr = fit.trace
    assert tr.value.shape == tr.elapsed.shape == tr.lower_bound.shape == (fit.iterations,)
    assert np.all(np.diff(tr.elapsed) > 0)
    assert np.all(np.diff(tr.value) <= 1e-9 * tr.value[0])  # restricted LPs only grow
    assert np.all(tr.lower_bound <= tr.value * (1 + 1e-9))
    assert fit.value <= tr.value[-1] * (1 + 1e-9)  # the reduction never increases ||w||_1
    assert fit.lower_bound == pytest.approx(tr.lower_bound[-1])
    assert tr.time_to(tr.value[0]) == tr.elapsed[0]
    k = len(tr.value) // 2
    assert tr.time_to(tr.value[k]) <= tr.elapsed[k]
    assert tr.time_to(-1.0) == np.inf


@pytest.mark.parametrize("eps", [0.0, 0.05])
def test_feasible_dual_is_feasible_and_supports_the_value_function(eps):
    """feasible_dual: sup |eta| <= 1 by an independent exact sweep, and weak duality
    v(eps') >= q.Y - eps'||q||_1 at every other eps' (v from separate fits)."""
    from controlml.shallow._data import lift
    from controlml.shallow._oracle import exact_oracle

    X, y = _data(4, 30, 2)
    fit = fit_sparse(X, y, eps=eps, random_state=0)
    q = fit.feasible_dual
    _, _, _, sup = exact_oracle(lift(X), q, k=1, tol=1e-9)  # certified upper bound
    assert sup <= 1 + 1e-9
    for e2 in (0.0, 0.02, 0.1, 0.3):
        v2 = fit_sparse(X, y, eps=e2, random_state=1).value
        assert v2 >= q @ y - e2 * np.abs(q).sum() - 1e-7 * max(1.0, v2)


def test_plot_trace_draws_value_bound_and_gap():
    import matplotlib.pyplot as plt

    from controlml.errors import ParameterError
    from controlml.plotting.shallow import plot_trace

    X, y = _data(5, 20, 2)
    tr = fit_sparse(X, y, random_state=0).trace
    fig = plot_trace({"a": tr, "b": tr})
    left, right = fig.axes
    assert len(left.lines) == 4 and len(right.lines) == 2
    np.testing.assert_allclose(left.lines[0].get_ydata(), tr.value)
    np.testing.assert_allclose(right.lines[0].get_xdata(), tr.elapsed)
    plt.close(fig)
    with pytest.raises(ParameterError):
        plot_trace({})


@pytest.mark.parametrize("n_verify", [0, 300])
def test_estimated_stop_needs_a_deeper_search_without_violators(n_verify, monkeypatch):
    """d >= 3: the run may stop only after a deeper ascent (n_verify random starts) finds no
    violator either; with n_verify = 0 the regular search alone decides."""
    import controlml.shallow._pricing as pricing

    calls = []
    real = pricing.ascent

    def spy(starts, Xt, p, **kw):
        T, v = real(starts, Xt, p, **kw)
        calls.append((starts.shape[0], float(np.max(np.abs(v)))))
        return T, v

    monkeypatch.setattr(pricing, "ascent", spy)
    X, y = _data(6, 30, 5)
    fit = fit_sparse(X, y, eps=0.05, random_state=0, n_starts=64, n_verify=n_verify, max_iter=300)
    assert fit.status == "converged" and fit.bound_kind == "estimated"
    deep = [c for c in calls if c[0] == n_verify]
    if n_verify:
        # the last word is the deep search, clean (or within the gap rule: sup <= 1 + 2 gap_tol)
        assert calls[-1][0] == n_verify and calls[-1][1] <= 1 + 2e-6 + 1e-12
        assert fit.iterations == len(calls) - len(deep)  # one regular search per round
    else:
        assert not deep and fit.iterations == len(calls)
