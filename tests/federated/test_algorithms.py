"""Client and server steps: formulas, gradients, the convex optimum, bad input."""

import logging

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from controlml.errors import DatasetError, ParameterError
from controlml.federated import (
    ClientData,
    FedADMM,
    FedADMMInSa,
    FedAvg,
    FLModel,
    adapt_penalty,
    admm_aggregate,
    client_update,
    fedavg_aggregate,
    federated_data,
    inexactness_sigma,
    partition_indices,
    simulate,
)


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_explicit_gradient_matches_autograd(kind):
    m = FLModel(kind, 5, 3, hidden=4, l2=0.3)
    g = torch.Generator().manual_seed(0)
    th = torch.randn(2, m.num_params, dtype=torch.float64, generator=g)
    X = torch.randn(2, 6, 5, dtype=torch.float64, generator=g)
    y = torch.randint(0, 3, (2, 6), generator=g)
    w = torch.ones(2, 6, dtype=torch.float64)
    w[1, 4:] = 0  # padding rows
    f, grad = m.grad(th, X, y, w)
    thr = th.clone().requires_grad_(True)
    fa = m.loss(thr, X, y, w)
    (ga,) = torch.autograd.grad(fa.sum(), thr)
    assert torch.allclose(f, fa, atol=1e-14)
    assert torch.allclose(grad, ga, atol=1e-13)
    # padding rows do not count: client 1 equals a client with 4 rows
    f4, g4 = m.grad(th[1:], X[1:, :4], y[1:, :4], w[1:, :4])
    assert torch.allclose(f4, f[1:]) and torch.allclose(g4, grad[1:])


def test_sigma_and_penalty_rule():
    # sigma_i = 0.999 sqrt2 / (sqrt2 + sqrt(beta/c)): beta = c gives 0.999 sqrt2/(sqrt2 + 1)
    assert inexactness_sigma(0.01, 0.01) == pytest.approx(0.999 * 2**0.5 / (2**0.5 + 1))
    z = torch.zeros(1, 3, dtype=torch.float64)
    u_old = torch.zeros(3, 3, dtype=torch.float64)
    # r = beta |u+ - u|, s = |u+ - z|; z = u_old = 0 so r = beta s
    U = torch.ones(3, 3, dtype=torch.float64)
    beta = np.array([0.1, 1.0, 10.0])  # mu r < s (x tau), neither, mu s < r (/ tau)
    out = adapt_penalty(beta, U, u_old, z, mu=5.0, tau=2.0)
    assert np.allclose(out, [0.2, 1.0, 5.0])


def test_server_steps_are_weighted_means():
    U = torch.tensor([[1.0, 0.0], [3.0, 2.0]], dtype=torch.float64)
    assert torch.allclose(fedavg_aggregate(U, [1, 3]), torch.tensor([2.5, 1.5], dtype=torch.float64))
    Lam = torch.tensor([[0.5, 0.0], [0.0, -1.0]], dtype=torch.float64)
    beta, alpha = np.array([2.0, 1.0]), np.array([0.25, 0.75])
    z_old = torch.tensor([10.0, 10.0], dtype=torch.float64)
    zhat = (0.25 * (2 * U[0] - Lam[0]) + 0.75 * (1 * U[1] - Lam[1])) / (0.25 * 2 + 0.75 * 1)
    assert torch.allclose(admm_aggregate(z_old, U, Lam, beta, alpha), zhat)
    assert torch.allclose(admm_aggregate(z_old, U, Lam, beta, alpha, delta=0.5),
                          (zhat + 0.5 * z_old) / 1.5)


def _one_client(n=30, d=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, K, n)
    return FLModel("logistic", d, K, l2=0.1), ClientData.from_arrays([(X, y)])


