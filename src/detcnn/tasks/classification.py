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

from detcnn.evaluation.bootstrap import Metrics, bootstrap_metrics, on_rows, paired
from detcnn.evaluation.metrics import Metric, auc, metric_functions, roc
from detcnn.evaluation.multiclass import efficiency_at_purity_metric, one_vs_rest_auc_metric, selection_metrics
from detcnn.kinds import ModelKind, NetworkKind
from detcnn.tasks.common import Target, TargetStats, check_args, validation_score
from detcnn.training.plugin import Plugin

NAME = "classification"
NETWORK = NetworkKind.CLASSIFIER
PIXEL_TRUTH = False
HEADLINE = ("auc", True)
VALIDATION = ("auc", "accuracy")
PER_CLASS = ("auc_", "efficiency_", "purity_")
PER_CLASS_TITLE = "Per class (arg max of the network; AUC of the class against the rest)"
FIGURES = ("roc", "auc_vs_parameters", "mean_images", "observables", "examples", "confusion")
PADDED: tuple[str, ...] = ()  # no prediction array is NaN-padded
#: Its ``task_args`` (JSON-schema properties): none.
ARGS_SCHEMA: dict[str, Any] = {}


def signal_class(attrs: Mapping[str, Any]) -> int:
    """The signal: class 1 of two, else ``attrs['signal_class']`` (default 0)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    return int(attrs.get("signal_class", 1 if len(names) == 2 else 0))


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    """The event class ``y`` of every event."""
    return Target("y")


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """Nothing to learn from the train split beyond the images."""
    return TargetStats()


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """Cross-entropy on the logits; the prediction is the softmax ``(N, K)``."""
    check_args(NAME, args, ())
    import torch
    from torch import nn

    return Plugin(
        target=target(attrs, args).dataset, num_outputs=len(attrs["class_names"]), loss=nn.CrossEntropyLoss(),
        predict=lambda out, x: torch.softmax(out.float(), dim=1),
        score=validation_score(metrics, prediction, VALIDATION, attrs),
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
    """The metrics of the module doc, each ``{value, err, n_bootstrap, n_nonfinite}`` over the resamples
    ``indices``; ``settings``: ``efficiencies`` and ``purities`` of the working points (none by default)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    if len(names) == 2:
        return _binary_metrics(y, prediction, signal_class(attrs), settings, indices)
    return _multiclass_metrics(y, prediction, names, signal_class(attrs), settings, indices)


def _binary_metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], signal: int, settings: Mapping[str, Any], indices: np.ndarray
) -> Metrics:
    """``auc``, ``rej_at_<eff>`` of the score and, with probabilities, ``accuracy``."""
    fns = {**metric_functions(settings.get("efficiencies", ())), "auc": _signal_auc(signal)}
    out = bootstrap_metrics(y, prediction["score"], fns, indices)
    if "proba" in prediction:
        out.update(bootstrap_metrics(y, prediction["proba"], {"accuracy": _accuracy}, indices))
    return out


def _multiclass_metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], names: list[str], signal: int, settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """``auc`` of the signal against the rest, ``signal_efficiency`` and ``signal_purity`` of the selection,
    ``eff_at_purity_<p>`` and, with probabilities, the metrics of :func:`_per_class_metrics`."""
    score = prediction["score"]
    out = bootstrap_metrics(y, score, {"auc": _signal_auc(signal)}, indices)
    selected = prediction["selected"].astype(np.float64)
    chosen = bootstrap_metrics(y, selected, selection_metrics(signal), indices)
    out.update({f"signal_{k}": v for k, v in chosen.items()})
    at = {f"eff_at_purity_{p:g}": efficiency_at_purity_metric(p, signal) for p in settings.get("purities", ())}
    out.update(bootstrap_metrics(y, score, at, indices))
    if "proba" in prediction:
        out.update(_per_class_metrics(y, prediction["proba"], names, indices))
    return out


