"""Event classification: the event classes ``y`` ``(N,)`` from images, by a classifier with one output per
class (softmax probabilities ``(N, K)``), against the cut baselines.

Two classes (jets): class 1 is the signal. More classes (neutrinos): ``attrs['signal_class']`` is the signal
(nu_e CC) and the comparison with a cut selection is NOvA's: the signal efficiency of the network at the
purity of the cuts.

Metrics (``test/`` in ``metrics.json``, ``val/`` per epoch for ``VALIDATION``):
- two classes: ``auc``, ``rej_at_<eff>`` (background rejection 1/eps_b at signal efficiency eff);
- more: ``auc`` (signal against the rest), ``signal_efficiency`` and ``signal_purity`` of the model's own
  selection (arg max, or the cuts), ``eff_at_purity_<p>``; with probabilities also ``accuracy`` and, per
  class, ``auc_<class>`` (one against the rest), ``efficiency_<class>`` and ``purity_<class>`` (arg max).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import Metric, auc, evaluate_with_bootstrap, metric_functions, paired_difference, roc
from detcnn.evaluation.multiclass import efficiency_at_purity_metric, one_vs_rest_auc_metric, selection_metrics
from detcnn.tasks.common import Metrics, Plugin, TargetStats, check_args

NAME = "classification"
NETWORK = "classifier"
PIXEL_TRUTH = False
HEADLINE = ("auc", True)
VALIDATION = ("auc", "accuracy")
PER_CLASS = ("auc_", "efficiency_", "purity_")
PER_CLASS_TITLE = "Per class (arg max of the network; AUC of the class against the rest)"
FIGURES = ("roc", "auc_vs_parameters", "mean_images", "observables", "examples", "confusion")
PADDED: tuple[str, ...] = ()  # no prediction array is NaN-padded


def signal_class(attrs: Mapping[str, Any]) -> int:
    """The signal: class 1 of two, else ``attrs['signal_class']`` (default 0)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    return int(attrs.get("signal_class", 1 if len(names) == 2 else 0))


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """Nothing to learn from the train split beyond the images."""
    return TargetStats()


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """Cross-entropy on the logits; the prediction is the softmax ``(N, K)``."""
    check_args(NAME, args, ())
    import torch
    from torch import nn

    return Plugin(
        target="y", num_outputs=len(attrs["class_names"]), loss=nn.CrossEntropyLoss(),
        predict=lambda out, x: torch.softmax(out.float(), dim=1),
    )  # fmt: skip


