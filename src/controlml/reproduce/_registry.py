"""The registry of experiments: every figure and claim of the paper, by name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["Experiment", "experiment", "registry", "SECTIONS", "EXPERIMENT_MODULES"]

#: Paper sections in order, with the titles used by the report.
SECTIONS: dict[str, str] = {
    "2": "2 Shallow neural networks",
    "3": "3 Neural ODEs and ResNets: simultaneous control",
    "4": "4 Self-attention as a clustering mechanism",
    "5": "5 Perspectives: diffusion, narrow MLPs, federated learning, MPC, SA-NODEs, HYCO",
}

#: Modules that register experiments when imported (one per paper section or topic).
EXPERIMENT_MODULES: tuple[str, ...] = (
    "controlml.reproduce.experiments.sec2_shallow",
    "controlml.reproduce.experiments.sec3_node",
    "controlml.reproduce.experiments.sec3_classify",
    "controlml.reproduce.experiments.sec3_training",
    "controlml.reproduce.experiments.sec3_transport",
    "controlml.reproduce.experiments.sec4_attention",
    "controlml.reproduce.experiments.sec4_sentiment",
    "controlml.reproduce.experiments.sec5_diffusion",
    "controlml.reproduce.experiments.sec5_mlp",
    "controlml.reproduce.experiments.sec5_federated",
    "controlml.reproduce.experiments.sec5_mpc",
    "controlml.reproduce.experiments.sec5_sanode",
    "controlml.reproduce.experiments.sec5_hyco",
)

_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


@dataclass(frozen=True)
class Experiment:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        The paper's name of the result (``"fig3.1"``, ``"thm3.3"``...).
    section : str
        Paper section key (``"2"``...``"5"``), used to order the report.
    title : str
        One line describing what is reproduced.
    caption : str
        The paper's caption (figures) or statement (theorems), shown beside the output.
    func : callable
        ``func(ctx)`` with ``ctx`` a :class:`~controlml.reproduce.Context`.
    order : int
        Registration order, to keep the paper's order within a section.
    """

    name: str
    section: str
    title: str
    caption: str
    func: Callable
    order: int


def experiment(name: str, *, section: str, title: str, caption: str = "") -> Callable:
    """Decorator registering ``func(ctx)`` as the experiment ``name``.

    Parameters
    ----------
    name : str
        The paper's name of the result (``"fig3.1"``, ``"thm3.3"``...).
    section : str
        Paper section key (``"2"``...``"5"``).
    title : str
        One line describing what is reproduced.
    caption : str
        The paper's caption or statement.
    """
    if section not in SECTIONS:
        raise ParameterError(f"unknown section {section!r}; expected one of {sorted(SECTIONS)}")

    def register(func: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].func.__qualname__ != func.__qualname__:
            raise ParameterError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, section, title, caption, func, len(_REGISTRY))
        return func

    return register


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    for mod in EXPERIMENT_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            # A section whose module is not written yet simply has no entries;
            # any other missing import is a real error.
            if exc.name != mod:
                raise
    _LOADED = True


def registry() -> list[Experiment]:
    """All experiments, in paper order (section, then registration order)."""
    _load()
    keys = list(SECTIONS)
    return sorted(_REGISTRY.values(), key=lambda e: (keys.index(e.section), e.order))
