"""The one plot of an evaluation, per task: ROC curve, pixel confusion matrix, or energy residuals.

Each function takes ``(path, model_name, kind, truth, prediction, attrs)`` so the evaluate stage calls them
through the :data:`TASK_PLOTS` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import auc, roc
from detcnn.report.plots import _plt, _save, plot_roc_overlay


def plot_classification(
    path: Path, name: str, kind: str, y: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Signal efficiency against background rejection (multiclass: the signal class against the rest)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    signal = int(attrs.get("signal_class", 1 if len(names) == 2 else 0))
    is_signal = (y == signal).astype(int)
    eff_s, eff_b = roc(is_signal, prediction["score"])
    background = names[1 - signal] if len(names) == 2 else "other classes"
    curves = {name: (eff_s, eff_b, auc(is_signal, prediction["score"]))}
    plot_roc_overlay(path, curves, names[signal], background, dashed={name} if kind == "cuts" else ())


def plot_confusion(
    path: Path, title: str, conf: np.ndarray, labels: list[str], xlabel: str = "predicted", ax: Any = None
) -> None:
    """Row-normalised confusion matrix (rows: truth) with the fractions written in the cells."""
    plt = _plt()
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(4.6, 4))
    frac = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{frac[i, j]:.2f}", ha="center", va="center", color="white" if frac[i, j] > 0.5 else "k")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=9)
    if own:
        fig.tight_layout()
        _save(fig, path)


def plot_segmentation(
    path: Path, name: str, kind: str, y_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Pixel confusion matrix over all test pixels, rows normalised."""
    from detcnn.evaluation.segmentation import pixel_confusion

    labels = list(attrs["pixel_class_names"])
    conf = pixel_confusion(y_pix, prediction["pred"], len(labels))
    plot_confusion(path, f"{name}: pixel confusion (rows: truth)", conf, labels)


def _residual_axes(ax: Any, rel: np.ndarray, label: str) -> None:
    ax.hist(np.clip(rel, -1, 1), bins=80, range=(-1, 1), histtype="step", label=label)
    ax.set_xlabel("(predicted - true) / true")
    ax.set_ylabel("events")
    ax.legend(fontsize=8)


def plot_energy_regression(
    path: Path, name: str, kind: str, true: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Relative residuals, and predicted against true energy."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    rel = (prediction["pred"] - true) / true
    _residual_axes(a, rel, f"{name}: RMS {np.sqrt(np.mean(rel**2)):.3f}")
    b.hist2d(true, prediction["pred"], bins=50, cmap="Blues")
    lim = [0, float(np.percentile(true, 99.5))]
    b.plot(lim, lim, "k--", lw=1)
    b.set_xlabel("true energy [GeV]")
    b.set_ylabel("predicted energy [GeV]")
    fig.tight_layout()
    _save(fig, path)


def plot_pixel_regression(
    path: Path, name: str, kind: str, e_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Relative residuals of the summed energy per event, and per pixel."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    n = len(e_pix)
    true_sum, pred_sum = e_pix.reshape(n, -1).sum(axis=1), prediction["pred"].reshape(n, -1).sum(axis=1)
    ok = true_sum > 0
    _residual_axes(a, (pred_sum[ok] - true_sum[ok]) / true_sum[ok], f"{name}: summed energy per event")
    hit = e_pix > 1.0
    _residual_axes(b, (prediction["pred"][hit] - e_pix[hit]) / e_pix[hit], f"{name}: pixels with > 1 MeV")
    b.set_ylabel("pixels")
    fig.tight_layout()
    _save(fig, path)


TASK_PLOTS = {
    "classification": plot_classification,
    "segmentation": plot_segmentation,
    "pixel_regression": plot_pixel_regression,
    "energy_regression": plot_energy_regression,
}
