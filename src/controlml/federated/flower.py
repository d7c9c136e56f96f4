"""The same algorithms on Flower: a ``Strategy``, a ``ClientApp`` and :func:`run_flower`.

Needs the ``fl`` extra (``pip install 'controlml[fl]'``: Flower 1.42 with its Ray
simulation engine).  Nothing else in :mod:`controlml.federated` imports Flower.

- :class:`FederatedStrategy` (a ``flwr.serverapp.strategy.Strategy``) runs the server side:
  it learns each node's ``partition-id`` and sample count once (a ``query`` message), picks the
  round's clients exactly as :func:`~controlml.federated.simulate` does, rejects error and
  non-finite replies (logged; a node that drops out mid-round is left out of that round) and
  aggregates with :func:`~controlml.federated.admm_aggregate` /
  :func:`~controlml.federated.fedavg_aggregate`.
- :func:`make_client_app` returns a ``ClientApp`` whose per-node state (``λ_i``, ``β_i``, the
  last local model ``u_i``) lives in ``Context.state`` across rounds; its ``train`` calls
  :func:`~controlml.federated.client_update` on the node's partition.
- :func:`run_flower` runs both with ``flwr.simulation.run_simulation`` on the Ray backend and
  returns a :class:`~controlml.federated.FederatedHistory` equal to the in-process simulator's
  for the same seed (tested to 1e-6).

On a real federation the same ``ServerApp`` and ``ClientApp`` are deployed with ``flwr run``
(see ``docs/federated.md``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable

import numpy as np
import torch

try:
    from flwr.app import (
        ArrayRecord,
        ConfigRecord,
        Context,
        Message,
        MessageType,
        MetricRecord,
        RecordDict,
    )
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import Strategy
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "controlml.federated.flower needs Flower: pip install 'controlml[fl]' "
        "(flwr[simulation] 1.42)") from exc

from ..errors import ParameterError
from ._algorithms import (
    FedADMMInSa,
    FedAvg,
    admm_aggregate,
    as_method,
    client_update,
    fedavg_aggregate,
    is_admm,
)
from ._simulate import (
    FederatedHistory,
    FederatedSetup,
    _check_epochs,
    _check_fraction,
    check_faults,
    client_rng,
    evaluate,
    select_clients,
    setup,
)

__all__ = ["FederatedStrategy", "make_client_app", "make_server_app", "run_flower"]

logger = logging.getLogger("controlml.federated")


def _arr(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy())


class FederatedStrategy(Strategy):
    """Server side of FedADMM-InSa / FedADMM / FedAvg / FedProx as a Flower ``Strategy``.

    Parameters
    ----------
    method : method object or name
    st : FederatedSetup
        The run's setup (``z⁰``, the number of clients ``m``, the seed).
    fraction : float in (0, 1]
        Share of clients per round (same selection as the simulator).
    """

    def __init__(self, method, st: FederatedSetup, *, fraction: float = 0.25) -> None:
        self.method = as_method(method)
        self.st = st
        self.fraction = _check_fraction(fraction)
        self.m = st.data.num_clients
        P = st.model.num_params
        self.node_of: dict[int, int] | None = None
        self.sizes = np.zeros(self.m, dtype=np.int64)
        self.U = st.z0.expand(self.m, -1).clone()
        self.Lam = torch.zeros(self.m, P, dtype=st.dtype)
        beta0 = (self.method.beta0 if isinstance(self.method, FedADMMInSa)
                 else getattr(self.method, "beta", np.nan))
        self.beta = np.full(self.m, float(beta0))
        self.records: list[dict] = []
        self.dropped: list[tuple[int, int]] = []
        self.rejected: list[tuple[int, int]] = []
        self._round_selected: np.ndarray | None = None

    # -------------------------------------------------------------- handshake
    def _handshake(self, grid: Grid) -> None:
        nodes = list(grid.get_node_ids())
        while len(nodes) < self.m:  # pragma: no cover - simulation nodes are all up at once
            time.sleep(0.1)
            nodes = list(grid.get_node_ids())
        msgs = [Message(RecordDict({"config": ConfigRecord({"ask": "partition"})}),
                        dst_node_id=n, message_type=MessageType.QUERY) for n in nodes]
        node_of: dict[int, int] = {}
        for rep in grid.send_and_receive(msgs):
            if rep.has_error():
                raise RuntimeError(f"node {rep.metadata.src_node_id} did not answer the "
                                   f"partition query: {rep.error.reason}")
            mr = rep.content["info"]
            pid = int(mr["partition-id"])
            node_of[pid] = rep.metadata.src_node_id
            self.sizes[pid] = int(mr["num-examples"])
        if sorted(node_of) != list(range(self.m)):
            raise RuntimeError(f"expected partitions 0..{self.m - 1}; nodes reported "
                               f"{sorted(node_of)}")
        self.node_of = node_of

    # ------------------------------------------------------------------ train
    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        """Send ``z^k`` to the round's clients (``select_clients(seed, k − 1, m, fraction)``)."""
        if self.node_of is None:
            self._handshake(grid)
        S = select_clients(self.st.seed, server_round - 1, self.m, self.fraction)
        self._round_selected = S
        config = ConfigRecord({**dict(config), "server-round": server_round})
        return [Message(RecordDict({"arrays": arrays, "config": config}),
                        dst_node_id=self.node_of[int(i)], message_type=MessageType.TRAIN)
                for i in S]

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        """Reject error/non-finite replies, store the rest, aggregate ``z^{k+1}``."""
        k = server_round - 1
        z_old = self.z_current
        got: dict[int, dict] = {}
        work: dict[int, tuple[int, int]] = {}
        for rep in replies:
            if rep.has_error():
                src = rep.metadata.src_node_id
                pid = next((p for p, n in self.node_of.items() if n == src), -1)
                logger.warning("round %d: client %d dropped out (%s); the round goes on "
                               "without it", k, pid, rep.error.reason[:80])
                self.dropped.append((k, pid))
                continue
            mr = rep.content["metrics"]
            pid = int(mr["partition-id"])
            work[pid] = (int(mr["epochs"]), int(mr["grad-evals"]))
            ar = rep.content["arrays"]
            u = torch.as_tensor(ar["u"].numpy(), dtype=self.st.dtype)
            lam = torch.as_tensor(ar["lam"].numpy(), dtype=self.st.dtype) if "lam" in ar else None
            ok = bool(torch.isfinite(u).all()) and (lam is None or bool(torch.isfinite(lam).all()))
            if is_admm(self.method):
                ok &= bool(np.isfinite(mr["beta-next"]) and mr["beta-next"] > 0)
            if not ok:
                logger.warning("round %d: client %d sent a non-finite update; it is rejected",
                               k, pid)
                self.rejected.append((k, pid))
                continue
            got[pid] = {"u": u, "lam": lam, "beta_next": float(mr.get("beta-next", np.nan)),
                        "epochs": int(mr["epochs"]), "grad_evals": int(mr["grad-evals"])}
        good = np.array(sorted(got), dtype=np.int64)
        if is_admm(self.method):
            for p in good:
                self.U[p], self.Lam[p] = got[p]["u"], got[p]["lam"]
            z = admm_aggregate(z_old, self.U, self.Lam, self.beta, self.sizes / self.sizes.sum(),
                               delta=self.method.delta)
            for p in good:
                self.beta[p] = got[p]["beta_next"]
        elif good.size:
            Ug = torch.stack([got[p]["u"] for p in good])
            self.U[good] = Ug
            if isinstance(self.method, FedAvg) and self.method.stale:
                z = fedavg_aggregate(self.U, self.sizes)
            else:
                z = fedavg_aggregate(Ug, self.sizes[good])
        else:
            z = z_old
        self.z_current = z
        self.records.append({"selected": self._round_selected, "got": got, "work": work,
                             "beta": self.beta.copy(),
                             "lambda_norm": torch.linalg.vector_norm(self.Lam, dim=1)
                             .double().numpy()})
        metrics = MetricRecord({"clients": int(good.size),
                                "epochs": int(sum(g["epochs"] for g in got.values()))})
        return ArrayRecord({"z": _np_array(z)}), metrics

    # --------------------------------------------------------------- evaluate
    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        """No client-side evaluation: the server evaluates ``z`` centrally (``evaluate_fn``)."""
        return []

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]):
        """Nothing to aggregate (see :meth:`configure_evaluate`)."""
        return None

    def summary(self) -> None:
        """Log the configuration."""
        logger.info("%s on %d clients, fraction %.3g", self.method, self.m, self.fraction)

    @property
    def z_current(self) -> torch.Tensor:
        return getattr(self, "_z", self.st.z0)

    @z_current.setter
    def z_current(self, z: torch.Tensor) -> None:
        self._z = z