def prediction(proba: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``score`` P(signal) ``(N,)``, ``proba`` ``(N, K)`` and ``selected`` (arg max is the signal) ``(N,)``."""
    signal = signal_class(attrs)
    return {"score": proba[:, signal], "proba": proba, "selected": proba.argmax(axis=1) == signal}


def _fraction(passed: np.ndarray) -> float:
    return float(np.mean(passed)) if len(passed) else float("nan")


def _signal_auc(signal: int) -> Metric:
    return lambda y, s: auc(y == signal, s) if 0 < np.sum(y == signal) < len(y) else float("nan")


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(proba.argmax(axis=1) == y))


def metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """The metrics of the module doc, each ``{value, err, n_bootstrap}`` over the resamples ``indices``;
    ``settings``: ``efficiencies`` and ``purities`` of the working points (none by default)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    score, signal = prediction["score"], signal_class(attrs)
    with_proba = {"accuracy": _accuracy} if "proba" in prediction else {}
    if len(names) == 2:
        fns = {**metric_functions(settings.get("efficiencies", ())), "auc": _signal_auc(signal)}
        out = evaluate_with_bootstrap(y, score, fns, indices)
        out.update(evaluate_with_bootstrap(y, prediction["proba"], with_proba, indices) if with_proba else {})
        return out
    out = evaluate_with_bootstrap(y, score, {"auc": _signal_auc(signal)}, indices)
    selected = prediction["selected"].astype(np.float64)
    chosen = evaluate_with_bootstrap(y, selected, selection_metrics(signal), indices)
    out.update({f"signal_{k}": v for k, v in chosen.items()})
    at = {f"eff_at_purity_{p:g}": efficiency_at_purity_metric(p, signal) for p in settings.get("purities", ())}
    out.update(evaluate_with_bootstrap(y, score, at, indices))
    if with_proba:
        proba = prediction["proba"]
        per_class: dict[str, Metric] = {f"auc_{n}": one_vs_rest_auc_metric(k) for k, n in enumerate(names)}
        out.update(evaluate_with_bootstrap(y, proba, per_class, indices))
        out.update(evaluate_with_bootstrap(y, proba, with_proba, indices))
        per_class = {}
        for k, n in enumerate(names):  # arg-max selection of every class: efficiency and purity
            per_class[f"efficiency_{n}"] = lambda y_, p_, k=k: _fraction(p_.argmax(axis=1)[y_ == k] == k)
            per_class[f"purity_{n}"] = lambda y_, p_, k=k: _fraction(y_[p_.argmax(axis=1) == k] == k)
        out.update(evaluate_with_bootstrap(y, proba, per_class, indices))
    return out


def plot(
    path: Path, name: str, kind: str, y: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Signal efficiency against background rejection (multiclass: the signal class against the rest)."""
    from detcnn.report.plots import plot_roc_overlay

    names = list(attrs.get("class_names") or ["background", "signal"])
    signal = signal_class(attrs)
    is_signal = (y == signal).astype(int)
    eff_s, eff_b = roc(is_signal, prediction["score"])
    background = names[1 - signal] if len(names) == 2 else "other classes"
    curves = {name: (eff_s, eff_b, auc(is_signal, prediction["score"]))}
    plot_roc_overlay(path, curves, names[signal], background, dashed={name} if kind == "cuts" else ())


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """ROC overlay, AUC against parameters, mean images, observables, examples, confusion matrices; the paired
    AUC difference of the best network and the best cuts, and every network's signal efficiency at the purity
    of the best cut selection."""
    from detcnn.report import figures as draw
    from detcnn.report.paired import sentence
    from detcnn.report.plots import plot_auc_vs_parameters, plot_mean_images, plot_observables, plot_roc_overlay
    from detcnn.report.tables import best_of_kind, markdown_table, ranked

    summaries = [s for s, _ in loaded.values()]
    y = next(iter(loaded.values()))[1]["y"]
    names = test.class_names or ["background", "signal"]
    signal = signal_class(test.attrs)
    is_signal = (y == signal).astype(int)
    scores = {m: a["score"] for m, (_, a) in loaded.items()}
    kinds = {m: s["kind"] for m, (s, _) in loaded.items()}
    aucs = {m: s["metrics"]["test/auc"]["value"] for m, (s, _) in loaded.items()}
    out: dict[str, Any] = {"models": aucs}
    text: list[str] = []
    best_net, best_cut = best_of_kind(summaries, "network", HEADLINE), best_of_kind(summaries, "cuts", HEADLINE)
    if best_net and best_cut:
        diff = paired_difference(is_signal, scores[best_net], scores[best_cut], auc, indices)
        out["paired_auc_difference"] = {"network": best_net, "baseline": best_cut, **diff}
        text.append(sentence("AUC of the best network against the best cut baseline", best_net, best_cut, diff))
        cut_arrays = loaded[best_cut][1]
        if "selected" in cut_arrays and cut_arrays["selected"].any():
            selected = cut_arrays["selected"].astype(bool)
            nets = [m for m in (s["model"] for s in ranked(summaries, HEADLINE)) if kinds[m] == "network"]
            table = {m: _eff_at_baseline_purity(is_signal.astype(bool), scores[m], selected, indices) for m in nets}
            out["efficiency_at_baseline_purity"] = {"baseline": best_cut, **table[best_net]}
            out["efficiency_at_baseline_purity_all"] = {"baseline": best_cut, "networks": table}
            e = table[best_net]
            text.append(
                f"\n{names[signal]} selection at the purity of **{best_cut}** ({e['baseline_purity']:.4f}), where "
                f"**{best_cut}** keeps {e['baseline_efficiency']:.4f} of the signal. Every network's threshold on "
                "P(signal) is set to that purity on each bootstrap resample (paired: the same resampled events "
                "for both):\n\n"
            )
            rows = [{"network": m, "efficiency": f"{r['network_efficiency']:.4f}",
                     f"minus {best_cut}": f"{r['value']:+.4f} ± {r['err']:.4f}",
                     "significance": f"{r['significance']:.1f} σ", "relative gain": f"{r['relative_gain']:+.1%}"}
                    for m, r in table.items()]  # fmt: skip
            text.append(markdown_table(rows))
    curves = {}
    for name in sorted(scores, key=lambda n: -aucs[n]):
        eff_s, eff_b = roc(is_signal, scores[name])
        curves[name] = (eff_s, eff_b, aucs[name])
    background = names[1 - signal] if len(names) == 2 else "other classes"
    cuts = {m for m in kinds if kinds[m] == "cuts"}
    plot_roc_overlay(figures["roc"], curves, names[signal], background, dashed=cuts)
    networks = [m for m in kinds if kinds[m] == "network"]
    by_name = {s["model"]: s for s in summaries}
    plot_auc_vs_parameters(
        figures["auc_vs_parameters"],
        {m: (by_name[m]["n_parameters"], aucs[m], by_name[m]["metrics"]["test/auc"]["err"]) for m in networks},
        reference={m: aucs[m] for m in sorted(cuts, key=lambda m: -aucs[m])[:1]},
    )
    axis = "$\\Delta y$" if test.attrs.get("axis") == "rapidity" else "$\\Delta\\eta$"
    plot_mean_images(figures["mean_images"], test.X, test.y, names, test.channels,
                     test.attrs.get("extent", [0, 1, 0, 1]), axis)  # fmt: skip
    out["observable_means"] = plot_observables(figures["observables"], test.observables, test.y, names)
    draw.plot_examples(figures["examples"], test, {m: loaded[m][1] for m in networks[:1]}, settings["seed"])
    draw.plot_confusions(figures["confusion"], {m: a for m, (_, a) in loaded.items()}, y, names, signal)
    return out, text


def _eff_at_baseline_purity(
    is_signal: np.ndarray, score: np.ndarray, selected: np.ndarray, indices: np.ndarray
) -> dict[str, float]:
    """Network efficiency at the cut selection's purity minus the cut efficiency, paired over resamples."""
    from detcnn.evaluation.multiclass import efficiency_at_purity, selection_efficiency_purity

    def diff(rows: np.ndarray) -> tuple[float, float, float, float]:
        eff_b, pur_b = selection_efficiency_purity(is_signal[rows], selected[rows])
        eff_n = efficiency_at_purity(is_signal[rows], score[rows], pur_b)
        return eff_n - eff_b, eff_n, eff_b, pur_b

    value, eff_n, eff_b, pur_b = diff(np.arange(len(is_signal)))
    samples = np.array([diff(i)[0] for i in indices])
    samples = samples[np.isfinite(samples)]
    err = float(np.std(samples, ddof=1))
    return {"value": value, "err": err, "significance": value / err if err > 0 else float("nan"),
            "network_efficiency": eff_n, "baseline_efficiency": eff_b, "baseline_purity": pur_b,
            "relative_gain": eff_n / eff_b - 1 if eff_b > 0 else float("nan")}  # fmt: skip
