"""Atomic writes: results appear whole or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savez", "load_npz",
           "current_umask", "make_private_dir"]


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux ``/proc``).

    ``os.umask`` can only be read by setting it, which races with other threads; the
    ``/proc/self/status`` line avoids that, and the set-and-restore is the fallback.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def make_private_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """A fresh folder inside ``parent`` (``tempfile.mkdtemp``) with the umask's usual mode.

    ``mkdtemp`` creates mode 0700; a folder that will become part of the user's output
    gets what ``mkdir`` would give (0755 under umask 022).
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o777 & ~current_umask())
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the permissions a plainly created file would (``0666 & ~umask``, e.g.
    0644 under umask 022), not ``mkstemp``'s 0600.  A ``path`` that is an existing folder
    raises :class:`~controlml.errors.ParameterError` before anything is written.
    """
    from .errors import ParameterError

    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"cannot write to {str(path)!r}: it is a folder; give a file name "
                             f"inside it (e.g. {str(path / 'model.safetensors')!r})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NumPy scalars and arrays converted)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default, allow_nan=True))


def atomic_savez(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """``numpy.savez`` through a temporary file and a rename."""
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load an ``.npz`` file without ever unpickling (``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def save_checkpoint_file(path: str | os.PathLike, fmt: str, tensors: dict, meta: dict) -> Path:
    """Write torch ``tensors`` and JSON ``meta`` to one safetensors file, atomically.

    ``fmt`` names the kind of checkpoint (checked by :func:`load_checkpoint_file`).
    safetensors stores raw tensors and string metadata only: nothing executable.
    """
    from safetensors.torch import save

    data = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    blob = save(data, metadata={"format": fmt, "meta": json.dumps(meta, default=_json_default)})
    return atomic_write_bytes(path, blob)


def load_checkpoint_file(path: str | os.PathLike, fmt: str, *, what: str,
                         meta_keys: tuple[str, ...] = (),
                         tensor_keys: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Read a file written by :func:`save_checkpoint_file`; returns ``(tensors, meta)``.

    ``meta_keys`` and ``tensor_keys`` are the entries the caller needs: a file that lacks
    any of them is refused here, naming the file and what is missing, instead of a
    ``KeyError`` later.

    Raises :class:`~controlml.errors.DataNotFoundError` when there is no such file and
    :class:`~controlml.errors.ParameterError` when it is not a ``fmt`` checkpoint, its
    metadata is not a JSON object, or it lacks a required key or tensor.
    """
    from safetensors import SafetensorError, safe_open

    from .errors import DataNotFoundError, ParameterError

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"no checkpoint at {str(path)!r}: pass a file written by the "
                                f"{what} checkpoint writer")
    bad = ParameterError(f"{str(path)!r} is not a controlml {what} checkpoint (format {fmt})")
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
            if header.get("format") != fmt:
                raise bad
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        if exc is bad:
            raise
        raise bad from exc
    try:
        meta = json.loads(header["meta"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(f"{str(path)!r}: the {what} checkpoint's metadata is missing or is "
                             f"not valid JSON ({type(exc).__name__}); the file is damaged: write it "
                             "again with the checkpoint writer") from exc
    if not isinstance(meta, dict):
        raise ParameterError(f"{str(path)!r}: the {what} checkpoint's metadata must be a JSON "
                             f"object; got {type(meta).__name__}")
    missing = [f"metadata key {k!r}" for k in meta_keys if k not in meta]
    missing += [f"tensor {k!r}" for k in tensor_keys if k not in tensors]
    if missing:
        raise ParameterError(f"{str(path)!r} is an incomplete {what} checkpoint: missing "
                             f"{', '.join(missing)}; write it again with the checkpoint writer")
    return tensors, meta