def test_inexact_stop_holds_when_it_stops_and_dual_update():
    model, data = _one_client()
    z = torch.zeros(model.num_params, dtype=torch.float64)
    lam = torch.zeros(1, model.num_params, dtype=torch.float64)
    meth = FedADMMInSa(beta0=0.5, c=1.0)
    upd = client_update(meth, model, z, data, [np.random.default_rng(0)], epochs=50, lr=0.2,
                        batch_size=None, Lam=lam, beta=np.array([0.5]), U_prev=z[None])
    assert 1 <= upd.epochs[0] < 50  # stopped by the inexactness test, not by E
    # the stop test: |e(u)| <= sigma |e(z)| with e = grad f - lam + beta (u - z)
    def e(u):
        _, g = model.grad(u, data.X, data.y, data.w)
        return torch.linalg.vector_norm(g - lam + 0.5 * (u - z)).item()
    sig = inexactness_sigma(0.5, 1.0)
    assert e(upd.U) <= sig * e(z[None])
    # one epoch fewer would not have passed it (full batch: one epoch = one GD step)
    prev = client_update(FedADMM(beta=0.5), model, z, data, [np.random.default_rng(0)],
                         epochs=int(upd.epochs[0]) - 1, lr=0.2, batch_size=None, Lam=lam,
                         beta=np.array([0.5])) if upd.epochs[0] > 1 else None
    if prev is not None:
        assert e(prev.U) > sig * e(z[None])
    assert torch.allclose(upd.Lam, lam - 0.5 * (upd.U - z))
    # work counted: the residual at z, each epoch's SGD pass and the residual after it
    assert upd.grad_evals[0] == data.n[0] * (1 + 2 * upd.epochs[0])


