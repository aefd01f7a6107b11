"""One event quantity ``truth/<target>`` ``(N,)`` [GeV] (default the neutrino energy), optionally for some
classes only (``classes``), from a classifier with one output, against the calorimetric estimate.

Loss: ``relative_mse`` (``((pred - true) / true)^2``, the quantity the resolution measures) or ``mse``; the
output is ``mean + std * network`` with the mean and spread of the train targets, so it starts at the right
scale. Metrics of ``r = (pred - true) / true``: ``resolution`` (its standard deviation), ``core_width`` (half
the central 68 %) and ``bias`` (median).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.config import fill_task_args
from detcnn.errors import ConfigError
from detcnn.evaluation.bootstrap import Metrics, bootstrap
from detcnn.kinds import NetworkKind
from detcnn.tasks.common import Target, TargetStats, class_indices, no_working_points, validation_score
from detcnn.tasks.resolution import residual_axes, resolution_report, resolution_values
from detcnn.training.plugin import Plugin

NAME = "energy_regression"
NETWORK = NetworkKind.CLASSIFIER
PIXEL_TRUTH = False
HEADLINE = ("resolution", False)
VALIDATION = ("resolution", "core_width", "bias")
#: Prefixes of the metrics followed in bins of a per-event variable and under systematic variations.
STUDY_METRICS: tuple[str, ...] = ("resolution",)
PER_CLASS: tuple[str, ...] = ()
PER_CLASS_TITLE = ""
FIGURES = ("residuals", "resolution_vs_energy", "examples")
PADDED: tuple[str, ...] = ()  # no prediction array is NaN-padded
LOSSES = ("relative_mse", "mse")
#: Its ``task_args`` (JSON-schema properties, the defaults filled by :func:`plugin`).
ARGS_SCHEMA: dict[str, Any] = {
    "target": {"type": "string", "default": "nu_energy",
               "description": "The event quantity [GeV], a truth branch of the image files (truth/<target>)."},
    "classes": {"type": "array", "items": {"type": "string"},
                "description": "Learn and evaluate on the events of these classes only (default all)."},
    "loss": {"type": "string", "default": "relative_mse", "description": f"The loss, one of {', '.join(LOSSES)}."},
}  # fmt: skip


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    """``truth/<task_args.target>`` of the events of ``task_args.classes`` (None: all; a ConfigError naming the
    dataset's classes)."""
    args = fill_task_args(NAME, args)
    return Target(f"truth/{args['target']}", class_indices(attrs, args.get("classes"), "task_args.classes"))


def target_stats(
    train: Any, rows: np.ndarray | None, target: str = f"truth/{ARGS_SCHEMA['target']['default']}"
) -> TargetStats:
    """Mean and standard deviation of the targets of the events ``rows`` of the train split (the output unit)."""
    targets = train.read(target, rows).astype(float)
    return TargetStats(shift=float(targets.mean()), scale=float(targets.std()) or 1.0)


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """``task_args``: ``target`` (a truth branch, default nu_energy), ``classes`` (names), ``loss``."""
    args = fill_task_args(NAME, args)
    loss = args["loss"]
    if loss not in LOSSES:
        raise ConfigError(f"energy regression loss must be one of {list(LOSSES)}, got '{loss}'", key="task_args.loss")
    from detcnn.training.losses import EventRegressionLoss

    judged = target(attrs, args)
    info = {"target": judged.dataset, "classes": args.get("classes"), "loss": loss}
    stats = target_stats(train, rows, judged.dataset) if train is not None else None
    return Plugin(
        target=judged.dataset, num_outputs=1, loss=EventRegressionLoss(loss), classes=judged.classes,
        predict=lambda out, x: out.float().squeeze(1), info=info,
        score=validation_score(metrics, prediction, VALIDATION, attrs),
        output=(stats.shift, stats.scale) if stats is not None else None,
    )  # fmt: skip


def prediction(pred: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``pred``: the estimated quantity ``(N,)`` [GeV]."""
    return {"pred": pred}


def metrics(
    true: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Relative resolution of the event quantity: standard deviation, core width and bias of (pred - true) / true."""
    pred = prediction["pred"].astype(np.float64)
    true = np.asarray(true, dtype=np.float64)
    return bootstrap(lambda rows: resolution_values(pred[rows], true[rows]), len(true), indices)


working_points = no_working_points


def plot(
    path: Path, name: str, kind: str, true: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Relative residuals, and predicted against true energy."""
    from detcnn.report.plots import pyplot, save_figure

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    rel = (prediction["pred"] - true) / true
    residual_axes(a, rel, f"{name}: std. dev. {np.std(rel):.3f}")
    b.hist2d(true, prediction["pred"], bins=50, cmap="Blues")
    lim = [0, float(np.percentile(true, 99.5))]
    b.plot(lim, lim, "k--", lw=1)
    b.set_xlabel("true energy [GeV]")
    b.set_ylabel("predicted energy [GeV]")
    fig.tight_layout()
    save_figure(fig, path)


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Residuals and resolution against the true energy, examples (every view with the true and predicted
    energies), paired resolution differences."""
    from detcnn.report.figures import plot_energy_regression_examples

    per_event = {m: (a["pred"].astype(np.float64), a["true"].astype(np.float64)) for m, (_, a) in loaded.items()}
    return resolution_report(
        per_event, loaded, figures, HEADLINE, indices,
        lambda path: plot_energy_regression_examples(path, test, loaded, settings["seed"]),
    )  # fmt: skip
