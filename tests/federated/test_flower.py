"""The Flower Strategy/ClientApp on Flower's Ray simulation engine equals the simulator."""

import numpy as np
import pytest
import torch

pytest.importorskip("flwr")
pytest.importorskip("ray")

from controlml.federated import simulate  # noqa: E402
from controlml.federated.flower import run_flower  # noqa: E402


# Ray leaves its log files (/dev/null handles) and a helper subprocess to the garbage
# collector at shutdown; these are Ray's own resource warnings, filtered for this test only.
@pytest.mark.filterwarnings("ignore:Exception ignored in:pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:unclosed file <_io:ResourceWarning")
@pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning")
@pytest.mark.slow
def test_flower_round_trip_equals_simulator_with_a_dropout():
    """4 clients x 3 rounds of FedADMM-InSa through Flower (Ray, 1 CPU): same z, accuracy,
    epochs, beta as the in-process simulator; client 1 drops out mid-round 1 and the round
    completes with the others (in both engines)."""
    kw = dict(num_clients=4, rounds=3, fraction=0.75, local_epochs=3, dtype=torch.float64,
              random_state=3, faults={(1, 1): "dropout"})
    try:
        hf = run_flower("fedadmm-insa", num_cpus=1, **kw)
    finally:
        import ray

        ray.shutdown()
    hs = simulate("fedadmm-insa", progress=False, **kw)
    assert hs.dropped == ((1, 1),) and hf.dropped == ((1, 1),)
    assert hf.status == hs.status == "dropped_clients"
    assert np.abs(hf.z - hs.z).max() <= 1e-6
    assert np.allclose(hf.accuracy, hs.accuracy, atol=1e-12)
    assert np.allclose(hf.loss, hs.loss, atol=1e-6)
    assert np.array_equal(hf.epochs, hs.epochs) and np.array_equal(hf.selected, hs.selected)
    assert np.allclose(hf.beta, hs.beta) and np.allclose(hf.lambda_norm, hs.lambda_norm, atol=1e-6)
    assert np.array_equal(hf.bytes_up, hs.bytes_up)
    assert hf.accuracy[-1] > hf.initial_accuracy  # it learned something
