"""Comparison of every evaluated model of a dataset: table (markdown + CSV), ROC overlay, paired test.

The headline is the paired bootstrap of the AUC difference between the best network and the best
cut baseline: the same resampled test events for both, so the correlated fluctuations cancel.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import auc, bootstrap_indices, paired_difference, roc
from detcnn.io.atomic import write_json, write_text
from detcnn.io.images import read_images
from detcnn.report.plots import plot_auc_vs_parameters, plot_mean_images, plot_observables, plot_roc_overlay


def load_evaluation(eval_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """``(metrics.json content, y, score)`` of one evaluated model."""
    eval_dir = Path(eval_dir)
    summary = json.loads((eval_dir / "metrics.json").read_text())
    with np.load(eval_dir / "scores.npz") as f:
        return summary, f["y"], f["score"]


def _fmt(m: dict[str, float | None], digits: int) -> str:
    """``value ± err``; JSON nulls (an infinite rejection: no background left) print as 'inf' / 'n/a'."""
    value = "inf" if m["value"] is None else f"{m['value']:.{digits}f}"
    err = "n/a" if m["err"] is None else f"{m['err']:.{digits}f}"
    return f"{value} ± {err}"


def comparison_rows(summaries: Sequence[dict[str, Any]], efficiencies: Sequence[float]) -> list[dict[str, str]]:
    """One row per model, sorted by AUC (best first)."""
    rows = []
    for s in sorted(summaries, key=lambda s: -s["metrics"]["test/auc"]["value"]):
        m = s["metrics"]
        row = {"model": s["model"], "kind": s["kind"], "parameters": str(s["n_parameters"]),
               "AUC": _fmt(m["test/auc"], 4)}  # fmt: skip
        for eff in efficiencies:
            row[f"1/eps_b at eps_s={eff:g}"] = _fmt(m[f"test/rej_at_{eff:g}"], 2)
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


def csv_table(summaries: Sequence[dict[str, Any]]) -> str:
    """Numbers, not formatted strings: value and error columns per metric."""
    buf = io.StringIO()
    metric_names = list(summaries[0]["metrics"])
    fields = ["model", "kind", "parameters"] + [f"{m}{suffix}" for m in metric_names for suffix in ("", "_err")]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for s in sorted(summaries, key=lambda s: -s["metrics"]["test/auc"]["value"]):
        row = {"model": s["model"], "kind": s["kind"], "parameters": s["n_parameters"]}
        for m in metric_names:
            row[m], row[f"{m}_err"] = s["metrics"][m]["value"], s["metrics"][m]["err"]
        writer.writerow(row)
    return buf.getvalue()


def make_report(
    eval_dirs: Sequence[str | os.PathLike[str]],
    test_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    dataset: str,
    efficiencies: Sequence[float],
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Write ``comparison.md``, ``comparison.csv``, ``summary.json``, ``roc.png``, ``auc_vs_parameters.png``,
    ``mean_images.png`` and ``observables.png`` into ``out_dir``; return the summary."""
    out_dir = Path(out_dir)
    loaded = [load_evaluation(d) for d in eval_dirs]
    summaries = [s for s, _, _ in loaded]
    y = loaded[0][1]
    for s, y_other, _ in loaded:
        if not np.array_equal(y, y_other):
            raise ValueError(f"model '{s['model']}' was evaluated on different test events; re-run its evaluation")
    scores = {s["model"]: score for s, _, score in loaded}
    kinds = {s["model"]: s["kind"] for s in summaries}
    aucs = {name: s["metrics"]["test/auc"]["value"] for name, s in zip(scores, summaries, strict=True)}

    test = read_images(test_path)
    class_names = test.class_names or ["background", "signal"]
    rows = comparison_rows(summaries, efficiencies)
    summary: dict[str, Any] = {"dataset": dataset, "n_test": len(y), "models": aucs}
    networks = [m for m in scores if kinds[m] == "network"]
    cuts = [m for m in scores if kinds[m] == "cuts"]
    text = [
        f"# {dataset}: test-split comparison\n\n",
        f"{len(y)} test events; uncertainties are the standard deviation over {n_bootstrap} bootstrap resamples "
        "of the test events.\n\n",
        markdown_table(rows),
    ]
    if networks and cuts:
        best_net = max(networks, key=aucs.get)
        best_cut = max(cuts, key=aucs.get)
        diff = paired_difference(
            y, scores[best_net], scores[best_cut], auc, bootstrap_indices(len(y), n_bootstrap, seed)
        )
        summary["paired_auc_difference"] = {"network": best_net, "baseline": best_cut, **diff}
        text.append(
            f"\nBest network **{best_net}** against best cut baseline **{best_cut}**: "
            f"AUC difference {diff['value']:+.4f} ± {diff['err']:.4f} (paired bootstrap, same resampled test "
            f"events), i.e. {diff['significance']:.1f} standard deviations.\n"
        )
    write_text(out_dir / "comparison.md", "".join(text))
    write_text(out_dir / "comparison.csv", csv_table(summaries))
    curves = {}
    for name in sorted(scores, key=lambda n: -aucs[n]):
        eff_s, eff_b = roc(y, scores[name])
        curves[name] = (eff_s, eff_b, aucs[name])
    plot_roc_overlay(out_dir / "roc.png", curves, class_names[1], class_names[0], dashed=set(cuts))
    plot_mean_images(
        out_dir / "mean_images.png", test.X, test.y, class_names, test.channels, test.attrs.get("extent", [0, 1, 0, 1])
    )
    by_name = {s["model"]: s for s in summaries}
    plot_auc_vs_parameters(
        out_dir / "auc_vs_parameters.png",
        {m: (by_name[m]["n_parameters"], aucs[m], by_name[m]["metrics"]["test/auc"]["err"]) for m in networks},
        reference={m: aucs[m] for m in sorted(cuts, key=lambda m: -aucs[m])[:1]},
    )
    summary["observable_means"] = plot_observables(out_dir / "observables.png", test.observables, test.y, class_names)
    write_json(out_dir / "summary.json", summary)
    return summary
