"""The three fitters: the game lowers both players' costs, one interface, reproducibility, bad inputs."""

import inspect

import numpy as np
import pytest
import torch

from controlml.errors import DatasetError, ParameterError
from controlml.hyco import (
    HELMHOLTZ_TRUTH,
    FitResult,
    Helmholtz2D,
    Synthetic,
    game_costs,
    helmholtz_problem,
    hyco_fit,
    physics_fit,
    pinn_fit,
)


@pytest.fixture(scope="module")
def case():
    phys, data = helmholtz_problem(0.0, n=10, random_state=3)
    return phys, data


def test_one_hyco_epoch_lowers_both_players_costs(case):
    phys, data = case
    syn = Synthetic(2, (32, 32), random_state=0)
    Z = phys.sample_collocation(100, torch.Generator().manual_seed(0))
    w = (1.0, 1.0, 1.0, 1.0)
    res = hyco_fit(phys, syn, data, weights=w, collocation=lambda g: Z, epochs=1, warmup=None,
                   lr_phys=1e-3, lr_syn=1e-4, random_state=0)
    js0, _ = game_costs(phys, syn, data, Z, w)                        # (theta_0, phi_0)
    js1, jp_old = game_costs(phys, res.synthetic, data, Z, w)          # (theta_1, phi_0)
    _, jp1 = game_costs(res.physical, res.synthetic, data, Z, w)       # (theta_1, phi_1)
    assert js1 < js0            # the synthetic player's step lowered J_syn
    assert jp1 < jp_old         # the physical player's step lowered J_phys (against theta_1)
    assert np.isclose(res.loss_syn[0], js0)
    assert not np.allclose(res.params, phys.phi.detach().numpy())     # phi moved ...
    assert torch.equal(phys.phi, torch.as_tensor(res.param_history[0]))  # ... on a copy


def test_the_three_fitters_share_one_interface(case):
    phys, data = case
    sigs = [inspect.signature(f) for f in (hyco_fit, physics_fit, pinn_fit)]
    shared = {"epochs", "lr_phys", "lr_syn", "lr_schedule", "phys_betas", "random_state",
              "progress"}
    for s in sigs:
        assert list(s.parameters)[:3] == ["physical", "synthetic", "data"]
        assert shared <= set(s.parameters)
    E = 3
    runs = {
        "hyco": hyco_fit(phys, Synthetic(2, (16, 16), random_state=0), data, epochs=E,
                         warmup=None, random_state=0),
        "physics": physics_fit(phys, None, data, epochs=E, random_state=0),
        "pinn": pinn_fit(phys, Synthetic(2, (16, 16), activation="tanh", random_state=0), data,
                         epochs=E, n_interior=20, n_boundary=8, random_state=0),
    }
    for name, r in runs.items():
        assert isinstance(r, FitResult) and r.method == name and r.status == "ok"
        assert r.param_history.shape == (E + 1, 6) and r.param_error.shape == (E + 1,)
        assert r.loss_phys.shape == r.loss_syn.shape == r.data_mse.shape == (E,)
        assert np.isclose(r.final_error, phys.param_error(torch.as_tensor(r.params)))
        assert np.isclose(r.param_error[0], phys.param_error(phys.phi))


def test_physics_fit_recovers_parameters_from_complete_consistent_data():
    truth = np.array(HELMHOLTZ_TRUTH)
    exact = Helmholtz2D(truth, n=10)
    X = exact.sample_collocation(200, torch.Generator().manual_seed(0))
    with torch.no_grad():
        u = exact(X)
    start = Helmholtz2D(truth + np.array([0.3, 0.1, -0.1, -0.2, 0.1, 0.1]), n=10)
    r = physics_fit(start, None, (X, u), epochs=300, lr_phys=2e-2)
    assert r.param_error[0] > 0.08
    assert r.final_error < 0.1 * r.param_error[0]
    assert r.data_mse[-1] < 1e-2 * r.data_mse[0]


def test_warmup_rule_and_reproducibility(case):
    phys, data = case
    syn = Synthetic(2, (16, 16), random_state=1)
    a = hyco_fit(phys, syn, data, epochs=8, warmup=1e-12, random_state=5)
    assert a.warmup_epochs == 8 and np.all(np.isnan(a.loss_phys))
    assert np.allclose(a.param_history, a.param_history[0])          # phi waits during warm-up
    b = hyco_fit(phys, syn, data, epochs=4, warmup=None, random_state=5)
    c = hyco_fit(phys, syn, data, epochs=4, warmup=None, random_state=5)
    assert np.array_equal(b.param_history, c.param_history)


class _Frozen(torch.nn.Module):
    """A 'solver' whose output ignores phi."""

    input_dim = 2
    bounds = np.array([[-1.0, 1.0], [-1.0, 1.0]])

    def __init__(self):
        super().__init__()
        self.phi = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))

    def forward(self, X):
        return X[:, 0] * 1.0

    def param_error(self, phi):
        return float("nan")

    def sample_collocation(self, n, generator):
        return torch.rand(n, 2, generator=generator, dtype=torch.float64) * 2 - 1


def test_bad_inputs(case):
    phys, (X, u) = case
    syn = Synthetic(2, (8, 8))
    with pytest.raises(DatasetError, match="outside the model's domain"):
        hyco_fit(phys, syn, (np.vstack([X, [[4.0, 0.0]]]), np.append(u, 0.0)))
    bad = u.copy()
    bad[3] = np.nan
    with pytest.raises(DatasetError, match="non-finite value .row 3"):
        physics_fit(phys, None, (X, bad))
    with pytest.raises(DatasetError, match="shape"):
        physics_fit(phys, None, (X[:, :1], u))
    with pytest.raises(ParameterError, match=r"weights\[1\] \(model_syn\) must be >= 0"):
        hyco_fit(phys, syn, (X, u), weights=(1.0, -1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match="four numbers"):
        hyco_fit(phys, syn, (X, u), weights=(1.0, 1.0))
    frozen = Helmholtz2D(HELMHOLTZ_TRUTH, n=6)
    frozen.phi.requires_grad_(False)
    with pytest.raises(ParameterError, match="does not require grad"):
        physics_fit(frozen, None, (X, u))
    with pytest.raises(ParameterError, match="does not depend on physical.phi|no gradient"):
        physics_fit(_Frozen(), None, (np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(ParameterError, match="PhysicalModel protocol"):
        physics_fit(object(), None, (X, u))
    with pytest.raises(ParameterError, match="ReLU"):
        pinn_fit(phys, syn, (X, u))
    with pytest.raises(ParameterError, match="input_dim"):
        hyco_fit(phys, Synthetic(3, (8, 8)), (X, u))
    with pytest.raises(ParameterError, match="epochs"):
        physics_fit(phys, None, (X, u), epochs=0)
    with pytest.raises(ParameterError, match="lr_phys must be > 0"):
        physics_fit(phys, None, (X, u), lr_phys=-1.0)
    with pytest.raises(ParameterError, match="lr_schedule"):
        physics_fit(phys, None, (X, u), lr_schedule="cosine")
