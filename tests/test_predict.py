"""The predict stage: a NanoAOD-like file (several jets per event, constituents linked by an index, an event and
a jet selection, max_jets) and detector hits rasterised by the rasterise stage, scored by a tiny network and
fitted baselines; the friend tree checked entry by entry against the selection worked out here and against
the evaluate stage's scores of the same jets and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest

from detcnn.config import fill_baseline, fill_dataset, fill_generate
from detcnn.errors import ConfigError
from detcnn.io.images import ImageFile
from detcnn.io.splits import assign_splits
from detcnn.kinds import ModelKind
from detcnn.stages import predict, rasterise
from detcnn.stages.evaluate import SCORERS

SEED = 7
SPLIT = {"train": 0.5, "val": 0.25, "test": 0.25}
QUARK = "(Jet_partonFlavour >= 1) & (Jet_partonFlavour <= 5)"
JETS_DS: dict[str, Any] = {
    "source": "root_files", "events": "jets", "tree": "Events", "selection": "(nJet >= 1) & (event % 5 != 3)",
    "branches": {"jet_eta": "Jet_eta", "jet_phi": "Jet_phi", "jet_pt": "Jet_pt", "label": QUARK,
                 "part_pt": "PFCands_pt", "part_eta": "PFCands_eta", "part_phi": "PFCands_phi",
                 "part_m": "PFCands_mass", "part_charge": "PFCands_charge", "part_jet": "PFCands_jetIdx"},
    "jets": {"per_event": True, "max_jets": 2, "selection": "Jet_pt > 25"},
    "images": {"n_pix": 12, "half_width": 0.5}, "chunk_size": 37, "split": SPLIT,
}  # fmt: skip


def nano_file(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Events with 0-4 jets (Jet_pt, Jet_eta, Jet_phi, Jet_partonFlavour) and PF candidates around them linked
    by PFCands_jetIdx (some jets without any, some candidates with -1), NanoAOD's layout written by uproot."""
    import uproot

    rng = np.random.default_rng(seed)
    n_jet = rng.integers(0, 5, n)
    total, jet_event = int(n_jet.sum()), np.repeat(np.arange(n), n_jet)
    local = np.arange(total) - np.repeat(np.cumsum(n_jet) - n_jet, n_jet)
    eta, phi = rng.uniform(-2, 2, total), rng.uniform(-3, 3, total)
    n_part = rng.integers(0, 6, total)  # a jet without constituents is not imaged
    owner = np.repeat(np.arange(total), n_part)
    size = len(owner)
    link = np.where(rng.random(size) < 0.1, -1, local[owner])  # a few candidates of no jet
    f32 = np.float32
    jets = {"pt": rng.uniform(15, 120, total).astype(f32), "eta": eta.astype(f32), "phi": phi.astype(f32),
            "partonFlavour": rng.choice([0, 1, 2, 5, 21], total).astype(np.int32)}  # fmt: skip
    parts = {"pt": (rng.exponential(5, size) + 0.5).astype(f32),
             "eta": (eta[owner] + rng.normal(0, 0.1, size)).astype(f32),
             "phi": (phi[owner] + rng.normal(0, 0.1, size)).astype(f32), "mass": np.full(size, 0.14, f32),
             "charge": rng.integers(-1, 2, size).astype(np.int32), "jetIdx": link.astype(np.int32)}  # fmt: skip
    per_event = np.bincount(jet_event[owner], minlength=n)
    payload = {"Jet": ak.zip({k: ak.unflatten(v, n_jet) for k, v in jets.items()}),
               "PFCands": ak.zip({k: ak.unflatten(v, per_event) for k, v in parts.items()}),
               "event": np.arange(n, dtype=np.int64)}  # fmt: skip
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in payload.items()})
        f["Events"].extend(payload)
    return path


