"""The markdown of the variation and learning-curve reports, written from their summaries (the dictionaries
:func:`detcnn.stages.variations.run` and :func:`detcnn.stages.learning_curve.run` return)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detcnn.report.tables import markdown_table


def _decimals(err: float | None) -> int:
    """Decimals that show two significant digits of ``err`` (0 to 6; 4 for an error that is none, 0 or NaN)."""
    if err is None or not math.isfinite(err) or err <= 0:
        return 4
    return min(6, max(0, 1 - math.floor(math.log10(err))))


def pm(value: float | None, err: float | None, sign: bool = False) -> str:
    """``value ± err`` to two significant digits of the error (``+`` shown for ``sign``); 'n/a' for a value
    that is none or NaN (a JSON null)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    d = _decimals(err)
    e = "n/a" if err is None or not math.isfinite(err) else f"{err:.{d}f}"
    return f"{value:{'+' if sign else ''}.{d}f} ± {e}"


def sigma(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.1f} σ"


def _yes(x: bool | None) -> str:
    return "-" if x is None else ("yes" if x else "no")


VARIATIONS_INTRO = (
    "Each variation is a test-only sample made with changed settings, rasterised with the nominal image settings "
    "and evaluated with the nominal models at the working points set on the nominal validation split. Its reference "
    "is the nominal twin: a sample made with the nominal physics, the same size and the same seeds. For a detector "
    "or read-out variation the twin holds the same simulated interactions in the same order, so a shift (variation "
    "- twin) is measured paired, event by event: a metric's by the evaluation's paired bootstrap, a per-event mean's "
    "as the mean of the per-event differences with their standard error, which cancels the fluctuations the two "
    "samples share (much tighter). Where the events differ (a generator variation, or a class that lost events to a "
    "threshold) the shift's error is the two errors in quadrature, sqrt(err_twin² + err_var²) (marked 'unpaired'). "
    "The nominal test split (a larger, independent sample) is shown for orientation: the twin must agree with it "
    "within errors. Values are given ± their bootstrap errors over each sample's test events. The change of the "
    "best network's lead over the best baseline is the tighter of: the variation's paired network-minus-baseline "
    "difference minus the twin's ('paired differences'), and the network's shift minus the baseline's ('paired "
    "shifts' or 'unpaired shifts'), each with its two errors in quadrature.\n\n"
)


def _how(paired: bool | None) -> str:
    return "paired" if paired else "unpaired"


def _ranking_row(sample: str, n: Any, r: Mapping[str, Any] | None, holds: bool | None) -> dict[str, str]:
    if r is None:
        return {"sample": sample, "events": str(n), "network - baseline": "-", "significance": "-",
                "network ahead": "-", "significant (> 2 σ)": "-", "ranking holds": _yes(holds)}  # fmt: skip
    how = "" if r.get("paired") else " (unpaired)"
    return {"sample": sample, "events": str(n),
            "network - baseline": f"{r['network']} - {r['baseline']}: {pm(r['value'], r['err'], True)}{how}",
            "significance": sigma(r["significance"]), "network ahead": _yes(r["network_ahead"]),
            "significant (> 2 σ)": _yes(r["significant"]), "ranking holds": _yes(holds)}  # fmt: skip


def _pairing_rows(pairing: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"class": cls, "twin events": str(p["n_twin"]), "variation events": str(p["n_variation"]),
             "per-event differences": _how(p["paired"])} for cls, p in pairing.items()]  # fmt: skip


def _check_rows(check: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    for variable, v in check["variables"].items():
        for cls, m in [*v["classes"].items(), ("all", v["all"])]:
            rows.append({"variable": variable, "expect": v["expect"], "class": cls,
                         "twin mean": pm(m["twin"], m["twin_err"]), "variation mean": pm(m["varied"], m["varied_err"]),
                         "shift": pm(m["shift"], m["shift_err"], True), "significance": sigma(m["significance"]),
                         "error": _how(m["paired"]),
                         "as expected": _yes(m.get("ok")) if cls != "all" else "(not judged)"})  # fmt: skip
    return rows


def _observable_rows(observables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, str]]:
    def cell(m: Mapping[str, Any]) -> str:
        rel = m["relative"]
        return "n/a" if rel is None or not math.isfinite(rel) else f"{rel:+.1%} ({sigma(m['significance'])})"

    return [{"variable": v, **{c: cell(m) for c, m in per_class.items()}} for v, per_class in observables.items()]


def _value_cell(entry: Mapping[str, Any] | None) -> str:
    return "-" if entry is None else pm(entry["value"], entry["err"])


def _metric_rows(result: Mapping[str, Any], variation: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    nominal = result["nominal"]["models"]
    for model, per_metric in variation["models"].items():
        for metric, s in per_metric.items():
            rows.append({"model": model, "kind": result["kinds"][model], "metric": metric,
                         "nominal test split": _value_cell(nominal.get(model, {}).get(metric)),
                         "twin": pm(s["twin"], s["twin_err"]), "variation": pm(s["value"], s["err"]),
                         "shift (variation - twin)": pm(s["shift"], s["shift_err"], True),
                         "significance": sigma(s["significance"]), "error": _how(s["paired"])})  # fmt: skip
    return rows


def _agreement_rows(result: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"model": model, "kind": result["kinds"][model], "metric": metric,
             "nominal test split": _value_cell(result["nominal"]["models"][model][metric]),
             "twin": pm(s["value"], s["err"]), "twin - nominal test split": pm(s["shift"], s["shift_err"], True),
             "significance": sigma(s["significance"])}
            for model, per_metric in result["twin"]["agreement"].items()
            for metric, s in per_metric.items()]  # fmt: skip


