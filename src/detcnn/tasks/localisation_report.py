"""The localisation task's report: Jaccard index, RMSE and efficiency against emitter density for every
model, the paired comparison of the best network and the best baseline at the highest and the lowest
density, example frames, and the super-resolved image of the structured sample.

The densities are the samples' (event classes') true emitter densities, ``truth/density`` of the image
file; the structured sample (``filaments``) is drawn apart from the uniform ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.localisation import frame_counts, scores

STRUCTURED = "filaments"
RENDER_NM = 10.0  # the super-resolved image's pixel


def sample_densities(test: Any, y: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """``{sample: mean true density [um^-2]}`` of the evaluated frames (NaN without ``truth/density``)."""
    density = test.truth.get("density")
    out = {}
    for k, name in enumerate(test.class_names):
        mine = rows[y == k]
        out[name] = float(np.mean(density[mine])) if density is not None and len(mine) else float("nan")
    return out


def _paired(counts_a: np.ndarray, counts_b: np.ndarray, frames: np.ndarray, key: str, n: int,
            indices: np.ndarray) -> dict[str, float]:  # fmt: skip
    """``key`` of model a minus model b on the ``frames`` (boolean ``(n,)``), over the same resamples."""
    from detcnn.report.paired import paired_rows

    def fn(counts: np.ndarray) -> Any:
        return lambda rows: scores(counts[rows[frames[rows]]])[key]

    d = paired_rows(fn(counts_a), fn(counts_b), n, indices)
    d.update(network_value=fn(counts_a)(np.arange(n)), baseline_value=fn(counts_b)(np.arange(n)))
    return d


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray, headline: tuple[str, bool], tolerance_nm: float,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The figures of :data:`detcnn.tasks.localisation.FIGURES` and the paired comparisons (module doc)."""
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_kind

    summaries = [s for s, _ in loaded.values()]
    first = next(iter(loaded.values()))[1]
    y, rows = first["y"], first["rows"]
    emitters = test.pixels["emitters"][rows]
    densities = sample_densities(test, y, rows)
    out: dict[str, Any] = {"models": {m: s["metrics"][f"test/{headline[0]}"]["value"] for m, (s, _) in loaded.items()},
                           "densities": densities}  # fmt: skip
    text: list[str] = []
    best_net, best_cut = best_of_kind(summaries, "network", headline), best_of_kind(summaries, "cuts", headline)
    uniform = {s: d for s, d in densities.items() if s != STRUCTURED and np.isfinite(d)}
    if best_net and best_cut and uniform:
        counts = {m: frame_counts(loaded[m][1]["locs"], emitters, tolerance_nm) for m in (best_net, best_cut)}
        names = list(test.class_names)
        for label, sample, key in (("highest", max(uniform, key=uniform.get), "jaccard"),
                                   ("lowest", min(uniform, key=uniform.get), "rmse_nm")):  # fmt: skip
            frames = y == names.index(sample)
            d = _paired(counts[best_net], counts[best_cut], frames, key, len(y), indices)
            out[f"paired_{key}_difference_{label}_density"] = {"network": best_net, "baseline": best_cut,
                                                                "sample": sample, **d}  # fmt: skip
            what = f"{'Jaccard index' if key == 'jaccard' else 'Lateral RMSE [nm]'} at the {label} density " \
                   f"(sample {sample}, {uniform[sample]:g} emitters/µm²; {d['network_value']:.4g} against " \
                   f"{d['baseline_value']:.4g})"  # fmt: skip
            text.append(sentence(what, best_net, best_cut, d))
    plot_versus_density(figures["versus_density"], summaries, densities)
    ranked_nets = [m for m in (best_net, best_cut) if m]
    plot_examples(figures["examples"], test, rows, y, {m: loaded[m][1]["locs"] for m in ranked_nets},
                  emitters, densities, settings["seed"])  # fmt: skip
    plot_super_resolution(figures["super_resolution"], test, rows, y,
                          {m: loaded[m][1]["locs"] for m in ranked_nets}, emitters)  # fmt: skip
    return out, text


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)  # JSON null: a metric without a value


