"""The Sec. 3 package is split by the paper's parts; every public name stays where it was."""

import importlib
import subprocess
import sys

import pytest

import controlml.node

# controlml.node.__all__ before the split into flows/, simultaneous/, training/, transport/
PUBLIC_BEFORE_SPLIT = [
    "ACTIVATIONS", "ApproximationResult", "AprioriBoundStudy", "AutonomousResult", "BoundRun",
    "ClassificationResult", "Control", "InterpolationResult", "MulticlassResult", "Piece", "ResNet",
    "TorchNODE", "TrainingResult", "Trajectory", "TransportErrors", "TransportResult", "TubeField",
    "TurnpikeResult", "approximate", "approximation_switches", "apriori_bound_study",
    "autonomous_interpolate", "cells_for_switches", "classification_bounds", "classify",
    "classify_multiclass", "count_runs", "curve_density", "density_errors", "fit", "fit_turnpike",
    "flow", "gaussian_mixture_density", "interpolate", "inverse_control", "inverse_flow",
    "load_checkpoint", "log_jacobian", "num_pieces", "paper_bounds", "phi_expm1", "piece_kind",
    "pushforward_logdensity", "runs_distribution", "save_checkpoint", "switch_probability",
    "to_resnet", "torch_bv_norm", "training_objective", "transport", "transport_errors",
    "tube_field", "uniform_box_logdensity", "vertex_autonomous",
]
PARTS = ("flows", "simultaneous", "training", "transport")


def test_every_public_name_is_still_importable_from_controlml_node():
    assert set(PUBLIC_BEFORE_SPLIT) <= set(controlml.node.__all__)
    for name in PUBLIC_BEFORE_SPLIT:
        assert getattr(controlml.node, name) is not None, name


@pytest.mark.parametrize("part", PARTS)
def test_each_part_of_the_paper_has_its_own_subpackage(part):
    sub = importlib.import_module(f"controlml.node.{part}")
    assert sub.__all__, part
    for name in sub.__all__:
        obj = getattr(sub, name)
        if name in controlml.node.__all__:  # one object, whichever way it is imported
            assert getattr(controlml.node, name) is obj, name


def test_the_public_names_are_the_union_of_the_parts():
    union = set().union(*(importlib.import_module(f"controlml.node.{p}").__all__ for p in PARTS))
    assert set(controlml.node.__all__) <= union


def test_no_flat_modules_left_in_node():
    from pathlib import Path

    flat = sorted(p.name for p in Path(controlml.node.__file__).parent.glob("_*.py")
                  if p.name != "__init__.py")
    assert flat == []


def test_importing_node_does_not_import_torch():
    code = "import sys, controlml.node; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_transport_result_exposes_its_target_and_the_grid_publicly():
    import numpy as np

    from controlml.node import transport
    from controlml.node.transport import TargetDensity, grid_midpoints

    H = np.array([[1.0, 3.0], [2.0, 2.0]])
    box = np.array([[0.0, 0.0], [2.0, 1.0]])
    r = transport([[0, 0], [1, 1]], H, box=box, num_cells=(2, 2), floor=0.0, grid=40,
                  num_samples=100, random_state=0)
    assert isinstance(r.target, TargetDensity)
    G, vol = grid_midpoints(box, 2, 2)
    np.testing.assert_allclose(G, [[0.5, 0.25], [0.5, 0.75], [1.5, 0.25], [1.5, 0.75]])
    assert vol == 0.5
    # cell weights 1:3:2:2 of total 8 on cells of area 0.5: density = weight / (8 * 0.5)
    np.testing.assert_allclose(r.target.density(G), [0.25, 0.75, 0.5, 0.5])
    S = r.target.sample(4000, random_state=1)
    assert S.shape == (4000, 2) and np.all((S >= box[0]) & (S <= box[1]))
    assert abs(np.mean((S[:, 0] < 1) & (S[:, 1] > 0.5)) - 3 / 8) < 0.03


def test_cellwise_reference_flow_is_public():
    from controlml.node.flows import cellwise_flow

    assert callable(cellwise_flow)
