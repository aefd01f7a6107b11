"""Working points are set on the validation split and applied unchanged to test: thresholds on hand-made
scores, and a validation split whose scores are shifted moves the test efficiency exactly as the shifted
threshold says (a threshold tuned on the test events would not move)."""

from __future__ import annotations

import numpy as np
import pytest

from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.evaluation.working_points import (
    NOTHING,
    cut_efficiencies,
    rejection,
    threshold_at_efficiency,
    threshold_at_purity,
)
from detcnn.tasks import TASKS

TASK = TASKS["classification"]
BINARY = {"class_names": ["gluon", "quark"]}
THREE = {"class_names": ["nu_e CC", "nu_mu CC", "NC"], "signal_class": 0}


def test_thresholds_on_hand_made_scores() -> None:
    is_signal = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    score = np.array([0.9, 0.8, 0.4, 0.2, 0.7, 0.3, 0.1, 0.05])
    assert threshold_at_efficiency(is_signal, score, 0.5) == 0.8  # two of four signal events at >= 0.8
    assert threshold_at_efficiency(is_signal, score, 0.75) == 0.4
    # purity of score >= t: 0.9 -> 1, 0.8 -> 1, 0.7 -> 2/3, 0.4 -> 3/4, 0.3 -> 3/5: the loosest at >= 3/4 is 0.4
    assert threshold_at_purity(is_signal, score, 0.75) == 0.4
    assert threshold_at_purity(is_signal, score, 1.0) == 0.8
    assert threshold_at_purity(is_signal[4:], score[4:], 0.5) == NOTHING  # no signal: no cut reaches it
    assert cut_efficiencies(is_signal, score, 0.4) == (0.75, 0.25, 0.75)
    assert rejection(is_signal, score, 0.4) == 4.0 and rejection(is_signal, score, 0.8) == np.inf
    with pytest.raises(ValueError, match="signal efficiency"):
        threshold_at_efficiency(is_signal, score, 0.0)


def binary_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n)
    return y, np.r_[rng.normal(0.0, 1.0, n), rng.normal(1.5, 1.0, n)]


def test_binary_working_point_comes_from_validation() -> None:
    y_val, s_val = binary_sample(500, 1)
    y_test, s_test = binary_sample(600, 2)
    idx = bootstrap_indices(len(y_test), 10, seed=3)
    settings = {"efficiencies": [0.5]}
    metrics = {}
    for shift in (0.0, 0.4):  # the validation scores shifted up: the threshold moves up by as much
        points = TASK.working_points(y_val, {"score": s_val + shift}, BINARY, settings)
        assert points["rej_at_0.5"] == pytest.approx(np.sort(s_val[y_val == 1])[::-1][249] + shift)
        metrics[shift] = TASK.metrics(y_test, {"score": s_test}, BINARY, {"thresholds": points}, idx)
        t = points["rej_at_0.5"]
        eff_s = np.mean(s_test[y_test == 1] >= t)
        assert metrics[shift]["eff_s_at_0.5"]["value"] == pytest.approx(eff_s)
        assert metrics[shift]["rej_at_0.5"]["value"] == pytest.approx(1 / np.mean(s_test[y_test == 0] >= t))
    assert metrics[0.4]["eff_s_at_0.5"]["value"] < metrics[0.0]["eff_s_at_0.5"]["value"] - 0.1
    assert metrics[0.4]["rej_at_0.5"]["value"] > metrics[0.0]["rej_at_0.5"]["value"]
    assert abs(metrics[0.0]["eff_s_at_0.5"]["value"] - 0.5) < 0.05  # unshifted: close to the target, not exact
    # the threshold is fixed: every resample of the test events applies the same cut
    counts = [np.mean(s_test[i][y_test[i] == 1] >= points["rej_at_0.5"]) for i in idx]
    assert metrics[0.4]["eff_s_at_0.5"]["err"] == pytest.approx(np.std(counts, ddof=1))


def test_purity_working_point_comes_from_validation() -> None:
    rng = np.random.default_rng(4)
    y_val, y_test = rng.integers(0, 3, 900), rng.integers(0, 3, 900)
    s_val, s_test = ((y == 0) + rng.normal(0, 0.6, len(y)) for y in (y_val, y_test))
    idx = bootstrap_indices(len(y_test), 10, seed=5)
    prediction = {"score": s_test, "selected": s_test > 0.5}
    out = {}
    for shift in (0.0, 0.3):  # background shifted up on validation: a tighter cut for the same purity
        score = s_val + shift * (y_val != 0)
        points = TASK.working_points(y_val, {"score": score}, THREE, {"purities": [0.8]})
        t = points["eff_at_purity_0.8"]
        chosen = score >= t
        assert np.mean(y_val[chosen] == 0) >= 0.8 > np.mean(y_val[score >= np.max(score[score < t])] == 0)
        out[shift] = TASK.metrics(y_test, prediction, THREE, {"thresholds": points}, idx)
        on_test = s_test >= t
        assert out[shift]["eff_at_purity_0.8"]["value"] == pytest.approx(np.mean(on_test[y_test == 0]))
        assert out[shift]["purity_at_purity_0.8"]["value"] == pytest.approx(np.mean(y_test[on_test] == 0))
    assert out[0.3]["eff_at_purity_0.8"]["value"] < out[0.0]["eff_at_purity_0.8"]["value"]
    assert out[0.3]["purity_at_purity_0.8"]["value"] > out[0.0]["purity_at_purity_0.8"]["value"]


def test_no_thresholds_no_working_point_metrics() -> None:
    y, s = binary_sample(50, 6)
    names = set(TASK.metrics(y, {"score": s}, BINARY, {}, bootstrap_indices(len(y), 5, seed=1)))
    assert names == {"auc"}
