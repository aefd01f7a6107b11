"""Multiclass metrics on hand-worked confusion matrices, purity/efficiency scans and AUCs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from detcnn.evaluation.bootstrap import bootstrap_indices, bootstrap_metrics, on_rows, paired
from detcnn.evaluation.metrics import auc
from detcnn.evaluation.multiclass import (
    accuracy,
    bootstrap_confusion,
    confusion_matrix,
    efficiency_at_purity,
    efficiency_purity,
    one_vs_rest_auc,
    one_vs_rest_auc_metric,
    purity_efficiency_curve,
    selection_efficiency_purity,
    selection_metrics,
)

# 10 events, classes 0 (nu_e CC), 1 (nu_mu CC), 2 (NC):
#   true 0 0 0 0 1 1 1 2 2 2
#   pred 0 0 0 1 1 1 0 2 2 1
# rows = truth: true 0 -> pred (0, 1, 2) = (3, 1, 0); true 1 -> (1, 2, 0); true 2 -> (0, 1, 2)
Y = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 1, 0, 2, 2, 1])
CONF = np.array([[3, 1, 0], [1, 2, 0], [0, 1, 2]])


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(confusion_matrix(Y, Y_PRED, 3), CONF)
    # a class absent from both still gets its row and column
    np.testing.assert_array_equal(confusion_matrix(Y, Y_PRED, 4)[:3, :3], CONF)
    assert confusion_matrix(Y, Y_PRED, 4)[3].sum() == 0


def test_efficiency_purity_by_hand():
    eff, pur = efficiency_purity(CONF)
    # efficiency = diagonal / row sum: 3/4, 2/3, 2/3; purity = diagonal / column sum: 3/4, 2/4, 2/2
    np.testing.assert_allclose(eff, [3 / 4, 2 / 3, 2 / 3])
    np.testing.assert_allclose(pur, [3 / 4, 1 / 2, 1.0])
    assert accuracy(CONF) == pytest.approx(7 / 10)


def test_efficiency_purity_empty_column_is_nan_without_warning():
    conf = np.array([[2, 0], [1, 0]])  # class 1 never predicted, never right
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eff, pur = efficiency_purity(conf)
    np.testing.assert_allclose(eff, [1.0, 0.0])
    assert pur[0] == pytest.approx(2 / 3)
    assert np.isnan(pur[1])


def test_label_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_bootstrap_confusion_matches_resampled_events():
    idx = bootstrap_indices(len(Y), 7, seed=2)
    boot = bootstrap_confusion(Y, Y_PRED, 3, idx)
    assert boot.shape == (7, 3, 3)
    for b, i in zip(boot, idx, strict=True):
        np.testing.assert_array_equal(b, confusion_matrix(Y[i], Y_PRED[i], 3))
    eff, _ = efficiency_purity(boot)  # batched over resamples
    assert eff.shape == (7, 3)


# Efficiency at purity. 6 events in decreasing score, s = signal, b = background:
#   score   0.9 0.8 0.7 0.6 0.5 0.4
#   class    s   b   s   s   b   s        (4 signal)
# cut score >= c: (S, N) = (1,1) (1,2) (2,3) (3,4) (3,5) (4,6)
#   efficiency  0.25 0.25 0.5  0.75 0.75 1.0
#   purity      1    0.5  2/3  0.75 0.6  2/3
SIG = np.array([True, False, True, True, False, True])
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_purity_efficiency_curve_by_hand():
    thr, eff, pur = purity_efficiency_curve(SIG, SCORE)
    np.testing.assert_allclose(thr, SCORE)
    np.testing.assert_allclose(eff, [0.25, 0.25, 0.5, 0.75, 0.75, 1.0])
    np.testing.assert_allclose(pur, [1.0, 0.5, 2 / 3, 0.75, 0.6, 2 / 3])


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (1.0, 0.25),  # only the top event is pure
        (0.9, 0.25),
        (0.75, 0.75),  # (3, 4): purity exactly 0.75 passes
        (0.7, 0.75),
        (2 / 3, 1.0),  # everything: purity 4/6 = 2/3 passes a target of 2/3
        (0.6, 1.0),
        (0.0, 1.0),
    ],
)
def test_efficiency_at_purity_by_hand(target, expected):
    assert efficiency_at_purity(SIG, SCORE, target) == pytest.approx(expected)


def test_efficiency_at_purity_none_and_ties():
    # background on top: score >= 0.9 has purity 0, >= 0.5 has 1/2: nothing reaches 0.6 -> 0.0
    assert efficiency_at_purity(np.array([False, True]), np.array([0.9, 0.5]), 0.6) == 0.0
    # a tie enters together: scores 0.5 (s), 0.5 (b), 0.2 (s): >= 0.5 -> (eff 0.5, pur 0.5), >= 0.2 -> (1, 2/3)
    sig, score = np.array([True, False, True]), np.array([0.5, 0.5, 0.2])
    assert efficiency_at_purity(sig, score, 0.6) == pytest.approx(1.0)
    assert efficiency_at_purity(sig, score, 0.7) == 0.0  # the signal at 0.5 cannot be taken without its twin
    assert np.isnan(efficiency_at_purity(np.zeros(3, bool), score, 0.5))  # no signal: undefined
    with pytest.raises(ValueError, match="purity"):
        efficiency_at_purity(sig, score, 1.5)


def test_selection_as_zero_one_score():
    # a cut baseline selects the events at 0.9 (s), 0.8 (b), 0.7 (s), 0.6 (s): efficiency 3/4, purity 3/4
    sel = np.array([1, 1, 1, 1, 0, 0], dtype=float)
    assert selection_efficiency_purity(SIG, sel > 0) == (pytest.approx(0.75), pytest.approx(0.75))
    assert efficiency_at_purity(SIG, sel, 0.7) == pytest.approx(0.75)
    assert efficiency_at_purity(SIG, sel, 0.8) == 0.0  # the selection is not pure enough, all events even less
    assert efficiency_at_purity(SIG, sel, 0.6) == pytest.approx(1.0)  # keeping all events (purity 2/3) is enough


def at_purity(purity: float):
    """The efficiency at purity of class 0 (nu_e CC) as a bootstrap-ready metric of (y, score)."""
    return lambda y, score: efficiency_at_purity(np.asarray(y) == 0, score, purity)


def test_metric_closures_on_class_labels_and_bootstrap():
    y = np.where(SIG, 0, np.array([1, 2, 1, 2, 1, 2]))  # nu_e CC = class 0, the rest nu_mu CC or NC
    metric = at_purity(0.75)
    assert metric(y, SCORE) == pytest.approx(0.75)
    sel = np.array([1, 1, 1, 1, 0, 0], dtype=float)
    fns = selection_metrics()
    assert fns["efficiency"](y, sel) == pytest.approx(0.75)
    assert fns["purity"](y, sel) == pytest.approx(0.75)
    # the network's score and the baseline's selection share the same resamples (paired bootstrap)
    rng = np.random.default_rng(0)
    y_big = rng.integers(0, 3, 600)
    p_nue = np.clip(0.5 * (y_big == 0) + rng.uniform(0, 0.6, 600), 0, 1)
    passed = (p_nue > 0.55).astype(float)
    idx = bootstrap_indices(600, 50, seed=1)
    out = bootstrap_metrics(y_big, p_nue, {"eff_at_pur_0.8": at_purity(0.8)}, idx)
    assert out["eff_at_pur_0.8"]["value"] == metric_value(y_big, p_nue, 0.8)
    assert out["eff_at_pur_0.8"]["err"] > 0
    at = at_purity(0.8)
    diff = paired(on_rows(at, y_big, p_nue), on_rows(at, y_big, passed), 600, idx)
    assert diff.value == metric_value(y_big, p_nue, 0.8) - metric_value(y_big, passed, 0.8)
    assert 0 < diff.err and diff.n_bootstrap == 50 and diff.n_nonfinite == 0


def metric_value(y: np.ndarray, score: np.ndarray, purity: float) -> float:
    return efficiency_at_purity(y == 0, score, purity)


def test_one_vs_rest_auc_by_hand():
    # rows sum to 1; y = 0, 1, 2, 0
    proba = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.5, 0.2, 0.3], [0.4, 0.6, 0.0]])
    y = np.array([0, 1, 2, 0])
    # class 0: positives 0.8, 0.4 vs negatives 0.3, 0.5: wins 0.8>0.3, 0.8>0.5, 0.4>0.3, loss 0.4<0.5 -> 3/4
    # class 1: positive 0.6 vs 0.1, 0.2, 0.6: win, win, tie -> 2.5/3
    # class 2: positive 0.3 vs 0.1, 0.1, 0.0: three wins -> 1
    np.testing.assert_allclose(one_vs_rest_auc(y, proba), [0.75, 2.5 / 3, 1.0])
    assert one_vs_rest_auc_metric(1)(y, proba) == pytest.approx(2.5 / 3)


def test_one_vs_rest_auc_equals_binary_auc():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3)) + 1.5 * np.eye(3)[y]
    proba = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2)  # rounding makes ties
    expected = [auc(y == k, proba[:, k]) for k in range(3)]
    np.testing.assert_allclose(one_vs_rest_auc(y, proba), expected, rtol=1e-12)
    # a class without events has no AUC
    assert np.isnan(one_vs_rest_auc(np.array([0, 1, 0]), np.eye(3)[[0, 1, 0]])[2])
