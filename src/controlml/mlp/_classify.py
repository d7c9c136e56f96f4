"""Exact classification of N labelled points by an explicit ReLU MLP of width 2.

Construction (ours, after Hernández & Zuazua, arXiv 2409.06555):

1. Project: ``z_i = v . x_i`` for a direction ``v`` along which no two points of different
   labels share a projection.  Sorted by ``z``, the labels form ``K`` maximal *runs* of equal
   label, ``K <= N``.
2. The first layer maps ``z`` to the pending interval ``[A*, inf)`` (``A* = 2F + 2``, codes
   ``0..F``, ``F = M - 1``); each run but the last is then collapsed onto its class code by two
   width-2 layers (see :mod:`controlml.mlp._gadget`); the last run is finished by
   ``min(w, F)`` -- its class gets the largest code ``F`` -- in one layer and the affine
   read-out.
3. Depth ``L = 2K <= 2N <= 2N + 4M - 1`` (the paper's bound), hidden width 2, output the code.

The depth grows with ``K``, so the direction is chosen among candidates (the fixed random
direction of the baseline, class-mean and principal directions, coordinate axes, random
directions and a local search) to make ``K`` small, ties broken by the larger relative gap.
The network is then *certified* by a float64 forward pass: every training point must be
mapped to its own code (``margin`` = the smallest distance between the outputs of two points of
different classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_points, check_int, check_random_state
from ..errors import ConvergenceError, DatasetError, ParameterError
from ._gadget import Builder, plan_steps
from ._model import MLP

__all__ = ["NarrowClassification", "classify_narrow", "classify_fixed_direction", "count_runs",
           "paper_depth_bound"]

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class NarrowClassification:
    """Result of :func:`classify_narrow` / :func:`classify_fixed_direction`.

    Attributes
    ----------
    network : MLP
        Width-2 ReLU MLP, ``network.predict(X)`` returns the labels; the output is the code.
    depth : int
        Number of affine layers ``L = 2K`` (hidden layers + read-out).
    max_width : int
        Largest hidden width (2).
    bound : int
        The paper's depth ``2N + 4M - 1``.
    num_runs : int
        ``K``, label runs along the chosen projection.
    direction : ndarray (d,)
        The projection ``v`` (raw coordinates).
    margin : float
        ``min |out_i - out_j|`` over points of different classes, measured in float64 on the
        network's output (= its last hidden layer read along the read-out direction); the
        exact construction gives 1.
    max_error : float
        ``max_i |out_i - code_i|`` in float64.
    candidates : int
        Directions examined.
    status : str
        ``"exact"`` when every training point is classified correctly (always, else an error).
    """

    network: MLP
    depth: int
    max_width: int
    bound: int
    num_runs: int
    direction: np.ndarray
    margin: float
    max_error: float
    candidates: int
    status: str


def paper_depth_bound(N: int, M: int) -> int:
    """The depth ``2N + 4M - 1`` of Hernández & Zuazua for N points and M classes.

    Parameters
    ----------
    N : int
        Number of labelled training points.
    M : int
        Number of distinct classes.

    Returns
    -------
    int
        ``2 N + 4 M - 1``, the depth of the paper's width-2 classifier; the construction of
        :func:`classify_narrow` has depth ``2K <= 2N`` below it.

    Examples
    --------
    >>> paper_depth_bound(10, 3)
    31
    """
    return 2 * int(N) + 4 * int(M) - 1


# ------------------------------------------------------------------------------------------
# input validation
# ------------------------------------------------------------------------------------------
def _encode_labels(labels: Any, N: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, index)`` with ``classes[index] == labels``; classes sorted when sortable."""
    if isinstance(labels, str | bytes):
        raise DatasetError("labels must be a sequence of N labels (one per row of X); got a "
                           "single string")
    try:
        if isinstance(labels, np.ndarray):
            arr = labels
        else:
            lst = list(labels)
            kinds = {type(v) for v in lst}
            if len(kinds) <= 1 and tuple not in kinds:
                arr = np.asarray(lst)
            else:                       # mixed types or tuples: keep each label as it is
                arr = np.empty(len(lst), dtype=object)
                for i, v in enumerate(lst):
                    arr[i] = v
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"labels must be a 1-D sequence of hashable values; got "
                           f"{type(labels).__name__}") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DatasetError(f"labels must be 1-D with one label per row of X; got shape {arr.shape}")
    if arr.shape[0] != N:
        raise DatasetError(f"X and labels must have the same number of rows; got {N} and "
                           f"{arr.shape[0]}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DatasetError(f"labels contains a non-finite value (NaN or inf) at row {bad}: "
                           "give every row a label")
    try:
        classes, index = np.unique(arr, return_inverse=True)
    except TypeError:
        # unsortable mix of hashables: order of first appearance
        table: dict[Any, int] = {}
        try:
            index = np.array([table.setdefault(v, len(table)) for v in arr.tolist()], dtype=np.int64)
        except TypeError as exc:
            raise DatasetError("labels must be hashable values (ints, strings, ...)") from exc
        classes = np.empty(len(table), dtype=object)
        for v, i in table.items():
            classes[i] = v
    return classes, np.asarray(index, dtype=np.int64).reshape(-1)


