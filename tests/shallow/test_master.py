"""The warm-started restricted master (highspy) against the from-scratch linprog path."""

import numpy as np
import pytest

from controlml.shallow._lp import RestrictedMaster, solve_lp


def _features(rng, N, d, M):
    Xt = np.column_stack([rng.uniform(-1, 1, (N, d)), np.ones(N)])
    T = rng.standard_normal((M, d + 1))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    return Xt, np.maximum(Xt @ T.T, 0.0)


def _check_same(res, ref, Phi, Y, eps):
    assert res.success and ref.success
    assert res.value == pytest.approx(ref.value, rel=1e-9, abs=1e-9)
    # the dual p (row duals vs linprog marginals) agrees, sign convention included
    np.testing.assert_allclose(res.p, ref.p, rtol=1e-7, atol=1e-7)
    assert np.sum(np.abs(res.w)) == pytest.approx(res.value, rel=1e-9)
    assert np.max(np.abs(Phi @ res.w - Y)) <= eps + 1e-8
    # strong duality: p^T Y - eps ||p||_1 equals the value
    assert res.p @ Y - eps * np.sum(np.abs(res.p)) == pytest.approx(res.value, rel=1e-7)


@pytest.mark.parametrize("ipm", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.05])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_master_matches_linprog(seed, eps, ipm, monkeypatch):
    if ipm:  # the large-N path (interior point + crossover every round), forced on small data
        import controlml.shallow._lp as lp_module

        monkeypatch.setattr(lp_module, "_IPM_ROWS", 1)
    rng = np.random.default_rng(seed)
    N, M = 25, 240
    Xt, Phi = _features(rng, N, 2, M)
    Y = np.sin(3 * Xt[:, 0]) + 0.3 * rng.standard_normal(N)
    m = RestrictedMaster(Y, eps)
    cuts = [0, 80, 160, M]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):  # add columns round by round
        m.add(Phi[:, a:b])
        if b >= 80:
            _check_same(m.solve(), solve_lp(Phi[:, :b], Y, eps), Phi[:, :b], Y, eps)
    # delete some neurons: the rest keep their order
    drop = np.arange(0, M, 3)
    keep = np.setdiff1d(np.arange(M), drop)
    m.delete(drop)
    assert m.n_neurons == keep.size
    _check_same(m.solve(), solve_lp(Phi[:, keep], Y, eps), Phi[:, keep], Y, eps)


def test_rejected_columns_and_basis_restore():
    rng = np.random.default_rng(5)
    Xt, Phi = _features(rng, 20, 2, 100)
    Y = np.cos(2 * Xt[:, 0])
    m = RestrictedMaster(Y, 0.0)
    m.add(Phi[:, :60])
    first = m.solve()
    basis = m.get_basis()
    m.add(Phi[:, 60:])
    m.solve()
    m.delete(np.arange(60, 100))
    m.set_basis(basis)
    again = m.solve()
    _check_same(again, solve_lp(Phi[:, :60], Y, 0.0), Phi[:, :60], Y, 0.0)
    assert again.value == pytest.approx(first.value, rel=1e-12)


def test_infeasible_master_reports_failure():
    m = RestrictedMaster(np.array([1.0, -1.0]), 0.0)
    m.add(np.array([[1.0], [1.0]]))  # one column cannot give (1, -1)
    res = m.solve()
    assert not res.success and res.value == np.inf


def test_fit_sparse_falls_back_to_linprog_when_master_fails(monkeypatch):
    from controlml.shallow import _lp, fit_sparse

    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (15, 2))
    y = np.sin(np.pi * X[:, 0])
    ref = fit_sparse(X, y, eps=0.05, random_state=0)

    def failing(self):
        return _lp.LPResult(np.zeros(self.n_neurons), np.zeros(self.N), float("inf"), False, "forced")

    monkeypatch.setattr(_lp.RestrictedMaster, "solve", failing)
    fb = fit_sparse(X, y, eps=0.05, random_state=0)
    assert fb.status == "optimal" and ref.status == "optimal"
    assert fb.value == pytest.approx(ref.value, rel=1e-6)
    assert fb.max_residual <= 0.05 + 1e-8


def _signed_reference(Phi, signs, Y, eps):
    """linprog on the split LP where neuron j only has the variables its sign allows."""
    from scipy.optimize import linprog

    cols = [Phi[:, j:j + 1] * s for j, sj in enumerate(signs) for s in ((1, -1) if sj == 0 else (sj,))]
    B = np.hstack(cols)
    c = np.ones(B.shape[1])
    if eps == 0:
        r = linprog(c, A_eq=B, b_eq=Y, bounds=(0, None), method="highs-ds")
    else:
        r = linprog(c, A_ub=np.vstack([B, -B]), b_ub=np.r_[Y + eps, eps - Y], bounds=(0, None),
                    method="highs-ds")
    assert r.status == 0
    return r.fun


@pytest.mark.parametrize("ipm", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_signed_columns_and_renumbering(seed, eps, ipm, monkeypatch):
    """Neurons added with a sign get one variable; w, value and deletions stay consistent."""
    if ipm:
        import controlml.shallow._lp as lp_module

        monkeypatch.setattr(lp_module, "_IPM_ROWS", 1)
    rng = np.random.default_rng(seed)
    N, M = 20, 150
    Xt, Phi = _features(rng, N, 2, M)
    Y = np.sin(3 * Xt[:, 0])
    signs = np.r_[np.zeros(60), rng.choice([-1.0, 1.0], M - 60)]  # the first 60 two-signed
    m = RestrictedMaster(Y, eps)
    m.add(Phi[:, :60])
    m.add(Phi[:, 60:110], signs=signs[60:110] * rng.uniform(0.5, 2.0, 50))  # only the sign counts
    m.add(Phi[:, 110:], signs=signs[110:])
    for cols in (np.arange(M), np.setdiff1d(np.arange(M), np.arange(1, M, 4))):
        if cols.size < M:
            m.delete(np.arange(1, M, 4))
            assert m.n_neurons == cols.size
        res = m.solve()
        assert res.success
        assert res.value == pytest.approx(_signed_reference(Phi[:, cols], signs[cols], Y, eps),
                                          rel=1e-9, abs=1e-9)
        assert np.sum(np.abs(res.w)) == pytest.approx(res.value, rel=1e-9)
        assert np.max(np.abs(Phi[:, cols] @ res.w - Y)) <= eps + 1e-8
        one = signs[cols] != 0  # a one-signed neuron's weight has its sign or is zero
        assert np.all(res.w[one] * signs[cols][one] >= -1e-12)
