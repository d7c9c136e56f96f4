"""Atomic writes, W1 / KL / L1, and the synthetic data generators."""

import numpy as np
import pytest

from controlml import DatasetError
from controlml._io import atomic_savez, atomic_write_json, load_npz
from controlml.datasets import interpolation_data, labelled_uniform, lemniscate, uniform_cube
from controlml.metrics import kl_divergence, l1_distance, wasserstein1


def test_atomic_writes_roundtrip(tmp_path):
    p = atomic_write_json(tmp_path / "a" / "r.json", {"x": np.float64(1.5), "v": np.arange(3)})
    assert p.read_text().count("1.5") == 1
    atomic_savez(tmp_path / "z.npz", W=np.eye(2))
    assert np.array_equal(load_npz(tmp_path / "z.npz")["W"], np.eye(2))
    assert sorted(f.name for f in tmp_path.rglob("*")) == ["a", "r.json", "z.npz"]


def test_w1_closed_forms(rng):
    X = rng.standard_normal((50, 2))
    assert wasserstein1(X, X) == pytest.approx(0.0, abs=1e-12)
    shift = np.array([3.0, 4.0])
    assert wasserstein1(X, X + shift) == pytest.approx(5.0, rel=1e-10)  # translation: |shift|
    # two Diracs with weights: W1 = |mass moved| * distance
    assert wasserstein1([[0.0]], [[0.0], [2.0]], b=[0.75, 0.25]) == pytest.approx(0.5)
    with pytest.raises(DatasetError, match="columns"):
        wasserstein1(X, np.zeros((3, 3)))


def test_kl_and_l1():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == pytest.approx(np.log(2))
    assert kl_divergence(q, p) == np.inf
    assert l1_distance(p, q, cell_volume=2.0) == pytest.approx(2.0)
    with pytest.raises(DatasetError, match="same shape"):
        l1_distance(p, q[:2])


def test_generators_are_seeded_and_shaped():
    assert np.array_equal(uniform_cube(5, 3, random_state=1), uniform_cube(5, 3, random_state=1))
    X, y = labelled_uniform(61, 4, random_state=0)
    assert X.shape == (61, 4) and y.sum() == 31 and set(y) == {0, 1}
    X, Y = interpolation_data(7, 2, random_state=0)
    assert X.shape == Y.shape == (7, 2)
    L = lemniscate(500, a=2.0, random_state=0)
    x, yy = L[:, 0], L[:, 1]
    assert np.allclose((x**2 + yy**2) ** 2, 4.0 * (x**2 - yy**2), atol=1e-12)


def test_sentiment_loaders_are_reexported(tmp_path):
    import controlml.datasets as D
    from controlml import DataNotFoundError

    assert "rt-polarity" in D.SENTIMENT_LAYOUTS
    (tmp_path / "rt-polarity.pos").write_text("a fine film\nwonderful acting\n", encoding="latin-1")
    (tmp_path / "rt-polarity.neg").write_text("a dull mess\nboring\n", encoding="latin-1")
    data = D.load_sentiment(tmp_path)
    assert len(data.texts) == 4 and sorted(data.labels) == [0, 0, 1, 1]
    with pytest.raises(DataNotFoundError):
        D.load_sentiment(tmp_path / "nothing-here")
    with pytest.raises(AttributeError):
        D.no_such_loader  # noqa: B018
