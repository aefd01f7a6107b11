"""The studies' plumbing (docs/studies.md): a variation's settings and its test-only sample, the config checks
of variations, bins and learning curves, and the nested, seeded subsets of a learning curve."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from detcnn.config import load
from detcnn.config.variations import shard_numbers, variation_dataset, variation_generate
from detcnn.errors import ConfigError, InputError
from detcnn.io.images import ImageWriter
from detcnn.io.splits import group_counts
from detcnn.io.subset import subset_rows, write_subset
from tests.conftest import ROOT


def tiny() -> dict:
    return yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


def test_a_variation_merges_its_generate_keys_and_keeps_the_nominal_image_settings() -> None:
    ds = load(tiny(), networks=False).datasets["nu"].section
    variation = ds["variations"]["gain_noise"]
    generate = variation_generate(ds, variation)
    assert generate["detector"]["charge_scale"] == 1.05 and generate["n_events_per_shard"] == 40
    assert generate["detector"]["volume"] == ds["generate"]["detector"]["volume"]  # nested keys merged, not replaced
    rasterised = variation_dataset(ds, variation, ("hit_images", ("noise_ke", "threshold_ke")), "v")
    assert rasterised["hit_images"]["noise_ke"] == 7.5
    assert rasterised["hit_images"]["n_pix"] == ds["hit_images"]["n_pix"]  # the nominal image settings
    assert rasterised["generate"] == ds["generate"]  # what the analysis assumes is the nominal
    assert rasterised["split"] == {"train": 0.0, "val": 0.0, "test": 1.0}  # never trained or validated on
    # the variations' and the twin's shards are seeded after the nominal ones: no event of a nominal split repeats
    assert list(shard_numbers(ds)) == [ds["generate"]["shards"]]
    assert variation_generate(ds, {})["detector"] == ds["generate"]["detector"]  # the twin: nominal physics,
    assert variation_generate(ds, {})["n_events_per_shard"] == 40  # the variations' size


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c["datasets"]["nu"]["variations"]["gain_noise"].update(readout={"gain": 2}), "readout"),
        (
            lambda c: c["datasets"]["nu"]["variations"]["gain_noise"]["generate"].update(detector={"typo": 1}),
            "variations.gain_noise.generate",
        ),
        (
            lambda c: c["datasets"]["nu"]["variations"]["gain_noise"].update(expect={"observables/mass": "up"}),
            "variations.gain_noise.expect",
        ),
        (lambda c: c["datasets"]["nu"]["variations"]["gain_noise"].update(files=["x.root"]), "gain_noise.files"),
        (lambda c: c["datasets"]["own"].update(variations={"v": {}}), "datasets.own.variations.v.files"),
        (lambda c: c["datasets"]["nu"]["variations"].update(nominal={}), "datasets.nu.variations"),
        (lambda c: c["datasets"]["qg"]["bins"][0].update(edges=[0.0, 70.0, 50.0]), "bins[0].edges"),
        (lambda c: c["datasets"]["qg"]["bins"][0].update(variable="observables/charge"), "bins[0].variable"),
        (lambda c: c["datasets"]["qg"]["learning_curve"].update(models=["nova"]), "learning_curve.models"),
        (lambda c: c["datasets"]["qg"]["learning_curve"].update(sizes=[60, 30]), "learning_curve.sizes"),
    ],
)
def test_study_mistakes_name_their_key(edit, key: str) -> None:
    config = tiny()
    edit(config)
    with pytest.raises(ConfigError, match=re.escape(key)):
        load(config, networks=False)


def test_a_test_only_split_takes_every_group() -> None:
    assert group_counts(3, {"train": 0.0, "val": 0.0, "test": 1.0}).tolist() == [0, 0, 3]
    assert group_counts(5, {"train": 0.6, "val": 0.2, "test": 0.2}).tolist() == [3, 1, 1]


def test_learning_curve_subsets_are_nested_and_seeded() -> None:
    small, large = subset_rows(5000, 300, seed=7), subset_rows(5000, 2000, seed=7)
    assert len(np.unique(large)) == 2000 and np.all(np.diff(large) > 0)
    assert np.isin(small, large).all()  # nested: a larger subset adds events, it does not swap them
    assert np.array_equal(small, subset_rows(5000, 300, seed=7))  # the same seed, the same subset
    assert not np.array_equal(small, subset_rows(5000, 300, seed=8))
    assert 0.4 < np.mean(large < 2500) < 0.6  # drawn over the whole split, not its first events


def test_a_subset_file_holds_the_split_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 500
    x, y = rng.normal(size=(n, 1, 4, 4)).astype(np.float32), rng.integers(0, 2, n)
    obs = {"mass": rng.normal(size=n)}
    split = tmp_path / "train.h5"
    with ImageWriter(split, (1, 4, 4), {"dataset": "d", "n_events": n}) as w:
        w.append(x, y, obs, truth={"jet_y": rng.normal(size=n)})
    out = tmp_path / "n100.h5"
    assert write_subset(split, out, 100, seed=3) == {"n_events": 100, "n_split": n, "seed": 3}
    rows = subset_rows(n, 100, seed=3)
    with h5py.File(out) as f:
        assert np.array_equal(f["subset/rows"][...], rows)
        assert np.array_equal(f["X"][...], x[rows]) and np.array_equal(f["y"][...], y[rows])
        assert np.array_equal(f["observables/mass"][...], obs["mass"][rows])
        assert f.attrs["n_events"] == 100 and f.attrs["dataset"] == "d"
    with pytest.raises(InputError, match="larger than the train split"):
        write_subset(split, tmp_path / "big.h5", n + 1, seed=3)
    assert not (tmp_path / "big.h5").exists()


def test_the_variation_sample_is_rasterised_into_the_test_file_only(tmp_path: Path) -> None:
    from detcnn.generate.lartpc.events import generate_hits_shard
    from detcnn.io.images import ImageFile
    from detcnn.stages.rasterise import run_variation

    config = tiny()
    ds = copy.deepcopy(config["datasets"]["nu"])
    events = tmp_path / "nue_cc_1.root"
    generate_hits_shard(events, sample="nue_cc", n_events=30, seed=5, batch_size=30, progress=False)
    test = tmp_path / "var" / "test.h5"
    run_variation(inputs=[events], test=test, stats=tmp_path / "var" / "stats.json", dataset="nu",
                  variation="gain_noise", ds=ds, seed=7, progress=False)  # fmt: skip
    with ImageFile(test) as f:
        assert f.attrs["variation"] == "gain_noise" and f.attrs["split"] == "test"
        assert f.attrs["readout"]["noise_ke"] == 7.5  # the variation's read-out
        assert f.n_events > 20
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["stats.json", "test.h5"]  # nothing else left
    twin = tmp_path / "twin" / "test.h5"
    run_variation(inputs=[events], test=twin, stats=tmp_path / "twin" / "stats.json", dataset="nu",
                  variation="nominal", ds=ds, seed=7, progress=False)  # fmt: skip
    with ImageFile(twin) as f, ImageFile(test) as g:
        assert f.attrs["readout"]["noise_ke"] == ds["hit_images"].get("noise_ke", 5.0)  # the nominal read-out
        assert f.n_events >= g.n_events  # the same events (the noisier read-out drops none more)


def test_the_study_commands_parse_their_inputs() -> None:
    from detcnn.cli import build_parser

    p = build_parser()
    a = p.parse_args(
        [
            "learning-curve",
            "--dataset",
            "qg",
            "--task",
            "classification",
            "--point",
            "cnn:60:a.json",
            "--point",
            "cnn:all:b.json",
            "--train",
            "t.h5",
            "--table",
            "x",
            "--summary",
            "y",
            "--figure",
            "z",
        ]
    )
    assert a.point == [("cnn", 60, Path("a.json")), ("cnn", None, Path("b.json"))]
    a = p.parse_args(["variations", "--dataset", "nu", "--task", "classification", "--metrics", "m.json",
                      "--variation", "nominal=t.h5:s.json:a.json,b.json", "--variations-config", "{}",
                      "--table", "x", "--summary", "y", "--figure", "z"])  # fmt: skip
    assert a.variation == [("nominal", {"test": Path("t.h5"), "summary": Path("s.json"),
                                        "metrics": [Path("a.json"), Path("b.json")]})]  # fmt: skip
    for bad in (["learning-curve", "--point", "cnn:x:a.json"], ["variations", "--variation", "v=t.h5:s.json"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
