"""Bad input, the scikit-learn estimator, the (P0) baseline, and the reproduce entries."""

import numpy as np
import pytest

from controlml.errors import DatasetError, ParameterError
from controlml.shallow import (
    ShallowNetwork,
    SparseShallowRegressor,
    exact_representation,
    fit_sparse,
    optimal_epsilon,
    train_l1,
)


def test_repeated_inputs_inconsistent_named():
    X = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(DatasetError, match=r"equal rows \(0 and 2\).*inconsistent"):
        fit_sparse(X, [1.0, 2.0, 3.0])
    with pytest.raises(DatasetError, match=r"equal rows \(0 and 2\).*distinct"):
        fit_sparse(X, [1.0, 2.0, 1.0])


@pytest.mark.parametrize("X, y, match", [
    (np.array([[np.nan, 1.0], [1.0, 2.0]]), [1.0, 2.0], "non-finite"),
    (np.zeros((0, 2)), [], "empty"),
    (np.ones((3, 2)) * np.arange(3)[:, None], [1.0, 2.0], "same number of rows"),
    (np.array([[0.0], [1.0]]), [1.0, np.inf], "non-finite"),
])
def test_bad_data(X, y, match):
    with pytest.raises(DatasetError, match=match):
        fit_sparse(X, y)


@pytest.mark.parametrize("scale_X, scale_y, match", [
    (1e-200, 1.0, r"rows \d+ and \d+ of X are only .* apart.*Rescale X"),
    (1e200, 1.0, r"X has entries up to .*rescale X"),
    (1.0, 1e200, r"y has entries up to .*rescale y"),
])
def test_scale_problems_are_named_up_front(scale_X, scale_y, match):
    """Data double precision cannot resolve: a DatasetError that says "rescale", before any work
    (it was "could not find a direction separating the inputs" for X ~ 1e-200)."""
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (12, 2)), rng.normal(size=12)
    with pytest.raises(DatasetError, match=match):
        fit_sparse(X * scale_X, y * scale_y)
    with pytest.raises(DatasetError, match=match):
        exact_representation(X * scale_X, y * scale_y)
    fit = fit_sparse(X * 1e-3, y, random_state=0)  # small but resolvable: solved
    assert fit.status == "optimal"


def test_bad_parameters():
    X, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    with pytest.raises(ParameterError, match="eps must be >= 0"):
        fit_sparse(X, y, eps=-0.1)
    with pytest.raises(ParameterError, match="domain"):
        fit_sparse(X, y, domain="cube")
    with pytest.raises(ParameterError, match="d <= 2"):
        fit_sparse(np.random.default_rng(0).normal(size=(4, 3)), np.ones(4), oracle="exact")
    with pytest.raises(TypeError):
        fit_sparse(X, y, unknown=1)
    with pytest.raises(ParameterError, match="n_verify must be >= 0"):
        fit_sparse(X, y, n_verify=-1)
    with pytest.raises(ParameterError, match="max_age must be >= 0"):
        fit_sparse(X, y, max_age=-1)
    with pytest.raises(ParameterError, match=r"smoothing must be in \[0, 1\)"):
        fit_sparse(X, y, smoothing=1.0)
    with pytest.raises(ParameterError, match="P must be >= N"):
        exact_representation(X, y, P=1)
    with pytest.raises(ParameterError, match="exactly one of delta"):
        optimal_epsilon(X, y)
    with pytest.raises(DatasetError, match="shape"):
        ShallowNetwork(np.ones(2), np.ones((3, 1)), np.ones(2))


def test_regressor_fit_predict_score_and_params():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (20, 2))
    y = np.sin(2 * X[:, 0])
    reg = SparseShallowRegressor(eps=0.0, random_state=0).fit(X, y)
    assert reg.score(X, y) > 1 - 1e-10
    assert reg.get_params()["eps"] == 0.0
    assert reg.network_.n_atoms <= 20
    reg2 = SparseShallowRegressor(eps=0.2, random_state=0).fit(X, y)
    assert np.max(np.abs(reg2.predict(X) - y)) <= 0.2 + 1e-8
    assert reg2.result_.value < reg.result_.value
    # duplicates are averaged (least squares), or refused on request
    Xd = np.vstack([X, X[:1]])
    yd = np.append(y, y[0] + 1.0)
    p = SparseShallowRegressor(random_state=0).fit(Xd, yd).predict(X[:1])
    assert np.isclose(p[0], y[0] + 0.5)
    with pytest.raises(DatasetError, match="inconsistent"):
        SparseShallowRegressor(duplicates="raise").fit(Xd, yd)


@pytest.mark.slow
def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(SparseShallowRegressor(random_state=0, max_iter=5), on_skip=None)  # the contract, not convergence


def test_train_l1_never_beats_relaxation():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (6, 1))
    y = np.cos(2 * X[:, 0])
    fit = fit_sparse(X, y, random_state=0)
    for P in (3, 12, 24):
        tr = train_l1(X, y, P, epochs=200, random_state=P)
        assert tr.value >= fit.lower_bound * (1 - 1e-7)
        if tr.feasible:
            assert tr.n_atoms <= 6
            assert np.max(np.abs(tr.network(X) - y)) <= 1e-7


def test_reproduce_quick(tmp_path):
    from controlml.reproduce import reproduce

    rep = reproduce(["thm2.1", "thm2.2", "eps-star"], quick=True, out=tmp_path, progress=False)
    assert all(r.status == "passed" for r in rep.results), [(r.name, r.status, r.error)
                                                           for r in rep.results]
    assert len(rep.results) == 3