def _robustness_rows(robustness: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"metric": metric, "network": r["network"], "baseline": r["baseline"],
             "shift(network) - shift(baseline)": pm(r["value"], r["err"], True),
             "significance": sigma(r["significance"]), "method": r["method"]}
            for metric, r in robustness.items()]  # fmt: skip


def _variation_text(result: Mapping[str, Any], name: str, v: Mapping[str, Any]) -> list[str]:
    text = [f"\n## Variation `{name}`" + (f": {v['description']}" if v["description"] else ""), "\n\n",
            f"{v['n_test']} test events. Events per class in the twin and the variation; a class with as many in "
            "both holds the same events in the same order (a detector or read-out variation), and its per-event "
            "differences are paired:\n\n", markdown_table(_pairing_rows(v["pairing"])), "\n"]  # fmt: skip
    if v["check"] is not None:
        verdict = "passed" if v["check"]["passed"] else "NOT passed (a class moved the wrong way, by at most 3 σ)"
        text += [f"Physics check {verdict}: the mean of each expected variable per class, twin and variation "
                 "(standard errors of the means), and its shift (paired: the mean of the per-event differences "
                 "with their standard error; unpaired: the two standard errors in quadrature):\n\n",
                 markdown_table(_check_rows(v["check"])), "\n"]  # fmt: skip
    if v["observables"]:
        text += ["What changed: the relative shift of the mean of every per-event variable of the file, "
                 "(variation - twin) / |twin|, per class (paired as above), with its significance:\n\n",
                 markdown_table(_observable_rows(v["observables"])), "\n"]  # fmt: skip
    rows = _metric_rows(result, v)
    if rows:
        text += ["Study metrics on the nominal test split (orientation), the twin and the variation, and the shift "
                 "(variation - twin; error paired where the evaluation paired the events):\n\n",
                 markdown_table(rows), "\n"]  # fmt: skip
    if v["robustness"]:
        text += ["The shift of the best network minus the shift of the best baseline (positive: the network's "
                 "metric rose more, or fell less, than the baseline's):\n\n",
                 markdown_table(_robustness_rows(v["robustness"]))]  # fmt: skip
    return text


def variations_text(result: Mapping[str, Any]) -> str:
    """``variations.md`` of the summary ``result`` of :func:`detcnn.stages.variations.run`."""
    h = result["headline"]
    better = "higher" if h["higher_is_better"] else "lower"
    text = [f"# {result['dataset']}: {result['task'].replace('_', ' ')}, systematic variations\n\n",
            VARIATIONS_INTRO,
            f"## Ranking\n\nThe best network minus the best baseline in {h['metric']} ({better} is better) on each "
            "sample: the report's paired difference (the same resampled events for both), or, marked, the "
            "unpaired one (always on the nominal test split, shown for orientation). The ranking holds where the "
            "same kind of model is ahead on the variation as on the twin.\n\n"]  # fmt: skip
    nominal, twin = result["nominal"], result["twin"]
    rows = [_ranking_row("nominal test split", nominal["n_test"], nominal["ranking"], None),
            _ranking_row("nominal twin", twin["n_test"], twin["ranking"], None)]  # fmt: skip
    rows += [_ranking_row(name, v["n_test"], v["ranking"]["variation"], v["ranking"]["holds"])
             for name, v in result["variations"].items()]  # fmt: skip
    text.append(markdown_table(rows))
    agreement = _agreement_rows(result)
    if agreement:
        text += ["\n## The twin against the nominal test split\n\nIndependent samples (other seeds): the difference "
                 "has the two errors in quadrature and should be consistent with zero.\n\n",
                 markdown_table(agreement)]  # fmt: skip
    for name, v in result["variations"].items():
        text += _variation_text(result, name, v)
    return "".join(text)


def learning_curve_text(result: Mapping[str, Any]) -> str:
    """``learning_curve.md`` of the summary ``result`` of :func:`detcnn.stages.learning_curve.run`."""
    metrics = result["metrics"]
    rows = []
    for model, m in result["models"].items():
        for p in m["points"]:
            size = f"{p['train_events']}" + (" (all)" if p["full"] else "")
            rows.append({"model": model, "kind": m["kind"], "training events": size,
                         **{k: pm(p["metrics"][k]["value"], p["metrics"][k]["err"]) if k in p["metrics"] else "-"
                            for k in metrics}})  # fmt: skip
    return "".join([
        f"# {result['dataset']}: {result['task'].replace('_', ' ')}, learning curve\n\n",
        "Each model trained on nested seeded subsets of the train split (the last point: the whole train split, "
        f"{result['train_events']} events) and evaluated on the nominal test split. The errors are the test-sample "
        "bootstrap errors only: one training per point, so the spread of retrainings (other seeds, other subsets) "
        "is not included.\n\n",
        markdown_table(rows),
    ])  # fmt: skip
