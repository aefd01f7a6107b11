"""Deposited energy per pixel of detector views: ``e_pix`` ``(N, V, H, W)`` [MeV] from a segmenter with one
output per pixel ``(N, 1, V, H, W)``, against a charge calibration.

Loss: mean squared error over all pixels, the output in units of the train RMS of the pixels with energy.
Prediction: zero where a pixel has no charge (the energy of what the detector saw, as for segmentation).

Metrics: ``pixel_rmse`` [MeV] on the pixels with deposited energy, and the bias and width of the relative
residual of the summed energy per event: ``event_resolution`` (standard deviation), ``event_core_width``,
``event_bias``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import ConfigError
from detcnn.evaluation.bootstrap import Metrics, bootstrap
from detcnn.kinds import NetworkKind
from detcnn.tasks.common import Target, TargetStats, charge_empty, check_args, no_working_points, validation_score
from detcnn.tasks.resolution import residual_axes, resolution_report, resolution_values
from detcnn.training.plugin import Plugin

NAME = "pixel_regression"
NETWORK = NetworkKind.SEGMENTER
PIXEL_TRUTH = True
HEADLINE = ("event_resolution", False)
VALIDATION = ("pixel_rmse", "event_resolution", "event_core_width", "event_bias")
#: Prefixes of the metrics followed in bins of a per-event variable and under systematic variations.
STUDY_METRICS: tuple[str, ...] = ("event_resolution",)
PER_CLASS: tuple[str, ...] = ()
PER_CLASS_TITLE = ""
FIGURES = ("residuals", "resolution_vs_energy", "examples")
PADDED: tuple[str, ...] = ()  # no prediction array is NaN-padded
#: Its ``task_args`` (JSON-schema properties): none.
ARGS_SCHEMA: dict[str, Any] = {}
BLOCK_ROWS = 4096


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    """The deposited energy per pixel ``e_pix`` [MeV] of every event."""
    return Target("e_pix")


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """The RMS [MeV] of the pixels with deposited energy over the whole train split (all its events, whatever
    ``rows``), read block by block: the output unit (no shift)."""
    e_pix = train.dataset("e_pix")
    sq, n = 0.0, 0
    for start in range(0, len(e_pix), BLOCK_ROWS):
        e = e_pix[start : start + BLOCK_ROWS]
        sq, n = sq + float(np.square(e[e > 0], dtype=np.float64).sum()), n + int(np.count_nonzero(e))
    return TargetStats(scale=float(np.sqrt(sq / max(n, 1))) or 1.0)


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """MSE per pixel; the prediction is the energy where the pixel has charge (module doc)."""
    check_args(NAME, args, ())
    if "pixel_class_names" not in attrs:
        raise ConfigError("pixel_regression needs the deposited energy per pixel (e_pix): a detector dataset",
                          key="task")  # fmt: skip
    import torch

    from detcnn.training.losses import PixelMSE

    n_views = len(attrs.get("views", [None]))

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        energy = out.float().squeeze(1)
        return torch.where(charge_empty(x, n_views), torch.zeros_like(energy), energy)

    return Plugin(
        target=target(attrs, args).dataset, num_outputs=1, loss=PixelMSE(), predict=predict,
        score=validation_score(metrics, prediction, VALIDATION, attrs),
        output=(0.0, target_stats(train, rows).scale) if train is not None else None,
    )  # fmt: skip


def prediction(pred: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``pred``: energy per pixel ``(N, V, H, W)`` [MeV]."""
    return {"pred": pred}


def metrics(
    e_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Per-pixel RMS error [MeV] on pixels with deposited energy, and the resolution of the per-event sum."""
    pred = prediction["pred"]
    n = len(e_pix)
    hit = e_pix > 0
    sq = np.where(hit, (pred - e_pix) ** 2, 0.0).reshape(n, -1).sum(axis=1)
    n_hit = hit.reshape(n, -1).sum(axis=1)
    true_sum, pred_sum = _event_sums(e_pix), _event_sums(pred)

    def fn(rows: np.ndarray) -> dict[str, float]:
        return {"pixel_rmse": float(np.sqrt(sq[rows].sum() / max(n_hit[rows].sum(), 1))),
                **resolution_values(pred_sum[rows], true_sum[rows], "event_")}  # fmt: skip

    return bootstrap(fn, n, indices)


def _event_sums(pixels: np.ndarray) -> np.ndarray:
    """``(N,)`` float64 sum over every view and pixel of ``(N, V, H, W)``."""
    return pixels.reshape(len(pixels), -1).sum(axis=1).astype(np.float64)


working_points = no_working_points


def plot(
    path: Path, name: str, kind: str, e_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Relative residuals of the summed energy per event, and per pixel."""
    from detcnn.report.plots import pyplot, save_figure

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    n = len(e_pix)
    true_sum, pred_sum = e_pix.reshape(n, -1).sum(axis=1), prediction["pred"].reshape(n, -1).sum(axis=1)
    ok = true_sum > 0
    residual_axes(a, (pred_sum[ok] - true_sum[ok]) / true_sum[ok], f"{name}: summed energy per event")
    hit = e_pix > 1.0
    residual_axes(b, (prediction["pred"][hit] - e_pix[hit]) / e_pix[hit], f"{name}: pixels with > 1 MeV")
    b.set_ylabel("pixels")
    fig.tight_layout()
    save_figure(fig, path)


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Residuals and resolution of the summed energy per event, examples (charge, true and predicted energy
    per pixel), paired resolution differences."""
    from detcnn.report.figures import plot_pixel_regression_examples

    per_event = {m: (_event_sums(a["pred"]), _event_sums(test.e_pix[a["rows"]])) for m, (_, a) in loaded.items()}
    return resolution_report(
        per_event, loaded, figures, HEADLINE, indices,
        lambda path: plot_pixel_regression_examples(path, test, loaded, settings["seed"]),
    )  # fmt: skip
