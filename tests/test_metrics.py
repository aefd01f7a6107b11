"""ROC, AUC and rejection on synthetic cases with a known answer (their bootstrap: tests/test_bootstrap.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detcnn.evaluation.metrics import auc, background_efficiency_at, rejection_at, roc


def gaussians(n: int, d: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` background events ~ N(0, 1) and ``n`` signal events ~ N(d, 1)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    score = np.r_[rng.normal(0.0, 1.0, n), rng.normal(d, 1.0, n)]
    return y, score


def phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def test_perfect_separation():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(50, dtype=int), np.ones(50, dtype=int)]
    score = np.r_[rng.uniform(0, 1, 50), rng.uniform(2, 3, 50)]
    assert auc(y, score) == 1.0
    for eff in (0.1, 0.5, 0.9):
        assert background_efficiency_at(y, score, eff) == 0.0
        assert rejection_at(y, score, eff) == math.inf


def test_identical_distributions_give_half():
    # same N(0, 1) for both classes: AUC = 0.5, std ~ sqrt((n1 + n2 + 1) / (12 n1 n2)) = 0.0029 for n = 20000
    y, score = gaussians(20_000, 0.0, seed=1)
    assert auc(y, score) == pytest.approx(0.5, abs=0.015)
    # and eps_b ~ eps_s along the diagonal ROC
    assert background_efficiency_at(y, score, 0.5) == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("d", [0.5, 1.0, 2.0])
def test_two_gaussians(d):
    # AUC = P(s > b) = P(N(d, 2) > 0) = Phi(d / sqrt 2): 0.6382, 0.7602, 0.9214 for d = 0.5, 1, 2;
    # the sampling std for n = 20000 per class is below 0.003, tolerance 0.012 (4 sigma)
    y, score = gaussians(20_000, d, seed=2)
    assert auc(y, score) == pytest.approx(phi(d / math.sqrt(2.0)), abs=0.012)
    # a cut score >= t keeps eps_s = 1 - Phi(t - d) and eps_b = 1 - Phi(t); eps_s = 0.5 needs t = d,
    # so eps_b = 1 - Phi(d): 0.3085, 0.1587, 0.0228
    assert background_efficiency_at(y, score, 0.5) == pytest.approx(1.0 - phi(d), abs=0.012)


def test_auc_counted_by_hand():
    # y = 0, 1, 0, 1 with scores 0.1, 0.3, 0.35, 0.8: signal-background pairs
    #   (0.3 vs 0.1) win, (0.3 vs 0.35) loss, (0.8 vs 0.1) win, (0.8 vs 0.35) win -> 3 / 4
    assert auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.35, 0.8])) == pytest.approx(0.75)
    # with a tie (counts 1/2): y = 0, 1, 0, 1, 1, scores 0.2, 0.2, 0.5, 0.6, 0.1
    #   sig 0.2: vs 0.2 tie (0.5), vs 0.5 loss; sig 0.6: two wins; sig 0.1: two losses -> 2.5 / 6
    y = np.array([0, 1, 0, 1, 1])
    assert auc(y, np.array([0.2, 0.2, 0.5, 0.6, 0.1])) == pytest.approx(2.5 / 6.0)
    # reversing the score gives 1 - AUC
    assert auc(y, -np.array([0.2, 0.2, 0.5, 0.6, 0.1])) == pytest.approx(1.0 - 2.5 / 6.0)


# Hand-worked ROC: y = 0, 1, 0, 1 with scores 0.1, 0.5, 0.5, 0.9. Lowering the threshold:
#   > 0.9: (eps_s, eps_b) = (0, 0);  >= 0.9: (0.5, 0);  >= 0.5: (1, 0.5) (a signal and a background tie);
#   >= 0.1: (1, 1).  AUC = area = 0.5 * (0.5 + 1) / 2 + 0.5 * 1 = 0.375 + 0.5 = 0.875
#   (pairs: 0.5 vs 0.1 win, 0.5 vs 0.5 tie, 0.9 wins both -> 3.5 / 4).
HAND_Y = np.array([0, 1, 0, 1])
HAND_SCORE = np.array([0.1, 0.5, 0.5, 0.9])


def test_roc_by_hand():
    eff_s, eff_b = roc(HAND_Y, HAND_SCORE)
    np.testing.assert_allclose(eff_s, [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(eff_b, [0.0, 0.0, 0.5, 1.0])
    assert auc(HAND_Y, HAND_SCORE) == pytest.approx(0.875)


def test_ranks_share_ties_and_a_missing_class_has_no_auc():
    from detcnn.evaluation.metrics import average_ranks

    np.testing.assert_array_equal(average_ranks(np.array([0.5, 0.1, 0.5, 0.9, 0.5])), [3.0, 1.0, 3.0, 5.0, 3.0])
    assert math.isnan(auc(np.ones(4), np.arange(4.0))) and math.isnan(auc(np.zeros(4), np.arange(4.0)))


def test_rejection_at_by_hand():
    # eps_s = 0.75 is halfway along the segment (0.5, 0) -> (1, 0.5): eps_b = 0.25, rejection 4
    assert background_efficiency_at(HAND_Y, HAND_SCORE, 0.75) == pytest.approx(0.25)
    assert rejection_at(HAND_Y, HAND_SCORE, 0.75) == pytest.approx(4.0)
    # eps_s = 0.9: 80 % along the same segment: eps_b = 0.4, rejection 2.5
    assert rejection_at(HAND_Y, HAND_SCORE, 0.9) == pytest.approx(2.5)
    # eps_s = 0.25: on the vertical segment (0, 0) -> (0.5, 0): no background passes -> inf
    assert rejection_at(HAND_Y, HAND_SCORE, 0.25) == math.inf
