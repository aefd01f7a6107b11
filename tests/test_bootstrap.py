"""The one bootstrap (detcnn.evaluation.bootstrap): resample indices, a statistic's value and error with its
undefined resamples counted, and the paired difference of two models with its rule at zero error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detcnn.evaluation.bootstrap import (
    Estimate,
    bootstrap,
    bootstrap_indices,
    bootstrap_metrics,
    estimate,
    no_resamples,
    on_rows,
    paired,
    significance,
)
from detcnn.evaluation.metrics import auc, rejection_at

X = np.array([0.0, 2.0, 4.0])
# Hand-made resamples of X: means 0, 2, 4, 8/3, 0
HAND = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [1, 2, 1], [0, 0, 0]])


def inverse_mean(rows: np.ndarray) -> dict[str, float]:
    """1 / mean of X: infinite on a resample of only the first event (a statistic undefined there)."""
    with np.errstate(divide="ignore"):
        return {"inverse_mean": float(1.0 / np.mean(X[rows])), "mean": float(np.mean(X[rows]))}


def gaussians(n: int, d: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` background events ~ N(0, 1) and ``n`` signal events ~ N(d, 1)."""
    rng = np.random.default_rng(seed)
    return np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)], np.r_[rng.normal(0, 1, n), rng.normal(d, 1, n)]


def pair_count_auc(y: np.ndarray, score: np.ndarray) -> float:
    """AUC by counting every signal-background pair: wins 1, ties 1/2."""
    s, b = score[y == 1][:, None], score[y == 0][None, :]
    return float(np.mean((s > b) + 0.5 * (s == b)))


def test_indices_are_the_seeded_draws() -> None:
    a = bootstrap_indices(100, 20, seed=5)
    np.testing.assert_array_equal(a, np.random.default_rng(5).integers(0, 100, size=(20, 100)))
    np.testing.assert_array_equal(a, bootstrap_indices(100, 20, seed=5))
    assert not np.array_equal(a, bootstrap_indices(100, 20, seed=6))
    assert a.shape == (20, 100) and a.min() >= 0 and a.max() < 100
    # with replacement: a resample of 100 has ~63 distinct events, never all 100 here
    assert all(len(np.unique(row)) < 100 for row in a)
    assert no_resamples(7).shape == (0, 7)


def test_value_and_error_by_hand() -> None:
    # means of the resamples [[0, 0, 2, 2], [4, 4, 6, 6], [0, 2, 4, 6]] of (0, 2, 4, 6): 1, 5, 3 -> std 2
    x = np.array([0.0, 2.0, 4.0, 6.0])
    resamples = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [0, 1, 2, 3]])
    out = bootstrap(lambda rows: {"mean": float(np.mean(x[rows]))}, 4, resamples)
    assert out == {"mean": {"value": 3.0, "err": 2.0, "n_bootstrap": 3, "n_nonfinite": 0}}
    json.dumps(out)  # what metrics.json holds


def test_nonfinite_resamples_are_counted_and_left_out_of_the_error() -> None:
    out = bootstrap(inverse_mean, 3, HAND)
    # 1 / mean: inf, 0.5, 0.25, 0.375, inf -> finite 0.5, 0.25, 0.375: std (ddof 1) 0.125
    assert out["inverse_mean"] == {"value": 0.5, "err": pytest.approx(0.125, abs=1e-15), "n_bootstrap": 5,
                                   "n_nonfinite": 2}  # fmt: skip
    assert list(out) == ["inverse_mean", "mean"]  # the statistic's order
    assert out["mean"]["n_nonfinite"] == 0
    assert out["mean"]["err"] == np.std([0.0, 2.0, 4.0, 8 / 3, 0.0], ddof=1)
    # the vectorised form, from resampled values computed in any way, is the same estimate
    samples = np.array([inverse_mean(r)["inverse_mean"] for r in HAND])
    assert estimate(0.5, samples) == Estimate(0.5, out["inverse_mean"]["err"], 5, 2)


def test_fewer_than_two_finite_resamples_have_no_error() -> None:
    one_finite = bootstrap(inverse_mean, 3, HAND[[0, 1, 4]])["inverse_mean"]
    assert math.isnan(one_finite["err"]) and one_finite["n_nonfinite"] == 2 and one_finite["n_bootstrap"] == 3
    alone = bootstrap(inverse_mean, 3, no_resamples(3))["mean"]  # the validation: a value alone
    assert alone["value"] == 2.0 and math.isnan(alone["err"]) and alone["n_bootstrap"] == alone["n_nonfinite"] == 0
    assert math.isnan(estimate(1.0, np.array([np.nan, 3.0])).err)


