"""Every task's ``report()`` on small hand-made evaluations and test splits: the paired differences in the
returned summary equal the differences of the two models' metrics counted independently (the errors are the
spread over the same resamples), and every figure is written as a PNG. Also the report stage's check that all
models were evaluated on the same test rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detcnn.errors import InputError
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.io.images import ImageSet
from detcnn.tasks import TASKS
from tests.report_inputs import (
    evaluated,
    figure_paths,
    pair_count_auc,
    scan_efficiency_at_purity,
    written_pngs,
)

N_BOOT = 20
Q_LO, Q_HI = 0.15865525393145707, 0.8413447460685429  # the central 68.27 %


def probabilities(y: np.ndarray, noise: float, k: int, seed: int) -> np.ndarray:
    """``(N, k)`` float32 softmax of the true class's indicator plus Gaussian noise."""
    logits = 2.0 * np.eye(k)[y] + noise * np.random.default_rng(seed).normal(size=(len(y), k))
    return (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)


def test_two_class_report(tmp_path: Path) -> None:
    task = TASKS["classification"]
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    attrs = {"class_names": ["gluon", "quark"], "channels": ["pt", "n"], "extent": [-0.4, 0.4, -0.4, 0.4]}
    idx = bootstrap_indices(len(y), N_BOOT, seed=1)
    cut = {"score": np.round(y + rng.normal(0, 1.2, len(y)))}  # an integer observable: ties
    nets = {m: task.prediction(probabilities(y, noise, 2, seed), attrs)
            for m, noise, seed in (("net_a", 1.0, 2), ("net_b", 3.0, 3))}  # fmt: skip
    loaded = {m: evaluated(task, m, "network", y, p, attrs, idx, y) for m, p in nets.items()}
    loaded["cut"] = evaluated(task, "cut", "baseline", y, cut, attrs, idx, y, family="single_observable")
    bdt = {"score": y + rng.normal(0, 2.0, len(y))}  # a weaker multivariate baseline
    loaded["bdt"] = evaluated(task, "bdt", "baseline", y, bdt, attrs, idx, y, family="multivariate")
    obs = {"n_constituents": rng.integers(5, 40, len(y)).astype(float), "ptd": rng.random(len(y))}
    test = ImageSet(X=rng.random((len(y), 2, 6, 6)).astype(np.float32), y=y, observables=obs, attrs=attrs)
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 1}, idx)

    scores = {m: a["score"] for m, (_, a) in loaded.items()}
    aucs = {m: pair_count_auc(y == 1, s) for m, s in scores.items()}
    assert aucs["net_a"] > aucs["net_b"] and out["models"] == pytest.approx(aucs, abs=1e-12)
    d = out["paired_auc_difference"]
    assert (d["network"], d["baseline"], d["n_bootstrap"], d["n_nonfinite"]) == ("net_a", "cut", N_BOOT, 0)
    assert d["value"] == pytest.approx(aucs["net_a"] - aucs["cut"], abs=1e-12)
    diffs = [pair_count_auc(y[i] == 1, scores["net_a"][i]) - pair_count_auc(y[i] == 1, scores["cut"][i]) for i in idx]
    assert d["err"] == pytest.approx(np.std(diffs, ddof=1), abs=1e-12)
    assert d["significance"] == pytest.approx(d["value"] / d["err"])
    assert f"**net_a** minus **cut** = {d['value']:+.4f} ± {d['err']:.4f} (paired bootstrap" in text[0]
    versus = out["versus"]
    assert list(versus) == ["single_observable", "multivariate"]  # the enum's order
    single = versus["single_observable"]
    assert single["baseline"] == "cut" and single["auc"]["value"] == d["value"]
    v = versus["multivariate"]
    assert v["baseline"] == "bdt" and v["auc"]["value"] == pytest.approx(aucs["net_a"] - aucs["bdt"], abs=1e-12)
    assert "best multivariate baseline: **net_a** minus **bdt**" in text[1]
    assert len(text) == 2 and "efficiency_at_baseline_purity" not in out  # a cut without a selection
    assert out["observable_means"]["ptd"]["quark"] == pytest.approx(obs["ptd"][y == 1].mean())
    assert written_pngs(figures) == list(task.FIGURES)