def _np_array(z: torch.Tensor):
    from flwr.app import Array

    return Array(_arr(z))


def make_client_app(method, st: FederatedSetup, *, local_epochs=10, batch_size: int | None = 10,
                    lr: float = 0.05, faults=None) -> ClientApp:
    """A ``ClientApp`` running :func:`client_update` on node ``partition-id``'s data.

    Per-node state in ``Context.state``: ``"fl-state"`` (ArrayRecord with ``λ_i`` and the last
    local model ``u_i``) and ``"fl-beta"`` (ConfigRecord with ``β_i``).  ``faults`` maps ``(round, client)``
    (0-based rounds) to ``"dropout"`` (the ClientApp raises mid-round: Flower returns an error
    reply) or ``"nan"`` (it sends a NaN model), as in :func:`simulate`.
    """
    meth = as_method(method)
    E = _check_epochs(local_epochs, st.data.num_clients)
    faults = check_faults(faults)
    app = ClientApp()

    @app.query()
    def query(msg: Message, context: Context) -> Message:
        pid = int(context.node_config["partition-id"])
        info = MetricRecord({"partition-id": pid, "num-examples": int(st.clients[pid].n[0])})
        return Message(RecordDict({"info": info}), reply_to=msg)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        pid = int(context.node_config["partition-id"])
        k = int(msg.content["config"]["server-round"]) - 1
        if faults.get((k, pid)) == "dropout":
            raise RuntimeError(f"client {pid} dropped out in round {k}")
        z = torch.as_tensor(msg.content["arrays"]["z"].numpy(), dtype=st.dtype)
        P = z.numel()
        kw = {}
        if is_admm(meth):
            if "fl-state" in context.state:
                stt = context.state["fl-state"]
                lam = torch.as_tensor(stt["lam"].numpy(), dtype=st.dtype)[None]
                u_prev = torch.as_tensor(stt["u"].numpy(), dtype=st.dtype)[None]
                beta = float(context.state["fl-beta"]["beta"])
            else:
                lam, u_prev = torch.zeros(1, P, dtype=st.dtype), st.z0[None].clone()
                beta = meth.beta0 if isinstance(meth, FedADMMInSa) else meth.beta
            kw = {"Lam": lam, "beta": np.array([beta]), "U_prev": u_prev}
        with torch.no_grad():
            upd = client_update(meth, st.model, z, st.clients[pid], [client_rng(st.seed, k, pid)],
                                epochs=E[pid:pid + 1], lr=lr, batch_size=batch_size, **kw)
        if faults.get((k, pid)) == "nan":
            upd.U[0] = float("nan")
        arrays = {"u": _np_array(upd.U[0])}
        metrics = {"partition-id": pid, "num-examples": int(st.clients[pid].n[0]),
                   "epochs": int(upd.epochs[0]), "grad-evals": int(upd.grad_evals[0])}
        if is_admm(meth):
            arrays["lam"] = _np_array(upd.Lam[0])
            metrics["beta-used"] = float(kw["beta"][0])
            metrics["beta-next"] = float(upd.beta[0])
            context.state["fl-state"] = ArrayRecord({"lam": _np_array(upd.Lam[0]),
                                                     "u": _np_array(upd.U[0])})
            context.state["fl-beta"] = ConfigRecord({"beta": float(upd.beta[0])})
        content = RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord(metrics)})
        return Message(content, reply_to=msg)

    return app