def test_error_is_the_plain_std_of_the_resamples_bit_for_bit() -> None:
    """The error of a metric is exactly ``np.std(values on the resamples, ddof=1)``: the arithmetic the
    evaluations had before this module, so no value or error of a run changes."""
    y, score = gaussians(60, 1.0, seed=3)
    idx = bootstrap_indices(len(y), 30, seed=0)
    out = bootstrap_metrics(y, score, {"auc": auc, "rej_at_0.5": lambda y, s: rejection_at(y, s, 0.5)}, idx)
    assert out["auc"]["value"] == auc(y, score) and out["rej_at_0.5"]["value"] == rejection_at(y, score, 0.5)
    assert out["auc"]["err"] == np.std([auc(y[i], score[i]) for i in idx], ddof=1)
    assert out["auc"]["value"] == pytest.approx(pair_count_auc(y, score), abs=1e-12)
    # Hanley-McNeil: an AUC of 0.76 with 60 + 60 events has a std of about 0.043
    assert 0.02 < out["auc"]["err"] < 0.08


def test_paired_error_is_far_below_the_unpaired_for_correlated_models() -> None:
    # two scores sharing most of their information: a = x + 0.1 n1, b = x + 0.1 n2 (x discriminating)
    rng = np.random.default_rng(8)
    y, x = gaussians(300, 1.0, seed=8)
    a, b = x + 0.1 * rng.normal(size=len(x)), x + 0.1 * rng.normal(size=len(x))
    idx = bootstrap_indices(len(y), 80, seed=1)
    diff = paired(on_rows(auc, y, a), on_rows(auc, y, b), len(y), idx)
    err = {k: bootstrap_metrics(y, s, {"auc": auc}, idx)["auc"]["err"] for k, s in (("a", a), ("b", b))}
    assert diff.value == pytest.approx(pair_count_auc(y, a) - pair_count_auc(y, b), abs=1e-12)
    assert diff.err == np.std([auc(y[i], a[i]) - auc(y[i], b[i]) for i in idx], ddof=1)
    # the shared event fluctuations cancel in the paired difference: far below the quadrature sum
    assert 0 < diff.err < 0.5 * math.hypot(err["a"], err["b"])
    assert diff.significance == diff.value / diff.err
    assert diff.as_dict() == {"value": diff.value, "err": diff.err, "significance": diff.significance,
                              "n_bootstrap": 80, "n_nonfinite": 0}  # fmt: skip


def test_significance_at_zero_error() -> None:
    def mean(rows: np.ndarray) -> float:
        return float(np.mean(X[rows]))

    same = paired(mean, mean, 3, HAND)
    assert (same.value, same.err, same.significance) == (0.0, 0.0, 0.0)  # no difference at all
    shifted = paired(lambda rows: mean(rows) + 1.0, mean, 3, HAND)
    assert (shifted.value, shifted.err, shifted.significance) == (1.0, 0.0, math.inf)  # without fluctuation
    assert paired(mean, lambda rows: mean(rows) + 1.0, 3, HAND).significance == -math.inf
    assert significance(0.3, 0.1) == pytest.approx(3.0)
    assert math.isnan(significance(0.3, float("nan"))) and math.isnan(significance(float("nan"), 0.0))


def test_paired_guard_and_undefined_resamples() -> None:
    def inv(rows: np.ndarray) -> float:
        return inverse_mean(rows)["inverse_mean"]

    def half(rows: np.ndarray) -> float:
        return 0.5 * inverse_mean(rows)["mean"]

    one = paired(inv, half, 3, HAND[:2])  # one finite difference of two: no error, no significance
    assert one.value == 0.5 - 1.0 and one.n_nonfinite == 1 and one.n_bootstrap == 2
    assert math.isnan(one.err) and math.isnan(one.significance)
    none = paired(inv, half, 3, no_resamples(3))
    assert math.isnan(none.err) and math.isnan(none.significance) and none.n_bootstrap == 0
    # differences inf, 0.5 - 1, 0.25 - 2, 0.375 - 4/3, inf: two undefined, the rest give the error
    d = paired(inv, half, 3, HAND)
    assert d.n_nonfinite == 2
    assert d.err == np.std([0.5 - 1.0, 0.25 - 2.0, 0.375 - 4 / 3], ddof=1)