def imaged_jets(path: Path) -> list[list[bool]]:
    """Per event, per jet: whether the dataset above draws it, worked out jet by jet in plain Python."""
    import uproot

    a = uproot.open(path)["Events"].arrays(["Jet_pt", "PFCands_jetIdx", "event"]).to_list()
    out = []
    for ev in a:
        drawn = [False] * len(ev["Jet_pt"])
        if len(drawn) >= 1 and ev["event"] % 5 != 3:
            leading = [j for j in sorted(range(len(drawn)), key=lambda j: -ev["Jet_pt"][j]) if ev["Jet_pt"][j] > 25]
            for j in leading[:2]:
                drawn[j] = j in ev["PFCands_jetIdx"]
        out.append(drawn)
    return out


def split_positions(files: list[Path], ds: dict[str, Any], split: int, seed: int) -> list[tuple[str, int, int]]:
    """(file name, entry, jet) of the images of one split, in the split file's order: the rasterisers' chunks
    of every file with the rasterise stage's split draw replayed."""
    from detcnn.catalogue import event_kind
    from detcnn.generate import get_source
    from detcnn.rasterisers import RASTERISERS

    ds = fill_dataset(ds)
    module = RASTERISERS[event_kind(ds)]
    reading = module.dataset_reading(ds, seed=seed, **get_source(ds["source"]).rasterise_options(ds))
    rng, out = np.random.default_rng(seed), []
    for path in files:
        for chunk in module.file_chunks(path, reading):
            which, pos = assign_splits(len(chunk.labels), ds["split"], rng), chunk.positions
            jets = pos.jets if pos.jets is not None else np.full(len(pos.entries), -1)
            out += [(path.name, int(e), int(j)) for e, j in zip(pos.entries[which == split], jets[which == split],
                                                                strict=True)]  # fmt: skip
    return out


def tiny_network(path: Path, attrs: dict[str, Any], n_pix: int, task: str = "classification",
                 task_args: dict | None = None, **arch: Any) -> Path:  # fmt: skip
    """An untrained, seeded komiske_cnn (``arch``: its arguments, default a tiny one) saved as the train stage
    saves one."""
    import torch

    from detcnn.tasks import TASKS
    from detcnn.training.network import build_model, save_network

    torch.manual_seed(0)
    plugin = TASKS[task].plugin(attrs, task_args or {})
    model, args = build_model("komiske_cnn", arch or {"filters": [4, 4, 4], "dense": 8}, attrs, n_pix,
                              task=TASKS[task], plugin=plugin)  # fmt: skip
    save_network(path, model, {"arch": "komiske_cnn", "args": args, "class_names": attrs["class_names"],
                               "task": task, "task_args": task_args or {}})  # fmt: skip
    return path


def fitted_baseline(path: Path, cfg: dict[str, Any], train: Path, val: Path) -> Path:
    """A baseline fitted on the train split as the fit-baseline stage does (without its tracking)."""
    import json

    from detcnn.baselines import get_baseline

    cfg = fill_baseline(cfg)
    kind = get_baseline(cfg["kind"])
    with ImageFile(train) as f, ImageFile(val) as v:
        fitted = kind.fit(f.load(with_images=False), cfg, [0.5], v.load(with_images=False))
    fitted.update(name=path.stem, dataset="x", kind=kind.NAME, task=kind.TASK, n_train=1)
    path.write_text(json.dumps(fitted))
    return path


def evaluate_scores(model: Path, test: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The evaluate stage's rows of the test split (those of the model's classes) and its prediction on them."""
    kind = ModelKind.NETWORK if model.suffix == ".pt" else ModelKind.BASELINE
    with ImageFile(test) as f:
        images = f.load(with_images=True)
    return SCORERS[kind](model, images.attrs, 1, None).predict(images)


def rasterised(folder: Path, files: list[Path], ds: dict[str, Any]) -> dict[str, Path]:
    splits = {s: folder / f"{s}.h5" for s in ("train", "val", "test")}
    rasterise.run(inputs=files, **splits, stats=folder / "stats.json", dataset="x", ds=ds, seed=SEED, progress=False)
    return splits


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The NanoAOD-like file rasterised, a network and two baselines, and its friend tree."""
    import uproot

    folder = tmp_path_factory.mktemp("predict_jets")
    events = nano_file(folder / "nano.root")
    ds = {**JETS_DS, "files": [str(events)]}
    splits = rasterised(folder, [events], ds)
    with ImageFile(splits["train"]) as f:
        attrs = dict(f.attrs)
    train, val = splits["train"], splits["val"]
    models = {"cnn": tiny_network(folder / "weights.pt", attrs, 12),
              "cut": fitted_baseline(folder / "cut.json", {"kind": "single_cut", "observables": ["mass"]}, train, val),
              "bdt": fitted_baseline(folder / "baseline.json", {"kind": "gbdt_classifier", "max_iter": 5}, train,
                                     val)}  # fmt: skip
    stats = predict.run(events=events, out=folder / "friend.root", dataset="x", ds=ds, reference=splits["train"],
                        models=models, seed=SEED, progress=False)  # fmt: skip
    friend = uproot.open(folder / "friend.root")["Events"].arrays(library="ak")
    return {"events": events, "ds": ds, "splits": splits, "models": models, "stats": stats, "friend": friend,
            "folder": folder}  # fmt: skip


