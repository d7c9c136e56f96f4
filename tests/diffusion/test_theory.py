"""Li-Yau check, backward energy estimate, sqrt(t) concentration, memorisation statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controlml.datasets import lemniscate
from controlml.diffusion import (
    HeatKernelScore,
    concentration,
    energy_estimate,
    li_yau_check,
    nearest_distance,
    sample_statistics,
)
from controlml.errors import DatasetError, ParameterError


def test_li_yau_check_holds_and_autograd_agrees():
    X = lemniscate(60, random_state=0)
    res = li_yau_check(HeatKernelScore(X), (1e-6, 1e-3, 1.0), n_points=400, autograd_points=10,
                       random_state=1)
    assert res.holds and res.status == "holds"
    assert np.all(res.scaled_margin >= -1e-9)
    assert res.autograd_error < 1e-8
    # near the data at tiny t the bound is almost attained
    assert res.scaled_margin[0] < 1e-3
    assert res.worst_point.shape == (3, 2)


@pytest.mark.parametrize("d", [1, 2])
def test_energy_estimate_closed_form_and_bound(d):
    X = lemniscate(30, random_state=2)[:, :d]
    en = energy_estimate(HeatKernelScore(X), [1e-3, 1e-2, 0.1, 1.0])
    assert en.status == "holds" and en.holds
    assert en.quadrature_error < 1e-10 and en.identity_residual < 1e-10
    assert np.all(en.div_term >= en.lower_bound)
    assert np.all(np.diff(en.backward_ratio) > 0) and en.backward_ratio[-1] == 1.0
    # single point: E(t) = (8 pi t)^(-d/2) exactly, with -2 int |grad u|^2 = E'
    one = energy_estimate(HeatKernelScore(np.zeros((1, d))), [0.05, 0.5])
    assert np.allclose(one.energy_exact, (8 * math.pi * np.array([0.05, 0.5])) ** (-d / 2))
    assert np.allclose(one.dE_dt, -2 * one.grad_energy, rtol=1e-8)


def test_energy_estimate_errors():
    with pytest.raises(ParameterError, match="dimension 1 or 2"):
        energy_estimate(HeatKernelScore(np.zeros((2, 3)) + np.arange(2)[:, None]), [0.1])
    with pytest.raises(ParameterError, match="finite and > 0"):
        energy_estimate(HeatKernelScore(np.zeros((2, 1)) + np.arange(2)[:, None]), [0.1, -1.0])


def test_sqrt_tau_concentration():
    X = lemniscate(50, random_state=3)
    c = concentration(HeatKernelScore(X), (1e-6, 1e-5, 1e-4), n=600, steps=150, random_state=4)
    assert c.status == "ok"
    assert abs(c.slope - 0.5) < 0.08
    assert np.allclose(c.mean_distance[0], c.predicted[0], rtol=0.12)  # sqrt(pi tau) in 2-D
    assert np.allclose(c.predicted, np.sqrt(math.pi * c.tau))


def test_nearest_distance_and_statistics(rng):
    Y = rng.standard_normal((30, 3))
    X = rng.standard_normal((40, 3))
    brute = np.sqrt(((X[:, None] - Y[None]) ** 2).sum(-1)).min(1)
    assert np.allclose(nearest_distance(X, Y), brute)
    st = sample_statistics(Y + 1e-3, Y, reference=Y, curve=Y, radius=0.01)
    assert st.novel_fraction == 0.0
    assert st.to_data == pytest.approx(math.sqrt(3) * 1e-3)
    assert st.w1 == pytest.approx(math.sqrt(3) * 1e-3, rel=1e-6)
    with pytest.raises(DatasetError, match="3 columns"):
        nearest_distance(X, Y[:, :2])
