"""Cut-based baselines on synthetic data whose optimal cuts are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from detcnn.baselines import BASELINES, get_baseline
from detcnn.baselines.cuts import (
    cut_direction,
    fit_rectangular_cuts,
    fit_single_cut,
    passes_box,
    score_rectangular_cuts,
    score_single_cut,
    threshold_at_efficiency,
)
from detcnn.config import fill_baseline
from detcnn.errors import ConfigError, InputError
from detcnn.io.images import ImageSet


def phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def gaussian_1d(n: int = 1000, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Signal ~ N(0, 1) (low values), background ~ N(2, 1); ``hi`` is the same with the sign flipped."""
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(0.0, 1.0, n), rng.normal(2.0, 1.0, n)]
    y = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    return {"lo": x, "hi": -x}, y


def uniform_2d(n: int = 4000, seed: int = 3) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Signal uniform in [0, 1]^2, background uniform in [0, 2]^2: signal-like at LOW values of both."""
    rng = np.random.default_rng(seed)
    xs = rng.uniform(0.0, 1.0, (n, 2))
    xb = rng.uniform(0.0, 2.0, (n, 2))
    x = np.vstack([xs, xb])
    y = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    return {"a": x[:, 0], "b": x[:, 1]}, y


def oriented(model: dict, observables: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([d * observables[n] for n, d in zip(model["observables"], model["directions"], strict=True)], 1)


def is_nested(boxes: list[dict]) -> bool:
    """True if every tighter (lower-target) box lies inside every looser one (cuts at least as high)."""
    ordered = sorted(boxes, key=lambda b: b["target"])
    for tight, loose in itertools.pairwise(ordered):
        for ct, cl in zip(tight["cuts"], loose["cuts"], strict=True):
            if (-math.inf if ct is None else ct) < (-math.inf if cl is None else cl):
                return False
    return True


# ---------------------------------------------------------------------------------------------- single cut


def test_cut_direction():
    obs, y = gaussian_1d()
    assert cut_direction(obs["lo"], y) == -1
    assert cut_direction(obs["hi"], y) == 1


def test_threshold_at_efficiency_by_hand():
    # signal scores 4, 3, 2, 1 (sorted descending); k = ceil(eff * 4) - 1
    scores = np.array([4.0, 3.0, 2.0, 1.0, 10.0, 11.0])
    y = np.array([1, 1, 1, 1, 0, 0])
    assert threshold_at_efficiency(scores, y, 0.5) == 3.0  # k = 1: keeps 4, 3 = 50 %
    assert threshold_at_efficiency(scores, y, 0.6) == 2.0  # k = ceil(2.4) - 1 = 2: keeps 3 of 4 >= 60 %
    assert threshold_at_efficiency(scores, y, 1.0) == 1.0  # k = 3: all signal
    assert threshold_at_efficiency(scores, y, 0.0) == 4.0  # k = -1 clipped to 0: the hardest signal event


def test_single_cut_signal_at_low_values():
    obs, y = gaussian_1d(n=1000)
    model = fit_single_cut(obs, y, ["lo"], [0.3, 0.5, 0.9])
    assert model["kind"] == "single_cut"
    assert model["observables"] == ["lo"]
    assert model["direction"] == -1
    assert set(model["working_points"]) == {"0.3", "0.5", "0.9"}
    score = score_single_cut(model, obs)
    np.testing.assert_array_equal(score, -obs["lo"])
    sig, bkg = score[y == 1], score[y == 0]
    for eff in (0.3, 0.5, 0.9):
        t = model["working_points"][f"{eff:g}"]
        # exactly ceil(eff * 1000) = 300, 500, 900 signal events at or above the threshold (continuous data)
        assert np.count_nonzero(sig >= t) == round(eff * 1000)
    # the 50 % threshold is minus the signal median (~0); it keeps P(N(2, 1) <= 0) = Phi(-2) = 2.3 % of background
    t50 = model["working_points"]["0.5"]
    assert t50 == pytest.approx(0.0, abs=0.1)
    assert np.mean(bkg >= t50) == pytest.approx(phi(-2.0), abs=0.015)


def test_single_cut_signal_at_high_values():
    obs, y = gaussian_1d(n=1000)
    model = fit_single_cut(obs, y, ["hi"], [0.5])
    assert model["direction"] == 1
    np.testing.assert_array_equal(score_single_cut(model, obs), obs["hi"])
    t = model["working_points"]["0.5"]
    assert np.count_nonzero(obs["hi"][y == 1] >= t) == 500


def test_single_cut_takes_one_observable():
    obs, y = gaussian_1d(n=50)
    with pytest.raises(ValueError, match="one observable"):
        fit_single_cut(obs, y, ["lo", "hi"], [0.5])


# -------------------------------------------------------------------------------------- rectangular cuts


@pytest.fixture(scope="module")
def uniform_model():
    obs, y = uniform_2d()
    return obs, y, fit_rectangular_cuts(obs, y, ["a", "b"], [1.0, 0.5])


def test_rectangular_directions_and_targets(uniform_model):
    _, _, model = uniform_model
    assert model["kind"] == "rectangular_cuts"
    assert model["observables"] == ["a", "b"]
    assert model["directions"] == [-1, -1]
    targets = [b["target"] for b in model["boxes"]]
    # 49 targets 0.02 ... 0.98 plus the working point 1.0 (0.5 is already one of them)
    assert len(targets) == 50
    assert targets == sorted(targets)
    assert targets[0] == pytest.approx(0.02) and targets[-2] == pytest.approx(0.98) and targets[-1] == 1.0


def test_rectangular_full_efficiency_box_is_unit_square(uniform_model):
    # Keeping all signal needs a <= max(a_sig) ~ 1 and b <= max(b_sig) ~ 1, i.e. oriented cuts at ~ -1.
    # The background inside the unit square: area 1 of 4 -> eps_b = 0.25 (binomial std 0.007 for 4000 events).
    # With 16 quantile thresholds the next-tighter box keeps 15/16 < 0.98, so the 0.98 box is the same one.
    _, _, model = uniform_model
    for box in (model["boxes"][-1], model["boxes"][-2]):
        assert box["target"] >= 0.98
        np.testing.assert_allclose(box["cuts"], [-1.0, -1.0], atol=0.005)
        assert box["eff_s"] == 1.0
        assert box["eff_b"] == pytest.approx(0.25, abs=0.03)


def test_rectangular_boxes_efficiencies(uniform_model):
    obs, y, model = uniform_model
    o = oriented(model, obs)
    for box in model["boxes"]:
        # every box keeps at least its target of the signal
        assert box["eff_s"] >= box["target"]
        # the histogram counts agree with applying the cuts event by event
        passed = passes_box(o, box["cuts"])
        assert box["eff_s"] == pytest.approx(np.mean(passed[y == 1]), abs=1e-12)
        assert box["eff_b"] == pytest.approx(np.mean(passed[y == 0]), abs=1e-12)
        # any box inside the unit square holds background area / 4 = eps_s / 4 (within statistics)
        assert box["eff_b"] == pytest.approx(box["eff_s"] / 4.0, abs=0.025)


def test_rectangular_score_thresholds_select_union_of_tighter_boxes(uniform_model):
    # score = 1 - (lowest target whose box the event passes), so score >= 1 - t selects the events passing
    # any box with target <= t; for nested boxes that is exactly the box of target t.
    obs, _, model = uniform_model
    o = oriented(model, obs)
    score = score_rectangular_cuts(model, obs)
    assert set(np.unique(score)) <= {0.0} | {1.0 - b["target"] for b in model["boxes"]}
    # (the target-1.0 box scores 1 - 1 = 0, the same as failing every box, so it cannot be told apart: skip it)
    for box in [b for b in model["boxes"] if b["target"] < 1.0]:
        union = np.zeros(len(o), dtype=bool)
        for other in model["boxes"]:
            if other["target"] <= box["target"]:
                union |= passes_box(o, other["cuts"])
        np.testing.assert_array_equal(score >= 1.0 - box["target"] - 1e-12, union)
    # an event failing every box scores 0 (e.g. a background event in the far corner)
    far = {"a": np.array([1.9]), "b": np.array([1.9])}
    assert score_rectangular_cuts(model, far)[0] == 0.0


def test_fitted_boxes_are_nested_and_the_score_reproduces_each(uniform_model):
    # The fit keeps every tighter box inside the looser one, so cutting the score at 1 - target selects
    # exactly that box's events: the working points of the cut analysis are cuts on its score.
    obs, _, model = uniform_model
    assert is_nested(model["boxes"])
    o = oriented(model, obs)
    score = score_rectangular_cuts(model, obs)
    for box in [b for b in model["boxes"] if b["target"] < 1.0]:
        np.testing.assert_array_equal(score >= 1.0 - box["target"] - 1e-12, passes_box(o, box["cuts"]))


def test_rectangular_score_by_hand():
    # Hand-made nested boxes, directions a: +1 (cut a >= c), b: -1 (cut -b >= c, i.e. b <= -c):
    #   target 0.2: a >= 2 and b <= 1;  target 0.5: a >= 1 and b <= 2;  target 0.8: a >= 0 (b free)
    model = {
        "kind": "rectangular_cuts",
        "observables": ["a", "b"],
        "directions": [1, -1],
        "boxes": [
            {"target": 0.2, "cuts": [2.0, -1.0]},
            {"target": 0.5, "cuts": [1.0, -2.0]},
            {"target": 0.8, "cuts": [0.0, None]},
        ],
    }
    obs = {
        "a": np.array([2.5, 2.5, 1.5, 0.5, -1.0, 1.0, 3.0]),
        "b": np.array([0.5, 1.5, 0.0, 0.0, 0.0, 2.0, 5.0]),
    }
    # 0: passes all -> 1 - 0.2;  1: b > 1 fails 0.2, passes 0.5;  2: a < 2 fails 0.2, passes 0.5;
    # 3: only a >= 0 -> 1 - 0.8;  4: a < 0 -> 0;  5: on the edges a = 1, b = 2 (cuts inclusive) -> 0.5;
    # 6: b > 2 fails 0.2 and 0.5 -> 0.2
    expected = np.array([0.8, 0.5, 0.5, 0.2, 0.0, 0.5, 0.2])
    score = score_rectangular_cuts(model, obs)
    np.testing.assert_allclose(score, expected, atol=1e-12)
    assert is_nested(model["boxes"])
    o = oriented(model, obs)
    for box in model["boxes"]:
        np.testing.assert_array_equal(score >= 1.0 - box["target"] - 1e-12, passes_box(o, box["cuts"]))


def test_rectangular_fitted_nested_boxes_are_reproduced_by_score():
    # A second observable that is the same for every event: no cut on it ever helps, so every box is a
    # one-sided cut on 'x' alone and the boxes are nested. Thresholding the score at 1 - target then selects
    # exactly the box's events, on the train events and on new ones.
    obs, y = gaussian_1d(n=1000, seed=4)
    train = {"x": obs["lo"], "const": np.zeros(len(y))}
    model = fit_rectangular_cuts(train, y, ["x", "const"], [0.5], grid=16, n_targets=19)
    assert model["directions"][0] == -1
    assert is_nested(model["boxes"])
    rng = np.random.default_rng(11)
    test = {"x": rng.normal(1.0, 1.5, 3000), "const": np.zeros(3000)}
    for data in (train, test):
        score = score_rectangular_cuts(model, data)
        o = oriented(model, data)
        for box in model["boxes"]:
            np.testing.assert_array_equal(score >= 1.0 - box["target"] - 1e-12, passes_box(o, box["cuts"]))


def test_rectangular_needs_two_observables():
    obs, y = uniform_2d(n=100)
    with pytest.raises(ValueError, match="two or more"):
        fit_rectangular_cuts(obs, y, ["a"], [0.5])


def test_rectangular_too_many_boxes():
    rng = np.random.default_rng(0)
    obs = {k: rng.normal(size=20) for k in "abcdef"}
    y = np.r_[np.ones(10, dtype=int), np.zeros(10, dtype=int)]
    # (16 + 1) ** 6 = 24 million boxes > 5 million
    with pytest.raises(ValueError, match="grid"):
        fit_rectangular_cuts(obs, y, list("abcdef"), [0.5], grid=16)


# ------------------------------------------------------------------------------------------- baseline kinds


def images_of(obs: dict[str, np.ndarray], y: np.ndarray) -> ImageSet:
    """An image split in memory with only observables and labels (what the cut kinds read)."""
    return ImageSet(X=np.empty((len(y), 0), np.float32), y=y, observables=obs, attrs={"class_names": ["b", "s"]})


def test_unknown_baseline_kind_lists_the_kinds():
    with pytest.raises(ConfigError, match="bdt") as info:
        get_baseline("bdt")
    assert all(kind in str(info.value) for kind in BASELINES)


def test_single_cut_missing_observable():
    obs, y = gaussian_1d(n=50)
    with pytest.raises(InputError, match="girth"):
        BASELINES["single_cut"].fit(images_of(obs, y), {"kind": "single_cut", "observables": ["girth"]}, [0.5])


def test_cut_kinds_take_their_filled_sections_and_score_like_their_functions():
    obs, y = uniform_2d(n=500)
    images = images_of(obs, y)
    # 'grid' and 'n_targets' reach the rectangular fitter
    cfg = fill_baseline({"kind": "rectangular_cuts", "observables": ["a", "b"], "grid": 4, "n_targets": 9})
    model = BASELINES["rectangular_cuts"].fit(images, cfg, [0.5])
    assert len(model["boxes"]) == 9  # targets 0.1, ..., 0.9; the working point 0.5 is one of them
    assert all(c is None or isinstance(c, float) for b in model["boxes"] for c in b["cuts"])
    assert BASELINES["rectangular_cuts"].fitted_numbers(model) == 2 * 9
    np.testing.assert_array_equal(BASELINES["rectangular_cuts"].predict(model, images)["score"],
                                  score_rectangular_cuts(model, obs))  # fmt: skip
    # without them, the schema's defaults: 49 targets, 16 thresholds per observable
    filled = fill_baseline({"kind": "rectangular_cuts", "observables": ["a", "b"]})
    assert (filled["grid"], filled["n_targets"]) == (16, 49)
    assert len(BASELINES["rectangular_cuts"].fit(images, filled, [0.5])["boxes"]) == 49
    single = BASELINES["single_cut"].fit(images, fill_baseline({"kind": "single_cut", "observables": ["a"]}), [0.5])
    assert single["direction"] == -1
    np.testing.assert_array_equal(BASELINES["single_cut"].predict(single, images)["score"], -obs["a"])
    assert 0.5 < single["train_auc"] == BASELINES["single_cut"].train_metrics(single)["auc"]


@pytest.mark.parametrize(("cfg", "message"), [
    ({"kind": "single_cut", "observables": ["a"], "grid": 4},
     "'baselines.cut.grid': not a key of baseline kind 'single_cut'; its keys: datasets, kind, observables"),
    ({"kind": "rectangular_cuts", "observables": ["a", "b"], "label": "x"},
     "'baselines.cut.label': unknown key; valid: datasets, grid, kind, n_targets, observables"),
    ({"kind": "single_cut", "observables": ["a", "b"]}, "'baselines.cut.observables': ['a', 'b'] is too long"),
    ({"kind": "rectangular_cuts"}, "'baselines.cut.observables': missing, and it has no default"),
])  # fmt: skip
def test_a_key_a_cut_kind_does_not_have_is_refused(cfg: dict, message: str):
    with pytest.raises(ConfigError) as info:
        fill_baseline(cfg, key="baselines.cut")
    assert message in str(info.value)
