"""Loaders for the common binary sentiment layouts (IMDB folder tree, Kaggle CSV, rt-polarity).

Nothing is downloaded: the user points ``data_dir`` at a folder that holds one of

- ``aclImdb/``: the Stanford Large Movie Review Dataset tree
  (``train/pos/*.txt``, ``train/neg/*.txt``, ``test/pos/*.txt``, ``test/neg/*.txt``;
  ``train/unsup`` is ignored);
- a Kaggle IMDB CSV (e.g. ``IMDB Dataset.csv``) whose header has the columns
  ``review`` and ``sentiment`` (values ``positive``/``negative``);
- the sentence polarity files ``rt-polarity.pos`` and ``rt-polarity.neg``
  (Pang & Lee 2005; one snippet per line, latin-1).

The layouts are looked for in ``data_dir`` itself and in its sub-folders one level down.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._checks import check_int, check_option, check_random_state
from ...errors import DataNotFoundError, DatasetError, ParameterError

__all__ = ["LAYOUTS", "SentimentData", "find_sentiment_data", "load_sentiment", "split_sentiment"]

#: The layouts understood by :func:`load_sentiment`, in order of preference.
LAYOUTS: tuple[str, ...] = ("aclImdb", "imdb-csv", "rt-polarity")

_HOW_TO = (
    "Provide one of: the IMDB folder tree 'aclImdb/' (https://ai.stanford.edu/~amaas/data/sentiment/), "
    "the Kaggle IMDB CSV with columns review,sentiment, or the polarity files "
    "'rt-polarity.pos' and 'rt-polarity.neg' (https://www.cs.cornell.edu/people/pabo/movie-review-data/), "
    "in that folder or in a sub-folder of it."
)

_POSITIVE = {"positive", "pos", "1", "1.0"}
_NEGATIVE = {"negative", "neg", "0", "0.0"}


@dataclass(frozen=True)
class SentimentData:
    """A binary sentiment corpus.

    Attributes
    ----------
    texts : tuple of str, length N
        The raw reviews (decoded text).
    labels : numpy.ndarray of int64, shape (N,)
        1 = positive, 0 = negative.
    is_test : numpy.ndarray of bool, shape (N,), or None
        The corpus' own train/test split where it ships one (``aclImdb``), else ``None``.
    layout : str
        One of :data:`LAYOUTS`.
    source : pathlib.Path
        The folder (or CSV file) the data were read from.
    """

    texts: tuple[str, ...]
    labels: np.ndarray
    is_test: np.ndarray | None
    layout: str
    source: Path

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Any) -> SentimentData:
        """The reviews at ``index`` (integer array), as a new :class:`SentimentData`."""
        idx = np.asarray(index, dtype=np.int64)
        return SentimentData(
            tuple(self.texts[i] for i in idx), self.labels[idx].copy(),
            None if self.is_test is None else self.is_test[idx].copy(), self.layout, self.source,
        )


def _decode(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else latin-1 (the rt-polarity encoding)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _is_acl_tree(folder: Path) -> bool:
    return any((folder / part / "pos").is_dir() and (folder / part / "neg").is_dir()
               for part in ("train", "test"))


def _csv_header(path: Path) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            first = fh.readline(65536)
    except OSError:
        return None
    row = next(csv.reader([_decode(first).lstrip("\ufeff")]), [])
    return [c.strip().lower() for c in row]


def _imdb_csvs(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.glob("*.csv")):
        header = _csv_header(p)
        if header and "review" in header and "sentiment" in header:
            out.append(p)
    return out


def _is_polarity(folder: Path) -> bool:
    return (folder / "rt-polarity.pos").is_file() and (folder / "rt-polarity.neg").is_file()


def find_sentiment_data(data_dir: str | Path) -> list[tuple[str, Path]]:
    """Every sentiment layout found in ``data_dir`` and its sub-folders one level down.

    Parameters
    ----------
    data_dir : path
        The folder given by the user (``--data-dir``).

    Returns
    -------
    list of (layout, path)
        ``layout`` in :data:`LAYOUTS`; ``path`` is the folder of the ``aclImdb`` tree or of the
        polarity files, or the CSV file itself.  Ordered by :data:`LAYOUTS`, then by path.

    Raises
    ------
    DataNotFoundError
        If ``data_dir`` is not an existing folder.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(
            f"data_dir must be an existing folder; got {str(root)!r}, which "
            f"{'is a file' if root.exists() else 'does not exist'}. {_HOW_TO}"
        )
    candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    found: list[tuple[str, Path]] = []
    for folder in candidates:
        if _is_acl_tree(folder):
            found.append(("aclImdb", folder))
        found.extend(("imdb-csv", p) for p in _imdb_csvs(folder))
        if _is_polarity(folder):
            found.append(("rt-polarity", folder))
    order = {name: k for k, name in enumerate(LAYOUTS)}
    return sorted(found, key=lambda t: (order[t[0]], str(t[1])))


def _read_acl(folder: Path) -> tuple[list[str], list[int], list[bool]]:
    texts: list[str] = []
    labels: list[int] = []
    is_test: list[bool] = []
    for part in ("train", "test"):
        for label, sub in ((1, "pos"), (0, "neg")):
            d = folder / part / sub
            if not d.is_dir():
                continue
            for f in sorted(d.glob("*.txt")):
                texts.append(_decode(f.read_bytes()))
                labels.append(label)
                is_test.append(part == "test")
    return texts, labels, is_test


