"""The localisation task's report: Jaccard index, RMSE and efficiency against emitter density for every
model, the paired comparison of the best network and the best baseline at the highest and the lowest
density, example frames, and the super-resolved image of the structured sample.

The densities are the samples' (event classes') true emitter densities, ``truth/density`` of the image
file; the structured sample (``filaments``) is drawn apart from the uniform ones. The figures are drawn by
:mod:`detcnn.report.localisation_figures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.localisation import frame_counts, scores
from detcnn.report.localisation_figures import STRUCTURED, plot_examples, plot_super_resolution, plot_versus_density


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
    """``key`` of model a minus model b on the ``frames`` (boolean ``(n,)``), over the same resamples: the paired
    difference (:func:`detcnn.evaluation.bootstrap.paired`) with each model's value on all frames."""
    from detcnn.evaluation.bootstrap import paired

    def fn(counts: np.ndarray) -> Any:
        return lambda rows: scores(counts[rows[frames[rows]]])[key]

    d = paired(fn(counts_a), fn(counts_b), n, indices).as_dict()
    d.update(network_value=fn(counts_a)(np.arange(n)), baseline_value=fn(counts_b)(np.arange(n)))
    return d


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray, headline: tuple[str, bool], tolerance_nm: float,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The figures of :data:`detcnn.tasks.localisation.FIGURES` and the paired comparisons (module doc), the pairs
    matched within ``tolerance_nm`` (the test file's, as in every model's metrics)."""
    from detcnn.kinds import ModelKind
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_kind

    summaries = [s for s, _ in loaded.values()]
    first = next(iter(loaded.values()))[1]
    y, rows = first["y"], first["rows"]
    emitters = test.pixels["emitters"][rows]
    densities = sample_densities(test, y, rows)
    out: dict[str, Any] = {"models": {m: s["metrics"][f"test/{headline[0]}"]["value"] for m, (s, _) in loaded.items()},
                           "densities": densities, "match_tolerance_nm": float(tolerance_nm)}  # fmt: skip
    text: list[str] = []
    best_net = best_of_kind(summaries, ModelKind.NETWORK, headline)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, headline)
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