def plot_versus_density(path: Path, summaries: list[dict[str, Any]], densities: Mapping[str, float]) -> None:
    """Jaccard index, RMSE [nm] and efficiency of every model against the samples' densities [um^-2]; the
    structured sample as an open marker at its own density."""
    from detcnn.report.plots import _plt, _save

    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    uniform = sorted((d, s) for s, d in densities.items() if s != STRUCTURED and np.isfinite(d))
    for k, summary in enumerate(summaries):
        metrics, style = summary["metrics"], "--" if summary["kind"] == "cuts" else "-"
        for ax, key in zip(axes, ("jaccard", "rmse_nm", "efficiency"), strict=True):
            got = [(d, metrics.get(f"test/{key}_{s}")) for d, s in uniform]
            got = [(d, m) for d, m in got if m is not None]
            xs, ys, errs = [d for d, _ in got], [_num(m["value"]) for _, m in got], [_num(m["err"]) for _, m in got]
            line = ax.errorbar(
                xs, ys, yerr=errs, ls=style, marker="o", capsize=3, label=summary["model"], color=f"C{k}"
            )
            structured = metrics.get(f"test/{key}_{STRUCTURED}")
            if structured is not None and np.isfinite(densities.get(STRUCTURED, np.nan)):
                ax.errorbar([densities[STRUCTURED]], [_num(structured["value"])], yerr=[_num(structured["err"])],
                            marker="s", mfc="none", ls="none", color=line[0].get_color())  # fmt: skip
    for ax, label in zip(axes, ("Jaccard index", "lateral RMSE [nm]", "efficiency E"), strict=True):
        ax.set_xlabel("emitter density [µm$^{-2}$]")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, title=f"open squares: {STRUCTURED}", title_fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_examples(path: Path, test: Any, rows: np.ndarray, y: np.ndarray, locs: Mapping[str, np.ndarray],
                  emitters: np.ndarray, densities: Mapping[str, float], seed: int) -> None:  # fmt: skip
    """Three frames of the densest uniform sample [photons] with the true emitters (circles) and the
    localisations of the best network and the best baseline."""
    from detcnn.report.plots import _plt, _save

    names = list(test.class_names)
    uniform = {s: d for s, d in densities.items() if s != STRUCTURED and np.isfinite(d)} or {names[0]: 0.0}
    candidates = np.flatnonzero(y == names.index(max(uniform, key=uniform.get)))
    picks = np.random.default_rng(seed).choice(candidates, size=min(3, len(candidates)), replace=False)
    extent = list(test.attrs.get("extent", [0, 1, 0, 1]))
    plt = _plt()
    fig, axes = plt.subplots(1, max(len(picks), 1), figsize=(4.5 * max(len(picks), 1), 4.5), squeeze=False)
    for ax, i in zip(axes[0], picks, strict=False):
        ax.imshow(test.X[rows[i], 0], origin="lower", extent=extent, cmap="gray")
        ax.plot(emitters[i, :, 0], emitters[i, :, 1], "o", mfc="none", mec="yellow", ms=9, label="true")
        for k, (name, found) in enumerate(locs.items()):
            ax.plot(found[i, :, 0], found[i, :, 1], "x+"[k % 2], color=f"C{k + 1}", ms=7, label=name)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel("x [nm]")
        ax.set_ylabel("y [nm]")
    if len(picks):
        axes[0][0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    _save(fig, path)


def render(points: np.ndarray, size_nm: float, pixel_nm: float = RENDER_NM) -> np.ndarray:
    """A super-resolved image: localisations ``(M, >=2)`` [nm] histogrammed on a ``pixel_nm`` grid and
    smoothed by a Gaussian of one render pixel, ``(n, n)`` with ``n = size_nm / pixel_nm``."""
    from scipy.ndimage import gaussian_filter

    n = round(size_nm / pixel_nm)
    ok = np.all(np.isfinite(points[:, :2]), axis=1)
    image, _, _ = np.histogram2d(points[ok, 1], points[ok, 0], bins=n, range=[[0, size_nm], [0, size_nm]])
    return gaussian_filter(image, 1.0)


def plot_super_resolution(path: Path, test: Any, rows: np.ndarray, y: np.ndarray, locs: Mapping[str, np.ndarray],
                          emitters: np.ndarray) -> None:  # fmt: skip
    """The structured sample (all its test frames): the plain sum of the frames, the true emitters and the
    localisations of each model rendered at :data:`RENDER_NM` (all frames when there is no such sample)."""
    from detcnn.report.plots import _plt, _save

    names = list(test.class_names)
    chosen = y == names.index(STRUCTURED) if STRUCTURED in names else np.ones(len(y), bool)
    extent = list(test.attrs.get("extent", [0, 1, 0, 1]))
    size = float(extent[1] - extent[0])
    panels = [("sum of frames (camera pixels)", test.X[rows[chosen], 0].sum(axis=0)),
              ("true emitters", render(emitters[chosen].reshape(-1, emitters.shape[-1]), size))]  # fmt: skip
    panels += [(name, render(found[chosen].reshape(-1, found.shape[-1]), size)) for name, found in locs.items()]
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4))
    for ax, (title, image) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(image, origin="lower", extent=extent, cmap="inferno", vmax=np.quantile(image, 0.995) or None)
        ax.set_title(f"{title}\n{int(chosen.sum())} frames", fontsize=9)
        ax.set_xlabel("x [nm]")
    np.atleast_1d(axes)[0].set_ylabel("y [nm]")
    fig.tight_layout()
    _save(fig, path)