def _read_csv(path: Path) -> tuple[list[str], list[int]]:
    text = _decode(path.read_bytes()).lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
    if "review" not in fields or "sentiment" not in fields:
        raise DatasetError(
            f"{path} must have the columns 'review' and 'sentiment'; got {reader.fieldnames}"
        )
    texts, labels = [], []
    for row in reader:
        value = (row.get(fields["sentiment"]) or "").strip().lower()
        if value in _POSITIVE:
            labels.append(1)
        elif value in _NEGATIVE:
            labels.append(0)
        else:
            raise DatasetError(
                f"{path}, data row {reader.line_num - 1}: sentiment must be 'positive' or "
                f"'negative' (or 1/0); got {value!r}"
            )
        texts.append(row.get(fields["review"]) or "")
    return texts, labels


def _read_lines(path: Path) -> list[str]:
    # One encoding for the whole file, and split on "\n" only: the latin-1 byte 0x85 decodes
    # to NEL, which str.splitlines() would treat as a line break inside a snippet.
    text = _decode(path.read_bytes())
    return [line.strip() for line in text.split("\n") if line.strip()]


def load_sentiment(
    data_dir: str | Path,
    *,
    layout: str | None = None,
    max_reviews: int | None = None,
    random_state: Any = None,
) -> SentimentData:
    """Load a binary sentiment corpus from the first layout found under ``data_dir``.

    Parameters
    ----------
    data_dir : path
        Folder holding ``aclImdb/``, a Kaggle IMDB CSV or ``rt-polarity.pos/.neg``, directly
        or in a sub-folder one level down (so the parent of ``rt-polarity/`` works).
    layout : {'aclImdb', 'imdb-csv', 'rt-polarity'}, optional
        Which layout to read when several are present (default: the first of :data:`LAYOUTS`
        that is found).
    max_reviews : int, optional
        Keep a random class-stratified subset of at most this many reviews (for quick runs on
        the 50k IMDB reviews).
    random_state : None, int or numpy.random.Generator
        Randomness of the subset.

    Returns
    -------
    SentimentData
        ``texts`` (N,), ``labels`` (N,) in {0, 1} (1 = positive), ``is_test`` for ``aclImdb``.

    Raises
    ------
    DataNotFoundError
        If no layout (or not the requested one) is found; the message says how to provide one.
    DatasetError
        If the files are malformed (unknown sentiment value, missing column, one class only).
    """
    if layout is not None:
        check_option(layout, "layout", LAYOUTS)
    if max_reviews is not None:
        max_reviews = check_int(max_reviews, "max_reviews", minimum=2)
    rng = check_random_state(random_state)
    found = find_sentiment_data(data_dir)
    if layout is not None:
        found = [f for f in found if f[0] == layout]
    if not found:
        what = "no sentiment data set" if layout is None else f"no data in the layout {layout!r}"
        raise DataNotFoundError(
            f"data_dir {str(data_dir)!r} holds {what} (looked in it and in its sub-folders "
            f"one level down). {_HOW_TO}"
        )
    name, path = found[0]
    is_test: np.ndarray | None = None
    if name == "aclImdb":
        texts, labels, test = _read_acl(path)
        is_test = np.asarray(test, dtype=bool)
    elif name == "imdb-csv":
        texts, labels = _read_csv(path)
    else:
        pos = _read_lines(path / "rt-polarity.pos")
        neg = _read_lines(path / "rt-polarity.neg")
        texts, labels = pos + neg, [1] * len(pos) + [0] * len(neg)
    y = np.asarray(labels, dtype=np.int64)
    if y.size == 0 or np.unique(y).size < 2:
        raise DatasetError(
            f"{path} must hold reviews of both classes (positive and negative); "
            f"found {int(np.sum(y == 1))} positive and {int(np.sum(y == 0))} negative"
        )
    data = SentimentData(tuple(texts), y, is_test, name, path)
    if max_reviews is not None and max_reviews < len(data):
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(data)), train_size=max_reviews, stratify=y,
                                   random_state=int(rng.integers(2**31 - 1)))
        data = data.subset(np.sort(keep))
    return data


def split_sentiment(
    data: SentimentData, *, test_size: float = 0.3, random_state: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices: the corpus' own split when it has one, else a stratified random split.

    Parameters
    ----------
    data : SentimentData
    test_size : float in (0, 1)
        Fraction of test reviews when the corpus has no split of its own (0.3: the 70/30 split
        of the paper's experiment).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    (train_index, test_index) : two int64 arrays
    """
    if not isinstance(data, SentimentData):
        raise ParameterError(f"data must be a SentimentData (from load_sentiment); got {type(data).__name__}")
    if isinstance(test_size, bool) or not isinstance(test_size, float | int) or not 0 < test_size < 1:
        raise ParameterError(f"test_size must be a fraction in (0, 1); got {test_size!r}")
    rng = check_random_state(random_state)
    idx = np.arange(len(data))
    if data.is_test is not None and data.is_test.any() and (~data.is_test).any():
        return idx[~data.is_test], idx[data.is_test]
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(idx, test_size=float(test_size), stratify=data.labels,
                                   random_state=int(rng.integers(2**31 - 1)))
    return np.sort(train), np.sort(test)
