"""Task plug-ins of the training loop: the weighted or masked pixel loss on hand-built cases, predictions,
output scaling of regressions, and a segmenter that learns a handful of events end to end."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from detcnn.tasks import TASKS, get_task
from detcnn.training.data import TensorSource, predict
from detcnn.training.device import seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.losses import SegmentationLoss
from detcnn.training.network import build_model
from detcnn.training.plugin import Plugin

ATTRS = {
    "channels": ["xz_charge", "yz_charge"],
    "views": ["xz", "yz"],
    "class_names": ["nu_e CC", "nu_mu CC", "NC"],
    "pixel_class_names": ["empty", "track", "shower"],
}


def test_class_weights_weight_each_pixel_by_hand() -> None:
    # two pixels (one view, 1x2), three classes; truth: track, shower
    logits = torch.tensor([[[[[0.0, 1.0]]], [[[2.0, 0.0]]], [[[0.0, 3.0]]]]])  # (1, K=3, V=1, 1, 2)
    target = torch.tensor([[[[1, 2]]]])
    ce = [F.cross_entropy(logits[0, :, 0, 0, j][None], target[0, 0, 0, j][None]).item() for j in (0, 1)]
    weight = torch.tensor([0.1, 1.0, 3.0])
    loss = SegmentationLoss(weight)(logits, target).item()
    assert loss == pytest.approx((1.0 * ce[0] + 3.0 * ce[1]) / (1.0 + 3.0), rel=1e-6)


def test_ignoring_empty_pixels_ignores_exactly_them() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 2, 4, 4)
    target = torch.randint(0, 3, (2, 2, 4, 4))
    loss_fn = SegmentationLoss(ignore_index=0)
    changed = logits.clone()
    last = changed.permute(0, 2, 3, 4, 1)  # a view (N, V, H, W, K): edits go through to `changed`
    last[target == 0] += 10 * torch.randn_like(last[target == 0])  # only on empty pixels
    assert loss_fn(logits, target).item() == pytest.approx(loss_fn(changed, target).item(), rel=1e-6)
    keep = target != 0
    by_hand = F.cross_entropy(logits.permute(0, 2, 3, 4, 1)[keep], target[keep])
    assert loss_fn(logits, target).item() == pytest.approx(by_hand.item(), rel=1e-6)
    last[keep] += torch.randn_like(last[keep])
    assert loss_fn(changed, target).item() != pytest.approx(loss_fn(logits, target).item(), rel=1e-6)


class Split:
    """The part of an image file a task's plug-in reads: attributes and datasets by name."""

    def __init__(self, **datasets: np.ndarray) -> None:
        self.attrs, self._data = ATTRS, datasets

    def dataset(self, name: str) -> np.ndarray:
        return self._data[name]

    def read(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        return self._data[name] if rows is None else self._data[name][rows]


def segmentation_plugin(y_pix: np.ndarray, args: dict | None = None) -> Plugin:
    return TASKS["segmentation"].plugin(ATTRS, args or {}, Split(y_pix=y_pix), None)


def test_inverse_frequency_weights_and_empty_prediction() -> None:
    y_pix = np.zeros((1, 1, 20, 20), dtype=np.int8)  # 360 empty, 20 track, 20 shower pixels: 0.9, 0.05, 0.05
    y_pix[0, 0, 0, :] = 1
    y_pix[0, 0, 1, :] = 2
    task = segmentation_plugin(y_pix)
    w = np.array(task.info["class_weights"])
    assert w[1] == pytest.approx(w[2]) and w[0] == pytest.approx(w[1] * 0.05 / 0.9)
    x = torch.zeros(1, 2, 4, 4)
    x[0, 0, 1, 1] = 30.0  # one charged pixel in view 0
    out = torch.zeros(1, 3, 2, 4, 4)
    out[:, 2] = 5.0  # the network says "shower" everywhere
    pred = task.predict(out, x)
    assert pred.shape == (1, 2, 4, 4) and pred.dtype == torch.int8
    assert pred[0, 0, 1, 1] == 2 and pred.sum() == 2, "pixels without charge are empty whatever the network says"


def test_unknown_task_and_settings_are_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown task 'tracking'.*segmentation"):
        get_task("tracking")
    with pytest.raises(ValueError, match=r"unknown task_args.*class_weight"):
        TASKS["segmentation"].plugin(ATTRS, {"class_weight": "x"})
    with pytest.raises(ValueError, match=r"classes \['nu_tau CC'\] are not classes"):
        TASKS["energy_regression"].plugin(ATTRS, {"classes": ["nu_tau CC"]})
    with pytest.raises(ValueError, match=r"loss must be one of"):
        TASKS["energy_regression"].plugin(ATTRS, {"loss": "mae"})
    with pytest.raises(ValueError, match="needs a segmenter but 'komiske_cnn' is a classifier; choose one of unet"):
        build_model("komiske_cnn", {}, ATTRS, 16, task=TASKS["segmentation"])


def test_regression_output_starts_at_the_typical_value() -> None:
    energy = np.array([1.0, 3.0, 100.0, 2.0])  # the third event is NC: not a class of this regression
    train = Split(y=np.array([0, 0, 2, 0]), **{"truth/nu_energy": energy})
    rows = np.isin(train.dataset("y"), [0])
    task = TASKS["energy_regression"].plugin(ATTRS, {"classes": ["nu_e CC"]}, train, rows)
    assert task.classes == [0] and task.target == "truth/nu_energy" and task.num_outputs == 1
    assert task.output == pytest.approx((2.0, np.std([1.0, 3.0, 2.0])))
    model, _ = build_model("nova_cvn", {"stem_width": 8, "conv_widths": [8, 16]}, ATTRS, 16,
                           task=TASKS["energy_regression"], plugin=task)  # fmt: skip
    torch.nn.init.zeros_(model.net.head[-1].weight)
    torch.nn.init.zeros_(model.net.head[-1].bias)
    pred = predict(model, TensorSource(torch.rand(5, 2, 16, 16), np.zeros(5)), torch.device("cpu"),
                   transform=task.predict)  # fmt: skip
    np.testing.assert_allclose(pred, 2.0)


def toy_views(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two 16x16 views per event: a one-pixel-wide line (track, label 1) and a 3x3 blob (shower, 2)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 2, 16, 16), dtype=np.float32)
    y_pix = np.zeros((n, 2, 16, 16), dtype=np.int8)
    for i in range(n):
        for v in range(2):
            row, start = rng.integers(2, 14), rng.integers(0, 4)
            X[i, v, row, start : start + 8] = rng.uniform(150, 250, 8)
            y_pix[i, v, row, start : start + 8] = 1
            r, c = rng.integers(1, 13), rng.integers(10, 14)
            X[i, v, r : r + 3, c : c + 3] = rng.uniform(50, 400, (3, 3))
            y_pix[i, v, r : r + 3, c : c + 3] = 2
    return X, y_pix


