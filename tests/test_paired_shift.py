"""The shift of a variation against its nominal twin with a paired bootstrap error
(detcnn.evaluation.paired_shift) on synthetic scores with the classification task's metrics, and the evaluate
stage's ``shift`` and ``nominal_test`` outputs on tiny image files with a single-cut baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.evaluation.paired_shift import Evaluated, independent_indices, paired_shifts
from detcnn.io.images import ImageWriter
from detcnn.kinds import ModelKind
from detcnn.stages import evaluate, init_tracking
from detcnn.tasks import TASKS

CLASSIFICATION = TASKS["classification"]
ATTRS = {"class_names": ["gluon", "quark"], "channels": ["pt"]}
THRESHOLDS = {"rej_at_0.5": 0.5}


def events(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Event classes sorted as a file holds them (one sample after another) and a score separating them."""
    rng = np.random.default_rng(seed)
    y = np.sort(rng.integers(0, 2, n))
    return y, y + rng.normal(0, 1, n)


def sample(y: np.ndarray, score: np.ndarray) -> Evaluated:
    return Evaluated(y, {"score": score}, ATTRS, {"thresholds": THRESHOLDS, "event_classes": y})


def own_err(s: Evaluated, name: str, n_boot: int, seed: int) -> float:
    """A sample's own bootstrap error of ``name``, as the evaluate stage writes it."""
    found = CLASSIFICATION.metrics(s.truth, s.prediction, ATTRS, s.settings, bootstrap_indices(len(s), n_boot, seed))
    return found[name]["err"]


def test_a_variation_identical_to_its_twin_shifts_by_zero_without_error() -> None:
    y, score = events(400, 1)
    found = paired_shifts(CLASSIFICATION.metrics, sample(y, score), sample(y, score.copy()), n_bootstrap=30, seed=2)
    assert set(found) == {"auc", "rej_at_0.5", "eff_s_at_0.5"}
    for entry in found.values():
        assert entry["value"] == 0.0 and entry["err"] == 0.0 and entry["significance"] == 0.0
        assert entry["paired"] and entry["n_bootstrap"] == 30 and entry["n_nonfinite"] == 0
        assert entry["n_variation"] == entry["n_nominal"] == 400


def test_a_small_per_event_change_has_a_paired_error_far_below_the_unpaired_one() -> None:
    """The error is the spread of auc(variation[idx_b]) - auc(twin[idx_b]) on the stage's own resamples."""
    y, score = events(1000, 3)
    varied = score + np.random.default_rng(4).normal(0, 0.1, len(y))
    a, b = sample(y, varied), sample(y, score)
    found = paired_shifts(CLASSIFICATION.metrics, a, b, n_bootstrap=60, seed=5)
    auc = found["auc"]
    assert auc["paired"] and auc["value"] == pytest.approx(roc_auc_score(y, varied) - roc_auc_score(y, score))
    diffs = [roc_auc_score(y[i], varied[i]) - roc_auc_score(y[i], score[i]) for i in bootstrap_indices(1000, 60, 5)]
    assert auc["err"] == pytest.approx(np.std(diffs, ddof=1), rel=1e-9)
    unpaired = np.hypot(own_err(a, "auc", 60, 5), own_err(b, "auc", 60, 5))
    assert auc["err"] < 0.2 * unpaired, (auc["err"], unpaired)
    assert auc["significance"] == pytest.approx(auc["value"] / auc["err"])


