"""Pixel confusion, IoU and non-empty efficiency/purity on a hand-worked matrix; per-event confusions."""

from __future__ import annotations

import numpy as np
import pytest

from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.evaluation.segmentation import (
    bootstrap_confusions,
    bootstrap_nonempty_metrics,
    event_confusions,
    iou,
    nonempty_arrays,
    nonempty_metrics,
    pixel_confusion,
)

# 200 pixels, rows = truth (0 empty, 1 track, 2 shower), columns = prediction:
CONF = np.array(
    [
        [100, 3, 2],  # 3 + 2 noise pixels (truth empty) called track / shower
        [4, 30, 6],  # 4 track pixels missed (predicted empty), 6 called shower
        [1, 4, 50],
    ]
)


def pixels_from(conf: np.ndarray, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled truth / prediction pixel arrays whose confusion is ``conf``."""
    k = conf.shape[0]
    truth = np.repeat(np.repeat(np.arange(k), k), conf.ravel())
    pred = np.repeat(np.tile(np.arange(k), k), conf.ravel())
    perm = np.random.default_rng(seed).permutation(len(truth))
    return truth[perm].reshape(shape).astype(np.uint8), pred[perm].reshape(shape).astype(np.uint8)


def test_pixel_confusion_recovers_matrix():
    truth, pred = pixels_from(CONF, (2, 2, 5, 10), seed=0)  # (events, views, H, W)
    np.testing.assert_array_equal(pixel_confusion(truth, pred, 3), CONF)


def test_iou_by_hand():
    # IoU = TP / (row + column - TP): class 0: 100 / (105 + 105 - 100); track: 30 / (40 + 37 - 30);
    # shower: 50 / (55 + 58 - 50)
    np.testing.assert_allclose(iou(CONF), [100 / 110, 30 / 47, 50 / 63])


def test_nonempty_metrics_by_hand():
    m = nonempty_metrics(CONF, class_names=["empty", "track", "shower"])
    # non-empty truth rows only: 40 + 55 = 95 pixels, 30 + 50 = 80 right
    assert m["accuracy"] == pytest.approx(80 / 95)
    # efficiency = TP / true pixels (missed-as-empty counts): 30/40, 50/55
    assert m["efficiency_track"] == pytest.approx(30 / 40)
    assert m["efficiency_shower"] == pytest.approx(50 / 55)
    # purity over non-empty-truth pixels: predicted track 30 + 4 (noise excluded), predicted shower 6 + 50
    assert m["purity_track"] == pytest.approx(30 / 34)
    assert m["purity_shower"] == pytest.approx(50 / 56)
    # IoU on the same pixels: 30 / (40 + 34 - 30), 50 / (55 + 56 - 50)
    assert m["iou_track"] == pytest.approx(30 / 44)
    assert m["iou_shower"] == pytest.approx(50 / 61)
    assert m["mean_iou"] == pytest.approx(0.5 * (30 / 44 + 50 / 61))
    assert set(nonempty_metrics(CONF)) >= {"efficiency_1", "purity_2", "iou_1"}  # default names: labels


def test_nonempty_class_absent_is_nan():
    conf = np.array([[5, 0, 0], [0, 3, 0], [0, 0, 0]])  # no shower at all
    m = nonempty_metrics(conf)
    assert m["accuracy"] == 1.0
    assert np.isnan(m["efficiency_2"]) and np.isnan(m["iou_2"])
    assert m["mean_iou"] == 1.0  # mean over the classes that have an IoU


def test_per_event_confusions_sum_to_total():
    truth, pred = pixels_from(CONF, (4, 1, 5, 10), seed=1)
    per_event = event_confusions(truth, pred, 3)
    assert per_event.shape == (4, 3, 3)
    np.testing.assert_array_equal(per_event.sum(axis=0), CONF)
    for e in range(4):
        np.testing.assert_array_equal(per_event[e], pixel_confusion(truth[e], pred[e], 3))


def test_bootstrap_confusions_are_sums_of_resampled_events():
    truth, pred = pixels_from(CONF, (8, 1, 5, 5), seed=2)
    per_event = event_confusions(truth, pred, 3)
    idx = bootstrap_indices(8, 100, seed=3)
    boot = bootstrap_confusions(per_event, idx, chunk=7)  # chunk not dividing n_boot on purpose
    np.testing.assert_array_equal(boot, per_event[idx].sum(axis=1))
    batched = nonempty_arrays(boot)
    assert batched["efficiency"].shape == (100, 2)
    assert batched["accuracy"][0] == pytest.approx(nonempty_metrics(boot[0])["accuracy"])
    out = bootstrap_nonempty_metrics(per_event, idx, class_names=["empty", "track", "shower"])
    assert out["accuracy"]["value"] == pytest.approx(80 / 95)
    assert out["iou_shower"]["value"] == pytest.approx(50 / 61)
    samples = [nonempty_metrics(b)["purity_1"] for b in boot]
    assert out["purity_track"]["err"] == pytest.approx(np.std(samples, ddof=1))
    assert out["accuracy"]["n_bootstrap"] == 100
    assert all(m["n_nonfinite"] == 0 for m in out.values())


def test_bad_labels_and_shapes():
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        pixel_confusion(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="same shape"):
        pixel_confusion(np.zeros((2, 3), int), np.zeros((3, 2), int), 3)
