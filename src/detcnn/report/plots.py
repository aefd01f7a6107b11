"""Report plots: overlaid ROC curves, confusion matrices, average images per class, observable distributions,
and the two helpers every figure of detcnn is drawn and written with (:func:`pyplot`, :func:`save_figure`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.io.atomic import atomic_path


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed); every figure is drawn with it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> None:
    """Write ``fig`` to ``path`` (PNG, 110 dpi) atomically, and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    pyplot().close(fig)


def plot_roc_overlay(
    path: str | Path,
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    signal: str,
    background: str,
    dashed: Collection[str] = (),
) -> None:
    """Background rejection vs signal efficiency, ``curves[name] = (eff_s, eff_b, auc)``.

    Curves named in ``dashed`` (the cut baselines) are drawn dashed, the networks solid.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name, (eff_s, eff_b, area) in curves.items():
        keep = eff_b > 0
        style = "--" if name in dashed else "-"
        ax.semilogy(eff_s[keep], 1.0 / eff_b[keep], style, label=f"{name} (AUC {area:.3f})")
    ax.set_xlabel(f"{signal} efficiency")
    ax.set_ylabel(f"{background} rejection 1/eff")
    ax.set_xlim(0, 1)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_mean_images(
    path: str | Path,
    X: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    channels: Sequence[str],
    extent: Sequence[float],
    longitudinal: str = "$\\Delta y$",
) -> None:
    """Average image of each class (rows) in each channel (columns), log colour scale; ``longitudinal``: the
    label of the column axis (rapidity or pseudorapidity)."""
    from matplotlib.colors import LogNorm

    plt = pyplot()
    n_cls, n_ch = len(class_names), len(channels)
    fig, axes = plt.subplots(n_cls, n_ch, figsize=(3.2 * n_ch, 3.0 * n_cls), squeeze=False)
    for c in range(n_cls):
        mean = X[y == c].mean(axis=0) if np.any(y == c) else np.zeros(X.shape[1:])
        for k in range(n_ch):
            img = mean[k]
            positive = img[img > 0]
            norm = (
                LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max()) if len(positive) else None
            )
            im = axes[c, k].imshow(img, origin="lower", extent=list(extent), norm=norm, cmap="viridis")
            axes[c, k].set_title(f"{class_names[c]}: {channels[k]}", fontsize=9)
            axes[c, k].set_xlabel(f"{longitudinal} (rotated)")
            axes[c, k].set_ylabel("$\\Delta\\phi$ (rotated)")
            fig.colorbar(im, ax=axes[c, k], fraction=0.046)
    fig.tight_layout()
    save_figure(fig, path)


def plot_observables(
    path: str | Path, observables: Mapping[str, np.ndarray], y: np.ndarray, class_names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Histogram of each observable per class, means in the legend; returns the means."""
    from detcnn.report.histograms import hep_style, step

    plt = pyplot()
    names = list(observables)
    means: dict[str, dict[str, float]] = {}
    with hep_style():
        fig, axes = plt.subplots(1, len(names), figsize=(3.8 * len(names), 3.6), squeeze=False)
        for ax, name in zip(axes[0], names, strict=True):
            values = observables[name]
            lo, hi = np.percentile(values, [0.5, 99.5])
            hi = max(hi, lo + 1e-9)
            bins = np.arange(lo - 0.5, hi + 1.5) if name == "n_constituents" else np.linspace(lo, hi, 40)
            means[name] = {}
            for c, cls in enumerate(class_names):
                v = values[y == c]
                means[name][cls] = float(v.mean()) if len(v) else float("nan")
                step(ax, v, bins, f"{cls} (mean {means[name][cls]:.3g})", density=True, clip=True)
            ax.set_xlabel(name)
            ax.set_ylabel("density")
            ax.legend()
        fig.tight_layout()
        save_figure(fig, path)
    return means


def plot_auc_vs_parameters(
    path: str | Path, points: Mapping[str, tuple[int, float, float]], reference: Mapping[str, float] | None = None
) -> None:
    """Test AUC (with its bootstrap error) against trainable parameters, one point per network;
    ``reference`` AUCs (the cut baselines) are drawn as horizontal lines."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, (n_params, auc_value, err) in points.items():
        ax.errorbar(n_params, auc_value, yerr=err, fmt="o", capsize=3)
        ax.annotate(name, (n_params, auc_value), textcoords="offset points", xytext=(5, 4), fontsize=8)
    for name, auc_value in (reference or {}).items():
        ax.axhline(auc_value, ls="--", lw=1, color="grey")
        ax.annotate(name, (ax.get_xlim()[0], auc_value), textcoords="offset points", xytext=(3, 3), fontsize=7,
                    color="grey")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test AUC")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    save_figure(fig, path)


def plot_confusion(
    path: Path, title: str, conf: np.ndarray, labels: list[str], xlabel: str = "predicted", ax: Any = None
) -> None:
    """Row-normalised confusion matrix (rows: truth) with the fractions written in the cells."""
    plt = pyplot()
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
        save_figure(fig, path)
