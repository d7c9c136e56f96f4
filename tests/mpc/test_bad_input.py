"""Every documented bad input raises a clear controlml error before any work."""

import numpy as np
import pytest
import scipy.sparse as sp

from controlml.errors import ConvergenceError, DatasetError, ParameterError
from controlml.mpc import (
    RBM,
    BatchRule,
    LQProblem,
    heat_ring,
    lqr,
    mpc,
    randomized_splitting,
    solve_ocp,
    splitting_study,
)

I2 = np.eye(2)


def _p(**kw):
    args = dict(A=-I2, B=np.ones((2, 1)), Q=I2, R=np.eye(1), x0=np.ones(2), T=1.0, dt=0.1)
    args.update(kw)
    A, B, Q, R = (args.pop(k) for k in ("A", "B", "Q", "R"))
    return LQProblem(A, B, Q, R, **args)


@pytest.mark.parametrize("kw,err,match", [
    (dict(A=np.ones((2, 3))), DatasetError, "A must be square"),
    (dict(A=[sp.identity(2), sp.identity(3)]), DatasetError, r"A\[1\] must have shape \(2x2\)"),
    (dict(A=[]), DatasetError, "empty sequence of parts"),
    (dict(B=np.ones((3, 1))), DatasetError, r"B must have shape \(2x\*\)"),
    (dict(Q=np.ones((3, 3))), DatasetError, r"Q must have shape"),
    (dict(Q=np.array([[1.0, 2.0], [0.0, 1.0]])), DatasetError, "Q must be symmetric"),
    (dict(Q=np.diag([1.0, -1.0])), DatasetError, "Q must be positive semi-definite"),
    (dict(Q=sp.diags([1.0, -1.0])), DatasetError, "Q must be positive semi-definite"),
    (dict(R=np.zeros((1, 1))), DatasetError, "R must be positive definite"),
    (dict(R=np.eye(2)), DatasetError, r"R must have shape \(1x1\)"),
    (dict(QT=-I2), DatasetError, "QT must be positive semi-definite"),
    (dict(x0=np.ones(3)), DatasetError, "x0 must have 2 entries"),
    (dict(x0=[np.nan, 1.0]), DatasetError, "x0 contains a non-finite"),
    (dict(A=np.array([[np.inf, 0], [0, 1]])), DatasetError, "A contains a non-finite"),
    (dict(T=1.0, dt=0.3), ParameterError, "T / dt must be a positive integer"),
    (dict(T=-1.0), ParameterError, "T must be > 0"),
    (dict(dt=0.0), ParameterError, "dt must be > 0"),
    (dict(time="hybrid"), ParameterError, "time must be one of"),
    (dict(x_target=np.ones(5)), DatasetError, "x_target must have 2 entries"),
])
def test_problem_bad_input(kw, err, match):
    with pytest.raises(err, match=match):
        _p(**kw)


def test_unstabilisable_pair_names_the_mode():
    p = _p(A=np.diag([0.7, -1.0]), B=np.array([[0.0], [1.0]]))
    with pytest.raises(DatasetError, match=r"not stabilisable: the mode lambda = 0.7\+0j .*"
                                           r"uncontrollable \(PBH.*largest at state 0"):
        lqr(p)
    pd = _p(A=np.diag([1.5, 0.5]), B=np.array([[0.0], [1.0]]), time="discrete", dt=1.0, T=3.0)
    with pytest.raises(DatasetError, match=r"lambda = 1.5.*\|lambda\| >= 1"):
        lqr(pd)
    # a stable uncontrollable mode is fine (stabilisable)
    assert lqr(_p(A=np.diag([-0.7, 1.0]), B=np.array([[0.0], [1.0]]))).decay_rate > 0


def test_adjoint_overflow_is_reported():
    p = _p(A=np.diag([1.0, 2.0]), T=800.0, dt=1.0, time="discrete")
    with pytest.raises(ConvergenceError, match="use method='riccati'"):
        solve_ocp(p, "adjoint")


def test_solver_options():
    p = _p()
    with pytest.raises(ParameterError, match="method must be one of"):
        solve_ocp(p, "newton")
    with pytest.raises(ParameterError, match="rtol must be > 0"):
        solve_ocp(p, "adjoint", rtol=0)
    with pytest.raises(DatasetError, match=r"u_init must have shape \(K, m\) = \(10, 1\)"):
        solve_ocp(p, "adjoint", u_init=np.zeros(3))


def test_batches_bad_input():
    with pytest.raises(ParameterError, match="h must be > 0"):
        RBM("one-part", h=0.0)
    with pytest.raises(ParameterError, match="h must be > 0"):
        RBM("one-part", h=-1.0)
    with pytest.raises(ParameterError, match="batches must be one of"):
        RBM("two-parts", h=1.0)
    with pytest.raises(ParameterError, match="needs pi"):
        RBM(lambda rng: (0,), h=1.0)
    with pytest.raises(ParameterError, match="must sum to 1; they sum to 0.9"):
        BatchRule.from_subsets([(0,), (1,)], [0.5, 0.4], M=2)
    with pytest.raises(ParameterError, match="finite and >= 0"):
        BatchRule.from_subsets([(0,), (1,)], [1.5, -0.5], M=2)
    with pytest.raises(ParameterError, match="part 2 has pi = 0"):
        BatchRule.from_subsets([(0,), (1,)], [0.5, 0.5], M=3)
    with pytest.raises(ParameterError, match="outside 0..1"):
        BatchRule.from_subsets([(0,), (5,)], [0.5, 0.5], M=2)
    with pytest.raises(ParameterError, match="one inclusion probability per part"):
        BatchRule.from_sampler(lambda rng: (0,), [0.5], M=2)


def test_splitting_and_mpc_bad_input():
    ring = heat_ring(n=10, T=20.0)
    whole = _p()
    with pytest.raises(ParameterError, match="needs A given as parts"):
        randomized_splitting(whole, h=0.1)
    with pytest.raises(ParameterError, match="h must be >= the time step"):
        randomized_splitting(ring, h=0.5, batches="drop-one")
    with pytest.raises(ParameterError, match="h must be > 0"):
        splitting_study(ring, [1.0, 0.0])
    with pytest.raises(ParameterError, match="the BatchRule is for 3 parts"):
        randomized_splitting(ring, h=1.0, batches=BatchRule.named("one-part", 3))
    with pytest.raises(ParameterError, match="control_horizon .* must be <= prediction_horizon"):
        mpc(ring, prediction_horizon=5, control_horizon=10)
    with pytest.raises(ParameterError, match="prediction_horizon must be a positive multiple"):
        mpc(ring, prediction_horizon=2.5, control_horizon=1)
    with pytest.raises(ParameterError, match="rbm needs the problem's A given as parts"):
        mpc(whole, prediction_horizon=0.5, control_horizon=0.2, rbm=RBM("one-part", 0.1))
    with pytest.raises(ParameterError, match="rbm must be an RBM"):
        mpc(ring, prediction_horizon=5, control_horizon=2, rbm="drop-one")
    with pytest.raises(ParameterError, match="solver must be one of"):
        mpc(ring, prediction_horizon=5, control_horizon=2, solver="lbfgs")