def test_a_segmenter_learns_a_handful_of_events_in_seconds() -> None:
    X, y_pix = toy_views(8, seed=1)
    train = TensorSource(X, y_pix)
    task = segmentation_plugin(y_pix)
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, train.scaling(), TASKS["segmentation"], task)
    t0 = time.perf_counter()
    model, history = fit(model, train, train, task, TrainSettings(epochs=25, batch_size=8, lr=0.01, patience=25),
                         torch.device("cpu"), seed_everything(0), progress=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    pred = predict(model, train, torch.device("cpu"), transform=task.predict)
    nonempty = y_pix > 0
    accuracy = float(np.mean(pred[nonempty] == y_pix[nonempty]))
    assert accuracy > 0.98, f"accuracy {accuracy:.3f} after {len(history.rows)} epochs"
    assert history.rows[-1]["val/accuracy"] == pytest.approx(max(r["val/accuracy"] for r in history.rows), abs=0.05)
    assert seconds < 60  # about 5 s on an idle core


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the GPU machine)")
def test_segmenter_and_regression_train_on_cuda_with_bf16() -> None:
    """The pixel tasks on the GPU with bfloat16 autocast: the loss is computed in fp32 and the U-Net learns."""
    X, y_pix = toy_views(8, seed=1)
    device = torch.device("cuda")
    task = segmentation_plugin(y_pix)
    train = TensorSource(X, y_pix)
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, train.scaling(), TASKS["segmentation"], task)
    settings = TrainSettings(epochs=25, batch_size=8, lr=0.01, patience=25, amp=True)
    model, _ = fit(model, train, train, task, settings, device, seed_everything(0), progress=False)
    pred = predict(model, train, device, transform=task.predict)
    assert float(np.mean(pred[y_pix > 0] == y_pix[y_pix > 0])) > 0.95
    energy = TensorSource(X, (X / 30.0).astype(np.float32))  # a per-pixel target the network can learn
    reg = TASKS["pixel_regression"].plugin(ATTRS, {}, Split(e_pix=energy.labels), None)
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, energy.scaling(), TASKS["pixel_regression"],
                           reg)  # fmt: skip
    model, history = fit(model, energy, energy, reg, settings, device, seed_everything(0), progress=False)
    assert history.rows[-1]["train/loss"] < 0.1 * history.rows[0]["train/loss"]


