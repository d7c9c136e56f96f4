"""Explicit width-2 classifier: construction time against N and d, and against scikit-learn.

1. ``construction``: :func:`controlml.mlp.classify_narrow` on M = 3 well-separated Gaussian
   classes for N = 10^3, 10^4, 10^5 in d = 2 and d = 50 (quick: 10^3, 10^4): time (direction
   search + build + float64 certificate on all N points), the depth reached and the paper's
   2N + 4M - 1, and the time per N d (near-linear means this stays flat).  One row on
   overlapping classes shows what the certificate costs when the depth grows with N (the
   forward pass of a depth-L network is O(N L)).
2. ``vs sklearn``: scikit-learn's ``MLPClassifier`` (adam, one hidden layer of 100, default
   learning rate, full passes via ``partial_fit``) trained until its training accuracy is 1
   or it stalls (time cap), against our construction's time on the same data: two moons with
   noise (N = 1000), 10-class digits (N = 1797, d = 64), separated blobs (N = 10^4, d = 50).
   ``ratio`` = sklearn time / ours.

One BLAS thread throughout (``threadpoolctl``), so the numbers compare code, not cores.
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def _blobs(N: int, d: int, M: int, sep: float, rng: np.random.Generator):
    centres = sep * rng.standard_normal((M, d))
    y = rng.integers(0, M, N)
    return centres[y] + rng.standard_normal((N, d)), y


def _construction_rows(quick: bool) -> list[dict]:
    from controlml.mlp import classify_narrow

    rows = []
    Ns = (1000, 10_000) if quick else (1000, 10_000, 100_000)
    for d in (2, 50):
        for N in Ns:
            X, y = _blobs(N, d, 3, 20.0, np.random.default_rng(N + d))
            classify_narrow(X[:200], y[:200], random_state=0)          # warm-up
            t0 = time.perf_counter()
            res = classify_narrow(X, y, random_state=0)
            dt = time.perf_counter() - t0
            assert np.array_equal(res.network.predict(X), y)
            rows.append({"bench": "construction", "data": "3 separated blobs", "N": N, "d": d,
                         "time_s": dt, "depth": res.depth, "runs": res.num_runs,
                         "paper_bound": res.bound, "us_per_Nd": 1e6 * dt / (N * d)})
    N = 2000 if quick else 10_000
    X, y = _blobs(N, 2, 3, 1.5, np.random.default_rng(7))
    t0 = time.perf_counter()
    res = classify_narrow(X, y, random_state=0)
    dt = time.perf_counter() - t0
    rows.append({"bench": "construction", "data": "3 overlapping blobs", "N": N, "d": 2,
                 "time_s": dt, "depth": res.depth, "runs": res.num_runs,
                 "paper_bound": res.bound, "us_per_Nd": 1e6 * dt / (N * 2)})
    return rows


def _sklearn_until_exact(X, y, cap_s: float, seed: int = 0):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(100,), solver="adam", random_state=seed)
    classes = np.unique(y)
    t0 = time.perf_counter()
    acc, epochs, best = 0.0, 0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while True:
            clf.partial_fit(X, y, classes=classes)
            epochs += 1
            acc = float(np.mean(clf.predict(X) == y))
            best = max(best, acc)
            if acc == 1.0 or time.perf_counter() - t0 > cap_s:
                break
    return time.perf_counter() - t0, best, epochs


def _vs_sklearn_rows(quick: bool) -> list[dict]:
    from sklearn.datasets import load_digits, make_moons
    from sklearn.preprocessing import StandardScaler

    from controlml.mlp import classify_narrow

    Xm, ym = make_moons(1000, noise=0.3, random_state=0)
    Xd, yd = load_digits(return_X_y=True)
    Xb, yb = _blobs(2000 if quick else 10_000, 50, 3, 20.0, np.random.default_rng(3))
    cases = [("two moons, noise 0.3", Xm, ym), ("digits (10 classes)", Xd, yd),
             ("3 separated blobs, d=50", Xb, yb)]
    cap = 4.0 if quick else 60.0
    rows = []
    for name, X, y in cases:
        t0 = time.perf_counter()
        res = classify_narrow(X, y, random_state=0)
        ours = time.perf_counter() - t0
        ours_acc = float(np.mean(res.network.predict(X) == y))
        Xs = StandardScaler().fit_transform(X)
        sk, sk_acc, epochs = _sklearn_until_exact(Xs, y, cap)
        rows.append({"bench": "vs sklearn MLPClassifier(100, adam)", "data": name, "N": X.shape[0],
                     "d": X.shape[1], "ours_s": ours, "ours_acc": ours_acc, "ours_depth": res.depth,
                     "sklearn_s": sk, "sklearn_acc": sk_acc, "sklearn_epochs": epochs,
                     "sklearn_reached_1": sk_acc == 1.0, "ratio_sklearn_over_ours": sk / ours})
    return rows


def run(quick: bool = False) -> list[dict]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _construction_rows(quick) + _vs_sklearn_rows(quick)
