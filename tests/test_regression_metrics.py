"""Bias and resolution of relative energy residuals: hand-worked values and known Gaussians."""

from __future__ import annotations

import numpy as np
import pytest

from detcnn.evaluation.regression import binned_resolution, relative_residuals, resolution


def test_resolution_by_hand():
    # r = -0.2, -0.1, 0, 0.1, 0.2: median 0, mean 0, rms sqrt((0.04 + 0.01 + 0 + 0.01 + 0.04) / 5) = sqrt(0.02);
    # central 68.27 %: quantiles at 15.866 % and 84.134 %, positions 0.15866 * 4 = 0.63462 and 3.36538
    # (linear interpolation): -0.2 + 0.063462 = -0.136538 and +0.136538 -> half width 0.136538
    true = np.full(5, 2.0)
    pred = true * (1.0 + np.array([-0.2, -0.1, 0.0, 0.1, 0.2]))
    res = resolution(pred, true)
    assert res["bias"] == pytest.approx(0.0, abs=1e-15)
    assert res["mean"] == pytest.approx(0.0, abs=1e-15)
    assert res["rms"] == pytest.approx(np.sqrt(0.02))
    assert res["core_width"] == pytest.approx(0.136538, abs=1e-6)
    assert res["n"] == 5


def test_gaussian_width_and_bias_recovered():
    # r ~ N(0.02, 0.1), n = 1e5: std of the median = sqrt(pi/2) 0.1 / sqrt(n) = 4.0e-4, of the core width
    # 0.96 * 0.1 / sqrt(n) = 3.0e-4, of the rms 0.1 / sqrt(2n) = 2.2e-4; tolerances are 4 sigma
    rng = np.random.default_rng(0)
    true = rng.uniform(1.0, 10.0, 100_000)
    pred = true * (1.0 + 0.02 + 0.1 * rng.normal(size=true.size))
    res = resolution(pred, true)
    assert res["bias"] == pytest.approx(0.02, abs=0.0016)
    assert res["mean"] == pytest.approx(0.02, abs=0.0013)
    assert res["core_width"] == pytest.approx(0.1, abs=0.0012)
    assert res["rms"] == pytest.approx(0.1, abs=0.0009)
    assert res["bias_err"] == pytest.approx(4.0e-4, rel=0.02)
    assert res["core_width_err"] == pytest.approx(3.04e-4, rel=0.02)


def test_tail_inflates_rms_not_core():
    # 95 % r ~ N(0.02, 0.1) and 5 % at r = -0.5 (half the energy escaped). By hand:
    #   mean = 0.95 * 0.02 - 0.05 * 0.5 = -0.006; E[r^2] = 0.95 * (0.01 + 0.0004) + 0.05 * 0.25 = 0.02238
    #   rms = sqrt(0.02238 - 0.006^2) = 0.14948
    #   quantiles: 0.05 + 0.95 Phi(z) = 0.15866 -> z = -1.20359; = 0.84134 -> z = 0.96607
    #   core width = 0.1 * (0.96607 + 1.20359) / 2 = 0.10848; median: Phi(z) = 0.45 / 0.95 -> z = -0.06601,
    #   bias = 0.02 - 0.006601 = 0.01340
    rng = np.random.default_rng(1)
    n = 200_000
    true = rng.uniform(1.0, 10.0, n)
    r = np.where(np.arange(n) < 0.05 * n, -0.5, 0.02 + 0.1 * rng.normal(size=n))
    res = resolution(true * (1.0 + r), true)
    assert res["mean"] == pytest.approx(-0.006, abs=0.001)
    assert res["rms"] == pytest.approx(0.14948, abs=0.001)
    assert res["core_width"] == pytest.approx(0.10848, abs=0.001)
    assert res["bias"] == pytest.approx(0.01340, abs=0.0012)


def test_binned_resolution():
    # true in [1, 2): r ~ N(-0.1, 0.2); [2, 4]: r ~ N(0.05, 0.05); [4, 5): no event; events above 5 ignored
    rng = np.random.default_rng(2)
    t1, t2 = rng.uniform(1.0, 2.0, 40_000), rng.uniform(2.0, 4.0, 40_000)
    r1, r2 = -0.1 + 0.2 * rng.normal(size=t1.size), 0.05 + 0.05 * rng.normal(size=t2.size)
    true = np.r_[t1, t2, 6.0, 7.0]
    pred = true * (1.0 + np.r_[r1, r2, 3.0, 3.0])
    out = binned_resolution(pred, true, np.array([1.0, 2.0, 4.0, 5.0]))
    np.testing.assert_array_equal(out["n"], [40_000, 40_000, 0])
    np.testing.assert_allclose(out["centre"], [1.5, 3.0, 4.5])
    # 4-sigma tolerances: median std 1.25 sigma / 200, width std 0.96 sigma / 200
    assert out["bias"][0] == pytest.approx(-0.1, abs=0.005)
    assert out["bias"][1] == pytest.approx(0.05, abs=0.0013)
    assert out["core_width"][0] == pytest.approx(0.2, abs=0.004)
    assert out["core_width"][1] == pytest.approx(0.05, abs=0.001)
    assert np.isnan(out["bias"][2]) and np.isnan(out["core_width"][2]) and np.isnan(out["rms"][2])
    # each bin equals the unbinned function on that bin's events (same quantile method)
    for k, (lo, hi) in enumerate([(1.0, 2.0), (2.0, 4.0)]):
        sel = (true >= lo) & (true < hi)
        ref = resolution(pred[sel], true[sel])
        for key in ("bias", "core_width", "rms", "mean"):
            assert out[key][k] == pytest.approx(ref[key], rel=1e-9, abs=1e-12)


def test_relative_residuals_errors():
    with pytest.raises(ValueError, match="true == 0"):
        relative_residuals(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="equal length"):
        relative_residuals(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="increasing"):
        binned_resolution(np.ones(3), np.ones(3), np.array([2.0, 1.0]))