def test_multiclass_report_efficiency_at_the_baseline_purity(tmp_path: Path) -> None:
    task = TASKS["classification"]
    rng = np.random.default_rng(4)
    y = np.repeat([0, 1, 2], 15)
    attrs = {"class_names": ["nu_e CC", "nu_mu CC", "NC"], "signal_class": 0, "channels": ["xz", "yz"],
             "views": ["xz", "yz"]}  # fmt: skip
    idx = bootstrap_indices(len(y), N_BOOT, seed=2)
    observable = (y == 0) + rng.normal(0, 0.7, len(y))
    cut = {"score": observable, "selected": observable > 0.5}
    nets = {m: task.prediction(probabilities(y, noise, 3, seed), attrs)
            for m, noise, seed in (("net_a", 1.5, 5), ("net_b", 2.5, 6))}  # fmt: skip
    loaded = {m: evaluated(task, m, "network", y, p, attrs, idx, y) for m, p in nets.items()}
    loaded["cuts"] = evaluated(task, "cuts", "baseline", y, cut, attrs, idx, y)
    bdt_score = (y == 0) + rng.normal(0, 0.5, len(y))
    bdt = {"score": bdt_score, "selected": bdt_score > 0.5}
    loaded["bdt"] = evaluated(task, "bdt", "baseline", y, bdt, attrs, idx, y, family="multivariate")
    test = ImageSet(X=rng.random((len(y), 2, 6, 6)).astype(np.float32), y=y, observables={"length": rng.random(len(y))},
                    attrs=attrs)  # fmt: skip
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 3}, idx)

    signal, chosen = y == 0, cut["selected"]
    eff_b, pur_b = np.sum(signal & chosen) / np.sum(signal), np.sum(signal & chosen) / np.sum(chosen)
    e = out["efficiency_at_baseline_purity"]
    assert e["baseline"] == "cuts" and e["baseline_efficiency"] == pytest.approx(eff_b)
    assert e["baseline_purity"] == pytest.approx(pur_b)
    every = out["efficiency_at_baseline_purity_all"]
    assert every["baseline_val_purity"] == pytest.approx(pur_b)  # validation here: the test events themselves
    for model, r in {**every["networks"], **every["multivariate"]}.items():
        score = loaded[model][1]["score"]
        eff_n = scan_efficiency_at_purity(signal, score, pur_b)
        assert r["network_efficiency"] == pytest.approx(eff_n) and r["value"] == pytest.approx(eff_n - eff_b)
        assert r["relative_gain"] == pytest.approx(eff_n / eff_b - 1)
        cuts = [v for v in np.unique(score) if np.sum(signal & (score >= v)) / np.sum(score >= v) >= pur_b - 1e-12
                and np.sum(signal & (score >= v)) / np.sum(signal) == pytest.approx(eff_n)]  # fmt: skip
        t = max(cuts) if cuts else np.inf  # the threshold, fixed (inf: none reaches the purity, nothing kept)
        assert cuts or eff_n == 0
        per_resample = [np.sum(signal[i] & (score[i] >= t)) / np.sum(signal[i]) - np.sum(signal[i] & chosen[i])
                        / np.sum(signal[i]) for i in idx]  # fmt: skip
        assert r["err"] == pytest.approx(np.std(per_resample, ddof=1))
        assert f"| {model} | {eff_n:.4f} | {r['network_purity']:.4f} | {eff_n - eff_b:+.4f} ± {r['err']:.4f} |" in (
            "".join(text)
        )
    assert list(every["multivariate"]) == ["bdt"]
    mva = out["network_vs_multivariate_at_baseline_purity"]
    best_net = max(("net_a", "net_b"), key=lambda m: out["models"][m])
    assert mva["value"] == pytest.approx(every["networks"][best_net]["value"] - every["multivariate"]["bdt"]["value"])
    best = max(("net_a", "net_b"), key=lambda m: out["models"][m])
    assert e["value"] == out["efficiency_at_baseline_purity_all"]["networks"][best]["value"]
    d = out["paired_auc_difference"]
    assert d["network"] == best
    baselines = {"cuts": pair_count_auc(signal, observable), "bdt": pair_count_auc(signal, bdt_score)}
    assert d["baseline"] == max(baselines, key=lambda m: baselines[m])
    assert d["value"] == pytest.approx(pair_count_auc(signal, loaded[best][1]["score"]) - max(baselines.values()))
    assert out["versus"]["cuts"]["auc"]["value"] == pytest.approx(
        pair_count_auc(signal, loaded[best][1]["score"]) - baselines["cuts"]
    )
    assert written_pngs(figures) == list(task.FIGURES)


