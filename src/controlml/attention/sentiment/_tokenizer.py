"""A simple, documented word tokenizer with a shipped stop-word list and a frequency vocabulary."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np

from ..._checks import check_int
from ...errors import DatasetError, ParameterError

__all__ = ["Tokenizer", "default_stop_words", "PAD", "UNK"]

#: Index 0 is padding, index 1 stands for a review with no known word.
PAD, UNK = "<pad>", "<unk>"

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def default_stop_words() -> frozenset[str]:
    """The stop-word list shipped with controlml (``sentiment/stopwords.txt``).

    English function words (articles, pronouns, auxiliaries, prepositions, conjunctions);
    negations (``not``, ``no``, ``never``, ``isn't``...) and intensity words are kept on purpose.
    """
    text = resources.files(__package__).joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


class Tokenizer:
    r"""Lower-case word tokenizer with stop-word removal and a most-frequent-words vocabulary.

    The rules, in order:

    1. lower-case the text and replace HTML tags (``<br />`` in IMDB reviews) by spaces;
    2. words are the maximal runs of ``[a-z0-9]`` optionally followed by one apostrophe
       suffix (``isn't``, ``film's``); everything else separates words;
    3. drop the stop words; then drop a possessive ``'s`` (``film's`` -> ``film``);
    4. :meth:`fit` keeps the ``max_vocab`` most frequent words seen at least ``min_count``
       times (ties broken alphabetically); index 0 is ``<pad>``, index 1 ``<unk>``;
    5. :meth:`encode` drops out-of-vocabulary words, keeps the first ``n`` words, pads with
       0 and returns the mask of real tokens; a review with no known word becomes the single
       token ``<unk>`` (so every sequence has at least one token).

    Parameters
    ----------
    stop_words : 'default', None or iterable of str
        The shipped list (:func:`default_stop_words`), none, or your own.
    max_vocab : int, optional
        Size cap of the vocabulary (without ``<pad>``/``<unk>``).
    min_count : int
        Minimum number of occurrences in the fitted texts.
    """

    def __init__(self, *, stop_words: str | Iterable[str] | None = "default",
                 max_vocab: int | None = None, min_count: int = 1) -> None:
        if isinstance(stop_words, str):
            if stop_words != "default":
                raise ParameterError(
                    f"stop_words must be 'default', None or an iterable of words; got {stop_words!r}"
                )
            self.stop_words = default_stop_words()
        elif stop_words is None:
            self.stop_words = frozenset()
        else:
            self.stop_words = frozenset(str(w).lower() for w in stop_words)
        self.max_vocab = None if max_vocab is None else check_int(max_vocab, "max_vocab", minimum=1)
        self.min_count = check_int(min_count, "min_count", minimum=1)
        self._vocab: tuple[str, ...] | None = None
        self._index: dict[str, int] = {}

    # ------------------------------------------------------------------ words
    def tokenize(self, text: str) -> list[str]:
        """The words of ``text`` after rules 1-3 (no vocabulary needed)."""
        if not isinstance(text, str):
            raise DatasetError(f"text must be a str; got {type(text).__name__}")
        words = []
        for w in _WORD.findall(_TAG.sub(" ", text.lower())):
            if w in self.stop_words:
                continue
            if w.endswith("'s"):
                w = w[:-2]
                if not w or w in self.stop_words:
                    continue
            words.append(w)
        return words

    # ------------------------------------------------------------- vocabulary
    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Build the vocabulary from ``texts`` (rule 4); returns ``self``."""
        texts = _as_texts(texts)
        counts = Counter(w for t in texts for w in self.tokenize(t))
        words = sorted((w for w, c in counts.items() if c >= self.min_count),
                       key=lambda w: (-counts[w], w))
        if self.max_vocab is not None:
            words = words[: self.max_vocab]
        if not words:
            raise DatasetError("texts contain no word outside the stop words: cannot build a vocabulary")
        self._set_vocab((PAD, UNK, *words))
        return self

    def _set_vocab(self, vocab: tuple[str, ...]) -> None:
        self._vocab = vocab
        self._index = {w: i for i, w in enumerate(vocab)}

    @property
    def vocab(self) -> tuple[str, ...]:
        """Index -> word (``vocab[0] == '<pad>'``, ``vocab[1] == '<unk>'``)."""
        if self._vocab is None:
            raise ParameterError("the Tokenizer has no vocabulary yet: call fit(texts) first")
        return self._vocab

    def __len__(self) -> int:
        return len(self.vocab)

    # --------------------------------------------------------------- encoding
    def encode(self, texts: Iterable[str], *, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and mask of real tokens (rule 5).

        Parameters
        ----------
        texts : iterable of str, length N
        n : int
            Sequence length (truncate / pad).

        Returns
        -------
        tokens : numpy.ndarray of int64, shape (N, n)
        mask : numpy.ndarray of bool, shape (N, n)
            True on real tokens; every row has at least one.
        """
        _ = self.vocab  # raises if not fitted
        vocab_index = self._index
        n = check_int(n, "n", minimum=1)
        texts = _as_texts(texts)
        tokens = np.zeros((len(texts), n), dtype=np.int64)
        for r, t in enumerate(texts):
            ids = [vocab_index[w] for w in self.tokenize(t) if w in vocab_index][:n] or [1]
            tokens[r, : len(ids)] = ids
        return tokens, tokens != 0

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words of the ids, padding removed."""
        vocab = self.vocab
        return [vocab[int(i)] for i in ids if int(i) != 0]

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description (settings, stop words and vocabulary)."""
        return {"stop_words": sorted(self.stop_words), "max_vocab": self.max_vocab,
                "min_count": self.min_count, "vocab": list(self.vocab)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Tokenizer:
        """Inverse of :meth:`to_dict`."""
        try:
            tok = cls(stop_words=state["stop_words"], max_vocab=state["max_vocab"],
                      min_count=state["min_count"])
            vocab = tuple(str(w) for w in state["vocab"])
        except (KeyError, TypeError) as exc:
            raise ParameterError(f"state is not a Tokenizer.to_dict() description: {exc}") from exc
        if vocab[:2] != (PAD, UNK):
            raise ParameterError(f"state['vocab'] must start with {PAD!r}, {UNK!r}; got {vocab[:2]}")
        tok._set_vocab(vocab)
        return tok

    def __repr__(self) -> str:
        size = "unfitted" if self._vocab is None else f"vocab={len(self._vocab)}"
        return f"Tokenizer({size}, stop_words={len(self.stop_words)}, max_vocab={self.max_vocab})"


def _as_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise DatasetError("texts must be a sequence of reviews (str), not a single str: wrap it in a list")
    try:
        out = list(texts)
    except TypeError as exc:
        raise DatasetError(f"texts must be an iterable of str; got {type(texts).__name__}") from exc
    for k, t in enumerate(out):
        if not isinstance(t, str):
            raise DatasetError(f"texts[{k}] must be a str; got {type(t).__name__}")
    return out
