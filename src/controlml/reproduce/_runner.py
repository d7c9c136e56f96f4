"""Run experiments, isolate their failures, collect their results."""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ._context import Check, Context, ExperimentSkipped, Figure
from ._registry import Experiment, registry

__all__ = ["ExperimentResult", "run_experiments", "select"]


@dataclass
class ExperimentResult:
    """What one experiment produced.

    Attributes
    ----------
    name : str
        The paper's name of the experiment (``"thm3.3"``).
    section : str
        Paper section key, ``"2"`` to ``"5"``.
    title : str
        One line describing what is reproduced.
    caption : str
        The paper's caption or statement.
    status : str
        ``"passed"`` (all checks hold), ``"failed"`` (a check does not hold),
        ``"error"`` (it raised: ``error`` has the traceback) or ``"skipped"``
        (``error`` has the reason).
    seconds : float
        Wall time of the experiment.
    checks : list of Check
        The rows (claim, paper value, measured value, holds).
    figures : list of Figure
        PNG files relative to the report folder, with captions.
    notes : list of str
        Sentences shown under the experiment.
    error : str
        Traceback (``"error"``) or reason (``"skipped"``); empty otherwise.
    explorer : list of str
        Trajectory JSON files for ``explorer.html``, relative to the report folder.
    """

    name: str
    section: str
    title: str
    caption: str
    status: str
    seconds: float
    checks: list[Check] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    explorer: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["checks"] = [c.to_dict() for c in self.checks]
        d["figures"] = [f.to_dict() for f in self.figures]
        return d


def select(names: list[str] | None) -> list[Experiment]:
    """The experiments named (a name may also be a prefix like ``thm3`` or a section ``sec3``).

    Parameters
    ----------
    names : list of str or None
        Names, prefixes or sections; ``None`` or an empty list selects every experiment.
        An empty or blank name is refused (:class:`ParameterError`), as is an unknown one.

    Returns
    -------
    list of Experiment
        In registry order within each name, without repeats.
    """
    allx = registry()
    if names is None:
        return allx
    blank = [i for i, n in enumerate(names) if not isinstance(n, str) or not n.strip()]
    if blank:
        raise ParameterError(
            f"experiment name {blank[0] + 1} is empty (an unset shell variable?): give names "
            "such as 'thm3.3', 'thm3' or 'sec3' (`controlml list` prints them), or no names "
            "at all to run everything")
    if not names:
        return allx
    chosen: list[Experiment] = []
    for n in names:
        hits = [e for e in allx if e.name == n]
        if not hits and n.startswith("sec"):
            hits = [e for e in allx if e.section == n[3:]]
        if not hits:
            hits = [e for e in allx if e.name.startswith(n)]
        if not hits:
            known = ", ".join(e.name for e in allx)
            raise ParameterError(f"no experiment named {n!r}; known: {known}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _run_one(exp: Experiment, quick: bool, out_dir: Path, data_dir: Path | None,
             seed: int, progress: bool) -> ExperimentResult:
    import matplotlib

    matplotlib.use("Agg")
    ctx = Context(exp.name, quick, out_dir, data_dir, seed, progress=progress)
    t0 = time.perf_counter()
    error, status = "", "passed"
    try:
        exp.func(ctx)
        if not ctx.checks and not ctx.figures:
            status, error = "error", "the experiment produced neither a check nor a figure"
        elif not all(c.holds for c in ctx.checks):
            status = "failed"
    except ExperimentSkipped as exc:
        status, error = "skipped", str(exc)
    except Exception:  # an experiment that fails must not abort the others
        status, error = "error", traceback.format_exc(limit=8)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    return ExperimentResult(exp.name, exp.section, exp.title, exp.caption, status,
                            time.perf_counter() - t0, ctx.checks, ctx.figures, ctx.notes, error,
                            ctx.explorer)


def _run_by_name(name: str, quick: bool, out_dir: Path, data_dir: Path | None,
                 seed: int) -> ExperimentResult:
    exp = next(e for e in registry() if e.name == name)
    return _run_one(exp, quick, out_dir, data_dir, seed, False)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is handled once, by the parent (no worker tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(experiments: list[Experiment], results: dict[str, ExperimentResult], bar: Any, *,
              quick: bool, out_dir: Path, data_dir: Path | None, seed: int, jobs: int) -> None:
    """Run in ``jobs`` worker processes; on ``KeyboardInterrupt`` stop the workers at once."""
    jobs = min(jobs, os.cpu_count() or 1, len(experiments))
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)
    try:
        futs = {pool.submit(_run_by_name, e.name, quick, out_dir, data_dir, seed): e
                for e in experiments}
        for fut in futs:
            e = futs[fut]
            try:
                results[e.name] = fut.result()
            except Exception:
                results[e.name] = ExperimentResult(e.name, e.section, e.title, e.caption,
                                                   "error", 0.0, error=traceback.format_exc())
            bar.set_postfix_str(e.name)
            bar.update()
    except BaseException:
        # Interrupted: the workers ignore SIGINT, so end them here instead of waiting.
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_experiments(experiments: list[Experiment], *, quick: bool, out_dir: Path,
                    data_dir: Path | None = None, seed: int = 0, jobs: int = 1,
                    progress: bool = True) -> list[ExperimentResult]:
    """Run ``experiments`` (in processes when ``jobs > 1``), with a tqdm bar.

    Parameters
    ----------
    experiments : list of Experiment
        What to run (see :func:`select`).
    quick : bool
        Small sizes.
    out_dir : path
        Folder the figures and trajectory files are written into.
    data_dir : path, optional
        Folder with user-supplied data sets.
    seed : int
        Base random seed of every experiment.
    jobs : int
        Worker processes (1: in this process).
    progress : bool
        Show the progress bar.

    Returns
    -------
    list of ExperimentResult
        One per experiment, in the order given; an experiment that raises is an
        ``"error"`` result and never stops the others.  ``KeyboardInterrupt`` stops
        the run (workers are ended at once).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    results: dict[str, ExperimentResult] = {}
    bar = tqdm(total=len(experiments), desc="reproduce", unit="exp", disable=not progress)
    try:
        if jobs > 1 and len(experiments) > 1:
            _run_pool(experiments, results, bar, quick=quick, out_dir=out_dir,
                      data_dir=data_dir, seed=seed, jobs=jobs)
        else:
            for e in experiments:
                bar.set_postfix_str(e.name)
                results[e.name] = _run_one(e, quick, out_dir, data_dir, seed, progress)
                bar.update()
    finally:
        bar.close()
    return [results[e.name] for e in experiments]