def _known_case(name: str) -> tuple[dict, np.ndarray, np.ndarray, dict[str, float]]:
    """``(attrs, truth, network output, metrics by hand)`` of each task on a few events."""
    if name == "classification":  # two classes; P(signal) 0.1, 0.6 | 0.4, 0.9: 3 of 4 pairs ordered; 2 of 4 right
        attrs = {"class_names": ["gluon", "quark"], "channels": ["a"]}
        proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]])
        return attrs, np.array([0, 0, 1, 1]), proba, {"auc": 0.75, "accuracy": 0.5}
    if name == "segmentation":  # one view of 2 x 3: truth track track shower / empty empty shower
        truth = np.array([[[[1, 1, 2], [0, 0, 2]]]])
        pred = np.array([[[[1, 2, 2], [0, 1, 2]]]], dtype=np.int8)  # one track pixel called shower, one noise track
        # non-empty truth: 4 pixels, 3 right; IoU on them (noise pixels count nowhere): track 1/(1+1+0), shower
        # 2/(2+0+1)
        return ATTRS, truth, pred, {"accuracy": 0.75, "mean_iou": (1 / 2 + 2 / 3) / 2}
    if name == "pixel_regression":  # two events, one pixel each with energy: errors 1 and 2 MeV; sums 11/10, 18/20
        truth = np.zeros((2, 1, 1, 2), dtype=np.float32)
        truth[:, 0, 0, 0] = [10.0, 20.0]
        pred = truth.copy()
        pred[:, 0, 0, 0] += [1.0, -2.0]
        r = np.array([0.1, -0.1])
        return ATTRS, truth, pred, {"pixel_rmse": np.sqrt(2.5), "event_resolution": float(np.std(r)), "event_bias": 0.0}
    true = np.array([1.0, 2.0, 4.0, 5.0])  # energy regression: r = 0.1, -0.1, 0.1, 0
    r = np.array([0.1, -0.1, 0.1, 0.0])
    return ATTRS, true, true * (1 + r), {"resolution": float(np.std(r)), "bias": 0.05}


@pytest.mark.parametrize("name", ["classification", "segmentation", "pixel_regression", "energy_regression"])
def test_validation_metrics_are_the_test_metrics(name: str) -> None:
    """``val/x`` (the plug-in's score, every epoch) and ``test/x`` (the evaluate stage) are one function: on a
    case worked out by hand both give the hand value. (The energy resolution is the standard deviation of
    (pred - true) / true in both; validation used to report its RMS about zero, 0.0866 here, not 0.0829.)"""
    task = TASKS[name]
    attrs, truth, out, expected = _known_case(name)
    val = task.plugin(attrs, {}).score(truth, out)
    test = task.metrics(truth, task.prediction(out, attrs), attrs, {}, np.zeros((0, len(truth)), dtype=np.int64))
    assert set(val) == set(task.VALIDATION) <= set(test)
    for metric, value in val.items():
        assert value == test[metric]["value"], metric
    for metric, value in expected.items():
        assert val[metric] == pytest.approx(value, abs=1e-9), metric