def _show(v: Any) -> str:
    return repr(v.item() if isinstance(v, np.generic) else v)


def _check_conflicts(X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> None:
    """Raise if two equal rows of X carry different labels (no function can classify them)."""
    if X.shape[0] < 2:
        return
    order = np.lexsort(np.column_stack([X, y]).T[::-1])
    S = X[order]
    same = np.all(S[1:] == S[:-1], axis=1)
    clash = same & (y[order][1:] != y[order][:-1])
    if np.any(clash):
        k = int(np.argmax(clash))
        i, j = sorted((int(order[k]), int(order[k + 1])))
        raise DatasetError(
            f"X has two equal rows ({i} and {j}) with different labels ({_show(classes[y[i]])} and "
            f"{_show(classes[y[j]])}): no function classifies them both; remove or relabel one")


def _validate(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if X is None:
        raise DatasetError("X must be a numeric array of shape (N, d); got None")
    Xa = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if Xa.ndim == 2 and Xa.shape[0] == 0:
        raise DatasetError("X is empty (0 rows): give at least one labelled point")
    Xa = as_points(X, "X")
    classes, y = _encode_labels(labels, Xa.shape[0])
    _check_conflicts(Xa, y, classes)
    return Xa, classes, y


# ------------------------------------------------------------------------------------------
# runs along a projection
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Runs:
    v: np.ndarray
    order: np.ndarray
    starts: np.ndarray       # index (in sorted order) where each run starts
    lo: np.ndarray
    hi: np.ndarray
    cls: np.ndarray          # class index of each run
    rel_gap: float           # smallest gap between runs / range of z (0 if invalid)
    valid: bool

    @property
    def K(self) -> int:
        return int(self.lo.shape[0])


def _runs(X: np.ndarray, y: np.ndarray, v: np.ndarray) -> _Runs:
    z = X @ v
    order = np.argsort(z, kind="stable")
    zs = z[order]
    ys = y[order]
    change = np.flatnonzero(ys[1:] != ys[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change - 1, [z.shape[0] - 1]])
    lo, hi = zs[starts], zs[ends]
    span = float(zs[-1] - zs[0])
    # rounding of the dot products: |fl(v.x) - v.x| <= d eps sum |v_j x_j|
    noise = (X.shape[1] + 2) * _EPS * float(np.max(np.abs(X) @ np.abs(v)))
    if change.size:
        gaps = lo[1:] - hi[:-1]
        gmin = float(np.min(gaps))
        valid = gmin > 64.0 * noise and gmin > 0.0
        rel = gmin / span if span > 0 else 0.0
    else:
        valid, rel = True, 1.0
    return _Runs(v, order, starts, lo, hi, ys[starts], rel if valid else 0.0, bool(valid))


def count_runs(X: Any, labels: Any, direction: Any) -> int:
    """Number ``K`` of maximal runs of equal label of ``labels`` sorted by ``X @ direction``.

    The points are ordered by their projections ``z_i = direction . x_i`` (stable sort) and
    ``K`` counts the maximal blocks of consecutive equal labels; the classifier built on that
    projection has depth ``2K``.

    Parameters
    ----------
    X : array (N, d)
        Finite inputs; equal rows must carry equal labels.
    labels : sequence (N,)
        One hashable label (int, string, ...) per row of ``X``.
    direction : array (d,)
        The projection vector ``v``, in the raw coordinates of ``X``.

    Returns
    -------
    int
        ``K``, with ``1 <= K <= N``.

    Raises
    ------
    DatasetError
        Empty, non-finite or mismatched data, or two equal rows with different labels.
    ParameterError
        ``direction`` does not have ``d`` entries.

    Examples
    --------
    >>> count_runs([[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "a"], [1.0])
    3
    """
    Xa, _, y = _validate(X, labels)
    v = np.asarray(direction, dtype=np.float64).reshape(-1)
    if v.shape[0] != Xa.shape[1]:
        raise ParameterError(f"direction must have {Xa.shape[1]} entries; got {v.shape[0]}")
    return _runs(Xa, y, v).K


def _key(r: _Runs) -> tuple[float, float]:
    return (r.K if r.valid else np.inf, -r.rel_gap)


def _baseline_direction(d: int, rng: np.random.Generator) -> np.ndarray:
    """The fixed direction of the authors' code: uniform in [0, 1]^d, in raw coordinates."""
    return rng.uniform(0.0, 1.0, size=d)


def _candidate_directions(X: np.ndarray, y: np.ndarray, M: int, rng: np.random.Generator,
                          n_random: int) -> list[np.ndarray]:
    """Directions (raw coordinates) worth trying: mean differences, principal axes, axes, random."""
    N, d = X.shape
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[~(sd > 0)] = 1.0
    out: list[np.ndarray] = []
    # class means in standardised coordinates
    counts = np.bincount(y, minlength=M).astype(np.float64)
    sums = np.zeros((M, d))
    np.add.at(sums, y, X)
    means = (sums / counts[:, None] - mu) / sd
    if M >= 2:
        # within-class variance (diagonal) for a Fisher-like scaling
        sq = np.zeros((M, d))
        np.add.at(sq, y, ((X - mu) / sd) ** 2)
        within = np.maximum(np.sum(sq, axis=0) / N - np.sum(counts[:, None] * means ** 2, axis=0) / N,
                            1e-12)
        if M == 2:
            diff = means[1] - means[0]
            out += [diff, diff / within]
        else:
            c = means - np.average(means, axis=0, weights=counts)
            _, _, Vt = np.linalg.svd(c * np.sqrt(counts)[:, None], full_matrices=False)
            out += [Vt[0], Vt[0] / within]
            if Vt.shape[0] > 1:
                out.append(Vt[1])
    # Fisher discriminant (LDA) directions from a subsample (keeps the cost linear in N)
    if M >= 2 and d <= 500:
        out += _lda_directions(X, y, M, mu, sd, rng)
    # principal directions of a subsample
    sub = X[rng.choice(N, size=min(N, 2000), replace=False)] if N > 2000 else X
    S = (sub - mu) / sd
    if S.shape[0] > 1:
        _, _, Vt = np.linalg.svd(S, full_matrices=False)
        out += list(Vt[: min(2, Vt.shape[0])])
    if d <= 10:
        out += list(np.eye(d))
    out += list(rng.standard_normal((n_random, d)))
    return [u / sd for u in out if np.all(np.isfinite(u)) and np.any(u != 0)]


def _lda_directions(X, y, M, mu, sd, rng, max_rows: int = 5000) -> list[np.ndarray]:
    """Top generalised eigenvectors of (between, within) class scatter, standardised coordinates."""
    from scipy.linalg import eigh

    N, d = X.shape
    idx = rng.choice(N, size=max_rows, replace=False) if N > max_rows else np.arange(N)
    S, ys = (X[idx] - mu) / sd, y[idx]
    counts = np.bincount(ys, minlength=M).astype(np.float64)
    present = counts > 0
    means = np.zeros((M, d))
    np.add.at(means, ys, S)
    means[present] /= counts[present, None]
    R = S - means[ys]
    Sw = R.T @ R / S.shape[0]
    Sw += (1e-6 * np.trace(Sw) / d + 1e-12) * np.eye(d)
    c = means[present] - np.average(means[present], axis=0, weights=counts[present])
    Sb = (c * counts[present, None]).T @ c / S.shape[0]
    try:
        _, V = eigh(Sb, Sw)
    except np.linalg.LinAlgError:
        return []
    return [V[:, -1], V[:, -2]] if d > 1 and present.sum() > 2 else [V[:, -1]]


def _search(X: np.ndarray, y: np.ndarray, M: int, rng: np.random.Generator, baseline: np.ndarray,
            n_directions: int) -> tuple[list[_Runs], int]:
    """Candidate runs sorted best first (fewest runs, then largest relative gap)."""
    n_fixed = 12
    cands = [_runs(X, y, baseline)]
    if M > 1:
        for v in _candidate_directions(X, y, M, rng, max(0, n_directions - n_fixed)):
            cands.append(_runs(X, y, v))
    tried = len(cands)
    # local search around the best direction: random perturbations of shrinking size
    if M > 1 and n_directions > 0:
        best = min(cands, key=_key)
        sd = X.std(axis=0)
        sd[~(sd > 0)] = 1.0
        u = best.v * sd
        radius = 0.5 * np.linalg.norm(u)
        for _ in range(max(4, n_directions // 2)):
            if best.K <= M:
                break
            trial = _runs(X, y, (u + radius * rng.standard_normal(u.shape[0]) / np.sqrt(u.shape[0])) / sd)
            tried += 1
            cands.append(trial)
            if _key(trial) < _key(best):
                best, u = trial, trial.v * sd
            else:
                radius *= 0.7
    cands.sort(key=_key)
    return cands, tried


# ------------------------------------------------------------------------------------------
# building and certifying
# ------------------------------------------------------------------------------------------
def _build(X: np.ndarray, y: np.ndarray, classes: np.ndarray, runs: _Runs) -> tuple[MLP, np.ndarray]:
    """The width-2 network for the given runs; returns it and the code of every class."""
    M = classes.shape[0]
    F = float(M - 1)
    last = int(runs.cls[-1])
    others = [c for c in range(M) if c != last]
    code = np.empty(M, dtype=np.int64)
    code[others] = np.arange(M - 1)
    code[last] = M - 1
    values = code[runs.cls].astype(np.float64)
    alpha, steps = plan_steps(runs.lo, runs.hi, values, F, collapse_last=False)
    A_star = 2.0 * F + 2.0
    B = Builder(X.shape[1])
    w = (alpha * runs.v, A_star - alpha * float(runs.lo[0]))
    for st in steps:
        w, _ = B.step(w, st)
    out, _ = B.clamp(w, F)
    B.layer([out])
    by_code = np.empty(M, dtype=object)
    by_code[code] = np.asarray(classes, dtype=object)
    return MLP(B.layers, classes=by_code), code


def _certify(net: MLP, X: np.ndarray, y: np.ndarray, code: np.ndarray,
             chunk: int = 65536) -> tuple[bool, float, float]:
    """Float64 forward pass: (all correct, margin, max |out - code|)."""
    target = code[y].astype(np.float64)
    out = np.empty(X.shape[0])
    for s in range(0, X.shape[0], chunk):
        out[s:s + chunk] = net(X[s:s + chunk])[:, 0]
    err = float(np.max(np.abs(out - target)))
    ok = err < 0.5
    order = np.argsort(out, kind="stable")
    o, t = out[order], y[order]
    diff = t[1:] != t[:-1]
    margin = float(np.min(o[1:][diff] - o[:-1][diff])) if np.any(diff) else np.inf
    return ok, margin, err


def _finish(X, y, classes, cands, tried, max_tries: int,
            fallback: _Runs | None = None) -> NarrowClassification:
    M = classes.shape[0]
    N = X.shape[0]
    worst = None
    todo = list(cands[:max_tries])
    if fallback is not None and all(r is not fallback for r in todo):
        todo.append(fallback)   # never deeper than the baseline: its direction is tried too
    for runs in todo:
        if not runs.valid:
            continue
        net, code = _build(X, y, classes, runs)
        ok, margin, err = _certify(net, X, y, code)
        if ok:
            return NarrowClassification(
                network=net, depth=net.depth, max_width=net.max_width,
                bound=paper_depth_bound(N, M), num_runs=runs.K, direction=runs.v.copy(),
                margin=margin, max_error=err, candidates=tried, status="exact")
        worst = err
    _raise_inseparable(X, y, classes, cands[0], worst)
    raise AssertionError("unreachable")


def _raise_inseparable(X, y, classes, runs: _Runs, err) -> None:
    z = X @ runs.v
    order = np.argsort(z, kind="stable")
    zs, ys = z[order], y[order]
    diff = np.flatnonzero(ys[1:] != ys[:-1])
    k = int(diff[np.argmin(zs[diff + 1] - zs[diff])]) if diff.size else 0
    i, j = sorted((int(order[k]), int(order[min(k + 1, len(order) - 1)])))
    dist = float(np.linalg.norm(X[i] - X[j]))
    scale = float(np.max(np.abs(X)))
    extra = "" if err is None else f" (best float64 error {err:.3g} >= 0.5)"
    raise ConvergenceError(
        f"the data cannot be separated exactly in float64{extra}: rows {i} and {j} (labels "
        f"{_show(classes[y[i]])} and {_show(classes[y[j]])}) are {dist:.3g} apart while the coordinates reach "
        f"{scale:.3g} (relative {dist / max(scale, 1e-300):.2g}, float64 resolves about 1e-13). "
        "Centre and rescale X, merge near-duplicate points, or drop one of the two rows.")


def classify_narrow(X: Any, labels: Any, *, random_state: Any = None, n_directions: int = 24,
                    max_tries: int = 4) -> NarrowClassification:
    """Exactly classify ``(X, labels)`` with an explicit ReLU MLP of width 2.

    Parameters
    ----------
    X : array (N, d)
        Finite inputs, any ``d >= 1``, any scale; equal rows must carry equal labels.
    labels : sequence (N,)
        Any hashable labels (ints, strings, ...); ``M`` distinct values.
    random_state : None, int or Generator
        Seeds the candidate directions (the first is the baseline's fixed random direction,
        so the depth is never above :func:`classify_fixed_direction`'s for the same seed).
    n_directions : int
        Budget of projection directions examined (>= 1; fewer = faster, maybe deeper).
    max_tries : int
        Directions whose float64 certificate is attempted, best first.

    Returns
    -------
    NarrowClassification
        ``network`` with ``network.predict(X) == labels``, ``depth = 2K <= 2N + 4M - 1``
        (``K`` label runs along the chosen projection), ``max_width = 2``, ``margin``, ...

    Raises
    ------
    DatasetError
        Empty, non-finite or mismatched data, or two equal rows with different labels.
    ConvergenceError
        No direction separates the classes in float64 (points of different classes closer
        than the precision allows); the message names the rows and what to do.
    """
    Xa, classes, y = _validate(X, labels)
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    max_tries = check_int(max_tries, "max_tries", minimum=1)
    rng = check_random_state(random_state)
    baseline = _baseline_direction(Xa.shape[1], rng)
    cands, tried = _search(Xa, y, classes.shape[0], rng, baseline, n_directions)
    base = next(r for r in cands if r.v is baseline)
    return _finish(Xa, y, classes, cands, tried, max_tries, fallback=base)


def classify_fixed_direction(X: Any, labels: Any, *, direction: Any = None,
                             random_state: Any = None) -> NarrowClassification:
    """The one-fixed-direction construction (the baseline of the authors' code, multi-class).

    Projects on ``direction`` (default: uniform in ``[0, 1]^d`` drawn from ``random_state``,
    as in ``Martinshs/multiclass_UAT``) and collapses the label runs in order, with no search.

    Parameters
    ----------
    X : array (N, d)
        Finite inputs, any ``d >= 1``; equal rows must carry equal labels.
    labels : sequence (N,)
        Any hashable labels (ints, strings, ...); ``M`` distinct values.
    direction : array (d,), optional
        The projection ``v`` (raw coordinates of ``X``): finite and non-zero.  Default
        ``None``: drawn uniformly in ``[0, 1]^d`` from ``random_state``.
    random_state : None, int or Generator
        Seeds the default direction; ignored when ``direction`` is given.

    Returns
    -------
    NarrowClassification
        ``network`` of width 2 and depth ``2K`` (``K`` label runs along ``direction``), with
        ``candidates = 1``.

    Raises
    ------
    DatasetError
        Empty, non-finite or mismatched data, or two equal rows with different labels.
    ParameterError
        ``direction`` is not a finite non-zero vector of ``d`` entries.
    ConvergenceError
        Two points of different labels project (numerically) onto the same value.
    """
    Xa, classes, y = _validate(X, labels)
    if direction is None:
        v = _baseline_direction(Xa.shape[1], check_random_state(random_state))
    else:
        v = np.asarray(direction, dtype=np.float64).reshape(-1)
        if v.shape[0] != Xa.shape[1] or not np.all(np.isfinite(v)) or not np.any(v != 0):
            raise ParameterError(f"direction must be a finite non-zero vector of {Xa.shape[1]} "
                                 f"entries; got {np.asarray(direction).shape}")
    runs = _runs(Xa, y, v)
    return _finish(Xa, y, classes, [runs], 1, 1)
