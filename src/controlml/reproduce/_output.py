"""The report folder: checked before any experiment runs, replaced whole at the end.

A run writes into a fresh staging folder inside the user's ``--out`` folder
(``.controlml-run-*``; nothing is written outside ``--out``).  Only when every
experiment has finished and the report is written are the previous report's
files moved aside and the new ones moved in, ``index.html`` last.  An interrupted
or failed run removes its staging folder and leaves an earlier report exactly as
it was: never a page that looks complete over a mix of old and new figures.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .._io import make_private_dir
from ..errors import DataNotFoundError, ParameterError

__all__ = ["REPORT_ITEMS", "prepare_out_dir", "check_data_dir", "staging_dir", "swap_in",
           "discard"]

#: What a report consists of, relative to the report folder (``index.html`` last).
REPORT_ITEMS: tuple[str, ...] = ("results.json", "figures", "explorer", "explorer.html",
                                 "index.html")
_STAGING_PREFIX = ".controlml-run-"
_OLD_PREFIX = ".controlml-old-"


def prepare_out_dir(out: str | os.PathLike) -> Path:
    """Validate (and create) the report folder ``out``; return it as a resolved path.

    Raises
    ------
    ParameterError
        ``out`` is an existing file, cannot be created or written, or holds an
        ``index.html``/``results.json`` that is not a file (or ``figures`` that is not a
        folder), which the report could not replace.
    """
    if str(out).strip() == "":
        raise ParameterError("--out must name a folder; got an empty string")
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ParameterError(f"--out {str(path)!r} is an existing file, not a folder: choose a "
                             "folder for the report (it is created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out {str(path)!r} cannot be created ({exc.strerror or exc}): "
                             "choose a folder you can write to") from exc
    for name, want_dir in (("index.html", False), ("results.json", False), ("figures", True),
                           ("explorer.html", False), ("explorer", True)):
        item = path / name
        if item.exists() and item.is_dir() != want_dir:
            kind = "a folder" if item.is_dir() else "a file"
            raise ParameterError(f"--out {str(path)!r} holds {name!r} as {kind}, where the report "
                                 f"writes {'a folder' if want_dir else 'a file'}: move it away or "
                                 "choose another folder")
    probe = None
    try:
        probe = make_private_dir(path, ".controlml-probe-")
    except OSError as exc:
        raise ParameterError(f"--out {str(path)!r} is not writable ({exc.strerror or exc}): "
                             "choose a folder you can write to") from exc
    finally:
        if probe is not None:
            shutil.rmtree(probe, ignore_errors=True)
    return path.resolve()


def check_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """``None``, or ``data_dir`` as an existing folder (else :class:`DataNotFoundError`)."""
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise DataNotFoundError(f"--data-dir {str(path)!r} {what}: give the folder that holds the "
                                "data sets (e.g. one containing rt-polarity/), or leave it out")
    return path.resolve()


def staging_dir(out: Path) -> Path:
    """A fresh folder inside ``out`` that the run writes into."""
    return make_private_dir(out, _STAGING_PREFIX)


def discard(staging: Path) -> None:
    """Remove a staging folder (an interrupted or failed run)."""
    shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, out: Path) -> None:
    """Replace the report in ``out`` by the one in ``staging``; ``staging`` is removed.

    The old report's items (:data:`REPORT_ITEMS`) are first moved into a trash folder,
    ``index.html`` first, so that no moment shows an old index over new figures; the new
    items are then moved in with ``index.html`` last.  Anything else in ``out`` is left
    alone.
    """
    trash = make_private_dir(out, _OLD_PREFIX)
    try:
        for name in reversed(REPORT_ITEMS):
            if (out / name).exists():
                os.replace(out / name, trash / name)
        for name in REPORT_ITEMS:
            if (staging / name).exists():
                os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