def _per_class_metrics(y: np.ndarray, proba: np.ndarray, names: list[str], indices: np.ndarray) -> Metrics:
    """``auc_<class>`` (one against the rest), ``accuracy``, and ``efficiency_<class>``, ``purity_<class>`` of the
    arg-max selection of every class, from the probabilities ``(N, K)``."""
    fns: dict[str, Metric] = {f"auc_{n}": one_vs_rest_auc_metric(k) for k, n in enumerate(names)}
    fns["accuracy"] = _accuracy
    for k, n in enumerate(names):
        fns[f"efficiency_{n}"] = lambda y_, p_, k=k: _fraction(p_.argmax(axis=1)[y_ == k] == k)
        fns[f"purity_{n}"] = lambda y_, p_, k=k: _fraction(y_[p_.argmax(axis=1) == k] == k)
    return bootstrap_metrics(y, proba, fns, indices)


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
    plot_roc_overlay(path, curves, names[signal], background, dashed={name} if kind == ModelKind.BASELINE else ())


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """ROC overlay, AUC against parameters, mean images, observables, examples, confusion matrices; the paired
    AUC difference of the best network and the best baseline, and every network's signal efficiency at the
    purity of the best baseline's selection."""
    from detcnn.report.tables import best_of_kind

    summaries = [s for s, _ in loaded.values()]
    y = next(iter(loaded.values()))[1]["y"]
    is_signal = (y == signal_class(test.attrs)).astype(int)
    aucs = {m: s["metrics"]["test/auc"]["value"] for m, (s, _) in loaded.items()}
    out: dict[str, Any] = {"models": aucs}
    text: list[str] = []
    best_net = best_of_kind(summaries, ModelKind.NETWORK, HEADLINE)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, HEADLINE)
    if best_net and best_cut:
        entries, sentences = _paired_auc(loaded, is_signal, best_net, best_cut, indices)
        more, table = _at_baseline_purity(loaded, test, is_signal, best_net, best_cut, indices)
        out.update({**entries, **more})
        text += sentences + table
    out["observable_means"] = _figures(loaded, test, figures, settings["seed"], is_signal, aucs)
    return out, text


Loaded = Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]]