def test_the_friend_tree_has_one_value_per_jet_nan_where_no_image(jets: dict[str, Any]) -> None:
    import uproot

    friend, stats = jets["friend"], jets["stats"]
    n_jet = uproot.open(jets["events"])["Events"]["nJet"].array(library="np")
    assert set(friend.fields) == {"cnn_gluon", "cnn_quark", "cut_score", "bdt_gluon", "bdt_quark", "detcnn_njet"}
    assert len(friend) == len(n_jet) == stats["entries"] == 300
    assert ak.to_numpy(friend["detcnn_njet"]).tolist() == n_jet.tolist()
    drawn = imaged_jets(jets["events"])
    for branch in ("cnn_quark", "cut_score", "bdt_gluon"):
        values = friend[branch]
        assert ak.num(values).tolist() == n_jet.tolist(), branch
        finite = [[bool(np.isfinite(v)) for v in ev] for ev in values.to_list()]
        assert finite == drawn, branch
    n_drawn = sum(map(sum, drawn))
    assert stats["imaged"] == n_drawn > 100 and sum(len(d) for d in drawn) > n_drawn + 100  # NaNs of every kind
    both = ak.to_numpy(ak.flatten(friend["cnn_quark"] + friend["cnn_gluon"]))
    np.testing.assert_allclose(both[np.isfinite(both)], 1.0, rtol=1e-6)
    assert stats["selected"] == sum(1 for i, n in enumerate(n_jet) if n >= 1 and i % 5 != 3)


def test_the_scores_of_the_test_jets_are_the_evaluate_stages(jets: dict[str, Any]) -> None:
    friend, test = jets["friend"], jets["splits"]["test"]
    positions = split_positions([jets["events"]], jets["ds"], 2, SEED)
    with ImageFile(test) as f:
        assert len(positions) == f.n_events > 10
    entries, jet = np.array([p[1] for p in positions]), np.array([p[2] for p in positions])
    for name, classes in (("cnn", ("gluon", "quark")), ("bdt", ("gluon", "quark")), ("cut", ())):
        rows, expected = evaluate_scores(jets["models"][name], test)
        assert rows.tolist() == list(range(len(positions)))  # every class judged
        for k, cls in enumerate(classes):
            got = np.array([friend[f"{name}_{cls}"][e][j] for e, j in zip(entries, jet, strict=True)])
            np.testing.assert_allclose(got, expected["proba"][:, k], rtol=1e-6, atol=1e-7)
        if not classes:
            got = np.array([friend[f"{name}_score"][e][j] for e, j in zip(entries, jet, strict=True)])
            np.testing.assert_allclose(got, expected["score"].astype(np.float32), rtol=1e-6)