def test_segmentation_report(tmp_path: Path) -> None:
    task = TASKS["segmentation"]
    rng = np.random.default_rng(7)
    n = 12
    attrs = {"pixel_class_names": ["empty", "track", "shower"], "class_names": ["a", "b"], "views": ["xz"],
             "channels": ["xz"]}  # fmt: skip
    y_pix = (rng.integers(1, 3, (n, 1, 4, 4)) * (rng.random((n, 1, 4, 4)) < 0.5)).astype(np.int8)
    idx = bootstrap_indices(n, N_BOOT, seed=3)
    preds = {m: np.where(rng.random(y_pix.shape) < p, y_pix, rng.integers(0, 3, y_pix.shape)).astype(np.int8)
             for m, p in (("unet", 0.9), ("pixel_cuts", 0.5))}  # fmt: skip
    loaded = {m: evaluated(task, m, kind, y_pix, {"pred": preds[m]}, attrs, idx)
              for m, kind in (("unet", "network"), ("pixel_cuts", "baseline"))}  # fmt: skip
    test = ImageSet(X=rng.random((n, 1, 4, 4)).astype(np.float32), y=rng.integers(0, 2, n), observables={},
                    attrs=attrs, pixels={"y_pix": y_pix})  # fmt: skip
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 1}, idx)

    def accuracy(pred: np.ndarray, truth: np.ndarray) -> float:  # right among the pixels whose truth is not empty
        return float(np.sum((pred == truth) & (truth > 0)) / np.sum(truth > 0))

    d = out["paired_accuracy_difference"]
    assert (d["network"], d["baseline"]) == ("unet", "pixel_cuts")
    assert out["models"]["unet"] == pytest.approx(accuracy(preds["unet"], y_pix))
    assert d["value"] == pytest.approx(accuracy(preds["unet"], y_pix) - accuracy(preds["pixel_cuts"], y_pix))
    diffs = [accuracy(preds["unet"][i], y_pix[i]) - accuracy(preds["pixel_cuts"][i], y_pix[i]) for i in idx]
    assert d["err"] == pytest.approx(np.std(diffs, ddof=1))
    assert "Pixel accuracy on non-empty pixels: **unet** minus **pixel_cuts**" in text[0]
    assert written_pngs(figures) == list(task.FIGURES)


def core_width(r: np.ndarray) -> float:
    lo, hi = np.quantile(r, [Q_LO, Q_HI])
    return 0.5 * (hi - lo)


def check_resolution_differences(out: dict, pred: dict, true: np.ndarray, idx: np.ndarray, net: str, base: str) -> None:
    """The paired RMS and core-width differences of (pred - true) / true per event, against a direct count."""
    r = {m: (p - true) / true for m, p in pred.items()}
    for what, width in (("rms", np.std), ("core_width", core_width)):
        d = out[f"paired_{what}_difference"]
        assert (d["network"], d["baseline"], d["n_nonfinite"]) == (net, base, 0)
        assert d["value"] == pytest.approx(width(r[net]) - width(r[base]), abs=1e-12)
        assert d["err"] == pytest.approx(np.std([width(r[net][i]) - width(r[base][i]) for i in idx], ddof=1))


def test_pixel_regression_report(tmp_path: Path) -> None:
    task = TASKS["pixel_regression"]
    rng = np.random.default_rng(8)
    n = 10
    e_pix = ((rng.random((n, 1, 3, 3)) < 0.5) * rng.uniform(1, 10, (n, 1, 3, 3))).astype(np.float32)
    e_pix[:, 0, 1, 1] = 5.0  # every event has energy
    idx = bootstrap_indices(n, N_BOOT, seed=4)
    preds = {m: (e_pix * (1 + s * rng.normal(size=e_pix.shape))).astype(np.float32)
             for m, s in (("unet_energy", 0.05), ("calibration", 0.3))}  # fmt: skip
    attrs = {"pixel_class_names": ["empty", "track", "shower"]}
    loaded = {m: evaluated(task, m, kind, e_pix, {"pred": preds[m]}, attrs, idx)
              for m, kind in (("unet_energy", "network"), ("calibration", "baseline"))}  # fmt: skip
    test = ImageSet(X=rng.random((n, 1, 3, 3)).astype(np.float32), y=np.zeros(n, np.int64), observables={},
                    attrs=attrs, pixels={"e_pix": e_pix})  # fmt: skip
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 1}, idx)

    sums = {m: p.reshape(n, -1).sum(axis=1).astype(np.float64) for m, p in preds.items()}
    check_resolution_differences(out, sums, e_pix.reshape(n, -1).sum(axis=1).astype(np.float64), idx,
                                 "unet_energy", "calibration")  # fmt: skip
    assert len(text) == 2 and written_pngs(figures) == list(task.FIGURES)


