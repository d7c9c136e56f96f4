"""Sentiment model of Sec. 4.1 against the baselines a user would otherwise pick.

1. Hardmax evaluation of the batched, masked torch layer vs a per-token NumPy loop of (4.1)
   (the reference implementation style), on the same weights: time and max difference.
2. The whole pipeline (train + hardmax evaluation of the weight-tied attention model, d = 8)
   vs a bag-of-words logistic regression (scikit-learn) on the same rt-polarity split:
   time and test accuracy.  Needs ``../shared/data/rt-polarity`` beside the repository.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _numpy_hardmax_logits(model, T, M):
    E = model.embedding.weight.detach().double().numpy()
    v = model.readout.weight.detach().double().numpy()[0]
    b = float(model.readout.bias.detach())
    a = float(model.alpha.detach())
    out = np.empty(len(T))
    for r in range(len(T)):
        Z = E[T[r][M[r]]]
        for _ in range(model.K):
            S = Z @ Z.T
            new = np.empty_like(Z)
            for i in range(len(Z)):
                C = S[i] >= S[i].max() - 1e-12 * (np.linalg.norm(Z[i]) * np.linalg.norm(Z, axis=1).max())
                new[i] = (Z[i] + a * Z[C].mean(0)) / (1 + a)
            Z = new
        out[r] = v @ Z.mean(0) + b
    return out


def run(quick: bool = False) -> list[dict]:
    from controlml.attention.sentiment import (
        SentimentAttentionModel,
        Tokenizer,
        bag_of_words_baseline,
        evaluate_sentiment,
        load_sentiment,
        split_sentiment,
        train_sentiment,
    )

    if not (DATA / "rt-polarity").is_dir():
        return [{"name": "sentiment", "ours_s": float("nan"), "baseline": "-", "baseline_s": float("nan"),
                 "ratio": float("nan"), "note": f"no data at {DATA}/rt-polarity"}]
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = load_sentiment(DATA, max_reviews=3000 if quick else None, random_state=0)
        tr, te = split_sentiment(data, random_state=0)
        tok = Tokenizer(max_vocab=5000, min_count=2).fit([data.texts[i] for i in tr])
        T, M = tok.encode(data.texts, n=32)
        y = data.labels
        rows = []

        model = SentimentAttentionModel(len(tok.vocab), 8, K=8, random_state=0)
        nb = 200 if quick else 1000
        t0 = time.perf_counter()
        with torch.no_grad():
            ours = model(T[te[:nb]], M[te[:nb]], tau=0.0).double().numpy()
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = _numpy_hardmax_logits(model, T[te[:nb]], M[te[:nb]])
        t_ref = time.perf_counter() - t0
        rows.append({"name": f"hardmax forward, {nb} reviews, K=8, d=8", "ours_s": t_ours,
                     "baseline": "per-token NumPy loop", "baseline_s": t_ref, "ratio": t_ref / t_ours,
                     "max_abs_diff": float(np.abs(ours - ref).max())})

        t0 = time.perf_counter()
        res = train_sentiment(model, T[tr], M[tr], y[tr], epochs=2 if quick else 4, lr=2e-2, random_state=0)
        ev = evaluate_sentiment(res.model, T[te], M[te], y[te])
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        bow = bag_of_words_baseline([data.texts[i] for i in tr], y[tr], [data.texts[i] for i in te],
                                    y[te], tokenizer=tok)
        t_bow = time.perf_counter() - t0
        rows.append({"name": f"train+eval d=8 on rt-polarity ({len(tr)}/{len(te)})", "ours_s": t_ours,
                     "baseline": "BoW logistic regression (scikit-learn)", "baseline_s": t_bow,
                     "ratio": t_bow / t_ours, "acc_ours": ev.accuracy, "acc_baseline": bow.accuracy,
                     "params_ours": sum(p.numel() for p in model.parameters()),
                     "params_baseline": bow.n_features + 1})
        return rows
    finally:
        torch.set_num_threads(old)
