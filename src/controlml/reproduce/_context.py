"""What an experiment receives: sizes, output folder, data folder, and its sinks."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_bytes, atomic_write_json

__all__ = ["Check", "Figure", "Context", "ExperimentSkipped"]


class ExperimentSkipped(Exception):
    """Raised by :meth:`Context.skip`: the experiment cannot run here (e.g. missing data)."""


@dataclass(frozen=True)
class Check:
    """One row of a check table: ``claim``, the paper's value, ours, and whether it holds.

    Attributes
    ----------
    claim : str
        The paper's claim, in words.
    paper : Any
        The paper's value (number, string or None).
    measured : Any
        Our value.
    holds : bool
        Whether the claim holds in this run.
    """

    claim: str
    paper: Any
    measured: Any
    holds: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Figure:
    """A PNG written by an experiment, relative to the report folder, with its caption.

    Attributes
    ----------
    path : str
        Path of the PNG relative to the report folder.
    caption : str
        Its caption.
    """

    path: str
    caption: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """Handed to every experiment.

    Attributes
    ----------
    name : str
        The experiment's name (used to name its figures).
    quick : bool
        Shrink sizes so the experiment runs in a few seconds (tests, ``--quick``).
    out_dir : Path
        The report folder chosen by the user; figures go to ``out_dir/figures``.
    data_dir : Path or None
        Where user-supplied data sets live (``--data-dir``), or ``None``.
    seed : int
        Base seed; experiments derive every random stream from it.
    checks : list of Check
        Rows added by :meth:`check`.
    figures : list of Figure
        Figures added by :meth:`figure`.
    notes : list of str
        Free-text notes shown in the report.
    progress : bool
        Show progress bars in long loops.
    explorer : list of str
        Trajectory files written by :meth:`trajectories` (for ``explorer.html``).
    """

    name: str
    quick: bool
    out_dir: Path
    data_dir: Path | None = None
    seed: int = 0
    checks: list[Check] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    progress: bool = False
    explorer: list[str] = field(default_factory=list)

    def rng(self, offset: int = 0) -> np.random.Generator:
        """A reproducible generator for stream ``offset`` of this experiment."""
        return np.random.default_rng([self.seed, offset])

    def size(self, full: Any, quick: Any) -> Any:
        """``quick`` under ``--quick``, else ``full``."""
        return quick if self.quick else full

    def check(self, claim: str, paper: Any, measured: Any, holds: bool) -> bool:
        """Record a check row; returns ``holds`` for convenience."""
        holds = bool(holds)
        self.checks.append(Check(claim, _plain(paper), _plain(measured), holds))
        return holds

    def note(self, text: str) -> None:
        """A sentence shown under the experiment (method, sizes, caveats)."""
        self.notes.append(text)

    def figure(self, fig: Any, caption: str, *, tag: str | None = None) -> Figure:
        """Save a matplotlib figure as PNG (atomically) and close it."""
        import matplotlib.pyplot as plt

        tag = tag or str(len(self.figures) + 1)
        fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.name}-{tag}") + ".png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        atomic_write_bytes(self.out_dir / "figures" / fname, buf.getvalue())
        entry = Figure(f"figures/{fname}", caption)
        self.figures.append(entry)
        return entry

    def trajectories(self, control: Any, X: Any, *, label: str, Y: Any = None,
                     num_samples: int = 24, tag: str | None = None) -> str:
        """Write the exact flow of ``X`` under ``control`` for the report's flow explorer.

        The states come from :func:`controlml.node.flow` with ``return_trajectory=True``
        (``num_samples`` per piece, so every switch time is a sample); the page only draws
        them.  Points in d > 2 are shown by their first two coordinates.

        Parameters
        ----------
        control : Control or Piece
            The piecewise-constant control; its pieces (W, A, b, duration) are written too.
        X : array (N, d)
            Initial points.
        label : str
            What the reader picks in the explorer's data-set menu.
        Y : array (N, d), optional
            Targets, drawn as stars.
        num_samples : int
            Samples per piece.

        Returns
        -------
        str
            The JSON file's path relative to the report folder.
        """
        from ..node import Control, Piece, flow

        if isinstance(control, Piece):
            control = Control((control,))
        X = np.asarray(X, dtype=float)
        _, traj = flow(control, X, return_trajectory=True, num_samples=num_samples)
        switch = np.cumsum([0.0] + [p.duration for p in control.pieces])
        tag = tag or str(len(self.explorer) + 1)
        fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.name}-{tag}") + ".json"
        data = {
            "experiment": self.name, "label": label, "dim": int(X.shape[1]),
            "t": traj.t, "X": np.round(traj.X[:, :, :2], 12),
            "Y": None if Y is None else np.asarray(Y, dtype=float)[:, :2],
            "switch_times": switch,
            "pieces": [{"duration": p.duration, "W": p.W, "A": p.A, "b": p.b}
                       for p in control.pieces],
        }
        atomic_write_json(self.out_dir / "explorer" / fname, data)
        rel = f"explorer/{fname}"
        self.explorer.append(rel)
        return rel

    def skip(self, reason: str) -> None:
        """Stop the experiment and list it as skipped with ``reason`` (never a failure)."""
        raise ExperimentSkipped(reason)

    def iterate(self, iterable: Iterable, desc: str, total: int | None = None) -> Iterable:
        """Wrap a long loop in a tqdm bar (shown only in interactive full runs)."""
        if not self.progress:
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=f"{self.name}: {desc}", total=total, leave=False)


def _plain(v: Any) -> Any:
    """Make a value JSON friendly (NumPy scalars to Python, NaN kept as float)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return v
    return v
