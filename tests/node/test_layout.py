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
