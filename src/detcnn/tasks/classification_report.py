"""The classification report's comparisons: the best network against the best baseline of every family (paired
AUC differences) and, where a cut-based selection exists, every network's and every multivariate baseline's
signal efficiency at the purity of that selection - NOVA's comparison - with working points set on the
validation split.

The working point at the selection's purity: the selection's purity is measured on the validation events, each
model's threshold on P(signal) is set there to reach it (:func:`~detcnn.evaluation.working_points.threshold_at_purity`),
and the fixed thresholds are applied to the test events, where the efficiencies are compared on the same
bootstrap resamples (paired). Nothing is tuned on the test events; the purities reached on test are reported
beside the efficiencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from detcnn.evaluation.bootstrap import on_rows, paired
from detcnn.evaluation.metrics import auc
from detcnn.evaluation.multiclass import selection_efficiency_purity
from detcnn.evaluation.working_points import threshold_at_purity
from detcnn.kinds import BaselineFamily, ModelKind
from detcnn.tasks.classification import HEADLINE, Loaded, is_signal_of, signal_class

#: Families whose best member's selection sets the purity of the efficiency comparison: the cut analyses.
SELECTIONS = (BaselineFamily.CUTS, BaselineFamily.SINGLE_OBSERVABLE)


def comparisons(loaded: Loaded, test: Any, indices: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """``paired_auc_difference`` (best network against best baseline), ``versus`` (``{family: {network,
    baseline, auc}}``, the best network against the best baseline of each family) and the entries of
    :func:`at_selection_purity`, with their sentences and tables."""
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_families, best_of_kind

    summaries = [s for s, _ in loaded.values()]
    is_signal = is_signal_of(loaded, test)
    best_net = best_of_kind(summaries, ModelKind.NETWORK, HEADLINE)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, HEADLINE)
    out: dict[str, Any] = {}
    text: list[str] = []
    if not (best_net and best_cut):
        return out, text
    diff = _auc_difference(loaded, is_signal, best_net, best_cut, indices)
    out["paired_auc_difference"] = {"network": best_net, "baseline": best_cut, **diff}
    text.append(sentence("AUC of the best network against the best baseline", best_net, best_cut, diff))
    out["versus"] = {}
    for family, baseline in best_of_families(summaries, HEADLINE).items():
        diff = _auc_difference(loaded, is_signal, best_net, baseline, indices)
        out["versus"][family] = {"network": best_net, "baseline": baseline, "auc": diff}
        if baseline == best_cut:
            continue  # said above
        what = f"AUC of the best network against the best {family.replace('_', ' ')} baseline"
        text.append(sentence(what, best_net, baseline, diff))
    more, table = at_selection_purity(loaded, test, is_signal.astype(bool), indices)
    out.update(more)
    return out, text + table


def _auc_difference(
    loaded: Loaded, is_signal: np.ndarray, a: str, b: str, indices: np.ndarray
) -> dict[str, float | int]:
    net, cut = (on_rows(auc, is_signal, loaded[m][1]["score"]) for m in (a, b))
    return paired(net, cut, len(is_signal), indices).as_dict()


def _selection(loaded: Loaded) -> str | None:
    """The best baseline of the cut families with a selection on both splits (``selected``, ``val_selected``)."""
    from detcnn.report.tables import ranked

    for s in ranked([s for s, _ in loaded.values()], HEADLINE):
        arrays = loaded[s["model"]][1]
        if s.get("family") in SELECTIONS and "val_selected" in arrays and arrays["selected"].any():
            return str(s["model"])
    return None


def at_selection_purity(
    loaded: Loaded, test: Any, is_signal: np.ndarray, indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """Every network's and multivariate baseline's signal efficiency at the validation purity of the best cut
    selection, minus the selection's, on test (paired): ``efficiency_at_baseline_purity`` (the best network),
    ``efficiency_at_baseline_purity_all`` (``networks``, ``multivariate``: every model) and, with a multivariate
    baseline, ``network_vs_multivariate_at_baseline_purity``; none without a selection."""
    from detcnn.report.tables import best_of_families, ranked

    cut = _selection(loaded)
    if cut is None:
        return {}, []
    signal = signal_class(test.attrs)
    arrays = loaded[cut][1]
    val_purity = selection_efficiency_purity(arrays["val_y"] == signal, arrays["val_selected"])[1]
    summaries = ranked([s for s, _ in loaded.values()], HEADLINE)
    networks = [s["model"] for s in summaries if s["kind"] == ModelKind.NETWORK]
    multivariate = [s["model"] for s in summaries if s.get("family") == BaselineFamily.MULTIVARIATE]
    if not networks:
        return {}, []
    effs = {m: _at_purity(loaded[m][1], signal, val_purity, is_signal) for m in networks + multivariate}
    base = Selection(is_signal, arrays["selected"].astype(bool))
    rows = {m: _versus(effs[m], base, len(is_signal), indices) for m in effs}
    best = networks[0]
    out = {
        "efficiency_at_baseline_purity": {"baseline": cut, "baseline_val_purity": val_purity, **rows[best]},
        "efficiency_at_baseline_purity_all": {
            "baseline": cut, "baseline_val_purity": val_purity,
            "networks": {m: rows[m] for m in networks}, "multivariate": {m: rows[m] for m in multivariate},
        },
    }  # fmt: skip
    best_mva = best_of_families(summaries, HEADLINE).get(BaselineFamily.MULTIVARIATE.value)
    if best_mva:
        diff = paired(effs[best].efficiency, effs[best_mva].efficiency, len(is_signal), indices).as_dict()
        out["network_vs_multivariate_at_baseline_purity"] = {"network": best, "baseline": best_mva, **diff}
    return out, _table(test, cut, val_purity, rows, out.get("network_vs_multivariate_at_baseline_purity"))


@dataclass(frozen=True)
class Selection:
    """A fixed selection of the test events (``passed`` ``(n,)`` bool: a cut selection, or a score above a
    threshold set on validation); its signal efficiency and purity on resampled rows."""

    is_signal: np.ndarray
    passed: np.ndarray

    def efficiency(self, rows: np.ndarray) -> float:
        return selection_efficiency_purity(self.is_signal[rows], self.passed[rows])[0]

    def purity(self, rows: np.ndarray) -> float:
        return selection_efficiency_purity(self.is_signal[rows], self.passed[rows])[1]


def _at_purity(arrays: Mapping[str, np.ndarray], signal: int, purity: float, is_signal: np.ndarray) -> Selection:
    """The test selection of a model's score cut at the threshold that reaches ``purity`` on validation."""
    threshold = threshold_at_purity(arrays["val_y"] == signal, arrays["val_score"], purity)
    return Selection(is_signal, arrays["score"] >= threshold)


