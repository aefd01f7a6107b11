"""The config parsed once (:func:`detcnn.config.load`): the shipped configs load to the sections they write,
with every default filled from the schema; the schema, composed from the common keys and the keys each source,
kind of events, baseline kind and task declares, refuses a key that is not theirs with one line naming it
(also at ``snakemake -n``), and documents every key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from detcnn.baselines import BASELINES
from detcnn.config import fill_baseline, fill_dataset, fill_generate, fill_task_args, load
from detcnn.config.schema import schema
from detcnn.errors import ConfigError
from detcnn.generate import SOURCES
from detcnn.io.events import TREE_NAME
from detcnn.kinds import ModelKind
from detcnn.rasterisers import RASTERISERS
from detcnn.tasks import TASKS
from tests.conftest import snakemake, workflow_folder

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


def read(name: str) -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


def merge(base: dict, extra: dict) -> dict:
    """Snakemake's merge of ``--configfile`` over the Snakefile's configfile: dicts recursively."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def default(module: object, *path: str) -> object:
    """The default a table module's schema fragment declares at ``path``."""
    node = module.SCHEMA  # type: ignore[attr-defined]
    for part in path[:-1]:
        node = node[part]["properties"]
    return node[path[-1]]["default"]


def test_the_default_config_loads_to_its_sections_with_the_schema_defaults() -> None:
    raw = read("config.yaml")
    cfg = load(raw)
    assert raw == read("config.yaml"), "load fills a copy"
    assert cfg.seed == 20170110 and list(cfg.datasets) == ["qg", "nu"]
    qg, nu = cfg.datasets["qg"], cfg.datasets["nu"]
    assert (qg.source, qg.events, qg.samples, qg.class_names) == ("pythia_jets", "jets", ("quark", "gluon"),
                                                                  ("gluon", "quark"))  # fmt: skip
    assert (nu.events, nu.tasks) == ("hits", ("classification", "segmentation", "pixel_regression",
                                              "energy_regression"))  # fmt: skip
    # written in the config
    assert qg.section["images"]["normalise"] == "pt_sum" and qg.section["generate"]["shards"] == 2
    # filled from the schema fragments of the source and of the kind of events
    assert qg.section["generate"]["batch_size"] == default(SOURCES["pythia_jets"], "generate", "batch_size") == 400
    assert qg.section["images"]["axis"] == default(RASTERISERS["jets"], "images", "axis") == "rapidity"
    assert nu.section["chunk_size"] == default(RASTERISERS["hits"], "chunk_size") == 2000
    assert nu.section["hit_images"]["margin_pix"] == default(RASTERISERS["hits"], "hit_images", "margin_pix") == 4
    assert nu.section["generate"]["detector"]["energy_shape"] == 3.0 and nu.section["generate"]["detector"]["diffusion"]
    assert "images" not in nu.section and "hit_images" not in qg.section and "tree" not in qg.section
    assert list(cfg.models) == ["cnn", "resnet", "nova", "cnn_nu", "resnet_nu", "unet", "unet_energy", "nova_energy"]
    assert cfg.models["cnn"].datasets == ("qg",) and cfg.models["unet"].task == "segmentation"
    assert cfg.models["nova"].section["train"]["amp"] is False and cfg.models["nova"].section["args"] == {}
    assert cfg.models["nova"].kind is ModelKind.NETWORK and cfg.baselines["nue_cuts"].kind is ModelKind.BASELINE
    rect = cfg.baselines["rect_cuts"].section
    assert rect["max_values"] == default(BASELINES["rectangular_cuts"], "max_values") == 128
    assert cfg.baselines["calorimetric"].task == "energy_regression"
    assert {name: b.datasets for name, b in cfg.baselines.items() if b.datasets != ("qg",)} == {
        "nue_cuts": ("nu",),
        "pixel_cuts": ("nu",),
        "calorimetric": ("nu",),
        "pixel_calibration": ("nu",),
        "gbdt_nu": ("nu",),
        "gbdt_energy": ("nu",),
    }
    assert cfg.evaluate.purities == (0.8, 0.9) and cfg.tracking.log_model and cfg.export.onnx
    assert cfg.resources.section["train"]["mem_mb"] == 6000 and cfg.model("unet") is cfg.models["unet"]


