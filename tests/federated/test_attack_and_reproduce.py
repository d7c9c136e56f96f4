"""The reconstruction attack and the Sec. 5 federated experiments in quick mode."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from controlml.errors import ParameterError
from controlml.federated import ClientData, FedAvg, FLModel, client_update, psnr, reconstruct
from controlml.reproduce import reproduce


def test_single_step_update_is_inverted():
    """One step on one digit: the matched gradient pins the image down (PSNR far above the
    mean-digit guess) and the label comes out of the bias update."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xc, yc = X[[5]], y[[5]]
    model = FLModel("mlp", 64, 10)
    z = model.init(torch.Generator().manual_seed(0), dtype=torch.float64)
    upd = client_update(FedAvg(), model, z, ClientData.from_arrays([(Xc, yc)]),
                        [np.random.default_rng(0)], epochs=1, lr=0.1, batch_size=None)
    r = reconstruct((z.numpy(), upd.U[0].numpy()), model, num_samples=1, local_steps=1, lr=0.1,
                    X_true=Xc, iterations=200, random_state=0)
    assert r.labels.tolist() == yc.tolist()
    base = psnr(float(((Xc - X.mean(0)) ** 2).mean()))
    assert r.psnr > base + 6, (r.psnr, base)
    assert r.psnr == pytest.approx(10 * np.log10(1 / r.mse))
    with pytest.raises(ParameterError, match="P = "):
        reconstruct((z.numpy()[:5], upd.U[0].numpy()), model, num_samples=1, local_steps=1,
                    lr=0.1)


@pytest.mark.slow
def test_federated_experiments_quick(tmp_path):
    names = ["fedadmm-insa", "fl-game", "fl-attack"]
    rep = reproduce(names, quick=True, out=tmp_path, progress=False)
    assert [r.name for r in rep.results] == names
    assert all(r.status == "passed" for r in rep.results), [
        (r.name, r.status, r.error, [c for c in r.checks if not c.holds]) for r in rep.results]
    assert any(f.path.endswith(".png") for r in rep.results for f in r.figures)
