"""Training (BCE, Adam, clipping, checkpoints), hardmax evaluation and leader words."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._checks import check_int, check_nonnegative, check_positive, resolve_seed_alias, torch_seed
from ..._io import load_checkpoint_file, save_checkpoint_file
from ...errors import DatasetError, ParameterError
from ._model import SentimentAttentionModel, _leaders_of, _token_ids
from ._tokenizer import Tokenizer

__all__ = [
    "SentimentTrainingResult", "SentimentEvaluation", "LeaderWords",
    "train_sentiment", "evaluate_sentiment", "leader_words",
    "save_sentiment_model", "load_sentiment_model",
]

_FORMAT = "controlml.attention.sentiment/1"


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SentimentTrainingResult:
    """What :func:`train_sentiment` returns.

    Attributes
    ----------
    model : SentimentAttentionModel
        The trained model (the weights of ``best_epoch`` when a validation set was given).
    train_loss : numpy.ndarray, shape (epochs,)
        Mean training BCE (softmax at the training ``tau``) per epoch.
    train_accuracy : numpy.ndarray, shape (epochs,)
        Training accuracy per epoch (softmax, on the fly).
    val_accuracy : numpy.ndarray, shape (epochs,), or None
        Hardmax (``tau=0``) accuracy on the validation set after each epoch.
    best_epoch : int
        Epoch (1-based) whose weights are returned.
    alpha : float
        Learned step size of the returned model.
    checkpoints : tuple of pathlib.Path
        Files written (empty when ``checkpoint_dir`` is None).
    status : str
        ``"trained"``, or ``"diverged"`` if a loss became non-finite (training stopped).
    """

    model: SentimentAttentionModel
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray | None
    best_epoch: int
    alpha: float
    checkpoints: tuple[Path, ...]
    status: str


@dataclass(frozen=True)
class SentimentEvaluation:
    """Accuracy of the same weights with the exact hardmax and with the training softmax.

    Attributes
    ----------
    accuracy : float
        Hardmax (``tau=0``) accuracy: the reported test accuracy.
    accuracy_softmax : float
        Accuracy with softmax at the training ``tau``.
    agreement : float
        Fraction of reviews where the hardmax and softmax predictions agree.
    loss : float
        Hardmax BCE.
    loss_softmax : float
        Softmax BCE.
    probabilities : numpy.ndarray, shape (N,)
        Hardmax probabilities of the positive class.
    mean_leaders : float
        Mean number of distinct leaders per review at the last layer (hardmax).
    mean_length : float
        Mean number of real tokens per review.
    """

    accuracy: float
    accuracy_softmax: float
    agreement: float
    loss: float
    loss_softmax: float
    probabilities: np.ndarray
    mean_leaders: float
    mean_length: float


@dataclass(frozen=True)
class LeaderWords:
    """Words whose tokens are leaders at the last layer, counted once per review, by true class.

    Attributes
    ----------
    positive, negative : tuple of (word, count)
        The ``top`` most frequent leader words in positive / negative reviews.
    score : dict of str to float
        Readout score :math:`v^\\top E[w] + b` of each listed word's embedding (> 0: positive).
    """

    positive: tuple[tuple[str, int], ...]
    negative: tuple[tuple[str, int], ...]
    score: dict[str, float]


# --------------------------------------------------------------------------- checks
def _labels(labels: Any, B: int, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if y.shape != (B,):
        raise DatasetError(f"{name} must have shape ({B},) to match tokens; got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise DatasetError(f"{name} must be 0 (negative) or 1 (positive); got values {np.unique(y)[:5]}")
    return y.astype(np.int64)


def _check_model(model: Any) -> SentimentAttentionModel:
    if not isinstance(model, SentimentAttentionModel):
        raise ParameterError(f"model must be a SentimentAttentionModel; got {type(model).__name__}")
    return model


def _split(data: Any, model: SentimentAttentionModel, name: str):
    try:
        tokens, mask, labels = data
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a tuple (tokens, mask, labels); got {type(data).__name__}") from exc
    t, m = _token_ids(tokens, mask, model.vocab_size, model.embedding.weight.device)
    return t, m, _labels(labels, t.shape[0], f"{name} labels")


# --------------------------------------------------------------------------- training
def train_sentiment(
    model: SentimentAttentionModel,
    tokens: Any,
    mask: Any,
    labels: Any,
    *,
    validation: tuple[Any, Any, Any] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    clip: float = 5.0,
    weight_decay: float = 0.0,
    random_state: Any = 0,
    seed: int | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    tokenizer: Tokenizer | None = None,
    num_threads: int | None = 1,
    progress: bool = False,
) -> SentimentTrainingResult:
    r"""Train with binary cross-entropy, Adam and gradient-norm clipping (softmax at ``model.tau``).

    .. math::

        \min_{E,\alpha,v,b}\ \frac1N\sum_j \mathrm{BCE}\big(\sigma(v^\top \bar z^j(K)+b),\,y^j\big)

    Parameters
    ----------
    model : SentimentAttentionModel
        Trained in place (its device and dtype are used).
    tokens : int array, shape (N, n)
        Token ids of N padded reviews (0 is padding).
    mask : bool array, shape (N, n), or None
        Real tokens (default ``tokens != 0``).
    labels : array, shape (N,)
        Classes in {0, 1}.
    validation : (tokens, mask, labels), optional
        Evaluated with the exact hardmax after each epoch; the best epoch's weights are kept.
    epochs, batch_size : int
    lr : float
        Adam learning rate (the paper: 1e-3).
    clip : float
        Maximal gradient norm (the paper: 5).
    weight_decay : float
        Adam weight decay.
    random_state : int, None or numpy.random.Generator
        Randomness of the mini-batch shuffling (a ``torch.Generator`` seeded from it).
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning).
    checkpoint_dir : path, optional
        Folder for ``epoch_<NNN>.safetensors`` checkpoints (every ``checkpoint_every`` epochs) and
        ``best.safetensors``; nothing is written elsewhere.  Written atomically.
    checkpoint_every : int >= 1
        Epochs between two checkpoints (the last epoch is always written).
    tokenizer : Tokenizer, optional
        Stored inside the checkpoints so that they are self-contained.
    num_threads : int or None
        torch intra-op CPU threads while training, restored afterwards (default 1: the
        matrices are tiny, and on a busy CPU more threads make each step many times slower);
        ``None`` keeps torch's setting.
    progress : bool
        tqdm bar over the epochs.

    Returns
    -------
    SentimentTrainingResult
    """
    model = _check_model(model)
    dev = model.embedding.weight.device
    t, m = _token_ids(tokens, mask, model.vocab_size, dev)
    y_np = _labels(labels, t.shape[0])
    val = _split(validation, model, "validation") if validation is not None else None
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    clip = check_positive(clip, "clip")
    weight_decay = check_nonnegative(weight_decay, "weight_decay")
    seed = torch_seed(resolve_seed_alias(random_state, seed, "train_sentiment"))
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
    if tokenizer is not None and not isinstance(tokenizer, Tokenizer):
        raise ParameterError(f"tokenizer must be a Tokenizer or None; got {type(tokenizer).__name__}")
    if num_threads is not None:
        num_threads = check_int(num_threads, "num_threads", minimum=1)
    ckdir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    old_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _train(model, t, m, y_np, val, epochs, batch_size, lr, clip, weight_decay, seed,
                      ckdir, checkpoint_every, tokenizer, progress)
    finally:
        torch.set_num_threads(old_threads)


def _train(model, t, m, y_np, val, epochs, batch_size, lr, clip, weight_decay, seed, ckdir,
           checkpoint_every, tokenizer, progress) -> SentimentTrainingResult:
    dev = model.embedding.weight.device
    y = torch.as_tensor(y_np, dtype=model.embedding.weight.dtype, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    N = t.shape[0]
    losses, accs, vals, written = [], [], [], []
    best_state, best_acc, best_epoch, status = None, -1.0, 0, "trained"
    epoch_iter = range(1, epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epoch_iter = tqdm(epoch_iter, desc="train_sentiment", unit="epoch")
    for epoch in epoch_iter:
        model.train()
        perm = torch.randperm(N, generator=gen).to(dev)
        tot, correct = 0.0, 0
        for s in range(0, N, batch_size):
            b = perm[s: s + batch_size]
            # drop all-padding columns of the batch: same result, less work
            mb = m[b]
            width = int(mb.any(dim=0).nonzero().max()) + 1
            logits = model(t[b, :width], mb[:, :width])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[b])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            tot += float(loss.detach()) * len(b)
            correct += int(((logits.detach() > 0).to(y.dtype) == y[b]).sum())
        losses.append(tot / N)
        accs.append(correct / N)
        if not np.isfinite(losses[-1]):
            status = "diverged"
            break
        if val is not None:
            acc = _accuracy(model, *val, tau=0.0)
            vals.append(acc)
            if acc > best_acc:
                best_acc, best_epoch = acc, epoch
                best_state = copy.deepcopy(model.state_dict())
        else:
            best_epoch = epoch
        if progress:
            epoch_iter.set_postfix(loss=f"{losses[-1]:.3f}", val=f"{vals[-1]:.3f}" if vals else "-")
        if ckdir is not None and (epoch % checkpoint_every == 0 or epoch == epochs):
            written.append(save_sentiment_model(model, ckdir / f"epoch_{epoch:03d}.safetensors",
                                                tokenizer=tokenizer, epoch=epoch))
    if best_state is not None:
        model.load_state_dict(best_state)
    if ckdir is not None:
        written.append(save_sentiment_model(model, ckdir / "best.safetensors", tokenizer=tokenizer,
                                            epoch=best_epoch))
    model.eval()
    return SentimentTrainingResult(
        model, np.asarray(losses), np.asarray(accs),
        np.asarray(vals) if val is not None else None, int(best_epoch),
        float(model.alpha.detach()), tuple(written), status,
    )


@torch.no_grad()
def _predict(model: SentimentAttentionModel, t: torch.Tensor, m: torch.Tensor, tau: float,
             batch_size: int = 1024) -> torch.Tensor:
    was = model.training
    model.eval()
    out = [model(t[s: s + batch_size], m[s: s + batch_size], tau=tau) for s in range(0, t.shape[0], batch_size)]
    model.train(was)
    return torch.cat(out)


def _accuracy(model, t, m, y, *, tau):
    logits = _predict(model, t, m, tau)
    return float(((logits > 0).cpu().numpy().astype(np.int64) == y).mean())


def evaluate_sentiment(model: SentimentAttentionModel, tokens: Any, mask: Any, labels: Any, *,
                       tau: float | None = None) -> SentimentEvaluation:
    """Hardmax and softmax accuracy, their agreement and the number of leaders per review.

    Parameters
    ----------
    model : SentimentAttentionModel
    tokens : int array, shape (N, n)
        Token ids of N padded reviews (0 is padding).
    mask : bool array, shape (N, n), or None
        Real tokens (default ``tokens != 0``).
    labels : array, shape (N,)
        Classes in {0, 1}.
    tau : float, optional
        Softmax temperature compared with the hardmax (default: the model's training ``tau``).

    Returns
    -------
    SentimentEvaluation
    """
    model = _check_model(model)
    t, m = _token_ids(tokens, mask, model.vocab_size, model.embedding.weight.device)
    y = _labels(labels, t.shape[0])
    tau_s = model.tau if tau is None else check_positive(tau, "tau")
    lh = _predict(model, t, m, 0.0)
    ls = _predict(model, t, m, tau_s)
    yt = torch.as_tensor(y, dtype=lh.dtype, device=lh.device)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ph, ps = (lh > 0).cpu().numpy(), (ls > 0).cpu().numpy()
    lead = [model.leaders(t[s: s + 1024], m[s: s + 1024]).sum(dim=1) for s in range(0, t.shape[0], 1024)]
    return SentimentEvaluation(
        accuracy=float((ph == y).mean()), accuracy_softmax=float((ps == y).mean()),
        agreement=float((ph == ps).mean()), loss=float(bce(lh, yt)), loss_softmax=float(bce(ls, yt)),
        probabilities=torch.sigmoid(lh).cpu().numpy(),
        mean_leaders=float(torch.cat(lead).double().mean()),
        mean_length=float(m.sum(dim=1).double().mean()),
    )


@torch.no_grad()
def leader_words(model: SentimentAttentionModel, tokenizer: Tokenizer, tokens: Any, mask: Any,
                 labels: Any, *, top: int = 10, min_score: float = 0.0) -> LeaderWords:
    """The most frequent leader words (hardmax, last layer) in positive and in negative reviews.

    Parameters
    ----------
    model : SentimentAttentionModel
    tokenizer : Tokenizer
        The fitted tokenizer that produced ``tokens``.
    tokens : int array, shape (N, n)
        Token ids of N padded reviews (0 is padding).
    mask : bool array, shape (N, n), or None
        Real tokens (default ``tokens != 0``).
    labels : array, shape (N,)
        Classes in {0, 1}.
    top : int
        Words listed per class.
    min_score : float
        Count a leader only when its readout score :math:`|v^\top z_i(K) + b|` is at least
        this (the authors count the confident leaders, score > 2).

    Returns
    -------
    LeaderWords
    """
    model = _check_model(model)
    if not isinstance(tokenizer, Tokenizer):
        raise ParameterError(f"tokenizer must be a Tokenizer; got {type(tokenizer).__name__}")
    if len(tokenizer.vocab) != model.vocab_size:
        raise ParameterError(
            f"tokenizer has {len(tokenizer.vocab)} words but the model's vocab_size is "
            f"{model.vocab_size}: use the tokenizer the model was trained with"
        )
    top = check_int(top, "top", minimum=1)
    min_score = check_nonnegative(min_score, "min_score")
    t, m = _token_ids(tokens, mask, model.vocab_size, model.embedding.weight.device)
    y = _labels(labels, t.shape[0])
    counts = {0: Counter(), 1: Counter()}
    for s in range(0, t.shape[0], 1024):
        tb, mb = t[s: s + 1024], m[s: s + 1024]
        ZK = model.trajectory(tb, mb)[-1]
        L = _leaders_of(ZK, mb) & (model.readout(ZK).squeeze(-1).abs() >= min_score)
        L, ids = L.cpu().numpy(), tb.cpu().numpy()
        for r in range(L.shape[0]):
            counts[int(y[s + r])].update({tokenizer.vocab[i] for i in ids[r][L[r]]})
    pos = tuple(counts[1].most_common(top))
    neg = tuple(counts[0].most_common(top))
    words = sorted({w for w, _ in pos + neg})
    index = torch.as_tensor([tokenizer.vocab.index(w) for w in words], dtype=torch.long,
                            device=model.embedding.weight.device)
    score = model.readout(model.embedding(index)).squeeze(-1).cpu().numpy() if words else []
    return LeaderWords(pos, neg, {w: float(v) for w, v in zip(words, score, strict=True)})


# --------------------------------------------------------------------------- checkpoints
def save_sentiment_model(model: SentimentAttentionModel, path: str | Path, *,
                         tokenizer: Tokenizer | None = None, epoch: int | None = None) -> Path:
    """Write the model (and optionally its tokenizer) to one safetensors file, atomically.

    The tensors are the state dict; the constructor arguments and the tokenizer's
    vocabulary are JSON metadata: no pickled objects.

    Parameters
    ----------
    model : SentimentAttentionModel
    path : str or pathlib.Path
        File to write (a folder is refused); replaced atomically if it exists.
    tokenizer : Tokenizer, optional
        Stored with the model so that the checkpoint is self-contained.
    epoch : int, optional
        Recorded in the metadata.

    Returns
    -------
    pathlib.Path
    """
    model = _check_model(model)
    if Path(path).is_dir():
        raise ParameterError(f"path {str(path)!r} is a folder: pass a file name for the checkpoint, "
                             "e.g. folder / 'model.safetensors'")
    meta = {"config": model.config,
            "tokenizer": tokenizer.to_dict() if tokenizer is not None else None, "epoch": epoch}
    return save_checkpoint_file(path, _FORMAT, dict(model.state_dict()), meta)


def load_sentiment_model(path: str | Path, *, device: torch.device | str | None = None,
                         dtype: torch.dtype | None = None
                         ) -> tuple[SentimentAttentionModel, Tokenizer | None]:
    """Read a file written by :func:`save_sentiment_model`.

    Parameters
    ----------
    path : str or pathlib.Path
        The checkpoint file. A damaged one (metadata not JSON, a missing key or tensor)
        raises :class:`~controlml.errors.ParameterError` naming the file and what is missing.
    device : torch device or str, optional
        Where to put the model (CPU by default).
    dtype : torch dtype, optional
        Precision of the model (default: that of the stored embedding).

    Returns
    -------
    (model, tokenizer) : the tokenizer is ``None`` when none was saved.
    """
    try:
        sd, meta = load_checkpoint_file(path, _FORMAT, what="sentiment")
    except ValueError as exc:  # metadata that is not JSON
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"{str(path)!r}: the checkpoint metadata is not valid JSON ({exc}); "
                             "the file is damaged, write it again with save_sentiment_model") from exc
    cfg = meta.get("config") if isinstance(meta, dict) else None
    missing = [k for k in ("vocab_size", "d", "K", "tau") if not isinstance(cfg, dict) or k not in cfg]
    if not isinstance(meta, dict) or "tokenizer" not in meta:
        missing.append("tokenizer")
    need = {"embedding.weight", "readout.weight", "readout.bias", "alpha_raw"}
    missing += sorted(f"tensor {k}" for k in need - set(sd))
    if missing:
        raise ParameterError(f"{str(path)!r} is a damaged sentiment checkpoint: missing "
                             f"{', '.join(missing)}; write it again with save_sentiment_model")
    try:
        model = SentimentAttentionModel(cfg["vocab_size"], cfg["d"], K=cfg["K"], tau=cfg["tau"], random_state=0,
                                        dtype=dtype or sd["embedding.weight"].dtype, device=device)
        model.load_state_dict(sd)
        tok = Tokenizer.from_dict(meta["tokenizer"]) if meta["tokenizer"] is not None else None
    except (RuntimeError, TypeError, KeyError, ValueError) as exc:
        raise ParameterError(f"{str(path)!r} is a damaged sentiment checkpoint: {exc}") from exc
    model.eval()
    return model, tok
