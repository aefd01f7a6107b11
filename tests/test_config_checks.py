"""The checks the workflow runs on its config before any job (``detcnn.config_checks``, through
:func:`detcnn.config.load`): every network is built for the datasets it runs on, and every mistake is a
ConfigError naming the config key and the valid choices."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from detcnn import config_checks
from detcnn.config import fill_dataset, load
from detcnn.config_checks import check_config, planned_attrs
from detcnn.errors import ConfigError
from tests.test_config import merge

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


def read(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, tuple[int, ...]]]:
    """The (model, dataset, image shape) of every network the checks build, in order (the build itself runs)."""
    calls: list[tuple[str, str, tuple[int, ...]]] = []
    check = config_checks.check_network

    def record(name: str, entry: Any, dataset: str, attrs: Any) -> None:
        calls.append((name, dataset, tuple(attrs["image_shape"])))
        check(name, entry, dataset, attrs)

    monkeypatch.setattr(config_checks, "check_network", record)
    return calls


def test_the_tiny_config_builds_every_network_on_the_datasets_it_runs_on(built: list) -> None:
    load(TINY)
    assert built == [("cnn", "qg", (3, 33, 33)), ("cnn", "own", (3, 16, 16)), ("resnet", "qg", (3, 33, 33)),
                     ("nova", "nu", (2, 16, 16)), ("unet", "nu", (2, 16, 16)), ("unet_energy", "nu", (2, 16, 16)),
                     ("nova_energy", "nu", (2, 16, 16)), ("loc_unet", "smlm", (1, 16, 16))]  # fmt: skip
    built.clear()
    load(TINY, networks=False)
    assert built == []


@pytest.mark.parametrize(("name", "models"), [("zoo.yaml", 13), ("smlm.yaml", 1)])
def test_configs_merged_over_the_default_build_their_networks(built: list, name: str, models: int) -> None:
    extra = read(name)
    load(merge(read("config.yaml"), extra))
    expected = {(m, d, (1, 24, 24) if d == "smlm" else (3, 33, 33))
                for m, entry in extra["models"].items() for d in entry["datasets"]}  # fmt: skip
    assert {b for b in built if b[0] in extra["models"]} == expected and len(expected) == models


def test_check_config_takes_a_partial_config(built: list) -> None:
    """Called directly (not through load), each entry is filled first: no seed, no split defaults needed."""
    ds = {"source": "detector_sim", "tasks": ["segmentation"], "split": {"train": 0.6, "val": 0.2, "test": 0.2},
          "generate": {"n_events_per_shard": 10}, "hit_images": {"n_pix": 16}}  # fmt: skip
    check_config({"datasets": {"nu": ds}, "models": {"unet": {"arch": "unet", "task": "segmentation"}}})
    assert built == [("unet", "nu", (2, 16, 16))]
    with pytest.raises(ConfigError, match=r"'baselines.unet': 'unet' is the name of a network"):
        check_config({"datasets": {"nu": ds}, "models": {"unet": {"arch": "unet", "task": "segmentation"}},
                      "baselines": {"unet": {"kind": "pixel_cuts"}}})  # fmt: skip


CASES: dict[str, tuple[Callable[[dict], None], list[str]]] = {
    "unknown task of a model": (lambda c: c["models"]["unet"].update(task="tracking"),
                                ["models.unet.task", "unknown task 'tracking'", "segmentation"]),
    "unknown task of a dataset": (lambda c: c["datasets"]["nu"].update(tasks=["tracking"]),
                                  ["datasets.nu.tasks", "classification"]),
    "unknown baseline kind": (lambda c: c["baselines"]["pixel_cuts"].update(kind="bdt"),
                              ["baselines.pixel_cuts.kind", "sequential_cuts"]),
    "unknown source": (lambda c: c["datasets"]["nu"].update(source="geant4"), ["datasets.nu.source", "detector_sim"]),
    "a selection without observables": (lambda c: c["baselines"].update(nue_cuts={"kind": "sequential_cuts"}),
                                        ["baselines.nue_cuts.observables", "names no observable", "length_cm"]),
    "bad model argument": (lambda c: c["models"]["cnn"]["args"].update(fliters=[4]),
                           ["models.cnn.args", "fliters"]),
    "bad task argument": (lambda c: c["models"]["unet"].update(task_args={"class_weight": "x"}),
                          ["models.unet.task_args", "class_weights"]),
    "unknown dataset of a model": (lambda c: c["models"]["cnn"].update(datasets=["qq"]),
                                   ["models.cnn.datasets", "'qg'"]),
    "class of an energy regression": (lambda c: c["models"]["nova_energy"]["task_args"].update(classes=["nu_tau"]),
                                      ["models.nova_energy.task_args.classes", "nu_e CC"]),
    "files of a root_files dataset": (lambda c: c["datasets"]["own"].update(files=[]), ["datasets.own.files"]),
    "a network too deep for its images": (lambda c: c["models"]["resnet"]["args"].update(layers=[1] * 7),
                                          ["models.resnet", "33x33", "at least 64"]),
    "a classifier for localisation": (lambda c: c["models"]["loc_unet"].update(arch="resnet"),
                                      ["models.loc_unet", "loc_unet"]),
    "a microscope setting typo": (lambda c: c["datasets"]["smlm"]["generate"]["microscope"].update(pixel_size=80),
                                  ["generate.microscope", "pixel_nm"]),
    "a frame_images typo": (lambda c: c["datasets"]["smlm"].update(frame_images={"upsample": 8}),
                            ["frame_images", "upsampling"]),
    "a loc_unet too deep for its frames": (lambda c: c["models"]["loc_unet"]["args"].update(depth=5),
                                           ["models.loc_unet", "16x16"]),
    "an unknown kind of events": (lambda c: c["datasets"]["own"].update(events="clusters"),
                                  ["datasets.own.events", "['jets', 'hits', 'frames']"]),
    "the images of another kind of events": (lambda c: c["datasets"]["own"].update(events="hits"),
                                             ["datasets.own.images", "not a key of source 'root_files', events"]),
    "hits without class names": (lambda c: (c["datasets"]["own"].update(events="hits"),
                                            c["datasets"]["own"].pop("images")),
                                 ["datasets.own.class_names", "one class name per label value"]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_mistakes_name_the_key_and_the_choices(case: str) -> None:
    edit, expected = CASES[case]
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        load(cfg)
    for text in expected:
        assert text in str(info.value), str(info.value)


def test_planned_attributes_are_those_of_the_files() -> None:
    """What the checks build networks for is what the rasterisers write (shape, channels, classes)."""
    nu = planned_attrs(fill_dataset(TINY["datasets"]["nu"]))
    assert nu["image_shape"] == (2, 16, 16) and nu["views"] == ["xz", "yz"]
    assert nu["class_names"] == ["nu_e CC", "nu_mu CC", "NC"]
    smlm = planned_attrs(fill_dataset(TINY["datasets"]["smlm"]))
    assert smlm["image_shape"] == (1, 16, 16) and smlm["upsampling"] == 4 and smlm["psf_sigma_nm"] == 102.0
    assert smlm["class_names"] == ["sparse", "medium", "dense", "filaments"]
    qg = planned_attrs(fill_dataset(TINY["datasets"]["qg"]))
    assert qg["image_shape"] == (3, 33, 33) and qg["class_names"] == ["gluon", "quark"]
