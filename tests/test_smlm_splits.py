"""Nothing of the SMLM test split is seen in training: one filament structure per shard, each kept whole in one
split, the uniform samples split frame by frame; and the matching tolerance of the localisation metrics, one
configurable value (default 250 nm, the SMLM challenge's) written into the image files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from detcnn.config import fill_dataset
from detcnn.errors import ConfigError, InputError
from detcnn.generate import smlm_sim
from detcnn.io.splits import SPLITS, group_counts, group_splits

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
SEED = 11


def _curve_distance(points: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Distance [nm] of each point ``(n, 2)`` to the nearest of the Bezier ``curves`` ``(k, 4, 2)``."""
    t = np.linspace(0.0, 1.0, 2001)
    dense = np.concatenate([smlm_sim._bezier(np.repeat(c[None], len(t), 0), t) for c in curves])
    return np.min(np.hypot(points[:, None, 0] - dense[None, :, 0], points[:, None, 1] - dense[None, :, 1]), axis=1)


@pytest.fixture(scope="module")
def rasterised(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """4 shards of 12 frames of the filaments and the dense sample, rasterised as the workflow does (a
    tolerance of 180 nm configured)."""
    from detcnn.io.images import read_images
    from detcnn.stages import rasterise

    folder = tmp_path_factory.mktemp("smlm")
    ds = {**TINY["datasets"]["smlm"], "generate": {"n_frames_per_shard": 12, "shards": 4, "microscope": {"n_pix": 16}},
          "frame_images": {"match_tolerance_nm": 180.0}}  # fmt: skip
    inputs = []
    for sample in ("dense", "filaments"):
        for shard in range(4):
            inputs.append(folder / f"{sample}_{shard}.root")
            smlm_sim.generate(inputs[-1], sample=sample, shard=shard, seed=SEED, cfg=fill_dataset(ds)["generate"],
                              progress=False)  # fmt: skip
    paths = {s: folder / f"{s}.h5" for s in SPLITS}
    stats = rasterise.run(inputs=inputs, **paths, stats=folder / "stats.json", dataset="smlm", ds=ds, seed=SEED,
                          progress=False)  # fmt: skip
    return {"stats": stats, **{s: read_images(p, with_images=False, with_pixels=True) for s, p in paths.items()}}


def test_no_filament_structure_of_the_test_split_is_seen_in_training(rasterised: dict) -> None:
    """Every split holds filament frames of its own structures only: the control points of the test frames'
    filaments differ from every train and val frame's, and the test frames' emitters lie on them."""
    filaments = smlm_sim.SAMPLES.index("filaments")
    size = 16 * 100.0
    structures, points = {}, {}
    for s in SPLITS:
        images = rasterised[s]
        mine = images.y == filaments
        ids = images.truth["structure"][mine].astype(int)
        assert mine.any() and np.all(ids >= 0), s
        assert np.all(images.truth["structure"][~mine] == -1), s  # the uniform sample: no structure
        structures[s] = set(ids.tolist())
        points[s] = {tuple(np.round(smlm_sim.filaments(SEED, size, k), 3).ravel()) for k in structures[s]}
    assert structures["test"].isdisjoint(structures["train"] | structures["val"])
    assert structures["val"].isdisjoint(structures["train"])
    assert points["test"].isdisjoint(points["train"] | points["val"]) and len(points["test"]) == len(structures["test"])
    assert sorted(structures["train"] | structures["val"] | structures["test"]) == [0, 1, 2, 3]
    assert rasterised["stats"]["structure_splits"] == {s: sorted(structures[s]) for s in SPLITS}
    # the ids are the structures imaged: the test frames' emitters lie on the test curves, not on the train ones
    test = rasterised["test"]
    frames = test.y == filaments
    xy = test.pixels["emitters"][frames][..., :2].reshape(-1, 2)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    test_curves = np.concatenate([smlm_sim.filaments(SEED, size, k) for k in structures["test"]])
    train_curves = np.concatenate([smlm_sim.filaments(SEED, size, k) for k in structures["train"]])
    assert len(xy) > 20 and np.all(_curve_distance(xy, test_curves) < 60.0)  # 6 x the 10 nm jitter
    assert np.mean(_curve_distance(xy, train_curves) < 60.0) < 0.5


def test_uniform_frames_are_split_one_by_one_and_the_split_is_reproducible(rasterised: dict, tmp_path: Path) -> None:
    dense = smlm_sim.SAMPLES.index("dense")
    counts = [int(np.sum(rasterised[s].y == dense)) for s in SPLITS]
    assert sum(counts) == 48 and min(counts) > 0 and counts[0] > counts[2]  # drawn frame by frame, 0.6 / 0.2 / 0.2
    assert rasterised["train"].attrs["match_tolerance_nm"] == 180.0  # the configured tolerance travels with the file
    again = group_splits(4, {"train": 0.6, "val": 0.2, "test": 0.2}, SEED)
    assert {s: np.flatnonzero(again == i).tolist() for i, s in enumerate(SPLITS)} == rasterised["stats"][
        "structure_splits"
    ]


def test_whole_groups_share_the_splits_by_the_fractions() -> None:
    fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    assert group_counts(5, fractions).tolist() == [3, 1, 1]
    assert group_counts(4, fractions).tolist() == [2, 1, 1]
    assert group_counts(3, fractions).tolist() == [1, 1, 1]  # largest remainder gives 2 / 1 / 0: test gets one
    assert group_counts(10, fractions).tolist() == [6, 2, 2]
    with pytest.raises(ValueError, match="2 group"):
        group_counts(2, fractions)
    a, b = group_splits(10, fractions, 3), group_splits(10, fractions, 3)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(a, minlength=3).tolist() == [6, 2, 2]
    assert any(not np.array_equal(a, group_splits(10, fractions, s)) for s in range(4, 8))  # the seed chooses


def test_too_few_shards_for_a_structure_per_split_is_a_config_error() -> None:
    from detcnn.config_checks import check_datasets

    ds = {**TINY["datasets"]["smlm"], "generate": {"n_frames_per_shard": 10, "shards": 2}}
    with pytest.raises(ConfigError, match=r"datasets\.smlm\.generate\.shards.*need a shard each"):
        check_datasets({"smlm": fill_dataset(ds)})
    check_datasets({"smlm": fill_dataset({**ds, "generate": {"n_frames_per_shard": 10, "shards": 3}})})


def test_the_tolerance_defaults_to_the_challenge_s_and_changes_the_matching() -> None:
    """250 nm unless configured; a localisation 200 nm from its emitter is a true positive at 250 nm and, at
    100 nm, a false positive and a false negative, through the task's metrics (which read the file's value)."""
    from detcnn.config_checks import planned_attrs
    from detcnn.evaluation.bootstrap import no_resamples
    from detcnn.tasks import localisation

    filled = fill_dataset(TINY["datasets"]["smlm"])
    assert filled["frame_images"]["match_tolerance_nm"] == 250.0
    assert planned_attrs(filled)["match_tolerance_nm"] == 250.0
    truth = np.array([[[500.0, 500.0, 1000.0], [1400.0, 300.0, 1000.0]]])
    found = {"locs": np.array([[[700.0, 500.0, 1.0], [1410.0, 300.0, 1.0]]])}  # 200 nm and 10 nm off
    got = {}
    for tolerance in (250.0, 100.0):
        attrs = {"match_tolerance_nm": tolerance, "class_names": ["a"]}
        got[tolerance] = localisation.metrics(truth, found, attrs, {}, no_resamples(1))
    assert got[250.0]["jaccard"]["value"] == 1.0
    assert got[250.0]["rmse_nm"]["value"] == pytest.approx(np.sqrt((200.0**2 + 10.0**2) / 2))
    assert got[100.0]["jaccard"]["value"] == pytest.approx(1 / 3) and got[100.0]["rmse_nm"]["value"] == 10.0
    with pytest.raises(InputError, match="match_tolerance_nm"):
        localisation.match_tolerance_nm({"dataset": "smlm"})
