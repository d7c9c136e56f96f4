"""``controlml reproduce``: every figure and quantitative claim of the paper.

Experiments live in :mod:`controlml.reproduce.experiments`, one module per paper
section, and register themselves with :func:`experiment`.  Each receives a
:class:`Context` and records PNG figures and check rows
``(claim, paper value, measured value, holds)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._context import Check, Context, ExperimentSkipped, Figure
from ._output import check_data_dir, discard, prepare_out_dir, staging_dir, swap_in
from ._registry import SECTIONS, Experiment, experiment, registry
from ._report import format_value, results_schema, write_report
from ._runner import ExperimentResult, run_experiments, select

__all__ = [
    "Check", "Context", "Experiment", "ExperimentResult", "ExperimentSkipped", "Figure",
    "Report", "SECTIONS", "experiment", "format_value", "registry", "reproduce", "results_schema",
    "run_experiments", "select", "write_report",
]


@dataclass(frozen=True)
class Report:
    """Outcome of :func:`reproduce`: the results and where the report was written.

    Attributes
    ----------
    results : list of ExperimentResult
        One per experiment run.
    index : pathlib.Path
        The report's ``index.html``.
    """

    results: list[ExperimentResult]
    index: Path

    @property
    def ok(self) -> bool:
        """True when no check failed and no experiment raised (skips are fine)."""
        return all(r.status in ("passed", "skipped") for r in self.results)


def reproduce(names: list[str] | None = None, *, quick: bool = False, out: str | Path = "report",
              data_dir: str | Path | None = None, jobs: int = 1, seed: int = 0,
              progress: bool = True) -> Report:
    """Run the named experiments (all by default) and write ``out/index.html``.

    Parameters
    ----------
    names : list of str, optional
        Experiment names (``"thm3.3"``), prefixes (``"thm3"``) or sections (``"sec3"``).
    quick : bool
        Small sizes, for tests.
    out : path
        Report folder; nothing is written outside it.
    data_dir : path, optional
        Folder with user-supplied data sets (e.g. ``rt-polarity/``); it must exist.
    jobs : int
        Worker processes.
    seed : int
        Base random seed of every experiment.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Report
        The results and the path of ``index.html``.

    Notes
    -----
    Every argument is checked before any experiment runs (:class:`ParameterError` or
    :class:`DataNotFoundError`).  The run is written into a staging folder inside
    ``out`` and swapped in whole at the end: an interrupted run (``KeyboardInterrupt``)
    leaves an earlier report in ``out`` untouched.
    """
    if names is not None and isinstance(names, str):
        names = [names]
    exps = select(list(names) if names is not None else None)
    out_dir = prepare_out_dir(out)
    data = check_data_dir(data_dir)
    staging = staging_dir(out_dir)
    try:
        results = run_experiments(exps, quick=quick, out_dir=staging, data_dir=data,
                                  seed=seed, jobs=jobs, progress=progress)
        write_report(results, staging, quick=quick)
    except BaseException:
        discard(staging)
        raise
    swap_in(staging, out_dir)
    return Report(results, out_dir / "index.html")
