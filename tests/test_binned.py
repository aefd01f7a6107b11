"""Performance in bins: the task's study metrics in bins of a per-event variable (detcnn.evaluation.binned)
against hand computations, the evaluate stage's ``binned`` output and variation labels, and the binned report
stage's three files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.binned import binned_metrics
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.io.images import ImageWriter
from detcnn.kinds import ModelKind
from detcnn.stages import binned, evaluate, init_tracking
from detcnn.tasks import TASKS
from tests.conftest import assert_figure

CLASSIFICATION = TASKS["classification"]
ATTRS = {"class_names": ["gluon", "quark"], "channels": ["pt"]}


def jets(n: int, seed: int, smear: float = 1.0) -> dict[str, np.ndarray]:
    """Two classes whose score separates them better at small |y| (so the AUC differs between bins)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    jet_y = rng.uniform(-2.5, 2.5, n)
    score = y * (1.5 - 0.5 * np.abs(jet_y)) + smear * rng.normal(0, 1, n)
    return {"y": y, "jet_y": jet_y, "score": score}


def hand_rejection(y: np.ndarray, score: np.ndarray, threshold: float) -> float:
    passed = score[y == 0] >= threshold
    return float("inf") if not passed.any() else 1.0 / passed.mean()


def test_auc_and_counts_in_bins_match_sklearn_and_numpy() -> None:
    ev = jets(3000, seed=1)
    values = 0.5 + 0.6 * ev["jet_y"]  # in (-1, 2)
    values[:3] = [2.0, -1.0, 7.0]  # on the last edge (in the last bin), on the first edge, outside every bin
    edges = [-1.0, 0.0, 0.5, 2.0]
    prediction = {"score": ev["score"]}
    settings = {"thresholds": {"rej_at_0.5": 0.3}}
    bins = binned_metrics(CLASSIFICATION.metrics, ev["y"], prediction, ATTRS, settings, values, edges,
                          n_bootstrap=30, seed=4, prefixes=CLASSIFICATION.STUDY_METRICS)  # fmt: skip
    counts, _ = np.histogram(values, edges)  # numpy's last bin is closed too
    assert [b["n"] for b in bins] == counts.tolist() and sum(counts) == 2999
    assert [(b["lo"], b["hi"]) for b in bins] == [(-1.0, 0.0), (0.0, 0.5), (0.5, 2.0)]
    for b in bins:
        sel = (values >= b["lo"]) & ((values < b["hi"]) | ((values == b["hi"]) & (b["hi"] == 2.0)))
        assert set(b["metrics"]) == {"auc", "rej_at_0.5"}  # eff_s_at_ and accuracy are not study metrics
        assert b["metrics"]["auc"]["value"] == pytest.approx(roc_auc_score(ev["y"][sel], ev["score"][sel]), abs=1e-12)
        rej = b["metrics"]["rej_at_0.5"]["value"]
        assert rej == pytest.approx(hand_rejection(ev["y"][sel], ev["score"][sel], 0.3), rel=1e-12)
        y_bin, s_bin = ev["y"][sel], ev["score"][sel]
        resampled = [roc_auc_score(y_bin[i], s_bin[i]) for i in bootstrap_indices(int(sel.sum()), 30, 4)]
        assert b["metrics"]["auc"]["err"] == pytest.approx(np.std(resampled, ddof=1), rel=1e-9)
        assert b["metrics"]["auc"]["n_bootstrap"] == 30
    aucs = [b["metrics"]["auc"]["value"] for b in bins]
    assert aucs[1] > aucs[2] + 0.05, aucs  # the separation falls with |y|: the bins see it


def test_empty_bin_bin_without_signal_and_nan_values() -> None:
    y = np.array([0, 0, 0, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.3, 0.9, 0.4, 0.8])
    values = np.array([0.5, 0.6, 0.7, 2.5, 2.6, 2.7])
    bins = binned_metrics(CLASSIFICATION.metrics, y, {"score": score}, ATTRS, {}, values, [0, 1, 2, 3],
                          n_bootstrap=5, seed=1, prefixes=("auc",))  # fmt: skip
    assert bins[0]["n"] == 3 and np.isnan(bins[0]["metrics"]["auc"]["value"])  # no signal: no AUC, no crash
    assert bins[1] == {"lo": 1.0, "hi": 2.0, "n": 0, "metrics": {}}
    assert bins[2]["metrics"]["auc"]["value"] == 1.0
    values[4] = np.nan
    with pytest.raises(InputError, match="'truth/jet_y' is NaN for 1 of 6"):
        binned_metrics(CLASSIFICATION.metrics, y, {"score": score}, ATTRS, {}, values, [0, 3], n_bootstrap=5,
                       seed=1, prefixes=("auc",), variable="truth/jet_y")  # fmt: skip
    with pytest.raises(ConfigError, match="increasing"):
        binned_metrics(CLASSIFICATION.metrics, y, {"score": score}, ATTRS, {}, np.ones(6), [1, 1], n_bootstrap=5,
                       seed=1, prefixes=("auc",))  # fmt: skip