def make_server_app(strategy: FederatedStrategy, *, rounds: int, sink: dict) -> ServerApp:
    """A ``ServerApp`` running ``strategy`` for ``rounds`` rounds; evaluations go to ``sink``."""
    app = ServerApp()
    st = strategy.st

    def evaluate_fn(server_round: int, arrays: ArrayRecord):
        z = torch.as_tensor(arrays["z"].numpy(), dtype=st.dtype)
        acc, loss = evaluate(st, z)
        sink.setdefault("eval", {})[server_round] = (acc, loss)
        return MetricRecord({"accuracy": acc, "loss": loss})

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        t0 = time.perf_counter()
        sink["result"] = strategy.start(grid, ArrayRecord({"z": _np_array(st.z0)}),
                                        num_rounds=rounds, evaluate_fn=evaluate_fn)
        sink["time"] = time.perf_counter() - t0

    return app


def run_flower(method, data="digits", *, num_clients: int = 20, rounds: int = 100,
               fraction: float = 0.25, partition="shards", model="mlp", local_epochs=10,
               batch_size: int | None = 10, lr: float = 0.05, l2: float | None = None,
               random_state=0, dtype=torch.float32, num_cpus: int = 1,
               faults=None, verbose: bool = False
               ) -> FederatedHistory:
    """Run ``method`` through Flower's simulation engine (Ray) and return its history.

    Same arguments and same result as :func:`~controlml.federated.simulate` (for the same
    ``random_state``), plus ``num_cpus`` (Ray's CPUs; one ClientApp actor per CPU).
    ``faults`` injects dropouts (the ClientApp fails mid-round; Flower reports an error reply
    and the round completes with the others) and NaN updates, as in :func:`simulate`.
    """
    from flwr.simulation import run_simulation

    # CPU-only runs: keep Ray's current handling of *_VISIBLE_DEVICES and skip its FutureWarning
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    meth = as_method(method)
    st = setup(data, num_clients=num_clients, partition=partition, model=model, l2=l2,
               random_state=random_state, dtype=dtype)
    if not isinstance(num_cpus, int) or num_cpus < 1:
        raise ParameterError(f"num_cpus must be an int >= 1; got {num_cpus!r}")
    strategy = FederatedStrategy(meth, st, fraction=fraction)
    client_app = make_client_app(meth, st, local_epochs=local_epochs, batch_size=batch_size,
                                 lr=lr, faults=faults)
    sink: dict = {}
    server_app = make_server_app(strategy, rounds=rounds, sink=sink)
    backend_config = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                      "init_args": {"num_cpus": num_cpus, "num_gpus": 0,
                                    "include_dashboard": False, "log_to_driver": verbose}}
    t0 = time.perf_counter()
    run_simulation(server_app=server_app, client_app=client_app, num_supernodes=num_clients,
                   backend_config=backend_config, verbose_logging=verbose)
    wall = time.perf_counter() - t0  # includes starting Ray and the actors
    if "eval" not in sink or len(sink["eval"]) < rounds + 1:
        raise RuntimeError("the Flower run ended before all rounds were evaluated; rerun with "
                           "verbose=True to see Flower's log")
    # wall_time: the rounds themselves (the ServerApp's strategy.start), without Ray's start-up
    return _history(meth, st, strategy, sink, rounds, sink.get("time", wall))