def test_the_tiny_config_loads_and_keeps_task_args_as_written() -> None:
    cfg = load(TINY)
    own, smlm = cfg.datasets["own"], cfg.datasets["smlm"]
    assert (own.source, own.events, own.samples) == ("root_files", "jets", ())
    assert own.section["tree"] == TREE_NAME and own.section["on_bad_file"] == "fail"
    assert own.section["jets"] == {"per_event": False, "max_jets": None, "selection": None}
    frame_images = {"upsampling": 4, "match_tolerance_nm": 250.0, "max_emitters": 64, "n_pix": 24}
    assert smlm.section["frame_images"] == frame_images
    assert (
        smlm.section["generate"]["microscope"]["n_pix"] == 16 and smlm.section["generate"]["microscope"]["gain"] == 2.0
    )
    assert cfg.models["cnn"].datasets == ("qg", "own") and cfg.models["loc_unet"].datasets == ("smlm",)
    assert (
        cfg.baselines["cut_n_constituents"].datasets == ("qg", "own")
        and cfg.baselines["rect_cuts"].section["grid"] == 8
    )
    # task_args go to the weights file as written; the task fills its defaults when it runs
    assert cfg.models["unet"].section["task_args"] == {}
    assert cfg.models["nova_energy"].section["task_args"] == {"classes": ["nu_e CC"]}
    assert fill_task_args("energy_regression", {"classes": ["nu_e CC"]}) == {
        "classes": ["nu_e CC"],
        "target": "nu_energy",
        "loss": "relative_mse",
    }
    assert fill_task_args("segmentation", None) == {"class_weights": "inverse_frequency", "ignore_empty": False}


@pytest.mark.parametrize("name", ["paper.yaml", "zoo.yaml", "smlm.yaml"])
def test_configs_merged_over_the_default_load(name: str) -> None:
    extra = read(name)
    cfg = load(merge(read("config.yaml"), extra), networks=False)
    assert set(extra["models"]) <= set(cfg.models)
    for name, ds in extra.get("datasets", {}).items():
        kind = RASTERISERS[cfg.datasets[name].events]
        assert cfg.datasets[name].section["chunk_size"] == ds.get("chunk_size", default(kind, "chunk_size"))


def test_the_stages_fill_a_partial_section() -> None:
    ds = fill_dataset({"source": "root_files", "events": "hits", "split": {"train": 0.5, "val": 0.25, "test": 0.25},
                       "class_names": ["a", "b"]}, key="datasets.mine")  # fmt: skip
    assert ds["hit_images"]["n_pix"] == 48 and ds["chunk_size"] == 2000 and ds["files"] == []
    assert "images" not in ds and "generate" not in ds
    assert fill_generate("detector_sim", {"n_events_per_shard": 5})["detector"]["volume"] == [256.0, 233.0, 1037.0]
    assert fill_generate("pythia_jets", {})["n_jets_per_shard"] == 6000
    assert fill_baseline({"kind": "local_maxima"}) == {"kind": "local_maxima", "windows": [3, 5, 7],
                                                       "max_tune_frames": 2000}  # fmt: skip
    with pytest.raises(ConfigError, match=r"'datasets.mine.images': not a key of source 'root_files', events 'hits'"):
        fill_dataset({"source": "root_files", "events": "hits", "split": {}, "images": {}}, key="datasets.mine")


