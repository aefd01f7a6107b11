"""The checks the workflow runs on its config before any job (``detcnn.config_checks``): every mistake is a
ConfigError naming the config key and the valid choices; the shipped configs pass."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from detcnn.config_checks import check_config, planned_attrs
from detcnn.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml"])
def test_shipped_configs_pass(name: str) -> None:
    check_config(yaml.safe_load((ROOT / "config" / name).read_text()))


@pytest.mark.parametrize("name", ["zoo.yaml", "smlm.yaml"])
def test_configs_merged_over_the_default_pass(name: str) -> None:
    from tests.test_config import merge

    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    check_config(merge(default, yaml.safe_load((ROOT / "config" / name).read_text())))


CASES: dict[str, tuple[Callable[[dict], None], list[str]]] = {
    "unknown task of a model": (lambda c: c["models"]["unet"].update(task="tracking"),
                                ["models.unet.task", "unknown task 'tracking'", "segmentation"]),
    "unknown task of a dataset": (lambda c: c["datasets"]["nu"].update(tasks=["tracking"]),
                                  ["datasets.nu.tasks", "classification"]),
    "unknown baseline kind": (lambda c: c["baselines"]["pixel_cuts"].update(kind="bdt"),
                              ["baselines.pixel_cuts.kind", "sequential_cuts"]),
    "unknown source": (lambda c: c["datasets"]["nu"].update(source="geant4"), ["datasets.nu.source", "detector_sim"]),
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
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_mistakes_name_the_key_and_the_choices(case: str) -> None:
    edit, expected = CASES[case]
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    for text in expected:
        assert text in str(info.value), str(info.value)


def test_planned_attributes_are_those_of_the_files() -> None:
    """What the checks build networks for is what the rasterisers write (shape, channels, classes)."""
    nu = planned_attrs(TINY["datasets"]["nu"])
    assert nu["image_shape"] == (2, 16, 16) and nu["views"] == ["xz", "yz"]
    assert nu["class_names"] == ["nu_e CC", "nu_mu CC", "NC"]
    smlm = planned_attrs(TINY["datasets"]["smlm"])
    assert smlm["image_shape"] == (1, 16, 16) and smlm["upsampling"] == 4 and smlm["psf_sigma_nm"] == 102.0
    assert smlm["class_names"] == ["sparse", "medium", "dense", "filaments"]
    qg = planned_attrs(TINY["datasets"]["qg"])
    assert qg["image_shape"] == (3, 33, 33) and qg["class_names"] == ["gluon", "quark"]
