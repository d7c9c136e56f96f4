"""Data for federated experiments: a bundled set or ``(X, y)``, split over clients.

Partitions of the ``N`` training rows over ``m`` clients:

- ``"shards"``: rows sorted by label, cut into ``m · shards_per_client`` equal shards, each
  client gets ``shards_per_client`` random shards (pathological non-IID, 2 classes each);
- ``"dirichlet"``: for every class ``c``, proportions ``p_c ~ Dir(α 1_m)`` of its rows go to
  the clients (redrawn until every client holds a row);
- ``"iid"``: a random equal split;
- a sequence of ``m`` index arrays: the user's own split.

Client weights ``α_i = n_i / Σ n_j`` weight the clients' losses in ``F = Σ α_i f_i``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_points, check_int, check_positive, check_random_state
from ..errors import DatasetError, ParameterError

__all__ = ["FederatedData", "federated_data", "partition_indices"]


@dataclass(frozen=True)
class FederatedData:
    """Train/test arrays and the clients' row indices.

    Attributes
    ----------
    X : ndarray (N, d)
        Training rows (features scaled to [0, 1] for digits).
    y : ndarray (N,)
        Integer training labels in ``0, ..., K−1``.
    X_test : ndarray (N_test, d)
        Held-out rows.
    y_test : ndarray (N_test,)
        Held-out labels.
    clients : tuple of ndarray (n_i,)
        Row indices into ``X`` of each client: ``m`` sorted int arrays of lengths ``n_i``.
    num_classes : int
        ``K = max(label) + 1`` over the training and test labels before the split.
    """

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    clients: tuple[np.ndarray, ...]
    num_classes: int

    @property
    def num_clients(self) -> int:
        return len(self.clients)

    @property
    def sizes(self) -> np.ndarray:
        """``n_i`` per client (m,)."""
        return np.array([c.size for c in self.clients])

    @property
    def weights(self) -> np.ndarray:
        """``α_i = n_i / Σ n_j`` (m,)."""
        n = self.sizes.astype(np.float64)
        return n / n.sum()


def _labels(y, name="y") -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DatasetError(f"{name} must be a vector of integer class labels; got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DatasetError(f"{name} must hold integer class labels 0..K-1; got dtype "
                               f"{arr.dtype}: encode the classes as integers first")
    if arr.size and arr.min() < 0:
        raise DatasetError(f"{name} must hold class labels 0..K-1; found {int(arr.min())}")
    return arr.astype(np.int64)


def partition_indices(y: np.ndarray, num_clients: int, partition="shards", *,
                      shards_per_client: int = 2, dirichlet_alpha: float = 0.5,
                      random_state=None) -> tuple[np.ndarray, ...]:
    """Split the rows of labels ``y`` (N,) over ``num_clients`` clients (see module docs).

    Parameters
    ----------
    y : array of int (N,)
        Class labels ``0, ..., K−1`` of the rows to split.
    num_clients : int
        Number of clients ``m``.
    partition : "shards", "dirichlet", "iid" or sequence of m index arrays
        ``"shards"``: rows sorted by label cut into ``m · shards_per_client`` equal shards,
        ``shards_per_client`` random ones per client; ``"dirichlet"``: each class's rows
        go to the clients in proportions ``p_c ~ Dir(α 1_m)``; ``"iid"``: a random equal
        split; or the user's own ``m`` arrays of row indices in ``0, ..., N−1``.
    shards_per_client : int
        Shards per client for ``"shards"``.
    dirichlet_alpha : float
        Concentration ``α > 0`` for ``"dirichlet"`` (smaller: more heterogeneous
        clients); redrawn up to 100 times until every client holds a row.
    random_state : int, Generator or None
        Seeds the random split.

    Returns
    -------
    tuple of ndarray (n_i,)
        ``m`` sorted int arrays, the row indices of each client.

    Raises
    ------
    DatasetError
        If a client would receive no rows.
    """
    rng = check_random_state(random_state)
    m = check_int(num_clients, "num_clients", minimum=1)
    y = _labels(y)
    N = y.size
    if not isinstance(partition, str):
        parts = tuple(np.asarray(p, dtype=np.int64).reshape(-1) for p in partition)
        if len(parts) != m:
            raise ParameterError(f"partition has {len(parts)} index arrays but num_clients = {m}")
        for i, p in enumerate(parts):
            if p.size and (p.min() < 0 or p.max() >= N):
                raise DatasetError(f"partition[{i}] holds indices outside 0..{N - 1}")
    elif partition == "iid":
        parts = tuple(np.sort(p) for p in np.array_split(rng.permutation(N), m))
    elif partition == "shards":
        k = check_int(shards_per_client, "shards_per_client", minimum=1)
        order = np.argsort(y, kind="stable")
        shards = np.array_split(order, m * k)
        pick = rng.permutation(m * k).reshape(m, k)
        parts = tuple(np.sort(np.concatenate([shards[j] for j in row])) for row in pick)
    elif partition == "dirichlet":
        a = check_positive(dirichlet_alpha, "dirichlet_alpha")
        parts = None
        for _ in range(100):
            buckets: list[list[np.ndarray]] = [[] for _ in range(m)]
            for c in np.unique(y):
                rows = rng.permutation(np.flatnonzero(y == c))
                cuts = (np.cumsum(rng.dirichlet(np.full(m, a))) * rows.size).astype(int)[:-1]
                for i, chunk in enumerate(np.split(rows, cuts)):
                    buckets[i].append(chunk)
            cand = tuple(np.sort(np.concatenate(b)) for b in buckets)
            if min(p.size for p in cand) > 0:
                parts = cand
                break
        if parts is None:
            raise DatasetError(
                f"dirichlet partition with alpha = {a} left a client with no data in 100 "
                f"draws for num_clients = {m} and N = {N} rows: raise dirichlet_alpha or "
                "lower num_clients")
    else:
        raise ParameterError("partition must be 'shards', 'dirichlet', 'iid' or a sequence of "
                             f"index arrays; got {partition!r}")
    for i, p in enumerate(parts):
        if p.size == 0:
            raise DatasetError(
                f"client {i} has no data (N = {N} training rows over num_clients = {m}, "
                f"partition = {partition if isinstance(partition, str) else 'user'}): every "
                "client needs at least one row; lower num_clients or change the partition")
    return parts


def federated_data(data="digits", num_clients: int = 20, partition="shards", *,
                   test_size: float = 0.2, shards_per_client: int = 2,
                   dirichlet_alpha: float = 0.5, random_state=None) -> FederatedData:
    """Load ``data`` (``"digits"`` or an ``(X, y)`` pair), split 80/20 stratified, partition.

    Parameters
    ----------
    data : "digits" or (X (N, d), y (N,))
        ``"digits"``: scikit-learn's ``load_digits`` (1,797 × 64, 10 classes) scaled by 1/16.
    num_clients : int
        Number of clients ``m`` (see :func:`partition_indices`).
    partition : "shards", "dirichlet", "iid" or sequence of m index arrays
        How the training rows are split (see :func:`partition_indices`); user index arrays
        refer to the rows of the training part.
    test_size : float in (0, 1)
        Held-out fraction (stratified when every class has at least two rows).
    shards_per_client : int
        Shards per client for ``partition="shards"``.
    dirichlet_alpha : float
        Concentration ``α > 0`` for ``partition="dirichlet"``.
    random_state : int, Generator or None
        Seeds the train/test split and the partition.

    Returns
    -------
    FederatedData
    """
    from sklearn.model_selection import train_test_split

    rng = check_random_state(random_state)
    if isinstance(data, str):
        if data != "digits":
            raise ParameterError(f"data must be 'digits' or an (X, y) pair; got {data!r}")
        from sklearn.datasets import load_digits

        Xa, ya = load_digits(return_X_y=True)
        Xa = Xa / 16.0
    else:
        try:
            Xa, ya = data
        except (TypeError, ValueError) as exc:
            raise ParameterError("data must be 'digits' or an (X, y) pair of arrays; got "
                                 f"{type(data).__name__}") from exc
        Xa = as_points(Xa, "X", min_rows=2)
    ya = _labels(ya)
    if ya.size != Xa.shape[0]:
        raise DatasetError(f"X has {Xa.shape[0]} rows but y has {ya.size} labels")
    t = float(test_size)
    if not 0 < t < 1:
        raise ParameterError(f"test_size must lie in (0, 1); got {test_size!r}")
    K = int(ya.max()) + 1
    counts = np.bincount(ya, minlength=K)
    strat = ya if counts.min() >= 2 else None
    Xtr, Xte, ytr, yte = train_test_split(Xa, ya, test_size=t, stratify=strat,
                                          random_state=int(rng.integers(2**31)))
    clients = partition_indices(ytr, num_clients, partition, shards_per_client=shards_per_client,
                                dirichlet_alpha=dirichlet_alpha, random_state=rng)
    return FederatedData(np.ascontiguousarray(Xtr, dtype=np.float64), ytr,
                         np.ascontiguousarray(Xte, dtype=np.float64), yte, clients, K)