# --------------------------------------------------------------------------------------------------- refusals
REFUSED: dict[str, tuple[Callable[[dict], None], str]] = {
    "a rectangular_cuts key on a single_cut": (
        lambda c: c["baselines"]["cut_n_constituents"].update(grid=8),
        "'baselines.cut_n_constituents.grid': not a key of baseline kind 'single_cut'; its keys: datasets, kind, "
        "observables"),
    "a name under models and baselines": (
        lambda c: c["baselines"].update(cnn={"kind": "single_cut", "observables": ["mass"]}),
        "'baselines.cnn': 'cnn' is the name of a network (under models) and of a baseline"),
    "a key of another source": (lambda c: c["datasets"]["nu"]["generate"].update(ecm=13000.0),
                                "'datasets.nu.generate.ecm': not a key of source 'detector_sim'; its keys: detector, "
                                "n_events_per_shard, shards"),
    "a key of another kind of events": (lambda c: c["datasets"]["qg"].update(hit_images={}),
                                        "'datasets.qg.hit_images': not a key of source 'pythia_jets', events 'jets'"),
    "another task's task_args": (lambda c: c["models"]["unet"].update(task_args={"pos_weight": 2.0}),
                                 "'models.unet.task_args.pos_weight': not a key of task 'segmentation'; its keys: "
                                 "class_weights, ignore_empty"),
    "a key at the top": (lambda c: c.update(sead=1), "'sead': unknown key; valid: baselines, datasets, evaluate"),
    "a dataset key": (lambda c: c["datasets"]["qg"].update(imagez={}),
                      "'datasets.qg.imagez': unknown key; valid: bins, chunk_size, generate, images, learning_curve, "
                      "predict, source, split, tasks, variation_sample, variations"),
    "a generate key": (lambda c: c["datasets"]["qg"]["generate"].update(n_jet_per_shard=5),
                       "'datasets.qg.generate.n_jet_per_shard': unknown key; valid: batch_size, ecm, jet,"),
    "an images key": (lambda c: c["datasets"]["qg"]["images"].update(npix=16),
                      "'datasets.qg.images.npix': unknown key; valid: axis, channels, flip, half_width, n_pix,"),
    "a model key": (lambda c: c["models"]["cnn"].update(optimiser="sgd"),
                    "'models.cnn.optimiser': unknown key; valid: arch, args, datasets, task, task_args, train"),
    "a train key": (lambda c: c["models"]["cnn"]["train"].update(learning_rate=0.1),
                    "'models.cnn.train.learning_rate': unknown key; valid: amp, batch_size,"),
    "a baseline key": (lambda c: c["baselines"]["pixel_cuts"].update(windw=3),
                       "'baselines.pixel_cuts.windw': unknown key; valid: datasets, kind, window"),
    "a value of the wrong type": (lambda c: c["datasets"]["qg"]["images"].update(n_pix="33"),
                                  "'datasets.qg.images.n_pix': '33' is not of type 'integer'"),
    "a key without a default": (lambda c: c["datasets"]["nu"]["generate"].pop("n_events_per_shard"),
                                "'datasets.nu.generate.n_events_per_shard': missing, and it has no default"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_a_key_that_is_not_theirs_is_one_line_naming_it(case: str) -> None:
    edit, expected = REFUSED[case]
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        load(cfg, networks=False)
    message = str(info.value)
    assert expected in message and "\n" not in message, message


def test_snakemake_dry_run_refuses_a_foreign_key_in_one_line(tmp_path: Path) -> None:
    cfg = copy.deepcopy(TINY)
    cfg["baselines"]["cut_n_constituents"]["grid"] = 8
    result = snakemake(workflow_folder(tmp_path, cfg), "-n", timeout=300)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "grid" in line]
    assert lines == ["the config cannot run: config 'baselines.cut_n_constituents.grid': not a key of baseline kind "
                     "'single_cut'; its keys: datasets, kind, observables"], lines  # fmt: skip


# ----------------------------------------------------------------------------------------------------- schema
def test_the_composed_schema_is_valid_and_has_a_branch_per_table_entry() -> None:
    composed = schema()
    Draft202012Validator.check_schema(composed)
    props = composed["properties"]
    titles = {section: [b["then"]["title"] for b in props[section]["additionalProperties"]["allOf"]]
              for section in ("datasets", "models", "baselines")}  # fmt: skip
    assert titles["datasets"] == [*(f"source '{s}'" for s in SOURCES), *(f"events '{k}'" for k in RASTERISERS)]
    assert titles["baselines"] == [f"baseline kind '{k}'" for k in BASELINES]
    assert titles["models"] == [f"task '{t}'" for t in TASKS]
    observables = composed["properties"]["baselines"]["additionalProperties"]["allOf"][0]["then"]["properties"]
    assert "enum" not in observables["observables"]["items"], "observables are checked against their table"


def _undescribed(node: dict, path: str = "") -> list[str]:
    """Paths of schema properties lacking a description (in the conditional branches too)."""
    missing = []
    for key, sub in node.get("properties", {}).items():
        if "description" not in sub:
            missing.append(f"{path}.{key}")
        missing += _undescribed(sub, f"{path}.{key}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        missing += _undescribed(extra, f"{path}.*")
    for branch in node.get("allOf", []):
        missing += _undescribed(branch.get("then", {}), f"{path}[{branch.get('then', {}).get('title')}]")
    return missing


def test_every_key_is_described() -> None:
    assert _undescribed(schema()) == []


def test_config_reference_is_up_to_date() -> None:
    from detcnn.schema_doc import render

    assert (ROOT / "docs/config.md").read_text() == render(schema())