def test_images_other_than_the_references_and_pixel_tasks_are_config_errors(jets: dict[str, Any]) -> None:
    folder, splits = jets["folder"], jets["splits"]
    kw = {"events": jets["events"], "out": folder / "bad.root", "dataset": "x", "reference": splits["train"],
          "seed": SEED, "progress": False}  # fmt: skip
    other = {**jets["ds"], "images": {"n_pix": 12, "half_width": 0.6}}
    with pytest.raises(ConfigError, match=r"datasets.x.images.*extent .*reference"):
        predict.run(ds=other, models={"cut": jets["models"]["cut"]}, **kw)
    with ImageFile(splits["train"]) as f:
        attrs = {**f.attrs, "views": ["xz"]}
    unet = tiny_segmenter(folder / "unet" / "weights.pt", attrs)
    with pytest.raises(ConfigError, match=r"model 'unet' \(segmentation\) predicts per pixel.*not written to friend"):
        predict.run(ds=jets["ds"], models={"unet": unet}, **kw)
    assert not (folder / "bad.root").exists()


def test_one_jet_per_entry_gives_flat_branches_nan_outside_the_selection(tmp_path: Path) -> None:
    """A file of our own layout, one jet per entry (a selection on its pT): one float per entry."""
    import uproot

    from detcnn.io.events import write_events
    from tests.conftest import make_jets

    jets = make_jets(200, seed=3)
    events = tmp_path / "jets.root"
    write_events(events, jets)
    ds = {"source": "root_files", "files": [str(events)], "selection": "jet_pt > 520", "images": {"n_pix": 12},
          "chunk_size": 30, "split": SPLIT}  # fmt: skip
    splits = rasterised(tmp_path, [events], ds)
    cut = fitted_baseline(tmp_path / "cut.json", {"kind": "single_cut", "observables": ["girth"]}, splits["train"],
                          splits["val"])  # fmt: skip
    stats = predict.run(events=events, out=tmp_path / "friend.root", dataset="x", ds=ds, reference=splits["train"],
                        models={"cut": cut}, seed=SEED, progress=False)  # fmt: skip
    friend = uproot.open(tmp_path / "friend.root")["events"]
    assert friend.keys() == ["cut_score"] and friend["cut_score"].typename == "float"
    score = friend["cut_score"].array(library="np")
    np.testing.assert_array_equal(np.isfinite(score), jets["jet_pt"] > 520)
    assert stats["entries"] == 200 and stats["selected"] == stats["imaged"] == int(np.sum(jets["jet_pt"] > 520))
    entries = np.array([p[1] for p in split_positions([events], ds, 2, SEED)])
    rows, expected = evaluate_scores(cut, splits["test"])
    np.testing.assert_allclose(score[entries[rows]], expected["score"].astype(np.float32), rtol=1e-6)


