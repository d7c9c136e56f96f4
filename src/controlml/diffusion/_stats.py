"""Memorisation against generation: distances of generated points to the data and to a reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_points, check_int, check_positive, check_random_state
from ._theory import nearest_distance

__all__ = ["SampleStatistics", "sample_statistics"]


@dataclass(frozen=True)
class SampleStatistics:
    r"""How close generated points are to the training data and to the true law.

    Attributes
    ----------
    to_data : float
        Mean distance of a generated point to its nearest training point
        (small: memorisation).
    to_data_sem : float
        Standard error of ``to_data`` (std / sqrt(n)).
    to_curve : float
        Mean distance to the reference manifold (NaN when none was given).
    w1 : float
        :math:`W_1` (POT, exact on at most ``max_points`` points) to a fresh
        reference sample (NaN when none was given).
    novel_fraction : float
        Fraction of generated points farther than ``radius`` from every training point.
    radius : float
        The radius used for ``novel_fraction``.
    n : int
        Number of generated points.
    """

    to_data: float
    to_data_sem: float
    to_curve: float
    w1: float
    novel_fraction: float
    radius: float
    n: int


def sample_statistics(X: Any, data: Any, *, reference: Any = None, curve: Any = None,
                      radius: float | None = None, max_points: int = 2000,
                      random_state: Any = None) -> SampleStatistics:
    r"""Memorisation statistics of generated points ``X`` (n, d) against training ``data`` (I, d).

    Parameters
    ----------
    X : array (n, d)
        Generated points.
    data : array (I, d)
        Training points.
    reference : array (m, d), optional
        A fresh sample of the true law, for :math:`W_1` (:func:`controlml.metrics.wasserstein1`).
    curve : array (p, d), optional
        A dense sampling of the true data manifold, for the distance to it.
    radius : float, optional
        Novelty radius; default: half the median nearest-neighbour spacing of ``data``.
    max_points : int
        Subsampling of the exact :math:`W_1` solve.
    random_state : int or Generator, optional
        For the subsampling.
    """
    from ..metrics import wasserstein1

    X = as_points(X, "X")
    data = as_points(data, "data", dim=X.shape[1])
    max_points = check_int(max_points, "max_points", minimum=2)
    rng = check_random_state(random_state)
    if radius is None:
        if data.shape[0] > 1:
            from scipy.spatial import cKDTree

            sp = cKDTree(data).query(data, k=2)[0][:, 1]
            radius = 0.5 * float(np.median(sp))
        else:
            radius = 1.0
    radius = check_positive(radius, "radius")
    dd = nearest_distance(X, data)
    to_curve = float(np.mean(nearest_distance(X, curve))) if curve is not None else float("nan")
    w1 = (wasserstein1(X, as_points(reference, "reference", dim=X.shape[1]),
                       max_points=max_points, random_state=rng)
          if reference is not None else float("nan"))
    sem = float(dd.std(ddof=1) / np.sqrt(dd.size)) if dd.size > 1 else float("nan")
    return SampleStatistics(to_data=float(dd.mean()), to_data_sem=sem, to_curve=to_curve, w1=float(w1),
                            novel_fraction=float(np.mean(dd > radius)), radius=float(radius),
                            n=X.shape[0])