def test_unequal_class_counts_resample_independently() -> None:
    """A read-out threshold dropped 7 background events of the variation: no pairing, and the error is that of
    two independent samples, sqrt(err_a^2 + err_b^2)."""
    y, score = events(1500, 6)
    varied = score + np.random.default_rng(7).normal(0, 0.1, len(y))
    kept = np.ones(len(y), bool)
    kept[np.flatnonzero(y == 0)[::50][:7]] = False
    a, b = sample(y[kept], varied[kept]), sample(y, score)
    found = paired_shifts(CLASSIFICATION.metrics, a, b, n_bootstrap=200, seed=8)
    auc = found["auc"]
    assert not auc["paired"] and (auc["n_variation"], auc["n_nominal"]) == (1493, 1500)
    unpaired = np.hypot(own_err(a, "auc", 200, 8), own_err(b, "auc", 200, 8))
    assert auc["err"] == pytest.approx(unpaired, rel=0.2)
    paired_err = paired_shifts(CLASSIFICATION.metrics, sample(y, varied), b, n_bootstrap=200, seed=8)["auc"]["err"]
    assert paired_err < 0.3 * auc["err"]
    # the twin's draw is another stream of the seed, not the variation's resamples cut to another size
    twin_draw, own_draw = independent_indices(1500, 200, 8), bootstrap_indices(1500, 200, 8)
    assert np.mean(twin_draw == own_draw) < 0.01


def test_per_event_settings_follow_the_resample_and_nonfinite_differences_are_counted() -> None:
    """The task's metrics see each resample's event classes; a metric that is inf on both (inf - inf) counts
    as non-finite and stays out of the error."""
    seen: list[np.ndarray] = []

    def fn(truth: np.ndarray, prediction: Any, attrs: Any, settings: Any, indices: np.ndarray) -> dict[str, Any]:
        seen.append(settings["event_classes"])
        mean = float(np.mean(prediction["p"]))
        return {"mean": {"value": mean}, "wild": {"value": np.inf if mean > 2.0 else mean}}

    truth = np.arange(6.0)
    classes = np.array([0, 0, 1, 1, 2, 2])
    a = Evaluated(truth, {"p": truth + 1.0}, {}, {"event_classes": classes, "thresholds": {}})
    b = Evaluated(truth, {"p": truth}, {}, {"event_classes": classes, "thresholds": {}})
    found = paired_shifts(fn, a, b, n_bootstrap=40, seed=1)
    assert found["mean"]["value"] == 1.0 and found["mean"]["err"] == pytest.approx(0.0, abs=1e-12)
    idx = bootstrap_indices(6, 40, 1)
    np.testing.assert_array_equal(seen[2], classes[idx[0]])  # after the two on all events: resample 0
    wild = [np.inf if (truth[i] + 1).mean() > 2 else (truth[i] + 1).mean() for i in idx]
    both_inf = sum(w == np.inf and (truth[i].mean() > 2) for w, i in zip(wild, idx, strict=True))
    assert found["wild"]["n_nonfinite"] == sum(w == np.inf for w in wild) and both_inf > 0


def write_split(path: Path, y: np.ndarray, score: np.ndarray, attrs: dict[str, Any] = ATTRS, size: int = 4) -> Path:
    with ImageWriter(path, (1, size, size), attrs) as w:
        w.append(np.zeros((len(y), 1, size, size), np.float32), y, {"mass": score})
    return path