def _history(meth, st, strategy: FederatedStrategy, sink, rounds, wall) -> FederatedHistory:
    m, P = st.data.num_clients, st.model.num_params
    nbytes = torch.finfo(st.dtype).bits // 8
    epochs = np.zeros((rounds, m), dtype=np.int64)
    gev = np.zeros((rounds, m), dtype=np.int64)
    sel = np.zeros((rounds, m), dtype=bool)
    betas, lnorm = np.full((rounds, m), np.nan), np.full((rounds, m), np.nan)
    up, down = np.zeros(rounds, dtype=np.int64), np.zeros(rounds, dtype=np.int64)
    for k, rec in enumerate(strategy.records):
        S = rec["selected"]
        sel[k, S] = True
        for p, (e, g) in rec["work"].items():
            epochs[k, p], gev[k, p] = e, g
        down[k] = len(S) * P * nbytes
        up[k] = len(rec["work"]) * ((2 * P + 2) if is_admm(meth) else P) * nbytes
        if is_admm(meth):
            betas[k], lnorm[k] = rec["beta"], rec["lambda_norm"]
    ev = sink["eval"]
    acc = np.array([ev[k + 1][0] for k in range(rounds)])
    loss = np.array([ev[k + 1][1] for k in range(rounds)])
    status = ("dropped_clients" if strategy.dropped else
              "rejected_updates" if strategy.rejected else "ok")
    return FederatedHistory(meth.name, acc, loss, epochs, gev, up, down, betas, lnorm, sel,
                            tuple(strategy.rejected), tuple(strategy.dropped),
                            strategy.z_current.double().numpy(), ev[0][0], wall, status)
