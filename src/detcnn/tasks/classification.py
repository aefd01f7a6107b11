"""Event classification: the event classes ``y`` ``(N,)`` from images, by a classifier with one output per
class (softmax probabilities ``(N, K)``), against the cut baselines.

Two classes (jets): class 1 is the signal. More classes (neutrinos): ``attrs['signal_class']`` is the signal
(nu_e CC) and the comparison with a cut selection is NOvA's: the signal efficiency of the network at the
purity of the cuts.

Metrics (``test/`` in ``metrics.json``, ``val/`` per epoch for ``VALIDATION``):
- two classes: ``auc``, ``rej_at_<eff>`` (background rejection 1/eps_b of the cut on the score that keeps a
  fraction eff of the signal on the validation split) and ``eff_s_at_<eff>`` (the signal efficiency that cut
  keeps on test);
- more: ``auc`` (signal against the rest), ``signal_efficiency`` and ``signal_purity`` of the model's own
  selection (arg max, or the cuts), ``eff_at_purity_<p>`` (signal efficiency of the loosest cut on P(signal)
  reaching purity p on the validation split) and ``purity_at_purity_<p>`` (the purity that cut has on test);
  with probabilities also ``accuracy`` and, per class, ``auc_<class>`` (one against the rest),
  ``efficiency_<class>`` and ``purity_<class>`` (arg max).

Working points (:func:`working_points`) are thresholds on the score fixed on the validation split for every
model alike (:mod:`detcnn.evaluation.working_points`), never tuned on the test events they are judged on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.bootstrap import Metrics, bootstrap_metrics
from detcnn.evaluation.metrics import Metric, auc, roc
from detcnn.evaluation.multiclass import one_vs_rest_auc_metric, selection_metrics
from detcnn.evaluation.working_points import cut_efficiencies, rejection, threshold_at_efficiency, threshold_at_purity
from detcnn.kinds import ModelKind, NetworkKind
from detcnn.tasks.common import Target, TargetStats, check_args, validation_score
from detcnn.training.plugin import Plugin

NAME = "classification"
NETWORK = NetworkKind.CLASSIFIER
PIXEL_TRUTH = False
HEADLINE = ("auc", True)
VALIDATION = ("auc", "accuracy")
#: Prefixes of the metrics followed in bins of a per-event variable and under systematic variations.
STUDY_METRICS: tuple[str, ...] = ("auc", "rej_at_", "eff_at_purity_")
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


def working_points(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, float]:
    """The thresholds on ``score`` of the working points, from the validation split's classes ``y`` ``(N,)``
    and ``prediction``: ``rej_at_<eff>`` for each of ``settings['efficiencies']`` (two classes), else
    ``eff_at_purity_<p>`` for each of ``settings['purities']`` (inf: no cut reaches the purity)."""
    is_signal = np.asarray(y) == signal_class(attrs)
    score = prediction["score"]
    if len(attrs.get("class_names") or ["background", "signal"]) == 2:
        return {f"rej_at_{e:g}": threshold_at_efficiency(is_signal, score, e) for e in settings.get("efficiencies", ())}
    return {f"eff_at_purity_{p:g}": threshold_at_purity(is_signal, score, p) for p in settings.get("purities", ())}


def _at_threshold(signal: int, threshold: float, which: int) -> Metric:
    """A metric of the fixed cut ``score >= threshold``: the ``which`` entry of its (signal efficiency,
    background efficiency, purity), or its rejection for ``which`` = -1."""
    if which < 0:
        return lambda y, s: rejection(y == signal, s, threshold)
    return lambda y, s: cut_efficiencies(y == signal, s, threshold)[which]


def _fixed_cut_metrics(signal: int, thresholds: Mapping[str, float]) -> dict[str, Metric]:
    """The metrics of the validation split's working points ``thresholds`` (:func:`working_points`) on test."""
    fns: dict[str, Metric] = {}
    for name, t in thresholds.items():
        if name.startswith("rej_at_"):
            fns[name] = _at_threshold(signal, t, -1)
            fns[name.replace("rej_at_", "eff_s_at_")] = _at_threshold(signal, t, 0)
        elif name.startswith("eff_at_purity_"):
            fns[name] = _at_threshold(signal, t, 0)
            fns[name.replace("eff_at_purity_", "purity_at_purity_")] = _at_threshold(signal, t, 2)
    return fns


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
    ``indices``; ``settings``: ``thresholds``, the working points of :func:`working_points` (none by default)."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    if len(names) == 2:
        return _binary_metrics(y, prediction, signal_class(attrs), settings, indices)
    return _multiclass_metrics(y, prediction, names, signal_class(attrs), settings, indices)


def _binary_metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], signal: int, settings: Mapping[str, Any], indices: np.ndarray
) -> Metrics:
    """``auc``, ``rej_at_<eff>`` and ``eff_s_at_<eff>`` of the score and, with probabilities, ``accuracy``."""
    fns = {"auc": _signal_auc(signal), **_fixed_cut_metrics(signal, settings.get("thresholds", {}))}
    out = bootstrap_metrics(y, prediction["score"], fns, indices)
    if "proba" in prediction:
        out.update(bootstrap_metrics(y, prediction["proba"], {"accuracy": _accuracy}, indices))
    return out


def _multiclass_metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], names: list[str], signal: int, settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """``auc`` of the signal against the rest, ``signal_efficiency`` and ``signal_purity`` of the selection,
    ``eff_at_purity_<p>``, ``purity_at_purity_<p>`` and, with probabilities, the metrics of
    :func:`_per_class_metrics`."""
    score = prediction["score"]
    out = bootstrap_metrics(y, score, {"auc": _signal_auc(signal)}, indices)
    selected = prediction["selected"].astype(np.float64)
    chosen = bootstrap_metrics(y, selected, selection_metrics(signal), indices)
    out.update({f"signal_{k}": v for k, v in chosen.items()})
    out.update(bootstrap_metrics(y, score, _fixed_cut_metrics(signal, settings.get("thresholds", {})), indices))
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
    AUC differences of the best network and the best baseline of each family, and the signal efficiency of every
    network and multivariate baseline at the purity of the best cut selection
    (:mod:`detcnn.tasks.classification_report`)."""
    from detcnn.tasks.classification_report import comparisons

    aucs = {m: s["metrics"]["test/auc"]["value"] for m, (s, _) in loaded.items()}
    out, text = comparisons(loaded, test, indices)
    out["observable_means"] = _figures(loaded, test, figures, settings["seed"], is_signal_of(loaded, test), aucs)
    return {"models": aucs, **out}, text


def is_signal_of(loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any) -> np.ndarray:
    """``(n,)`` int: 1 for the signal events among the evaluated test events (every model has the same)."""
    y = next(iter(loaded.values()))[1]["y"]
    return (y == signal_class(test.attrs)).astype(int)


Loaded = Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]]


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
