"""The training loop: it learns, keeps the best epoch, streams large files like small ones, and saves
weights that load with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from detcnn.io.images import ImageFile, ImageWriter
from detcnn.tasks import TASKS
from detcnn.training.data import H5Source, TensorSource, open_source, predict
from detcnn.training.device import seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.network import build_model, load_network

ATTRS = {"channels": ["a", "b"], "class_names": ["background", "signal"]}


def toy_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise images; class 1 has a bright 3x3 blob in the upper-right corner."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, 2, 12, 12)).astype(np.float32)
    y = rng.integers(0, 2, n)
    X[y == 1, 0, 8:11, 8:11] += 2.0
    return X, y


def write_split(path: Path, X: np.ndarray, y: np.ndarray) -> Path:
    with ImageWriter(path, X.shape[1:], ATTRS) as w:
        w.append(X, y, {"dummy": np.zeros(len(y))})
    return path


def test_fit_learns_and_keeps_the_best_epoch() -> None:
    X, y = toy_images(600, seed=0)
    Xv, yv = toy_images(200, seed=1)
    train, val = TensorSource(X, y), TensorSource(Xv, yv)
    gen = seed_everything(0)
    model, _ = build_model("komiske_cnn", {"filters": [8, 8, 8], "dense": 16}, ATTRS, 12, train.scaling())
    settings = TrainSettings(epochs=6, batch_size=64, lr=3e-3, patience=2)
    seen: list[dict] = []
    plugin = TASKS["classification"].plugin(ATTRS, {})
    model, history = fit(model, train, val, plugin, settings, torch.device("cpu"), gen, seen.append, progress=False)
    assert seen == history.rows
    assert history.rows[-1]["val/auc"] > 0.95
    assert history.rows[0]["train/loss"] > history.rows[-1]["train/loss"]
    best = min(history.rows, key=lambda r: r["val/loss"])
    assert history.best_epoch == best["epoch"]
    proba = predict(model, val, torch.device("cpu"))
    loss = torch.nn.functional.nll_loss(torch.log(torch.from_numpy(proba)), torch.from_numpy(yv))
    assert float(loss) == pytest.approx(best["val/loss"], rel=1e-5), "the returned weights are the best epoch's"


def test_streamed_source_matches_memory(tmp_path: Path) -> None:
    X, y = toy_images(1000, seed=2)
    images = ImageFile(write_split(tmp_path / "train.h5", X, y))
    streamed = H5Source(images, block_rows=256)
    memory = open_source(images, max_memory_gb=1.0)
    assert isinstance(memory, TensorSource)
    assert isinstance(open_source(images, max_memory_gb=1e-6), H5Source)
    a, b = streamed.scaling(), memory.scaling()
    torch.testing.assert_close(a.mean, b.mean)
    torch.testing.assert_close(a.std, b.std)
    # every row exactly once per epoch, in a seeded shuffled order
    rows = [xb[:, 0, 0, 0] for xb, _ in streamed.batches(100, shuffle=True, generator=seed_everything(3))]
    assert sorted(torch.cat(rows).tolist()) == sorted(X[:, 0, 0, 0].tolist())
    again = [xb[:, 0, 0, 0] for xb, _ in streamed.batches(100, shuffle=True, generator=seed_everything(3))]
    torch.testing.assert_close(torch.cat(rows), torch.cat(again))
    # unshuffled batches come in file order, labels aligned
    xs, ys = zip(*streamed.batches(300, shuffle=False), strict=True)
    np.testing.assert_array_equal(torch.cat(xs).numpy(), X)
    np.testing.assert_array_equal(torch.cat(ys).numpy(), y)


def test_weights_load_safely(tmp_path: Path) -> None:
    model, args = build_model("resnet", {"width": 4, "layers": [1, 1]}, ATTRS, 12)
    path = tmp_path / "weights.pt"
    torch.save({"arch": "resnet", "args": args, "class_names": ATTRS["class_names"],
                "state_dict": model.state_dict()}, path)  # fmt: skip
    loaded, payload = load_network(path)
    assert payload["arch"] == "resnet"
    x = torch.rand(3, 2, 12, 12)
    model.eval()
    torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the GPU machine)")
@pytest.mark.parametrize("amp", [False, True])
def test_training_on_the_gpu(amp: bool) -> None:
    X, y = toy_images(600, seed=0)
    Xv, yv = toy_images(200, seed=1)
    train, val = TensorSource(X, y), TensorSource(Xv, yv)
    model, _ = build_model("resnet", {"width": 8, "layers": [1, 1]}, ATTRS, 12, train.scaling())
    settings = TrainSettings(epochs=4, batch_size=64, lr=3e-3, patience=4, amp=amp)
    device = torch.device("cuda")
    model, history = fit(model, train, val, TASKS["classification"].plugin(ATTRS, {}), settings, device,
                         seed_everything(0), progress=False)  # fmt: skip
    assert next(model.parameters()).device.type == "cuda"
    assert history.rows[-1]["val/auc"] > 0.95


def test_unknown_train_setting_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"unknown train setting.*learning_rate"):
        TrainSettings.from_config({"learning_rate": 0.1})


def test_streamed_pixel_targets_and_row_selection_match_memory(tmp_path: Path) -> None:
    """A per-pixel target and a subset of events stream in the same order as they load in memory."""
    rng = np.random.default_rng(4)
    X = rng.normal(0, 1, (300, 2, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    y_pix = rng.integers(0, 3, (300, 2, 8, 8)).astype(np.int8)
    path = tmp_path / "pix.h5"
    with ImageWriter(path, X.shape[1:], ATTRS) as w:
        w.append(X, y, {"dummy": np.zeros(300)}, pixels={"y_pix": y_pix}, truth={"nu_energy": np.arange(300.0)})
    rows = y == 0
    images = ImageFile(path)
    memory = open_source(images, 1.0, "y_pix", rows)
    streamed = open_source(images, 1e-9, "y_pix", rows)
    assert isinstance(memory, TensorSource) and isinstance(streamed, H5Source)
    assert len(streamed) == int(rows.sum())
    np.testing.assert_array_equal(streamed.labels, y_pix[rows])
    xs, ts = zip(*streamed.batches(64, shuffle=False), strict=True)
    np.testing.assert_array_equal(torch.cat(xs).numpy(), X[rows])
    np.testing.assert_array_equal(torch.cat(ts).numpy(), memory.labels)
    energy = open_source(images, 1e-9, "truth/nu_energy", rows)
    np.testing.assert_array_equal(energy.labels, np.flatnonzero(rows).astype(float))


def test_a_limited_selection_spans_the_whole_split(tmp_path: Path) -> None:
    """max_train_events / max_val_events keep events spread over the split, not its first input file: a
    split holds one sample after another, so the first N would all be of the first sample."""
    y = np.repeat([0, 1, 2], 100)  # three samples, one after another, as the split writer leaves them
    path = tmp_path / "split.h5"
    with ImageWriter(path, (1, 4, 4), {**ATTRS, "class_names": ["a", "b", "c"]}) as w:
        w.append(np.zeros((300, 1, 4, 4), np.float32), y, {"n_constituents": np.zeros(300)})
    with ImageFile(path) as f:
        keep = f.select(None, 30)
        assert keep.sum() == 30 and np.bincount(y[keep]).tolist() == [10, 10, 10]
        only = f.select([0, 2], 20)
        assert only.sum() == 20 and np.bincount(y[only], minlength=3).tolist() == [10, 0, 10]
        assert f.select(None, 1000).sum() == 300 and f.select(None, None) is None


DETECTOR = {"channels": ["xz", "yz"], "views": ["xz", "yz"], "class_names": ["nu_e CC", "nu_mu CC", "NC"],
            "pixel_class_names": ["empty", "track", "shower"], "pixel_nm": 100.0, "upsampling": 4,
            "match_tolerance_nm": 250.0}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args", "classes"),
    [("classification", {}, None), ("segmentation", {}, None), ("pixel_regression", {}, None),
     ("localisation", {}, None), ("energy_regression", {}, None),
     ("energy_regression", {"classes": ["NC", "nu_e CC"]}, [2, 0])],
)  # fmt: skip
def test_the_events_a_task_trains_on_are_known_before_its_plugin(name: str, args: dict, classes: list | None) -> None:
    """The train stage selects the train rows with the task's ``target`` and then builds the plug-in once,
    fitted on those rows; the evaluate stage judges a baseline by the ``target`` alone: all must agree."""
    task = TASKS[name]
    judged, plugin = task.target(DETECTOR, args), task.plugin(DETECTOR, args)
    assert judged.classes == classes and plugin.classes == classes
    assert judged.dataset == plugin.target