def test_energy_regression_report(tmp_path: Path) -> None:
    task = TASKS["energy_regression"]
    rng = np.random.default_rng(9)
    true = rng.uniform(0.5, 4.0, 30)
    idx = bootstrap_indices(len(true), N_BOOT, seed=5)
    preds = {m: (true * (1 + s * rng.normal(size=len(true)))).astype(np.float32)
             for m, s in (("nova_energy", 0.1), ("calorimetric", 0.25), ("bdt", 0.3))}  # fmt: skip
    attrs = {"class_names": ["nu_e CC"], "views": ["xz", "yz"], "channels": ["xz", "yz"]}
    loaded = {m: evaluated(task, m, kind, true, {"pred": preds[m]}, attrs, idx, family=family)
              for m, kind, family in (("nova_energy", "network", ""), ("calorimetric", "baseline", "calibration"),
                                      ("bdt", "baseline", "multivariate"))}  # fmt: skip
    test = ImageSet(X=rng.random((len(true), 2, 4, 4)).astype(np.float32), y=np.zeros(len(true), np.int64),
                    observables={}, attrs=attrs)  # fmt: skip
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 1}, idx)

    check_resolution_differences(out, {m: p.astype(np.float64) for m, p in preds.items()}, true, idx,
                                 "nova_energy", "calorimetric")  # fmt: skip
    assert out["models"]["nova_energy"] == pytest.approx(np.std((preds["nova_energy"] - true) / true))
    assert "Resolution (rms of (pred - true) / true): **nova_energy** minus **calorimetric**" in text[0]
    versus = out["versus"]
    assert [(f, v["baseline"]) for f, v in versus.items()] == [("calibration", "calorimetric"), ("multivariate", "bdt")]
    r = {m: (p.astype(np.float64) - true) / true for m, p in preds.items()}
    assert versus["multivariate"]["rms"]["value"] == pytest.approx(np.std(r["nova_energy"]) - np.std(r["bdt"]))
    assert "against the best multivariate baseline: **nova_energy** minus **bdt**" in "".join(text)
    assert written_pngs(figures) == list(task.FIGURES)


