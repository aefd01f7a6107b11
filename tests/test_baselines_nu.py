"""Neutrino baselines: sequential event cuts, track/shower pixel cuts, calorimetric energy, on known toys."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detcnn.baselines.calibration import apply_calibration, fit_calibration
from detcnn.baselines.pixel_cuts import fit_pixel_cuts, pixel_features, predict_pixel_cuts
from detcnn.baselines.sequential_cuts import (
    apply_sequential_cuts,
    cut_passes,
    fit_sequential_cuts,
    score_sequential_cuts,
)
from detcnn.errors import InputError
from detcnn.evaluation.segmentation import nonempty_metrics, pixel_confusion

# ---------------------------------------------------------------- sequential cuts


def box_toy(n: int = 20_000, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Signal (class 0) = exactly the events with a > 0.6 and b < 0.3 (a, b uniform); c is pure noise."""
    rng = np.random.default_rng(seed)
    obs = {"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n), "c": rng.uniform(0, 1, n)}
    y = np.where((obs["a"] > 0.6) & (obs["b"] < 0.3), 0, rng.integers(1, 3, n))
    return obs, y


def test_sequential_cuts_recover_known_box():
    obs, y = box_toy()
    cuts = [{"observable": "a", "direction": "auto"}, {"observable": "b", "direction": "auto"}, "c"]
    model = fit_sequential_cuts(obs, y, cuts)
    json.dumps(model)  # JSON-able
    assert model["directions"][:2] == [">", "<"]
    # thresholds scanned on 1 % quantiles of ~6000-8000 uniform events: within a grid step of the truth
    assert model["thresholds"][0] == pytest.approx(0.6, abs=0.015)
    assert model["thresholds"][1] == pytest.approx(0.3, abs=0.015)
    assert model["train"]["efficiency"] > 0.97 and model["train"]["purity"] > 0.97
    assert model["train"]["n_signal"] == int(np.sum(y == 0))
    # the cutflow ends at the final selection; the first cut alone keeps a > 0.6: purity ~ 0.3 / 1 of that
    assert model["cutflow"][-1]["efficiency"] == model["train"]["efficiency"]
    assert model["cutflow"][0]["purity"] == pytest.approx(0.3, abs=0.03)
    selected = apply_sequential_cuts(model, obs)
    t = model["thresholds"]
    expected = (obs["a"] >= t[0]) & (obs["b"] <= t[1]) & (True if t[2] is None else obs["c"] >= t[2])
    np.testing.assert_array_equal(selected, expected)


def test_sequential_score_orders_cuts_passed():
    obs, y = box_toy(2000, seed=1)
    model = fit_sequential_cuts(obs, y, ["a", "b"])
    score = score_sequential_cuts(model, obs)
    passes = cut_passes(model, obs)
    # 2 cuts: passed (a, b) -> score 2 + 1/2 + 1/4 = 2.75; (a only) 1.5; (b only) 1.25; none 0
    lut = {(True, True): 2.75, (True, False): 1.5, (False, True): 1.25, (False, False): 0.0}
    np.testing.assert_allclose(score, [lut[tuple(p)] for p in passes])
    np.testing.assert_array_equal(score >= 2, apply_sequential_cuts(model, obs))


# One observable, signal (class 0) at 5, 6, 7, 8 and background at 1, 2, 3, 5.5, 6.5. Keeping x >= t:
#   t in (3, 5]:   S = 4, B = 2: eff x purity = 1 * 4/6 = 0.667, S / sqrt(B) = 2.83
#   t in (5.5, 6]: S = 3, B = 1: eff x purity = 0.75 * 0.75 = 0.5625, S / sqrt(B) = 3.0
#   t in (6.5, 7]: S = 2, B = 0: eff x purity = 0.5, S / sqrt(max(B, 1)) = 2.0
HAND_X = np.array([5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 5.5, 6.5])
HAND_Y = np.array([0, 0, 0, 0, 1, 2, 1, 2, 1])


@pytest.mark.parametrize(
    ("fom", "lo", "hi", "eff", "pur"),
    [("eff_x_purity", 3.0, 5.0, 1.0, 4 / 6), ("s_over_sqrt_b", 5.5, 6.0, 0.75, 0.75)],
)
def test_sequential_figure_of_merit_by_hand(fom, lo, hi, eff, pur):
    model = fit_sequential_cuts({"x": HAND_X}, HAND_Y, [{"observable": "x", "direction": ">"}], fom=fom)
    assert lo < model["thresholds"][0] <= hi
    assert model["train"]["efficiency"] == pytest.approx(eff)
    assert model["train"]["purity"] == pytest.approx(pur)


def test_sequential_errors():
    obs, y = box_toy(200)
    with pytest.raises(InputError, match=r"\['nope'\].*valid: \['a', 'b', 'c'\]"):
        fit_sequential_cuts(obs, y, ["a", "nope"])
    with pytest.raises(InputError, match="'b' has 1 NaN"):
        fit_sequential_cuts({**obs, "b": np.r_[np.nan, obs["b"][1:]]}, y, ["a", "b"])
    with pytest.raises(InputError, match="no signal event"):
        fit_sequential_cuts(obs, np.ones_like(y), ["a"])
    with pytest.raises(ValueError, match="direction '>='"):
        fit_sequential_cuts(obs, y, [{"observable": "a", "direction": ">="}])
    with pytest.raises(ValueError, match="valid"):
        fit_sequential_cuts(obs, y, ["a"], fom="significance")


# ---------------------------------------------------------------- pixel cuts


def track_and_blob() -> tuple[np.ndarray, np.ndarray]:
    """One view: a straight 18-pixel track (charge 1) in row 4 and a disc of radius 4 (charge 0.5), 24 x 24."""
    img = np.zeros((24, 24))
    lab = np.zeros((24, 24), dtype=np.int8)
    img[4, 2:20], lab[4, 2:20] = 1.0, 1
    yy, xx = np.mgrid[:24, :24]
    disc = (yy - 15) ** 2 + (xx - 12) ** 2 <= 16
    img[disc], lab[disc] = 0.5, 2
    return img, lab


def test_pixel_features_by_hand():
    img, _ = track_and_blob()
    img[22, 1] = 0.3  # an isolated pixel
    f = pixel_features(img[None, None])
    # track pixel (4, 8): 5 occupied pixels in the 5 x 5 window, charge 5 x 1; positions dx = -2..2:
    # var_x = (4 + 1 + 0 + 1 + 4) / 5 = 2, var_y = 0; plus 1/12 each: elongation = 1 - (1/12) / (25/12) = 0.96
    assert f["occupancy"][0, 0, 4, 8] == 5
    assert f["density"][0, 0, 4, 8] == pytest.approx(5.0)
    assert f["elongation"][0, 0, 4, 8] == pytest.approx(0.96, abs=1e-6)
    # track end (4, 2): dx = 0, 1, 2: var_x = 2/3 -> 1 - (1/12) / (2/3 + 1/12) = 8/9
    assert f["occupancy"][0, 0, 4, 2] == 3
    assert f["elongation"][0, 0, 4, 2] == pytest.approx(8 / 9, abs=1e-6)
    # disc centre: a full 5 x 5 window, symmetric -> round; isolated pixel: 1 occupied, elongation 0
    assert f["occupancy"][0, 0, 15, 12] == 25
    assert f["density"][0, 0, 15, 12] == pytest.approx(12.5)
    assert f["elongation"][0, 0, 15, 12] == pytest.approx(0.0, abs=1e-6)
    assert f["occupancy"][0, 0, 22, 1] == 1 and f["elongation"][0, 0, 22, 1] == 0.0
    # a vertical track is as elongated as a horizontal one
    assert pixel_features(img.T[None, None])["elongation"][0, 0, 8, 4] == pytest.approx(0.96, abs=1e-6)


def test_pixel_cuts_separate_track_from_blob():
    img, lab = track_and_blob()
    # 2 events x 2 views: the second view of each event is the transposed picture (a vertical track)
    charge = np.stack([np.stack([img, img.T]), np.stack([img[::-1], img.T[:, ::-1]])])
    labels = np.stack([np.stack([lab, lab.T]), np.stack([lab[::-1], lab.T[:, ::-1]])])
    # noise: isolated faint pixels whose truth is empty
    for e, v, i, j in [(0, 0, 22, 1), (0, 1, 0, 23), (1, 0, 12, 23), (1, 1, 23, 23)]:
        charge[e, v, i, j] = 0.2
    model = fit_pixel_cuts(charge, labels)
    json.dumps(model)
    pred = predict_pixel_cuts(model, charge)
    assert pred.shape == charge.shape and pred.dtype == np.int8
    assert np.all(pred[charge == 0] == 0)
    # isolated noise is called empty: an occupancy cut between 1 (isolated) and 3 (a track end)
    assert model["noise"]["min_occupancy"] is not None and 1 < model["noise"]["min_occupancy"] <= 3
    conf = pixel_confusion(labels, pred, 3)
    np.testing.assert_array_equal(conf, np.diag([np.sum(labels == 0), np.sum(labels == 1), np.sum(labels == 2)]))
    assert nonempty_metrics(conf)["accuracy"] == 1.0
    assert model["box"]["train_nonempty_accuracy"] == 1.0


def test_pixel_cuts_errors():
    img, _ = track_and_blob()
    with pytest.raises(ValueError, match="odd"):
        pixel_features(img[None, None], window=4)
    with pytest.raises(ValueError, match="found \\[3\\]"):
        fit_pixel_cuts(img[None, None], np.full((1, 1, 24, 24), 3))


# ---------------------------------------------------------------- calorimetric energy


def relative_residuals(model: dict, q: np.ndarray, e: np.ndarray, units: np.ndarray | None = None) -> np.ndarray:
    u = np.ones_like(q) if units is None else units
    return (model["slope"] * q + model["offset"] * u - e) / e


def test_calibration_exact_line():
    q = np.linspace(10.0, 200.0, 50)
    model = fit_calibration(q, 0.02 * q + 0.1)  # GeV
    assert model["slope"] == pytest.approx(0.02, rel=1e-9)
    assert model["offset"] == pytest.approx(0.1, abs=1e-9)
    np.testing.assert_allclose(apply_calibration(model, q), 0.02 * q + 0.1, rtol=1e-9)
    assert model["train"]["resolution"] == pytest.approx(0.0, abs=1e-9)
    # the offset counted once per unit (pixels with charge): E = 0.04 Q - 0.3 n exactly
    n = np.arange(50.0) % 7 + 1
    pixels = fit_calibration(q, 0.04 * q + 0.3 * n, units=n)
    assert (pixels["slope"], pixels["offset"]) == (pytest.approx(0.04, rel=1e-9), pytest.approx(0.3, rel=1e-9))


def tail_sample(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E uniform in [0.5, 5] GeV, Q = E (1 + 0.1 z) / 0.02 (10 % resolution), and 10 % of events losing half
    their charge (energy escaping unseen: a one-sided low tail). Returns Q, E and the mask of those events."""
    rng = np.random.default_rng(seed)
    e = rng.uniform(0.5, 5.0, 20_000)
    q = e * (1.0 + 0.1 * rng.normal(size=e.size)) / 0.02
    lost = rng.random(e.size) < 0.1
    return np.where(lost, 0.5 * q, q), e, lost


def test_calibration_minimises_the_mean_squared_relative_residual():
    q, e, lost = tail_sample()
    model = fit_calibration(q, e)
    r = relative_residuals(model, q, e)
    # an independent minimiser of mean(r^2) finds the same line
    from scipy.optimize import minimize

    def loss(p: np.ndarray) -> float:
        return float(np.mean(relative_residuals({"slope": p[0], "offset": p[1]}, q, e) ** 2))

    found = minimize(loss, x0=[0.02, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14}).x
    assert model["slope"] == pytest.approx(found[0], rel=1e-5) and model["offset"] == pytest.approx(found[1], abs=1e-5)
    assert model["train"]["rms_r"] == pytest.approx(np.sqrt(np.mean(r**2)), rel=1e-12)
    # The known shrinkage: the least-squares line is the line of the smallest scale-free width
    # s = std(f / E) / mean(f / E), scaled by 1 / (1 + s^2), so mean(r) = -s^2 / (1 + s^2) exactly
    s = model["train"]["scale_free_resolution"]
    assert s == pytest.approx(np.std(r) / (1.0 + np.mean(r)), rel=1e-12)
    assert np.mean(r) == pytest.approx(-(s**2) / (1.0 + s**2), rel=1e-9)
    # Against a fit of the contained events alone (what a robust, Huber fit aims at): on all events, what the
    # task measures, its mean(r^2) and its scale-free width are larger, and no line has a smaller s (10 random
    # ones). Its std(r) is smaller (0.174 against 0.177), but only because it is lower (mean(r) -5.9 % against
    # -3.2 %; std(r) shrinks with the line): scaled to the same mean(r), it is wider.
    bulk = fit_calibration(q[~lost], e[~lost])
    r_bulk = relative_residuals(bulk, q, e)
    assert np.median(r_bulk[~lost]) == pytest.approx(-0.01, abs=0.003)  # its own shrinkage, -s^2 / (1 + s^2)
    assert np.median(r[~lost]) == pytest.approx(0.013, abs=0.003)  # the tail raises the line over the bulk
    assert np.mean(r**2) < np.mean(r_bulk**2)
    assert s < np.std(r_bulk) / (1.0 + np.mean(r_bulk))
    assert np.std(r_bulk) < np.std(r) and np.mean(r_bulk) < np.mean(r) - 0.02
    assert np.std(r) < np.std(r_bulk) * (1.0 + np.mean(r)) / (1.0 + np.mean(r_bulk))
    rng = np.random.default_rng(1)
    for slope, offset in zip(rng.uniform(0.015, 0.025, 10), rng.uniform(-0.3, 0.3, 10), strict=True):
        other = relative_residuals({"slope": slope, "offset": offset}, q, e)
        assert s < np.std(other) / (1.0 + np.mean(other))


def test_pixel_calibration_fits_the_event_sums_it_is_judged_on():
    # One view of 4 x 4 pixels per event. Each pixel's energy is 0.04 x its charge, and every event has energy
    # in a pixel without charge (below threshold) worth 0.5 MeV per pixel with charge: the event sums the pixel
    # regression is judged on are E = 0.04 Q + 0.5 n exactly, which the fit of the event sums finds; a fit
    # of the pixels alone (0.04, no offset: exact on every pixel with charge) misses the hidden energy.
    from detcnn.baselines import pixel_calibration
    from detcnn.io.images import ImageSet

    rng = np.random.default_rng(0)
    n = 400
    charge = np.where(rng.random((n, 1, 4, 4)) < 0.6, rng.uniform(10.0, 100.0, (n, 1, 4, 4)), 0.0)
    charge[:, 0, 0, 0], charge[:, 0, 3, 3] = 50.0, 0.0  # every event has charge, and a pixel without
    e_pix = 0.04 * charge
    e_pix[:, 0, 3, 3] = 0.5 * (charge > 0).reshape(n, -1).sum(axis=1)
    attrs = {"views": ["u"], "channels": ["u_charge"]}
    images = ImageSet(X=charge.astype(np.float32), y=np.zeros(n, dtype=int), observables={}, attrs=attrs,
                      pixels={"e_pix": e_pix.astype(np.float32)})  # fmt: skip
    model = pixel_calibration.fit(images, {}, [])
    assert (model["slope"], model["offset"]) == (pytest.approx(0.04, rel=1e-5), pytest.approx(0.5, rel=1e-5))
    pred = pixel_calibration.predict(model, images)["pred"]
    assert np.all(pred[charge == 0] == 0)
    true_sum, pred_sum = e_pix.reshape(n, -1).sum(axis=1), pred.reshape(n, -1).sum(axis=1)
    np.testing.assert_allclose(pred_sum, true_sum, rtol=1e-5)
    assert model["train"]["rms_r"] < 1e-5
    per_pixel = (0.04 * charge).reshape(n, -1).sum(axis=1)
    assert np.sqrt(np.mean(((per_pixel - true_sum) / true_sum) ** 2)) > 0.1


def test_calibration_errors():
    with pytest.raises(InputError, match="different charges"):
        fit_calibration(np.ones(3), np.ones(3))
    with pytest.raises(InputError, match="NaN"):
        fit_calibration(np.array([1.0, np.nan]), np.ones(2))


def test_a_missing_below_cut_passes_everything():
    """A '<' cut that the tuning left out (threshold None) must keep every event, like a missing '>' cut."""
    from detcnn.baselines.sequential_cuts import apply_sequential_cuts

    model = {"observables": ["a", "b"], "directions": ["<", ">"], "thresholds": [None, 0.5]}
    obs = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([0.4, 0.6, 0.9])}
    assert apply_sequential_cuts(model, obs).tolist() == [False, True, True]
