"""Comparison of every evaluated model of one task of a dataset: table (markdown + CSV), plots, paired tests.

The headline of each task is a paired bootstrap of the best network against the best baseline on the same
resampled test events, so correlated fluctuations cancel:

- binary classification: the AUC difference;
- multiclass: the signal (nu_e CC) efficiency of the network at the purity of the cut selection, minus the
  cut selection's efficiency (the comparison NOvA made for its CVN), and the AUC difference;
- segmentation: the difference in pixel accuracy on non-empty pixels;
- regressions: the difference in resolution (RMS and core width of (pred - true) / true).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import auc, bootstrap_indices, paired_difference, roc
from detcnn.evaluation.task_metrics import HEADLINE, headline
from detcnn.io.atomic import write_json, write_text
from detcnn.io.images import ImageSet, read_images
from detcnn.report import figures
from detcnn.report.plots import plot_auc_vs_parameters, plot_mean_images, plot_observables, plot_roc_overlay

Evaluation = tuple[dict[str, Any], dict[str, np.ndarray]]


def load_evaluation(eval_dir: str | os.PathLike[str]) -> Evaluation:
    """``(metrics.json content, scores.npz arrays)`` of one evaluated model."""
    eval_dir = Path(eval_dir)
    summary = json.loads((eval_dir / "metrics.json").read_text())
    with np.load(eval_dir / "scores.npz") as f:
        return summary, {k: f[k] for k in f.files}


def _fmt(m: Mapping[str, float | None] | None, digits: int, null: str = "n/a") -> str:
    """``value ± err``; a JSON null value prints as ``null`` ('inf' for a rejection with no background left,
    'n/a' for a purity with nothing selected), a null error as 'n/a'."""
    if m is None:
        return "-"
    value = null if m["value"] is None else f"{m['value']:.{digits}f}"
    err = "n/a" if m["err"] is None else f"{m['err']:.{digits}f}"
    return f"{value} ± {err}"


def _column(name: str) -> str:
    """A readable column header for a metric name."""
    short = name.removeprefix("test/")
    if short.startswith("rej_at_"):
        return f"1/eps_b at eps_s={short.removeprefix('rej_at_')}"
    return short


PER_CLASS = ("test/auc_", "test/efficiency_", "test/purity_")


def metric_columns(task: str, summaries: Sequence[dict[str, Any]], per_class: bool | None = None) -> list[str]:
    """Every metric any model has, the headline first, in first-seen order; ``per_class`` True keeps only
    the per-class metrics of a multiclass classification, False drops them, None keeps everything."""
    seen: dict[str, None] = {HEADLINE[task][0]: None}
    for s in summaries:
        seen.update(dict.fromkeys(s["metrics"]))
    if per_class is None or task != "classification":
        return list(seen) if per_class is not True else []
    return [m for m in seen if m.startswith(PER_CLASS) == per_class]


def ranked(task: str, summaries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(summaries, key=lambda s: -headline(task, s["metrics"]))


def comparison_rows(task: str, summaries: Sequence[dict[str, Any]], per_class: bool = False) -> list[dict[str, str]]:
    """One row per model, best headline first; '-' where a model lacks a metric. ``per_class``: the table of
    per-class metrics (multiclass networks) instead of the main one."""
    rows = []
    columns = metric_columns(task, summaries, per_class)
    for s in ranked(task, summaries):
        m = s["metrics"]
        if per_class and not any(c in m for c in columns):
            continue
        row = {"model": s["model"], "kind": s["kind"], "parameters": str(s["n_parameters"])}
        if per_class:
            row = {"model": s["model"]}
        for name in columns:
            rejection = name.startswith("test/rej_at_")
            row[_column(name)] = _fmt(m.get(name), 2 if rejection else 4, "inf" if rejection else "n/a")
        if not per_class:
            per_epoch, speed = s.get("train_seconds_per_epoch"), s.get("inference_images_per_s")
            row["train s/epoch"] = f"{per_epoch:.1f}" if per_epoch else "-"
            row["inference images/s"] = f"{speed:,.0f}" if speed else "-"
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r[h] for h in header) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def csv_table(task: str, summaries: Sequence[dict[str, Any]]) -> str:
    """Numbers, not formatted strings: value and error columns per metric (empty where a model lacks one)."""
    buf = io.StringIO()
    names = metric_columns(task, summaries)
    fields = ["model", "kind", "parameters"] + [f"{m}{suffix}" for m in names for suffix in ("", "_err")]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for s in ranked(task, summaries):
        row: dict[str, Any] = {"model": s["model"], "kind": s["kind"], "parameters": s["n_parameters"]}
        for m in names:
            if m in s["metrics"]:
                row[m], row[f"{m}_err"] = s["metrics"][m]["value"], s["metrics"][m]["err"]
        writer.writerow(row)
    return buf.getvalue()


def _best(task: str, summaries: Sequence[dict[str, Any]], kind: str) -> str | None:
    chosen = [s for s in ranked(task, summaries) if s["kind"] == kind]
    return chosen[0]["model"] if chosen else None


def _paired_rows(fn_a: Callable[[np.ndarray], float], fn_b: Callable[[np.ndarray], float], n: int,
                 indices: np.ndarray) -> dict[str, float]:  # fmt: skip
    """``fn_a(rows) - fn_b(rows)`` on all events and on the same resamples: value, err, significance."""
    diffs = np.array([fn_a(i) - fn_b(i) for i in indices])
    diffs = diffs[np.isfinite(diffs)]
    value = fn_a(np.arange(n)) - fn_b(np.arange(n))
    err = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
    sig = value / err if err and np.isfinite(err) and err > 0 else float("nan")
    return {"value": float(value), "err": err, "significance": float(sig)}


def _sentence(what: str, a: str, b: str, d: Mapping[str, float], digits: int = 4) -> str:
    return (
        f"\n{what}: **{a}** minus **{b}** = {d['value']:+.{digits}f} ± {d['err']:.{digits}f} (paired bootstrap, "
        f"the same resampled test events for both), i.e. {d['significance']:.1f} standard deviations.\n"
    )


# --------------------------------------------------------------------------------------------- classification
def classification_report(
    loaded: Mapping[str, Evaluation], test: ImageSet, out_dir: Path, settings: Mapping[str, Any], indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """ROC overlay, AUC against parameters, mean images, observables, examples, confusion matrices, paired tests."""
    summaries = [s for s, _ in loaded.values()]
    y = next(iter(loaded.values()))[1]["y"]
    names = test.class_names or ["background", "signal"]
    signal = int(test.attrs.get("signal_class", 1 if len(names) == 2 else 0))
    is_signal = (y == signal).astype(int)
    scores = {m: a["score"] for m, (_, a) in loaded.items()}
    kinds = {m: s["kind"] for m, (s, _) in loaded.items()}
    aucs = {m: s["metrics"]["test/auc"]["value"] for m, (s, _) in loaded.items()}
    out: dict[str, Any] = {"models": aucs}
    text: list[str] = []
    best_net, best_cut = _best("classification", summaries, "network"), _best("classification", summaries, "cuts")
    if best_net and best_cut:
        diff = paired_difference(is_signal, scores[best_net], scores[best_cut], auc, indices)
        out["paired_auc_difference"] = {"network": best_net, "baseline": best_cut, **diff}
        text.append(_sentence("AUC of the best network against the best cut baseline", best_net, best_cut, diff))
        cut_arrays = loaded[best_cut][1]
        if "selected" in cut_arrays and cut_arrays["selected"].any():
            selected = cut_arrays["selected"].astype(bool)
            nets = [m for m in (s["model"] for s in ranked("classification", summaries)) if kinds[m] == "network"]
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
    plot_roc_overlay(out_dir / "roc.png", curves, names[signal], background, dashed=cuts)
    networks = [m for m in kinds if kinds[m] == "network"]
    by_name = {s["model"]: s for s in summaries}
    plot_auc_vs_parameters(
        out_dir / "auc_vs_parameters.png",
        {m: (by_name[m]["n_parameters"], aucs[m], by_name[m]["metrics"]["test/auc"]["err"]) for m in networks},
        reference={m: aucs[m] for m in sorted(cuts, key=lambda m: -aucs[m])[:1]},
    )
    plot_mean_images(out_dir / "mean_images.png", test.X, test.y, names, test.channels,
                     test.attrs.get("extent", [0, 1, 0, 1]))  # fmt: skip
    out["observable_means"] = plot_observables(out_dir / "observables.png", test.observables, test.y, names)
    figures.plot_examples(out_dir / "examples.png", test, {m: loaded[m][1] for m in networks[:1]}, settings["seed"])
    figures.plot_confusions(out_dir / "confusion.png", {m: a for m, (_, a) in loaded.items()}, y, names, signal)
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


# --------------------------------------------------------------------------------------------- segmentation
def segmentation_report(
    loaded: Mapping[str, Evaluation], test: ImageSet, out_dir: Path, settings: Mapping[str, Any], indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """Pixel confusion matrices, input / truth / prediction examples, paired accuracy difference."""
    from detcnn.evaluation.segmentation import event_confusions, nonempty_arrays

    summaries = [s for s, _ in loaded.values()]
    labels = list(test.attrs["pixel_class_names"])
    per_event = {m: event_confusions(test.y_pix, a["pred"], len(labels)) for m, (_, a) in loaded.items()}
    out: dict[str, Any] = {"models": {m: s["metrics"]["test/accuracy"]["value"] for m, (s, _) in loaded.items()}}
    text: list[str] = []
    best_net, best_cut = _best("segmentation", summaries, "network"), _best("segmentation", summaries, "cuts")
    if best_net and best_cut:

        def accuracy(model: str) -> Callable[[np.ndarray], float]:
            return lambda rows: float(nonempty_arrays(per_event[model][rows].sum(axis=0))["accuracy"])

        diff = _paired_rows(accuracy(best_net), accuracy(best_cut), len(test.y), indices)
        out["paired_accuracy_difference"] = {"network": best_net, "baseline": best_cut, **diff}
        text.append(_sentence("Pixel accuracy on non-empty pixels", best_net, best_cut, diff))
    figures.plot_pixel_confusions(out_dir / "confusion.png", {m: c.sum(axis=0) for m, c in per_event.items()}, labels)
    figures.plot_segmentation_examples(out_dir / "examples.png", test, {m: a["pred"] for m, (_, a) in loaded.items()},
                                       settings["seed"])  # fmt: skip
    return out, text


# --------------------------------------------------------------------------------------------- regressions
def regression_report(
    loaded: Mapping[str, Evaluation], test: ImageSet, out_dir: Path, settings: Mapping[str, Any], indices: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    """Residual overlays, bias and resolution against true energy, examples, paired resolution differences."""
    from detcnn.evaluation.regression import resolution

    summaries = [s for s, _ in loaded.values()]
    task = summaries[0]["task"]
    per_event: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m, (_, a) in loaded.items():
        if task == "energy_regression":
            per_event[m] = (a["pred"].astype(np.float64), a["true"].astype(np.float64))
        else:
            e = test.e_pix[a["rows"]]
            per_event[m] = (a["pred"].reshape(len(e), -1).sum(axis=1).astype(np.float64),
                            e.reshape(len(e), -1).sum(axis=1).astype(np.float64))  # fmt: skip
    name = HEADLINE[task][0]
    out: dict[str, Any] = {"models": {m: s["metrics"][name]["value"] for m, (s, _) in loaded.items()}}
    text: list[str] = []
    best_net, best_cut = _best(task, summaries, "network"), _best(task, summaries, "cuts")
    if best_net and best_cut:
        n = len(per_event[best_net][1])
        for what in ("rms", "core_width"):

            def width(model: str, what: str = what) -> Callable[[np.ndarray], float]:
                pred, true = per_event[model]
                return lambda rows: resolution(pred[rows], true[rows])[what]

            diff = _paired_rows(width(best_net), width(best_cut), n, indices)
            out[f"paired_{what}_difference"] = {"network": best_net, "baseline": best_cut, **diff}
            text.append(_sentence(f"Resolution ({what} of (pred - true) / true)", best_net, best_cut, diff))
    figures.plot_residuals(out_dir / "residuals.png", per_event)
    figures.plot_resolution_vs_energy(out_dir / "resolution_vs_energy.png", per_event)
    figures.plot_regression_examples(out_dir / "examples.png", test, loaded, task, settings["seed"])
    return out, text


REPORTERS = {
    "classification": classification_report,
    "segmentation": segmentation_report,
    "pixel_regression": regression_report,
    "energy_regression": regression_report,
}


def make_report(
    eval_dirs: Sequence[str | os.PathLike[str]],
    test_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    dataset: str,
    task: str = "classification",
    efficiencies: Sequence[float] = (0.3, 0.5),
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``comparison.md``, ``comparison.csv``, ``summary.json`` and the task's plots into ``out_dir``."""
    if task not in REPORTERS:
        raise KeyError(f"unknown task '{task}'; valid: {sorted(REPORTERS)}")
    out_dir = Path(out_dir)
    loaded = {}
    for d in eval_dirs:
        summary, arrays = load_evaluation(d)
        if summary.get("task", "classification") != task:
            raise ValueError(f"model '{summary['model']}' was evaluated for task '{summary.get('task')}', not '{task}'")
        loaded[summary["model"]] = (summary, arrays)
    first = next(iter(loaded.values()))[1]
    for name, (_, arrays) in loaded.items():
        if not np.array_equal(first["y"], arrays["y"]):
            raise ValueError(f"model '{name}' was evaluated on different test events; re-run its evaluation")
    test = read_images(test_path, with_pixels=task != "classification")
    summaries = [s for s, _ in loaded.values()]
    n = len(first["y"])
    indices = bootstrap_indices(n, n_bootstrap, seed)
    extra, sentences = REPORTERS[task](loaded, test, out_dir, {"seed": seed}, indices)
    text = [
        f"# {dataset}: {task.replace('_', ' ')}, test-split comparison\n\n",
        f"{n} test events; uncertainties are the standard deviation over {n_bootstrap} bootstrap resamples "
        "of the test events.\n\n",
        markdown_table(comparison_rows(task, summaries)),
        *sentences,
    ]
    per_class = comparison_rows(task, summaries, per_class=True)
    if per_class:
        text += ["\nPer class (arg max of the network; AUC of the class against the rest):\n\n"]
        text.append(markdown_table(per_class))
    write_text(out_dir / "comparison.md", "".join(text))
    write_text(out_dir / "comparison.csv", csv_table(task, summaries))
    summary = {"dataset": dataset, "task": task, "n_test": n, **extra}
    write_json(out_dir / "summary.json", summary)
    return summary
