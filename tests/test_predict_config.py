"""A dataset's ``predict`` section: checked before anything runs (each mistake one line naming the key), and the
section the predict stage reads the files with (this dataset's reading, the training dataset's images)."""

from __future__ import annotations

import copy

import pytest
import yaml

from detcnn.config import load
from detcnn.config.predict import scoring_dataset
from detcnn.errors import ConfigError
from tests.conftest import ROOT

TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


def _with(predict: dict, dataset: str = "own") -> dict:
    cfg = copy.deepcopy(TINY)
    cfg["datasets"][dataset]["predict"] = predict
    return cfg


def test_the_files_are_read_as_this_dataset_reads_them_and_drawn_as_the_training_dataset_draws() -> None:
    cfg = _with({"models": ["cnn", "gbdt_qg"], "trained_on": "qg"})
    cfg["datasets"]["own"].update(selection="part_pt[:, 0] > 1", tree="events")
    datasets = load(cfg, networks=False).plain["datasets"]
    ds = scoring_dataset(datasets, "own")
    assert ds["images"] == datasets["qg"]["images"] and ds["images"]["n_pix"] == 33  # own draws 16 x 16
    assert ds["images"]["normalise"] == "pt_sum" and ds["selection"] == "part_pt[:, 0] > 1"
    assert ds["files"] == TINY["datasets"]["own"]["files"] and ds["chunk_size"] == datasets["own"]["chunk_size"]
    assert "predict" not in ds and "bins" not in ds  # neither changes an image


def test_without_trained_on_the_dataset_scores_its_own_files() -> None:
    datasets = load(_with({"models": ["nova", "gbdt_nu"]}, "nu"), networks=False).plain["datasets"]
    ds = scoring_dataset(datasets, "nu")
    assert ds["hit_images"] == datasets["nu"]["hit_images"] and "variations" not in ds


@pytest.mark.parametrize(
    ("predict", "dataset", "expected"),
    [
        ({"models": ["cnn", "gbdt_qg"]}, "own", "'gbdt_qg' is not trained on dataset 'own'"),
        ({"models": ["cnn"], "trained_on": "nu"}, "own", "predict.trained_on': 'nu' holds hits, 'own' jets"),
        ({"models": ["cnn"], "trained_on": "qgg"}, "own", "'datasets.own.predict.trained_on': no dataset 'qgg'"),
        ({"models": ["cnnn"], "trained_on": "qg"}, "own", "'datasets.own.predict.models': 'cnnn' is neither under"),
        ({"models": ["unet"]}, "nu", "'datasets.nu.predict.models': 'unet' (segmentation) predicts per pixel"),
        ({"models": ["nova"], "trained": "nu"}, "nu", "'datasets.nu.predict.trained': unknown key"),
        ({"models": []}, "nu", "datasets.nu.predict.models"),
    ],
)
def test_a_wrong_prediction_is_one_line_naming_the_key(predict: dict, dataset: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(_with(predict, dataset), networks=False)
    message = str(info.value)
    assert expected in message and "\n" not in message, message