def _versus(model: Selection, base: Selection, n: int, indices: np.ndarray) -> dict[str, float]:
    """A model's test efficiency and purity at its validation working point, the selection's, and the paired
    difference of the efficiencies."""
    rows = np.arange(n)
    eff_n, eff_b = model.efficiency(rows), base.efficiency(rows)
    diff = paired(model.efficiency, base.efficiency, n, indices).as_dict()
    return {**diff, "network_efficiency": eff_n, "network_purity": model.purity(rows), "baseline_efficiency": eff_b,
            "baseline_purity": base.purity(rows),
            "relative_gain": eff_n / eff_b - 1 if eff_b > 0 else float("nan")}  # fmt: skip


def _table(
    test: Any, cut: str, val_purity: float, rows: Mapping[str, Mapping[str, float]], mva: Mapping[str, Any] | None
) -> list[str]:
    """The sentence and markdown table of :func:`at_selection_purity`."""
    from detcnn.report.paired import sentence
    from detcnn.report.tables import markdown_table, undefined

    first = next(iter(rows.values()))
    names = test.class_names or ["background", "signal"]
    text = [
        f"\n{names[signal_class(test.attrs)]} selection at the purity of **{cut}**: {val_purity:.4f} on the "
        f"validation events, where each model's threshold on P(signal) is set to reach it; on the test events "
        f"**{cut}** keeps {first['baseline_efficiency']:.4f} of the signal at purity {first['baseline_purity']:.4f}. "
        "Efficiencies and purities below are on the test events with those fixed thresholds; the differences are "
        "paired (the same resampled test events for both):\n\n"
    ]
    table = [{"model": m, "efficiency": f"{r['network_efficiency']:.4f}", "purity": f"{r['network_purity']:.4f}",
              f"minus {cut}": f"{r['value']:+.4f} ± {r['err']:.4f}{undefined(r)}",
              "significance": f"{r['significance']:.1f} σ", "relative gain": f"{r['relative_gain']:+.1%}"}
             for m, r in rows.items()]  # fmt: skip
    text.append(markdown_table(table))
    if mva:
        what = "Signal efficiency at that purity, the best network against the best multivariate baseline"
        text.append(sentence(what, mva["network"], mva["baseline"], mva))
    return text