def _paired_auc(
    loaded: Loaded, is_signal: np.ndarray, best_net: str, best_cut: str, indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """``paired_auc_difference`` of the best network and the best baseline, and its sentence."""
    from detcnn.report.paired import sentence

    net, cut = (on_rows(auc, is_signal, loaded[m][1]["score"]) for m in (best_net, best_cut))
    diff = paired(net, cut, len(is_signal), indices).as_dict()
    what = "AUC of the best network against the best cut baseline"
    entry = {"network": best_net, "baseline": best_cut, **diff}
    return {"paired_auc_difference": entry}, [sentence(what, best_net, best_cut, diff)]


def _at_baseline_purity(
    loaded: Loaded, test: Any, is_signal: np.ndarray, best_net: str, best_cut: str, indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """Every network's signal efficiency at the purity of the best baseline's selection (none without one):
    ``efficiency_at_baseline_purity`` (the best network), ``..._all`` (every network) and a table."""
    from detcnn.report.tables import markdown_table, ranked, undefined

    cut_arrays = loaded[best_cut][1]
    if "selected" not in cut_arrays or not cut_arrays["selected"].any():
        return {}, []
    selected = cut_arrays["selected"].astype(bool)
    nets = [s["model"] for s in ranked([s for s, _ in loaded.values()], HEADLINE) if s["kind"] == ModelKind.NETWORK]
    table = {m: _eff_at_baseline_purity(is_signal.astype(bool), loaded[m][1]["score"], selected, indices) for m in nets}
    e = table[best_net]
    names = test.class_names or ["background", "signal"]
    text = [
        f"\n{names[signal_class(test.attrs)]} selection at the purity of **{best_cut}** ({e['baseline_purity']:.4f}), "
        f"where **{best_cut}** keeps {e['baseline_efficiency']:.4f} of the signal. Every network's threshold on "
        "P(signal) is set to that purity on each bootstrap resample (paired: the same resampled events "
        "for both):\n\n"
    ]
    rows = [{"network": m, "efficiency": f"{r['network_efficiency']:.4f}",
             f"minus {best_cut}": f"{r['value']:+.4f} ± {r['err']:.4f}{undefined(r)}",
             "significance": f"{r['significance']:.1f} σ", "relative gain": f"{r['relative_gain']:+.1%}"}
            for m, r in table.items()]  # fmt: skip
    text.append(markdown_table(rows))
    entries = {"efficiency_at_baseline_purity": {"baseline": best_cut, **e},
               "efficiency_at_baseline_purity_all": {"baseline": best_cut, "networks": table}}  # fmt: skip
    return entries, text


def _figures(
    loaded: Loaded, test: Any, figures: Mapping[str, Path], seed: int, is_signal: np.ndarray, aucs: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """Draw the report's figures (:data:`FIGURES`); the observables' means per class."""
    from detcnn.report import figures as draw
    from detcnn.report.plots import plot_auc_vs_parameters, plot_mean_images, plot_observables, plot_roc_overlay

    y = next(iter(loaded.values()))[1]["y"]
    names = test.class_names or ["background", "signal"]
    signal = signal_class(test.attrs)
    scores = {m: a["score"] for m, (_, a) in loaded.items()}
    kinds = {m: s["kind"] for m, (s, _) in loaded.items()}
    curves = {}
    for name in sorted(scores, key=lambda n: -aucs[n]):
        eff_s, eff_b = roc(is_signal, scores[name])
        curves[name] = (eff_s, eff_b, aucs[name])
    background = names[1 - signal] if len(names) == 2 else "other classes"
    cuts = {m for m in kinds if kinds[m] == ModelKind.BASELINE}
    plot_roc_overlay(figures["roc"], curves, names[signal], background, dashed=cuts)
    networks = [m for m in kinds if kinds[m] == ModelKind.NETWORK]
    by_name = {s["model"]: s for s, _ in loaded.values()}
    plot_auc_vs_parameters(
        figures["auc_vs_parameters"],
        {m: (by_name[m]["n_parameters"], aucs[m], by_name[m]["metrics"]["test/auc"]["err"]) for m in networks},
        reference={m: aucs[m] for m in sorted(cuts, key=lambda m: -aucs[m])[:1]},
    )
    axis = "$\\Delta y$" if test.attrs.get("axis") == "rapidity" else "$\\Delta\\eta$"
    plot_mean_images(figures["mean_images"], test.X, test.y, names, test.channels,
                     test.attrs.get("extent", [0, 1, 0, 1]), axis)  # fmt: skip
    means = plot_observables(figures["observables"], test.observables, test.y, names)
    draw.plot_examples(figures["examples"], test, {m: loaded[m][1] for m in networks[:1]}, seed)
    draw.plot_confusions(figures["confusion"], {m: a for m, (_, a) in loaded.items()}, y, names, signal)
    return means


def _eff_at_baseline_purity(
    is_signal: np.ndarray, score: np.ndarray, selected: np.ndarray, indices: np.ndarray
) -> dict[str, float]:
    """A network's signal efficiency at the purity of a baseline's selection minus the baseline's efficiency,
    paired over the resamples (the network's threshold is set to the baseline's purity on each resample);
    ``is_signal``, ``score``, ``selected``: ``(n,)``."""
    from detcnn.evaluation.multiclass import efficiency_at_purity, selection_efficiency_purity

    def baseline(rows: np.ndarray) -> tuple[float, float]:  # (efficiency, purity)
        return selection_efficiency_purity(is_signal[rows], selected[rows])

    def network(rows: np.ndarray) -> float:
        return efficiency_at_purity(is_signal[rows], score[rows], baseline(rows)[1])

    rows = np.arange(len(is_signal))
    (eff_b, pur_b), eff_n = baseline(rows), network(rows)
    diff = paired(network, lambda r: baseline(r)[0], len(is_signal), indices)
    return {**diff.as_dict(), "network_efficiency": eff_n, "baseline_efficiency": eff_b, "baseline_purity": pur_b,
            "relative_gain": eff_n / eff_b - 1 if eff_b > 0 else float("nan")}  # fmt: skip