def test_batched_clients_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    parts = [(rng.normal(size=(n, 4)), rng.integers(0, 3, n)) for n in (7, 12, 9)]
    model = FLModel("mlp", 4, 3, hidden=5)
    z = model.init(torch.Generator().manual_seed(0), dtype=torch.float64)
    meth = FedADMMInSa(beta0=0.3, c=0.05)
    P = model.num_params
    lam = torch.randn(3, P, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 0.1
    kw = dict(lr=0.1, batch_size=4)
    both = client_update(meth, model, z, ClientData.from_arrays(parts),
                         [np.random.default_rng([0, i]) for i in range(3)], epochs=[3, 5, 4],
                         Lam=lam, beta=np.array([0.3, 0.6, 0.1]), U_prev=z.expand(3, -1), **kw)
    for i in range(3):
        one = client_update(meth, model, z, ClientData.from_arrays([parts[i]]),
                            [np.random.default_rng([0, i])], epochs=[[3, 5, 4][i]],
                            Lam=lam[i:i + 1], beta=np.array([[0.3, 0.6, 0.1][i]]),
                            U_prev=z[None], **kw)
        assert torch.allclose(both.U[i], one.U[0], atol=1e-12)
        assert both.epochs[i] == one.epochs[0] and both.beta[i] == one.beta[0]


@pytest.mark.slow
def test_fedadmm_insa_reaches_centralised_optimum_convex():
    """l2-logistic regression: InSa's z equals sklearn's multinomial LogisticRegression."""
    l2 = 1.0
    fd = federated_data("digits", 5, "shards", random_state=0)
    N = fd.X.shape[0]
    clf = LogisticRegression(C=1 / (N * l2), tol=1e-12, max_iter=10_000).fit(fd.X, fd.y)
    W, b = clf.coef_.T, clf.intercept_ - clf.intercept_.mean()  # biases: up to a constant
    h = simulate(FedADMMInSa(beta0=3.0), fd, num_clients=5, rounds=60, fraction=1.0,
                 model="logistic", l2=l2, local_epochs=50, batch_size=None, lr=0.2,
                 dtype=torch.float64, progress=False)
    Wz, bz = h.z[:640].reshape(64, 10), h.z[640:] - h.z[640:].mean()
    ref = np.concatenate([W.ravel(), b])
    err = np.linalg.norm(np.concatenate([(Wz - W).ravel(), bz - b])) / np.linalg.norm(ref)
    assert err <= 1e-3, err
    assert h.status == "ok" and h.total_epochs < 60 * 5 * 50  # inexact: fewer than E epochs


@pytest.mark.parametrize("method", ["fedavg", "fedadmm-insa"])
def test_nan_update_rejected_logged_and_z_untouched(method, caplog):
    kw = dict(num_clients=4, rounds=2, fraction=1.0, model="logistic", local_epochs=1,
              progress=False, random_state=0, dtype=torch.float64)
    ref = simulate(method, **kw)  # every client every round
    with caplog.at_level(logging.WARNING, logger="controlml.federated"):
        h = simulate(method, faults={(1, 2): "nan"}, **kw)
    assert h.status == "rejected_updates" and h.rejected == ((1, 2),)
    assert "round 1: client 2 sent a non-finite update" in caplog.text
    assert np.all(np.isfinite(h.z)) and np.array_equal(h.accuracy[:1], ref.accuracy[:1])
    if method == "fedavg":  # z of round 1 = weighted mean of the three other clients only
        h_all_bad = simulate(method, faults={(1, i): "nan" for i in range(4)}, **kw)
        assert len(h_all_bad.rejected) == 4 and h_all_bad.loss[1] == pytest.approx(h_all_bad.loss[0])
    else:  # client 2 keeps its stored state: beta of round 0
        assert h.beta[1, 2] == h.beta[0, 2]
    hd = simulate(method, faults={(1, 2): "dropout"}, **kw)
    assert hd.status == "dropped_clients" and hd.dropped == ((1, 2),) and hd.epochs[1, 2] == 0
    assert np.allclose(hd.z, h.z, atol=1e-12)  # a lost reply and a refused one act alike


def test_bad_inputs():
    with pytest.raises(ParameterError, match="fraction must lie in"):
        simulate("fedavg", fraction=0.0, rounds=1, progress=False)
    with pytest.raises(ParameterError, match="fraction must lie in"):
        simulate("fedavg", fraction=1.5, rounds=1, progress=False)
    with pytest.raises(ParameterError, match="method must be one of"):
        simulate("fedsgd", rounds=1, progress=False)
    y = np.repeat(np.arange(3), 4)
    with pytest.raises(DatasetError, match="client 2 has no data"):
        partition_indices(y, 3, [np.arange(6), np.arange(6, 12), np.array([], dtype=int)])
    with pytest.raises(DatasetError, match="client .* has no data"):
        partition_indices(y, 20, "iid", random_state=0)
    X = np.random.default_rng(0).normal(size=(40, 3))
    yy = np.arange(40) % 4
    with pytest.raises(ParameterError, match="num_classes = 3 outputs"):
        simulate("fedavg", (X, yy), num_clients=2, rounds=1, model=FLModel("mlp", 3, 3),
                 progress=False)
    with pytest.raises(ParameterError, match="dimension d = 5"):
        simulate("fedavg", (X, yy), num_clients=2, rounds=1, model=FLModel("mlp", 5, 4),
                 progress=False)
    with pytest.raises(DatasetError, match="integer class labels"):
        simulate("fedavg", (X, yy + 0.5), num_clients=2, rounds=1, progress=False)
    with pytest.raises(ParameterError, match="local_epochs"):
        simulate("fedavg", num_clients=3, rounds=1, local_epochs=[1, 2], progress=False)
    with pytest.raises(ParameterError, match="tau must be > 1"):
        FedADMMInSa(tau=1.0)


@pytest.mark.parametrize("partition", ["shards", "dirichlet", "iid"])
def test_partitions_cover_training_rows_once(partition):
    fd = federated_data("digits", 10, partition, random_state=0)
    allrows = np.concatenate(fd.clients)
    assert np.array_equal(np.sort(allrows), np.arange(fd.X.shape[0]))
    if partition == "shards":
        assert max(len(np.unique(fd.y[c])) for c in fd.clients) <= 4  # 2 shards, few labels
    assert fd.weights.sum() == pytest.approx(1.0)


def test_simulate_records_and_seed():
    kw = dict(num_clients=6, rounds=3, fraction=0.5, local_epochs=2, progress=False)
    h = simulate("fedadmm-insa", random_state=1, **kw)
    h2 = simulate("fedadmm-insa", random_state=1, **kw)
    assert np.array_equal(h.z, h2.z)
    assert h.selected.sum(1).tolist() == [3, 3, 3]
    assert np.all(h.epochs[~h.selected] == 0) and np.all(h.epochs[h.selected] >= 1)
    P = FLModel("mlp", 64, 10).num_params
    assert h.bytes_down[0] == 3 * P * 4 and h.bytes_up[0] == 3 * (2 * P + 2) * 4
    assert np.all(np.isfinite(h.beta)) and h.lambda_norm.shape == (3, 6)
    hf = simulate(FedAvg(stale=True), random_state=1, **kw)
    assert np.all(np.isnan(hf.beta)) and hf.total_epochs == 3 * 3 * 2
