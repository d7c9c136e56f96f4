"""The in-process federated simulator: all clients of a round trained as one batched model."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .._checks import check_int, check_positive, check_random_state
from ..errors import ParameterError
from ._algorithms import (
    ClientData,
    FedADMMInSa,
    FedAvg,
    admm_aggregate,
    as_method,
    client_update,
    fedavg_aggregate,
    finite_updates,
    is_admm,
)
from ._data import FederatedData, federated_data
from ._models import FLModel, check_model

logger = logging.getLogger("controlml.federated")

__all__ = ["simulate", "FederatedHistory", "FederatedSetup", "setup", "client_rng",
           "select_clients", "evaluate"]


@dataclass(frozen=True)
class FederatedHistory:
    """Per-round record of a federated run (``K`` rounds, ``m`` clients).

    Attributes
    ----------
    method : str
    accuracy : ndarray (K,)        test accuracy of ``z`` after each round
    loss : ndarray (K,)            training objective ``F(z) = Σ α_i f_i(z)`` after each round
    epochs : ndarray (K, m)        local epochs of each client (0 when not selected)
    grad_evals : ndarray (K, m)    per-sample gradients each client evaluated
    bytes_up : ndarray (K,)        bytes sent clients → server
    bytes_down : ndarray (K,)      bytes sent server → clients
    beta : ndarray (K, m)          penalties ``β_i`` after the round (ADMM; NaN otherwise)
    lambda_norm : ndarray (K, m)   ``‖λ_i‖`` after the round (ADMM; NaN otherwise)
    selected : ndarray (K, m) bool
    rejected : tuple of (round, client)  non-finite updates the server refused
    dropped : tuple of (round, client)   clients that dropped out mid-round (no reply)
    z : ndarray (P,)               final server model
    initial_accuracy : float       accuracy of ``z⁰``
    wall_time : float              seconds
    status : str                   ``"ok"``, ``"rejected_updates"`` or ``"dropped_clients"``
    """

    method: str
    accuracy: np.ndarray
    loss: np.ndarray
    epochs: np.ndarray
    grad_evals: np.ndarray
    bytes_up: np.ndarray
    bytes_down: np.ndarray
    beta: np.ndarray
    lambda_norm: np.ndarray
    selected: np.ndarray
    rejected: tuple
    dropped: tuple
    z: np.ndarray
    initial_accuracy: float
    wall_time: float
    status: str

    @property
    def total_epochs(self) -> int:
        """Client workload: local epochs summed over rounds and clients."""
        return int(self.epochs.sum())

    def rounds_to(self, accuracy: float) -> int | None:
        """First round (1-based) whose test accuracy reaches ``accuracy``, or ``None``."""
        hit = np.flatnonzero(self.accuracy >= accuracy)
        return int(hit[0]) + 1 if hit.size else None


@dataclass
class FederatedSetup:
    """Everything a run needs besides the method (built by :func:`setup`)."""

    data: FederatedData
    model: FLModel
    z0: torch.Tensor
    clients: list[ClientData]
    seed: int
    dtype: torch.dtype
    X_train: torch.Tensor = field(repr=False)
    y_train: torch.Tensor = field(repr=False)
    X_test: torch.Tensor = field(repr=False)
    y_test: torch.Tensor = field(repr=False)


def client_rng(seed: int, round_: int, client: int) -> np.random.Generator:
    """Client ``client``'s generator in round ``round_`` (its minibatch order): the same in
    the simulator and in a Flower ClientApp.

    Parameters
    ----------
    seed : int
        The run's seed (``FederatedSetup.seed``, drawn from ``random_state`` by
        :func:`setup`).
    round_ : int
        Round index (0-based).
    client : int
        Client id in ``0, ..., m−1``.

    Returns
    -------
    numpy.random.Generator
        ``numpy.random.default_rng([seed, round_, client])``.
    """
    return np.random.default_rng([seed, round_, client])


def select_clients(seed: int, round_: int, m: int, fraction: float) -> np.ndarray:
    """The ``max(1, ceil(fraction · m))`` clients of round ``round_`` (sorted ids).

    Drawn without replacement by ``numpy.random.default_rng([seed, round_, 2³¹])``, a
    stream separate from every client's :func:`client_rng`.

    Parameters
    ----------
    seed : int
        The run's seed (``FederatedSetup.seed``).
    round_ : int
        Round index (0-based).
    m : int
        Number of clients.
    fraction : float in (0, 1]
        Share of the clients selected.

    Returns
    -------
    ndarray of int (k,)
        The ``k = max(1, ⌈fraction · m⌉)`` distinct selected ids, sorted.
    """
    k = max(1, int(np.ceil(fraction * m - 1e-12)))
    rng = np.random.default_rng([seed, round_, 2**31])
    return np.sort(rng.choice(m, k, replace=False))


def setup(data="digits", *, num_clients: int = 20, partition="shards", model="mlp",
          l2: float | None = None, random_state=0, dtype=torch.float32,
          shards_per_client: int = 2, dirichlet_alpha: float = 0.5) -> FederatedSetup:
    """Data, partition, model and ``z⁰`` for a run (shared by :func:`simulate` and Flower).

    Parameters
    ----------
    data : "digits", (X (N, d), y (N,)) or FederatedData
        scikit-learn's ``load_digits``, the user's pair (split 80/20 and partitioned by
        :func:`federated_data`), or an already partitioned :class:`FederatedData`, used as
        is (``partition``, ``shards_per_client`` and ``dirichlet_alpha`` are then ignored).
    num_clients : int
        Number of clients ``m``; must equal ``data.num_clients`` for a FederatedData.
    partition : "shards", "dirichlet", "iid" or sequence of m index arrays
        How the training rows are split over the clients (see :func:`partition_indices`).
    model : "mlp", "logistic" or FLModel
        ``"mlp"`` is ``d-32-K``; an FLModel must match the data's ``d`` and have at least
        as many classes as the labels.
    l2 : float or None
        ℓ2 penalty on the weights of a model built from a name (``None``: 0); ignored for
        an FLModel.
    random_state : int, Generator or None
        Seeds the train/test split and the partition; a seed drawn from it first
        (``FederatedSetup.seed``) seeds ``z⁰`` and, in a run, the client selection and
        minibatch orders.
    dtype : torch.dtype
        ``torch.float32`` or ``torch.float64``: dtype of ``z⁰`` and of the data tensors.
    shards_per_client : int
        Shards per client for ``partition="shards"``.
    dirichlet_alpha : float
        Concentration ``α > 0`` for ``partition="dirichlet"`` (smaller: more heterogeneous
        clients).

    Returns
    -------
    FederatedSetup
        The data, the model, ``z⁰`` (P,), each client's :class:`ClientData`, the seed and
        the full train/test tensors.
    """
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    if isinstance(data, FederatedData):
        fd = data
        if fd.num_clients != num_clients:
            raise ParameterError(f"data holds {fd.num_clients} clients but num_clients = "
                                 f"{num_clients}")
    else:
        fd = federated_data(data, num_clients, partition, shards_per_client=shards_per_client,
                            dirichlet_alpha=dirichlet_alpha, random_state=rng)
    mdl = check_model(model, fd.X.shape[1], fd.num_classes, l2)
    if int(fd.y_test.max(initial=0)) >= mdl.num_classes:
        raise ParameterError(f"test labels reach {int(fd.y_test.max())} but the model has "
                             f"{mdl.num_classes} classes")
    gen = torch.Generator().manual_seed(seed)
    z0 = mdl.init(gen, dtype=dtype)
    clients = [ClientData.from_arrays([(fd.X[idx], fd.y[idx])], dtype=dtype) for idx in fd.clients]
    return FederatedSetup(fd, mdl, z0, clients, seed, dtype,
                          torch.as_tensor(fd.X, dtype=dtype), torch.as_tensor(fd.y),
                          torch.as_tensor(fd.X_test, dtype=dtype), torch.as_tensor(fd.y_test))


def evaluate(st: FederatedSetup, z: torch.Tensor) -> tuple[float, float]:
    """(test accuracy, training objective ``F(z)``) of the server model ``z``.

    ``F(z) = Σ_i α_i f_i(z)`` is the model's loss (cross-entropy plus its ℓ2 term) on all
    training rows.

    Parameters
    ----------
    st : FederatedSetup
        The run's setup (from :func:`setup`): model and train/test tensors.
    z : tensor (P,)
        Server model.

    Returns
    -------
    tuple of float
        ``(accuracy, F(z))``.
    """
    with torch.no_grad():
        acc = float((st.model.predict(z, st.X_test) == st.y_test).double().mean())
        w = torch.ones(1, st.y_train.numel(), dtype=z.dtype)
        loss = float(st.model.loss(z[None], st.X_train[None], st.y_train[None], w)[0])
    return acc, loss


def _stack(clients: list[ClientData]) -> ClientData:
    if len(clients) == 1:
        return clients[0]
    n = np.concatenate([c.n for c in clients])
    nmax = int(n.max())
    C, d = len(clients), clients[0].X.shape[2]
    X = clients[0].X.new_zeros(C, nmax, d)
    y = clients[0].y.new_zeros(C, nmax)
    w = clients[0].w.new_zeros(C, nmax)
    for i, c in enumerate(clients):
        k = c.X.shape[1]
        X[i, :k], y[i, :k], w[i, :k] = c.X[0], c.y[0], c.w[0]
    return ClientData(X, y, w, n)


def _check_epochs(local_epochs, m: int) -> np.ndarray:
    if isinstance(local_epochs, int | np.integer) and not isinstance(local_epochs, bool):
        return np.full(m, check_int(local_epochs, "local_epochs", minimum=1))
    E = np.asarray(local_epochs)
    if E.shape != (m,) or E.dtype.kind not in "iu" or np.any(E < 1):
        raise ParameterError(f"local_epochs must be an int >= 1 or m = {m} ints >= 1 (e.g. from "
                             f"game_efforts_to_epochs); got {local_epochs!r}"[:240])
    return E.astype(np.int64)


def _check_fraction(fraction) -> float:
    try:
        f = float(fraction)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"fraction must be a number in (0, 1]; got {fraction!r}") from exc
    if not 0 < f <= 1:
        raise ParameterError(f"fraction must lie in (0, 1] (the share of clients selected each "
                             f"round); got {fraction!r}")
    return f


def simulate(method, data="digits", *, num_clients: int = 20, rounds: int = 100,
             fraction: float = 0.25, partition="shards", model="mlp", local_epochs=10,
             batch_size: int | None = 10, lr: float = 0.05, l2: float | None = None,
             random_state=0, progress: bool = True, dtype=torch.float32,
             shards_per_client: int = 2, dirichlet_alpha: float = 0.5,
             faults=None) -> FederatedHistory:
    """Run a federated method in process on ``data`` split over ``num_clients`` clients.

    Each round ``k``: the server picks ``⌈fraction · m⌉`` clients, sends them ``z^k``; they
    train (batched: one ``(C, P)`` parameter stack, see :func:`client_update`), reply; the
    server rejects non-finite replies (logged) and aggregates (FedAvg/FedProx: weighted mean of
    the round's models; FedADMM(-InSa): step (2) over all clients' stored ``u_i, λ_i, β_i``).

    Parameters
    ----------
    method : str or method object
        ``"fedadmm-insa"``, ``"fedadmm"``, ``"fedavg"``, ``"fedprox"`` or an instance of
        :class:`FedADMMInSa`, :class:`FedADMM`, :class:`FedAvg`, :class:`FedProx`.
    data : "digits", (X (N, d), y (N,)) or FederatedData
        The data set (see :func:`setup`).
    num_clients : int
        ``m``.
    rounds : int
        ``K``.
    fraction : float in (0, 1]
        Share of clients per round.
    partition : "shards", "dirichlet", "iid" or m index arrays
        How the training rows are split over the clients (see :func:`partition_indices`).
    model : "mlp", "logistic" or FLModel
        ``"mlp"`` is ``d-32-K`` (64-32-10 on digits).
    local_epochs : int or array (m,) of int
        Maximum local epochs ``E`` (per client, e.g. from :func:`game_efforts_to_epochs`).
    batch_size : int or None
        SGD minibatch (``None``: full-batch gradient descent).
    lr : float
        Local step size.
    l2 : float or None
        ℓ2 penalty of the model built from a name.
    random_state : int, Generator or None
        Seeds the split, ``z⁰``, the selection and every client's minibatch order.
    progress : bool
        tqdm bar over rounds.
    dtype : torch.float32 or torch.float64
        Floating dtype of the models and data tensors.
    shards_per_client : int
        Shards per client for ``partition="shards"``.
    dirichlet_alpha : float
        Concentration ``α > 0`` for ``partition="dirichlet"`` (smaller: more heterogeneous
        clients).
    faults : mapping (round, client) -> "nan" or "dropout", optional
        Injected failures (0-based rounds): ``"nan"`` makes that client send a NaN model (the
        server rejects and logs it), ``"dropout"`` makes it fail mid-round (no reply; the
        round completes with the others).

    Returns
    -------
    FederatedHistory
    """
    meth = as_method(method)
    rounds = check_int(rounds, "rounds", minimum=1)
    fraction = _check_fraction(fraction)
    check_positive(lr, "lr")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
    E = _check_epochs(local_epochs, check_int(num_clients, "num_clients", minimum=1))
    st = setup(data, num_clients=num_clients, partition=partition, model=model, l2=l2,
               random_state=random_state, dtype=dtype, shards_per_client=shards_per_client,
               dirichlet_alpha=dirichlet_alpha)
    faults = check_faults(faults)
    return _run(meth, st, rounds=rounds, fraction=fraction, E=E, batch_size=batch_size, lr=lr,
                progress=progress, faults=faults)


def check_faults(faults) -> dict[tuple[int, int], str]:
    """Validate ``faults``: a mapping ``(round, client) -> "nan" | "dropout"``."""
    if faults is None:
        return {}
    try:
        items = dict(faults).items()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"faults must map (round, client) to 'nan' or 'dropout'; got "
                             f"{faults!r}") from exc
    out = {}
    for key, kind in items:
        if kind not in ("nan", "dropout") or len(tuple(key)) != 2:
            raise ParameterError(f"faults must map (round, client) to 'nan' or 'dropout'; got "
                                 f"{key!r}: {kind!r}")
        out[(int(key[0]), int(key[1]))] = kind
    return out


def _run(meth, st: FederatedSetup, *, rounds, fraction, E, batch_size, lr, progress,
         faults) -> FederatedHistory:
    t0 = time.perf_counter()
    m = st.data.num_clients
    alpha = st.data.weights
    n = st.data.sizes
    P = st.model.num_params
    z = st.z0.clone()
    nbytes = torch.finfo(st.dtype).bits // 8
    admm = is_admm(meth)
    U_all = z.expand(m, -1).clone()
    Lam_all = torch.zeros(m, P, dtype=st.dtype) if admm else None
    beta0 = meth.beta0 if isinstance(meth, FedADMMInSa) else getattr(meth, "beta", np.nan)
    beta_all = np.full(m, float(beta0))
    K = rounds
    acc, loss = np.zeros(K), np.zeros(K)
    epochs, gevals = np.zeros((K, m), dtype=np.int64), np.zeros((K, m), dtype=np.int64)
    up, down = np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64)
    betas, lnorm = np.full((K, m), np.nan), np.full((K, m), np.nan)
    selected = np.zeros((K, m), dtype=bool)
    rejected: list[tuple[int, int]] = []
    dropped: list[tuple[int, int]] = []
    acc0, _ = evaluate(st, z)
    it = range(K)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"{meth.name}", leave=False)
    for k in it:
        S = select_clients(st.seed, k, m, fraction)
        selected[k, S] = True
        data = _stack([st.clients[i] for i in S])
        rngs = [client_rng(st.seed, k, int(i)) for i in S]
        upd = client_update(meth, st.model, z, data, rngs, epochs=E[S], lr=lr,
                            batch_size=batch_size,
                            Lam=Lam_all[S] if admm else None,
                            beta=beta_all[S] if admm else None,
                            U_prev=U_all[S] if admm else None)
        drop = np.array([faults.get((k, int(i))) == "dropout" for i in S])
        for j in np.flatnonzero([faults.get((k, int(i))) == "nan" for i in S]):
            upd.U[j] = float("nan")
        for i in S[drop]:
            logger.warning("round %d: client %d dropped out; the round goes on without it",
                           k, int(i))
            dropped.append((k, int(i)))
        upd.epochs[drop], upd.grad_evals[drop] = 0, 0
        ok = finite_updates(upd, S, k, mask=~drop)
        rejected += [(k, int(i)) for i in S[~ok & ~drop]]
        epochs[k, S], gevals[k, S] = upd.epochs, upd.grad_evals
        down[k] = len(S) * P * nbytes
        up[k] = int((~drop).sum()) * (2 * P + 2 if admm else P) * nbytes
        good = S[ok]
        if admm:
            # the server uses the β each client had at the start of the round
            U_all[good] = upd.U[ok]
            Lam_all[good] = upd.Lam[ok]
            z = admm_aggregate(z, U_all, Lam_all, beta_all, alpha, delta=meth.delta)
            beta_all[good] = upd.beta[ok]
            betas[k] = beta_all
            lnorm[k] = torch.linalg.vector_norm(Lam_all, dim=1).double().numpy()
        elif good.size:
            U_all[good] = upd.U[ok]
            if isinstance(meth, FedAvg) and meth.stale:
                z = fedavg_aggregate(U_all, n)
            else:
                z = fedavg_aggregate(upd.U[ok], n[good])
        acc[k], loss[k] = evaluate(st, z)
    status = "dropped_clients" if dropped else "rejected_updates" if rejected else "ok"
    return FederatedHistory(meth.name, acc, loss, epochs, gevals, up, down, betas, lnorm,
                            selected, tuple(rejected), tuple(dropped), z.double().numpy(), acc0,
                            time.perf_counter() - t0, status)

