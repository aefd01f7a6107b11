"""Cut-based baselines on synthetic data whose optimal cuts are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from detcnn.baselines import BASELINES, get_baseline
from detcnn.baselines.cuts import (
    cut_direction,
    cut_values,
    fit_rectangular_cuts,
    fit_single_cut,
    passes_box,
    score_rectangular_cuts,
    score_single_cut,
)
from detcnn.config import fill_baseline
from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.metrics import auc
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
    """True if every box lies inside the one before it (each cut at least as high)."""
    for loose, tight in itertools.pairwise(boxes):
        for cl, ct in zip(loose["cuts"], tight["cuts"], strict=True):
            if (-math.inf if ct is None else ct) < (-math.inf if cl is None else cl):
                return False
    return True


def separated_by_one(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Signal N(0, 1), background N(1, 1) in ``x`` only; ``u`` (normal) and ``v`` (uniform) are noise: the
    single cut on x is the best classifier there is (its likelihood ratio is monotone in x)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    x = np.r_[rng.normal(0.0, 1.0, n), rng.normal(1.0, 1.0, n)]
    return {"x": x, "u": rng.normal(size=2 * n), "v": rng.uniform(size=2 * n)}, y


def three_observables(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A count ``n`` (Poisson 12 for signal, 18 for background) and two Gaussians, each separating a little."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    count = np.r_[rng.poisson(12, n), rng.poisson(18, n)].astype(float)
    a = np.r_[rng.normal(0.0, 1.0, n), rng.normal(0.8, 1.0, n)]
    b = np.r_[rng.normal(0.0, 1.0, n), rng.normal(-0.5, 1.2, n)]
    return {"n": count, "a": a, "b": b}, y


def auc_alone(y: np.ndarray, values: np.ndarray) -> float:
    """The AUC of the cut on ``values`` alone, on the side where the signal sits."""
    a = auc(y, values)
    return max(a, 1.0 - a)


# ---------------------------------------------------------------------------------------------- single cut


def test_cut_direction():
    obs, y = gaussian_1d()
    assert cut_direction(obs["lo"], y) == -1
    assert cut_direction(obs["hi"], y) == 1


def test_single_cut_scores_the_oriented_observable_and_stores_no_thresholds():
    obs, y = gaussian_1d(n=1000)
    for name, direction in (("lo", -1), ("hi", 1)):
        model = fit_single_cut(obs, y, [name])
        # its working points are cuts on the score, chosen on validation by the evaluate stage: none from train
        assert model == {"kind": "single_cut", "observables": [name], "direction": direction}
        np.testing.assert_array_equal(score_single_cut(model, obs), direction * obs[name])
        # signal N(0, 1) against background N(2, 1): AUC Phi(2 / sqrt(2)) = 0.921
        assert auc(y, score_single_cut(model, obs)) == pytest.approx(phi(2.0 / math.sqrt(2.0)), abs=0.015)


def test_single_cut_takes_one_observable():
    obs, y = gaussian_1d(n=50)
    with pytest.raises(ValueError, match="one observable"):
        fit_single_cut(obs, y, ["lo", "hi"])


# -------------------------------------------------------------------------------------- rectangular cuts


@pytest.fixture(scope="module")
def uniform_model():
    obs, y = uniform_2d()
    return obs, y, fit_rectangular_cuts(obs, y, ["a", "b"], grid=32, max_values=128)


def test_rectangular_finds_the_unit_square(uniform_model):
    # Signal is uniform in the unit square, background in [0, 2]^2: the best ROC curve keeps all signal at
    # eps_b = 1/4 (the unit square), then goes straight to the origin (inside it the densities are flat).
    # AUC = 3/4 + 1/4 * 1/2 = 0.875; the box path passes through (nearly) the unit square.
    obs, y, model = uniform_model
    assert model["directions"] == [-1, -1]
    assert model["boxes"][0] == {"cuts": [None, None], "selection": "all", "eff_s": 1.0, "eff_b": 1.0}
    square = [b for b in model["boxes"] if b["eff_s"] == 1.0][-1]
    np.testing.assert_allclose(square["cuts"], [-1.0, -1.0], atol=0.08)  # 32 quantiles of [0, 2]: steps ~ 0.06
    a, b = (-c for c in square["cuts"])
    assert square["selection"] == f"a <= {a:.6g} and b <= {b:.6g}"
    assert square["eff_b"] == pytest.approx(0.25, abs=0.03)
    assert auc(y, score_rectangular_cuts(model, obs)) == pytest.approx(0.875, abs=0.01)


def test_rectangular_boxes_are_nested_and_the_score_selects_each(uniform_model):
    obs, y, model = uniform_model
    boxes = model["boxes"]
    assert is_nested(boxes)
    o = oriented(model, obs)
    score = score_rectangular_cuts(model, obs)
    assert set(np.unique(score)) <= set(range(len(boxes)))
    for k, box in enumerate(boxes):
        passed = passes_box(o, box["cuts"])
        np.testing.assert_array_equal(score >= k, passed)  # cutting the score at k selects exactly box k
        assert box["eff_s"] == pytest.approx(np.mean(passed[y == 1]), abs=1e-12)
        assert box["eff_b"] == pytest.approx(np.mean(passed[y == 0]), abs=1e-12)
    # each box tightens one cut of the one before
    for loose, tight in itertools.pairwise(boxes):
        assert sum(cl != ct for cl, ct in zip(loose["cuts"], tight["cuts"], strict=True)) == 1
    # on new events too (an event beyond every train value passes or fails like any other)
    far = {"a": np.array([-5.0, 1.9, 0.0]), "b": np.array([-5.0, 1.9, np.nan])}
    far_score = score_rectangular_cuts(model, far)
    assert far_score[0] == len(boxes) - 1 and far_score[1] == 0
    # a NaN fails every cut on its observable: the event scores as the last box without a cut on b
    assert far_score[2] == max(k for k, b in enumerate(boxes) if b["cuts"][1] is None)


def test_rectangular_path_is_the_best_of_all_nested_paths():
    # Three observables with values 0..2 (2 cuts each, plus the cut rejecting all: 3 steps per observable):
    # 9! / (3! 3! 3!) = 1680 paths from the open box to the empty one. The fit's train AUC is their maximum.
    rng = np.random.default_rng(1)
    n = 120
    y = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    obs = {k: np.r_[np.minimum(rng.integers(0, 3, n) + (rng.random(n) < p), 2), rng.integers(0, 3, n)].astype(float)
           for k, p in zip("abc", (0.5, 0.3, 0.1), strict=True)}  # fmt: skip
    model = fit_rectangular_cuts(obs, y, list("abc"), grid=8, max_values=8)
    o = oriented(model, obs)
    cuts = [[*np.unique(o[:, k])[1:], np.inf] for k in range(3)]
    best = 0.0
    for order in set(itertools.permutations([0, 0, 0, 1, 1, 1, 2, 2, 2])):
        index, alive, score = [0, 0, 0], np.ones(len(y), dtype=bool), np.zeros(len(y))
        for step, k in enumerate(order, start=1):
            index[k] += 1
            alive &= o[:, k] >= cuts[k][index[k] - 1]
            score[alive] = step
        best = max(best, auc(y, score))
    assert auc(y, score_rectangular_cuts(model, obs)) == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("sample", [three_observables, separated_by_one])
def test_rectangular_beats_every_single_cut_it_contains(sample):
    train, y = sample(3000, seed=0)
    model = fit_rectangular_cuts(train, y, list(train), grid=32, max_values=64)
    box_auc = auc(y, score_rectangular_cuts(model, train))
    for name, values in train.items():
        # at least the cut on each observable alone on its grid of cut values (a path the fit considered) ...
        assert box_auc >= model["train_auc_alone"][name] - 1e-12
        # ... and at least its exact single cut for a count cut at every value, the others within the
        # discretisation of 32 quantiles
        exact = auc_alone(y, values)
        if name == "n":
            assert model["train_auc_alone"][name] == pytest.approx(exact, abs=1e-12)
        assert box_auc >= exact - (1e-12 if name == "n" else 0.002)
    test, y_test = sample(3000, seed=1)
    box_test = auc(y_test, score_rectangular_cuts(model, test))
    best_single = max(auc_alone(y_test, v) for v in test.values())
    if sample is separated_by_one:
        # nothing to gain beyond x: the box stays within statistics of x's cut on new events (AUC std ~ 0.005)
        assert box_test == pytest.approx(auc_alone(y_test, test["x"]), abs=0.005)
        assert box_auc == pytest.approx(auc_alone(y, train["x"]), abs=0.003)
    else:
        # three independent observables: the box gains ~0.01 over the count alone, on new events too
        assert box_test > best_single + 0.005


def test_rectangular_constant_observable_is_never_cut():
    # an observable the same for every event: cutting it rejects all, so the path does that last (never listed)
    obs, y = gaussian_1d(n=1000, seed=4)
    train = {"x": obs["lo"], "const": np.zeros(len(y))}
    model = fit_rectangular_cuts(train, y, ["x", "const"], grid=16, max_values=16)
    assert model["directions"][0] == -1
    assert all(b["cuts"][1] is None for b in model["boxes"])
    # (the path may stop short of x's last cuts and reject all by 'const' at once, where that chord is better)
    assert auc(y, score_rectangular_cuts(model, train)) >= model["train_auc_alone"]["x"]
    assert model["train_auc_alone"]["const"] == 0.5


def test_rectangular_cut_values_per_observable():
    # a count with few values: a cut at each value but the lowest; many values: grid quantiles (event values)
    count = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    np.testing.assert_array_equal(cut_values(count, grid=2, max_values=4), [2.0, 3.0, 5.0])
    many = np.arange(100.0)
    cuts = cut_values(many, grid=3, max_values=4)
    np.testing.assert_array_equal(cuts, [24.0, 49.0, 74.0])  # the 1/4, 2/4, 3/4 quantiles, values of events


def test_rectangular_score_by_hand():
    # Hand-made nested boxes, directions a: +1 (cut a >= c), b: -1 (cut -b >= c, i.e. b <= -c):
    #   box 0: no cut; box 1: a >= 0; box 2: a >= 1 and b <= 2; box 3: a >= 2 and b <= 2; box 4: a >= 2 and b <= 1
    model = {
        "observables": ["a", "b"],
        "directions": [1, -1],
        "boxes": [{"cuts": [None, None]}, {"cuts": [0.0, None]}, {"cuts": [1.0, -2.0]}, {"cuts": [2.0, -2.0]},
                  {"cuts": [2.0, -1.0]}],
    }  # fmt: skip
    obs = {"a": np.array([2.5, 2.5, 1.5, 0.5, -1.0, 1.0, 3.0]), "b": np.array([0.5, 1.5, 0.0, 0.0, 0.0, 2.0, 5.0])}
    # 0: passes all -> 4;  1: b > 1 fails box 4 -> 3;  2: a < 2 -> 2;  3: a < 1 -> 1;  4: a < 0 -> 0;
    # 5: on the edges a = 1, b = 2 (cuts inclusive) -> 2;  6: b > 2 fails boxes 2.. -> 1
    np.testing.assert_array_equal(score_rectangular_cuts(model, obs), [4, 3, 2, 1, 0, 2, 1])
    loosening = {**model, "boxes": [{"cuts": [1.0, None]}, {"cuts": [0.0, None]}]}
    with pytest.raises(ValueError, match="not nested"):
        score_rectangular_cuts(loosening, obs)


def test_rectangular_needs_two_observables():
    obs, y = uniform_2d(n=100)
    with pytest.raises(ValueError, match="two or more"):
        fit_rectangular_cuts(obs, y, ["a"], grid=4, max_values=4)


def test_rectangular_refuses_nan():
    obs, y = uniform_2d(n=100)
    with pytest.raises(InputError, match="'b' has 1 NaN"):
        fit_rectangular_cuts({**obs, "b": np.r_[np.nan, obs["b"][1:]]}, y, ["a", "b"], grid=4, max_values=4)


def test_rectangular_too_many_boxes():
    rng = np.random.default_rng(0)
    obs = {k: rng.normal(size=400) for k in "abcde"}
    y = np.r_[np.ones(200, dtype=int), np.zeros(200, dtype=int)]
    # 32 quantile cuts each (+ no cut + reject all): 34 ** 5 = 45 million boxes > 5 million
    with pytest.raises(ConfigError, match=r"34 x 34 x 34 x 34 x 34 = 45,435,424 grid boxes.*lower grid"):
        fit_rectangular_cuts(obs, y, list("abcde"), grid=32, max_values=64)


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
    # 'grid' and 'max_values' reach the rectangular fitter: 1000 distinct values > 8, so 4 quantile cuts each
    cfg = fill_baseline({"kind": "rectangular_cuts", "observables": ["a", "b"], "grid": 4, "max_values": 8})
    model = BASELINES["rectangular_cuts"].fit(images, cfg, [0.5])
    o = oriented(model, obs)
    for k in range(2):
        used = {b["cuts"][k] for b in model["boxes"]} - {None}
        assert used <= set(cut_values(o[:, k], grid=4, max_values=8).tolist()) and len(used) <= 4
    assert all(c is None or isinstance(c, float) for b in model["boxes"] for c in b["cuts"])
    assert BASELINES["rectangular_cuts"].fitted_numbers(model) == len(model["boxes"]) - 1
    np.testing.assert_array_equal(BASELINES["rectangular_cuts"].predict(model, images)["score"],
                                  score_rectangular_cuts(model, obs))  # fmt: skip
    assert model["train_auc"] == BASELINES["rectangular_cuts"].train_metrics(model)["auc"]
    assert model["train_auc"] >= max(model["train_auc_alone"].values())
    # without them, the schema's defaults: a cut at each value up to 128 values, else 32 quantiles
    filled = fill_baseline({"kind": "rectangular_cuts", "observables": ["a", "b"]})
    assert (filled["grid"], filled["max_values"]) == (32, 128)
    single = BASELINES["single_cut"].fit(images, fill_baseline({"kind": "single_cut", "observables": ["a"]}), [0.5])
    assert single["direction"] == -1
    np.testing.assert_array_equal(BASELINES["single_cut"].predict(single, images)["score"], -obs["a"])
    assert 0.5 < single["train_auc"] == BASELINES["single_cut"].train_metrics(single)["auc"]


@pytest.mark.parametrize(("cfg", "message"), [
    ({"kind": "single_cut", "observables": ["a"], "grid": 4},
     "'baselines.cut.grid': not a key of baseline kind 'single_cut'; its keys: datasets, kind, observables"),
    ({"kind": "rectangular_cuts", "observables": ["a", "b"], "label": "x"},
     "'baselines.cut.label': unknown key; valid: datasets, grid, kind, max_values, observables"),
    ({"kind": "single_cut", "observables": ["a", "b"]}, "'baselines.cut.observables': ['a', 'b'] is too long"),
    ({"kind": "rectangular_cuts"}, "'baselines.cut.observables': missing, and it has no default"),
])  # fmt: skip
def test_a_key_a_cut_kind_does_not_have_is_refused(cfg: dict, message: str):
    with pytest.raises(ConfigError) as info:
        fill_baseline(cfg, key="baselines.cut")
    assert message in str(info.value)