def test_per_event_settings_are_cut_to_the_bin_and_thresholds_kept() -> None:
    """What the task's metrics function receives in a bin: its events' classes, the same thresholds, and
    resamples of the bin's size; only names with a study prefix are kept."""
    calls: list[dict[str, Any]] = []

    def fn(truth: np.ndarray, prediction: Any, attrs: Any, settings: Any, indices: np.ndarray) -> dict[str, Any]:
        calls.append({"truth": truth, "settings": settings, "indices": indices, "pred": prediction["p"]})
        m = {"value": float(truth.sum()), "err": 0.0, "n_bootstrap": len(indices), "n_nonfinite": 0}
        return {"keep_sum": m, "other": m}

    truth = np.arange(10.0)
    classes = np.arange(10) % 3
    settings = {"event_classes": classes, "thresholds": {"t": 0.5}, "purities": [0.9, 0.8]}
    bins = binned_metrics(fn, truth, {"p": truth * 2}, {}, settings, truth, [0, 4, 10], n_bootstrap=7, seed=2,
                          prefixes=("keep",))  # fmt: skip
    assert [b["metrics"]["keep_sum"]["value"] for b in bins] == [6.0, 39.0]
    assert all(set(b["metrics"]) == {"keep_sum"} for b in bins)
    assert calls[0]["settings"]["event_classes"].tolist() == [0, 1, 2, 0]
    assert calls[1]["settings"]["thresholds"] == {"t": 0.5} and calls[1]["settings"]["purities"] == [0.9, 0.8]
    assert calls[1]["pred"].tolist() == [8.0, 10.0, 12.0, 14.0, 16.0, 18.0]
    np.testing.assert_array_equal(calls[1]["indices"], bootstrap_indices(6, 7, 2))


def write_split(path: Path, ev: dict[str, np.ndarray]) -> Path:
    n = len(ev["y"])
    with ImageWriter(path, (1, 4, 4), ATTRS) as w:
        w.append(np.zeros((n, 1, 4, 4), np.float32), ev["y"], {"mass": ev["score"]}, truth={"jet_y": ev["jet_y"]})
    return path


def test_evaluate_stage_bins_a_baseline_and_labels_a_variation(tmp_path: Path) -> None:
    """A single-cut baseline on the observable ``mass`` (= the score of :func:`jets`): its AUC in bins of
    |jet_y| is sklearn's on those test events, its rejection uses the validation threshold; a variation run
    (more smearing) is named and tagged, with shifts against its nominal twin (here the nominal test split:
    the same events, paired), and its metrics go onto the training run under test/<variation>/."""
    from mlflow.tracking import MlflowClient

    from detcnn.tracking import mlflow_run

    val, test = write_split(tmp_path / "val.h5", jets(600, 2)), write_split(tmp_path / "test.h5", jets(800, 3))
    varied = write_split(tmp_path / "varied.h5", jets(800, 3, smear=2.0))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_tracking.run(uri=uri, marker=tmp_path / "store.json")
    with mlflow_run(uri, "toy", "fit/cut") as (_, parent):
        pass
    model = tmp_path / "baseline.json"
    model.write_text(json.dumps({"kind": "single_cut", "observables": ["mass"], "direction": 1,
                                 "mlflow_run_id": parent.info.run_id}))  # fmt: skip
    bins = [{"variable": "truth/jet_y", "abs": True, "edges": [0.0, 1.0, 2.5]}]

    def evaluate_on(split: Path, folder: str, **extra: Any) -> dict[str, Any]:
        out = {k: tmp_path / folder / k for k in ("scores.npz", "metrics.json", "plot.png")}
        return evaluate.run(model=model, kind=ModelKind.BASELINE, val=val, test=split, scores=out["scores.npz"],
                            metrics=out["metrics.json"], plot=out["plot.png"], dataset="toy", name="cut",
                            efficiencies=[0.5], purities=[], n_bootstrap=20, seed=1, tracking_uri=uri, bins=bins,
                            **extra)  # fmt: skip

    nominal = evaluate_on(test, "nominal")
    ev = jets(800, 3)
    threshold = nominal["working_points"]["rej_at_0.5"]
    stored = json.loads((tmp_path / "nominal" / "metrics.json").read_text())["binned"]
    assert [(e["variable"], e["abs"], e["edges"]) for e in stored] == [("truth/jet_y", True, [0.0, 1.0, 2.5])]
    for b in stored[0]["bins"]:
        a = np.abs(ev["jet_y"])
        sel = (a >= b["lo"]) & ((a < b["hi"]) if b["hi"] < 2.5 else (a <= b["hi"]))
        assert b["n"] == sel.sum()
        assert b["metrics"]["auc"]["value"] == pytest.approx(roc_auc_score(ev["y"][sel], ev["score"][sel]), abs=1e-12)
        assert b["metrics"]["rej_at_0.5"]["value"] == pytest.approx(hand_rejection(ev["y"][sel], ev["score"][sel],
                                                                                   threshold), rel=1e-12)  # fmt: skip
    assert sum(b["n"] for b in stored[0]["bins"]) == 800

    smeared = evaluate_on(varied, "smear", variation="smear", nominal_test=test)
    shift = smeared["metrics"]["test/auc"]["value"] - nominal["metrics"]["test/auc"]["value"]
    assert smeared["variation"] == "smear" and smeared["shift"]["auc"]["value"] == pytest.approx(shift, abs=1e-12)
    assert smeared["shift"]["auc"]["paired"] and smeared["shift"]["auc"]["err"] > 0
    assert shift < -0.05, shift  # more smearing, less separation
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("detcnn/toy").experiment_id])
    names = {r.info.run_name: r for r in runs}
    assert {"fit/cut", "eval/cut", "eval/cut/smear"} <= set(names)
    assert names["eval/cut/smear"].data.tags["variation"] == "smear" and "variation" not in names["eval/cut"].data.tags
    on_parent = client.get_run(parent.info.run_id).data.metrics
    assert on_parent["test/auc"] == pytest.approx(nominal["metrics"]["test/auc"]["value"])
    assert on_parent["test/smear/auc"] == pytest.approx(smeared["metrics"]["test/auc"]["value"])
    assert on_parent["test/smear/auc_shift"] == pytest.approx(shift)
    assert "test/smear/auc_err" in on_parent


