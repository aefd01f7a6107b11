"""Task plug-ins of the training loop: the weighted or masked pixel loss on hand-built cases, predictions,
output scaling of regressions, and a segmenter that learns a handful of events end to end."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from detcnn.train import build_model
from detcnn.training.data import OutputScaling, TensorSource, predict
from detcnn.training.device import seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.tasks import SegmentationLoss, TargetStats, make_task

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


def test_inverse_frequency_weights_and_empty_prediction() -> None:
    task = make_task("segmentation", ATTRS, {}, TargetStats(frequencies=np.array([0.9, 0.05, 0.05])))
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
    with pytest.raises(KeyError, match=r"unknown task 'tracking'.*segmentation"):
        make_task("tracking", ATTRS)
    with pytest.raises(ValueError, match=r"unknown task_args.*class_weight"):
        make_task("segmentation", ATTRS, {"class_weight": "x"})
    with pytest.raises(ValueError, match=r"classes \['nu_tau CC'\] are not classes"):
        make_task("energy_regression", ATTRS, {"classes": ["nu_tau CC"]})
    with pytest.raises(ValueError, match="needs a segmenter but 'komiske_cnn' is a classifier"):
        build_model("komiske_cnn", {}, ATTRS, 16, task=make_task("segmentation", ATTRS))


def test_regression_output_starts_at_the_typical_value() -> None:
    task = make_task("energy_regression", ATTRS, {"classes": ["nu_e CC"]})
    assert task.classes == [0] and task.target == "truth/nu_energy" and task.num_outputs == 1
    model, _ = build_model("nova_cvn", {"stem_width": 8, "conv_widths": [8, 16]}, ATTRS, 16, task=task,
                           output=OutputScaling(2.0, 0.8))  # fmt: skip
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
    task = make_task("segmentation", ATTRS, {}, TargetStats(frequencies=np.bincount(y_pix.ravel()) / y_pix.size))
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, train.scaling(), task)
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
    task = make_task("segmentation", ATTRS, {}, TargetStats(frequencies=np.bincount(y_pix.ravel()) / y_pix.size))
    train = TensorSource(X, y_pix)
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, train.scaling(), task)
    settings = TrainSettings(epochs=25, batch_size=8, lr=0.01, patience=25, amp=True)
    model, _ = fit(model, train, train, task, settings, device, seed_everything(0), progress=False)
    pred = predict(model, train, device, transform=task.predict)
    assert float(np.mean(pred[y_pix > 0] == y_pix[y_pix > 0])) > 0.95
    energy = TensorSource(X, (X / 30.0).astype(np.float32))  # a per-pixel target the network can learn
    reg = make_task("pixel_regression", ATTRS)
    model, _ = build_model("unet", {"width": 8, "depth": 2}, ATTRS, 16, energy.scaling(), reg, OutputScaling(0, 5))
    model, history = fit(model, energy, energy, reg, settings, device, seed_everything(0), progress=False)
    assert history.rows[-1]["train/loss"] < 0.1 * history.rows[0]["train/loss"]