def test_evaluate_stage_writes_the_twin_and_the_paired_shifts(tmp_path: Path) -> None:
    """A single cut on the observable ``mass``: the variation is its nominal twin with each event's mass
    smeared a little; the twin's own metrics are sklearn's, the shift is the AUC difference with a paired
    error, and both go onto the fit's MLflow row under test/<variation>/."""
    from mlflow.tracking import MlflowClient

    from detcnn.tracking import mlflow_run

    y, score = events(600, 11)
    varied = score + np.random.default_rng(12).normal(0, 0.2, len(y))
    val = write_split(tmp_path / "val.h5", *events(400, 13))
    twin, variation = write_split(tmp_path / "twin.h5", y, score), write_split(tmp_path / "var.h5", y, varied)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_tracking.run(uri=uri, marker=tmp_path / "store.json")
    with mlflow_run(uri, "toy", "fit/cut") as (_, parent):
        pass
    model = tmp_path / "baseline.json"
    model.write_text(json.dumps({"kind": "single_cut", "observables": ["mass"], "direction": 1,
                                 "mlflow_run_id": parent.info.run_id}))  # fmt: skip

    def evaluate_on(split: Path, **extra: Any) -> dict[str, Any]:
        out = {k: tmp_path / "eval" / k for k in ("scores.npz", "metrics.json", "plot.png")}
        return evaluate.run(model=model, kind=ModelKind.BASELINE, val=val, test=split, scores=out["scores.npz"],
                            metrics=out["metrics.json"], plot=out["plot.png"], dataset="toy", name="cut",
                            efficiencies=[0.5], purities=[], n_bootstrap=40, seed=1, tracking_uri=uri,
                            **extra)  # fmt: skip

    summary = evaluate_on(variation, variation="smear", nominal_test=twin)
    stored = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert stored["nominal_test"]["n_test"] == 600 and set(stored["shift"]) == {"auc", "rej_at_0.5", "eff_s_at_0.5"}
    twin_auc = stored["nominal_test"]["metrics"]["test/auc"]
    assert twin_auc["value"] == pytest.approx(roc_auc_score(y, score), abs=1e-12) and twin_auc["err"] > 0
    shift = stored["shift"]["auc"]
    assert shift["value"] == pytest.approx(roc_auc_score(y, varied) - roc_auc_score(y, score), abs=1e-12)
    assert shift["paired"] and shift["n_variation"] == shift["n_nominal"] == 600 and shift["n_bootstrap"] == 40
    assert 0 < shift["err"] < 0.5 * np.hypot(twin_auc["err"], stored["metrics"]["test/auc"]["err"])
    threshold = summary["working_points"]["rej_at_0.5"]  # the nominal validation's, on both files
    twin_eff = stored["nominal_test"]["metrics"]["test/eff_s_at_0.5"]["value"]
    assert twin_eff == pytest.approx(np.mean(score[y == 1] >= threshold))
    client = MlflowClient(tracking_uri=uri)
    on_parent = client.get_run(parent.info.run_id).data.metrics
    assert on_parent["test/smear/auc_shift"] == pytest.approx(shift["value"])
    assert on_parent["test/smear/auc_shift_err"] == pytest.approx(shift["err"])

    dropped = write_split(tmp_path / "dropped.h5", y[3:], varied[3:])  # a threshold dropped three events
    assert not evaluate_on(dropped, variation="smear", nominal_test=twin)["shift"]["auc"]["paired"]


def test_evaluate_stage_refuses_a_twin_that_does_not_match(tmp_path: Path) -> None:
    y, score = events(200, 21)
    val, test = write_split(tmp_path / "val.h5", y, score), write_split(tmp_path / "test.h5", y, score)
    model = tmp_path / "baseline.json"
    model.write_text(json.dumps({"kind": "single_cut", "observables": ["mass"], "direction": 1}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = {"model": model, "kind": ModelKind.BASELINE, "val": val, "test": test, "scores": tmp_path / "s.npz",
              "metrics": tmp_path / "m.json", "plot": tmp_path / "p.png", "dataset": "toy", "name": "cut",
              "efficiencies": [0.5], "purities": [], "n_bootstrap": 5, "seed": 1, "tracking_uri": uri}  # fmt: skip
    with pytest.raises(ConfigError, match="needs the name of the variation"):
        evaluate.run(**common, nominal_test=test)
    other_names = write_split(tmp_path / "names.h5", y, score, {**ATTRS, "class_names": ["b", "s"]})
    with pytest.raises(InputError, match=r"names\.h5.*class_names \['b', 's'\]"):
        evaluate.run(**common, variation="v", nominal_test=other_names)
    other_shape = write_split(tmp_path / "shape.h5", y, score, size=6)
    with pytest.raises(InputError, match=r"shape\.h5.*\(1, 6, 6\)"):
        evaluate.run(**common, variation="v", nominal_test=other_shape)