def test_variation_keys() -> None:
    flat = {"test/auc": 0.8, "test/auc_err": 0.01, "test/auc_shift": -0.02}
    assert evaluate.variation_keys(flat, None) == flat
    assert evaluate.variation_keys(flat, "pileup_up") == {
        "test/pileup_up/auc": 0.8, "test/pileup_up/auc_err": 0.01, "test/pileup_up/auc_shift": -0.02,
    }  # fmt: skip


def binned_summary(model: str, kind: str, auc: float, scale: float, edges: list[float]) -> dict[str, Any]:
    """A ``metrics.json`` with one binned variable of two bins (the second without events)."""
    metric = {"value": auc * scale, "err": 0.012, "n_bootstrap": 20, "n_nonfinite": 0}
    first = {"auc": metric, "rej_at_0.5": {**metric, "value": None}}  # a JSON null: inf, no background passed
    bins = [{"lo": edges[0], "hi": edges[1], "n": 40, "metrics": first},
            {"lo": edges[1], "hi": edges[2], "n": 0, "metrics": {}}]  # fmt: skip
    return {"model": model, "kind": kind, "task": CLASSIFICATION.NAME, "n_parameters": 1,
            "metrics": {"test/auc": {"value": auc, "err": 0.01, "n_bootstrap": 20, "n_nonfinite": 0}},
            "binned": [{"variable": "observables/mass", "abs": False, "edges": edges, "bins": bins}]}  # fmt: skip


def test_binned_stage_writes_table_summary_and_figure(tmp_path: Path) -> None:
    paths = []
    for model, kind, auc in (("cut", "baseline", 0.70), ("cnn", "network", 0.85)):
        paths.append(tmp_path / model / "metrics.json")
        paths[-1].parent.mkdir()
        paths[-1].write_text(json.dumps(binned_summary(model, kind, auc, 0.9, [0.0, 50.0, 100.0])))
    out = {"table": tmp_path / "binned.md", "summary": tmp_path / "binned.json", "figure": tmp_path / "binned.png"}
    result = binned.run(metrics=paths, **out, dataset="qg", task=CLASSIFICATION.NAME)
    stored = json.loads(out["summary"].read_text())
    assert stored == result and stored["kinds"] == {"cnn": "network", "cut": "baseline"}
    assert stored["metrics"] == ["auc", "rej_at_0.5"]
    (variable,) = stored["variables"]
    assert list(variable["models"]) == ["cnn", "cut"]  # best headline first
    assert variable["models"]["cnn"][0]["metrics"]["auc"]["value"] == pytest.approx(0.765)
    table = out["table"].read_text()
    assert "## mass (observables/mass)" in table
    assert "| [0, 50) | 40 | cnn | 0.765 ± 0.012 | n/a |" in table
    assert "| [50, 100] | 0 | cut | - | - |" in table
    assert_figure(out["figure"])

    paths[1].write_text(json.dumps(binned_summary("cnn", "network", 0.85, 0.9, [0.0, 40.0, 100.0])))
    with pytest.raises(InputError, match="other bins than"):
        binned.run(metrics=paths, **out, dataset="qg", task=CLASSIFICATION.NAME)
    without = binned_summary("cnn", "network", 0.85, 0.9, [0.0, 50.0, 100.0])
    del without["binned"]
    paths[1].write_text(json.dumps(without))
    with pytest.raises(InputError, match=r"evaluated without bins.*Fix: re-run its evaluation with bins"):
        binned.run(metrics=paths, **out, dataset="qg", task=CLASSIFICATION.NAME)