def test_camera_frames_get_no_friend_trees(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'datasets\.smlm\.predict'.*holds frames: friend trees are written for"):
        predict.run(events=tmp_path / "f.root", out=tmp_path / "out.root", dataset="smlm", seed=1,
                    ds={"source": "root_files", "events": "frames", "class_names": ["sparse"], "split": SPLIT},
                    reference=tmp_path / "train.h5", models={"x": tmp_path / "x.json"})  # fmt: skip


def tiny_segmenter(path: Path, attrs: dict[str, Any]) -> Path:
    """An untrained segmentation network's weights (only its task matters here)."""
    import torch

    from detcnn.models import list_models
    from detcnn.tasks import TASKS
    from detcnn.training.network import build_model, save_network

    path.parent.mkdir(parents=True, exist_ok=True)
    task = TASKS["segmentation"]
    arch = list_models(task.NETWORK)[0]
    torch.manual_seed(0)
    plugin = task.plugin({**attrs, "pixel_class_names": ["empty", "track", "shower"]}, {})
    model, args = build_model(arch, {}, attrs, 16, task=task, plugin=plugin)  # the task is checked first
    save_network(path, model, {"arch": arch, "args": args, "class_names": attrs["class_names"],
                               "task": "segmentation", "task_args": {}})  # fmt: skip
    return path


@pytest.fixture(scope="module")
def hits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Simulated neutrino events (three files) read as the user's files with a selection, rasterised; a
    classifier, an energy regression network and the calorimetric baseline; the friend tree of one file."""
    import uproot

    from detcnn.generate import detector_sim

    folder = tmp_path_factory.mktemp("predict_hits")
    cfg = fill_generate("detector_sim", {"n_events_per_shard": 30})
    files = []
    for i, sample in enumerate(detector_sim.SAMPLES):
        files.append(folder / f"nu_{sample}_0.root")
        detector_sim.generate(files[-1], sample=sample, shard=0, seed=i, cfg=cfg, progress=False)
    volume = detector_sim.rasterise_options({"generate": cfg})["volume_cm"]
    ds = {"source": "root_files", "events": "hits", "files": [str(f) for f in files], "selection": "nu_energy > 1.2",
          "class_names": ["nu_e CC", "nu_mu CC", "NC"], "truth": ["nu_energy"], "chunk_size": 11, "split": SPLIT,
          "hit_images": {"n_pix": 16, "pitch_cm": 6.0, "volume_cm": volume}}  # fmt: skip
    splits = rasterised(folder, files, ds)
    with ImageFile(splits["train"]) as f:
        attrs = dict(f.attrs)
    models = {"nova": tiny_network(folder / "nova.pt", attrs, 16),
              "energy": tiny_network(folder / "energy.pt", attrs, 16, "energy_regression", {"target": "nu_energy"}),
              "calo": fitted_baseline(folder / "calo.json", {"kind": "calorimetric", "classes": ["nu_e CC"]},
                                      splits["train"], splits["val"])}  # fmt: skip
    stats = predict.run(events=files[0], out=folder / "friend.root", dataset="nu", ds=ds, reference=splits["train"],
                        models=models, seed=SEED, progress=False)  # fmt: skip
    friend = uproot.open(folder / "friend.root")["events"].arrays(library="np")
    return {"files": files, "ds": ds, "splits": splits, "models": models, "stats": stats, "friend": friend}


def test_hits_friend_tree_one_value_per_event_equal_to_the_evaluate_stage(hits: dict[str, Any]) -> None:
    import uproot

    friend, stats = hits["friend"], hits["stats"]
    assert set(friend) == {"nova_nu_e_CC", "nova_nu_mu_CC", "nova_NC", "energy_nu_energy", "calo_nu_energy"}
    energy = uproot.open(hits["files"][0])["events"]["nu_energy"].array(library="np")
    assert len(friend["nova_NC"]) == len(energy) == stats["entries"] == 30
    for branch, values in friend.items():
        assert values.dtype == np.float32
        np.testing.assert_array_equal(np.isfinite(values), energy > 1.2, err_msg=branch)  # every event is drawable
    positions = split_positions(hits["files"], hits["ds"], 2, SEED)
    for name, branch, key in (("nova", "nova_NC", "proba"), ("energy", "energy_nu_energy", "pred"),
                              ("calo", "calo_nu_energy", "pred")):  # fmt: skip
        rows, expected = evaluate_scores(hits["models"][name], hits["splits"]["test"])
        mine = np.array([positions[r][0] == hits["files"][0].name for r in rows])  # the events of that file
        entries = np.array([positions[r][1] for r in rows])[mine]
        assert len(entries) >= 2, name
        expected = (expected[key][:, 2] if key == "proba" else expected[key])[mine]
        np.testing.assert_allclose(friend[branch][entries], expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_command_line_writes_the_same_friend_tree(jets: dict[str, Any], capsys: pytest.CaptureFixture) -> None:
    import json

    import uproot

    from detcnn.cli import main

    out, cut = jets["folder"] / "cli" / "friend.root", jets["models"]["cut"]
    args = ["-q", "predict", "--events", str(jets["events"]), "--out", str(out), "--dataset", "x", "--ds-config",
            json.dumps(jets["ds"]), "--reference", str(jets["splits"]["train"]), "--seed", str(SEED)]  # fmt: skip
    assert main([*args, "--model", f"cut={cut}"]) == 0
    written = uproot.open(out)["Events"].arrays(library="ak")
    assert written.fields == ["detcnn_njet", "cut_score"]
    assert ak.to_list(ak.nan_to_none(written["cut_score"])) == ak.to_list(ak.nan_to_none(jets["friend"]["cut_score"]))
    out.unlink()
    assert main([*args, "--model", f"cut={cut}", "--model", f"cut={cut}"]) == 2
    assert "model 'cut' is given twice" in capsys.readouterr().err and not out.exists()