def frames(n_emitters: list[int], rng: np.random.Generator) -> np.ndarray:
    """``(N, 4, 3)`` emitters (x, y [nm], photons), NaN-padded, on a grid 400 nm apart (matching is unique)."""
    out = np.full((len(n_emitters), 4, 3), np.nan)
    for i, k in enumerate(n_emitters):
        cells = rng.choice(9, size=k, replace=False)
        out[i, :k, 0], out[i, :k, 1], out[i, :k, 2] = 200 + 400 * (cells % 3), 200 + 400 * (cells // 3), 1000.0
    return out


def found(emitters: np.ndarray, keep: np.ndarray, shift_nm: float, false_positive: bool) -> np.ndarray:
    """Localisations ``(N, 5, 3)``: the ``keep`` emitters moved by ``shift_nm`` in x, and optionally one far
    from every emitter (at the corner) in each frame."""
    out = np.full((len(emitters), 5, 3), np.nan, dtype=np.float32)
    out[:, :4] = np.where(keep[..., None], emitters + np.array([shift_nm, 0.0, 0.0]), np.nan)
    if false_positive:
        out[:, 4] = [1590.0, 1590.0, 0.5]
    return out


def test_localisation_report(tmp_path: Path) -> None:
    task = TASKS["localisation"]
    rng = np.random.default_rng(10)
    y = np.repeat([0, 1, 2], 6)  # d1 (1 emitter per frame), d3 (3), filaments (2)
    emitters = frames([1] * 6 + [3] * 6 + [2] * 6, rng)
    present = np.isfinite(emitters[..., 0])
    keep = {m: present & (rng.random(present.shape) < p) for m, p in (("loc_unet", 0.9), ("local_maxima", 0.6))}
    locs = {"loc_unet": found(emitters, keep["loc_unet"], 10.0, False),
            "local_maxima": found(emitters, keep["local_maxima"], 30.0, True)}  # fmt: skip
    names = ["d1", "d3", "filaments"]
    attrs = {"class_names": names, "pixel_nm": 100.0, "upsampling": 4, "extent": [0, 1600, 0, 1600],
             "match_tolerance_nm": 100.0}  # fmt: skip
    idx = bootstrap_indices(len(y), N_BOOT, seed=6)
    loaded = {m: evaluated(task, m, kind, emitters, {"locs": locs[m]}, attrs, idx, y, {"event_classes": y})
              for m, kind in (("loc_unet", "network"), ("local_maxima", "baseline"))}  # fmt: skip
    test = ImageSet(X=rng.random((len(y), 1, 16, 16)).astype(np.float32), y=y, observables={}, attrs=attrs,
                    pixels={"emitters": emitters.astype(np.float32)},
                    truth={"density": np.repeat([1.0, 3.0, 2.0], 6)})  # fmt: skip
    figures = figure_paths(task, tmp_path)
    out, text = task.report(loaded, test, figures, {"seed": 1}, idx)

    def jaccard(model: str, rows: np.ndarray) -> float:  # TP / (TP + FP + FN) of the d3 frames among rows
        chosen = rows[y[rows] == 1]
        tp = keep[model][chosen].sum()
        fp = len(chosen) if model == "local_maxima" else 0  # its one false localisation per frame
        return float(tp / (tp + fp + present[chosen].sum() - tp))

    assert out["densities"] == {"d1": 1.0, "d3": 3.0, "filaments": 2.0}
    d = out["paired_jaccard_difference_highest_density"]
    assert (d["network"], d["baseline"], d["sample"]) == ("loc_unet", "local_maxima", "d3")
    every = np.arange(len(y))
    assert d["network_value"] == pytest.approx(jaccard("loc_unet", every))
    assert d["baseline_value"] == pytest.approx(jaccard("local_maxima", every))
    assert d["value"] == pytest.approx(jaccard("loc_unet", every) - jaccard("local_maxima", every))
    diffs = [jaccard("loc_unet", i) - jaccard("local_maxima", i) for i in idx]
    assert d["err"] == pytest.approx(np.std(diffs, ddof=1))
    rmse = out["paired_rmse_nm_difference_lowest_density"]  # every match is off by the model's shift in x
    assert rmse["sample"] == "d1" and rmse["value"] == pytest.approx(10.0 - 30.0, abs=1e-3)
    assert rmse["err"] == pytest.approx(0.0, abs=1e-3) and rmse["n_nonfinite"] == 0
    assert len(text) == 2 and "(sample d3, 3 emitters/µm²" in text[0]
    assert written_pngs(figures) == list(task.FIGURES)


def test_report_stage_refuses_models_evaluated_on_other_rows(tmp_path: Path) -> None:
    """The energy regression evaluates the events of some classes only, all with ``y == 0``: two models on
    other events have equal ``y`` but other ``rows``, which the report must refuse."""
    from detcnn.stages import report

    task = TASKS["energy_regression"]
    paths = {}
    for model, rows, kind in (("nova_energy", np.arange(5), "network"), ("calorimetric", np.arange(1, 6), "baseline")):
        metrics, scores = tmp_path / f"{model}.json", tmp_path / f"{model}.npz"
        metrics.write_text(json.dumps({"model": model, "kind": kind, "task": task.NAME, "metrics": {}}))
        np.savez(scores, y=np.zeros(5, np.int64), rows=rows, pred=np.ones(5), true=np.ones(5))
        paths[model] = (metrics, scores)
    with pytest.raises(InputError, match=r"calorimetric\.npz.*model 'calorimetric' was evaluated on other test "
                                         r"events than 'nova_energy'.*Fix: re-run the evaluations"):  # fmt: skip
        report.run(metrics=[m for m, _ in paths.values()], scores=[s for _, s in paths.values()],
                   test=tmp_path / "absent.h5", table=tmp_path / "t.md", csv=tmp_path / "t.csv",
                   summary=tmp_path / "s.json", figures={f: tmp_path / f"{f}.png" for f in task.FIGURES},
                   dataset="nu", task=task.NAME, n_bootstrap=5, seed=1)  # fmt: skip
