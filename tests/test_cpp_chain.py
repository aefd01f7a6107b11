"""The C++ inference chain (cpp/): the header-only preprocessing draws the images of Python's rasteriser chunk
functions to the bit, and score_events (images -> an AOTInductor package from ``detcnn export-aoti`` or the export
stage -> scores) gives PyTorch's scores on the Python images within 1e-5. Needs g++ (skipped without); one AOTI
compile per kind of events (jets: a classifier; hits: an energy regression), one build of the examples."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest
import torch
import yaml

from detcnn.deploy import cpp_events
from detcnn.deploy.aoti_export import load_aoti, metadata
from detcnn.physics.hit_images import HitImageSpec, hit_images
from detcnn.physics.jet_images import ImageSpec
from detcnn.physics.readout_noise import event_ids
from detcnn.rasterisers.jets import chunk_arrays, rasterise_chunk

ROOT = Path(__file__).resolve().parents[1]
N_EVENTS = 300
SEED = 11
HIT_FILE = "/data/run7/nue_cc_003.root"  # the basename makes the events' ids (the readout noise)


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``draw_images`` and ``score_events``, built once by tools/build-cpp.sh."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: the C++ examples cannot be built")
    out = tmp_path_factory.mktemp("cpp")
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "tools/build-cpp.sh"), str(out)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def make_jets(
    n: int, seed: int, with_mass: bool, sizes: tuple[int, int] = (1, 50)
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``n`` random jets of ``sizes[0]`` to ``sizes[1] - 1`` constituents: an awkward chunk of the jets file
    contract and the flat arrays the C++ file takes (float32 values, as read from ROOT files; some jets straddle
    phi = +-pi)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(*sizes, n)
    owner, m = np.repeat(np.arange(n), counts), int(counts.sum())
    jet_eta, jet_phi = rng.uniform(-2.5, 2.5, n), rng.uniform(-np.pi, np.pi, n).astype(np.float32)
    raw = {
        "pt": rng.exponential(12.0, m).astype(np.float32),
        "eta": (jet_eta[owner] + rng.normal(0, 0.15, m)).astype(np.float32),
        "phi": ((jet_phi[owner] + rng.normal(0, 0.15, m) + np.pi) % (2 * np.pi) - np.pi).astype(np.float32),
        "charge": rng.choice([-1, 0, 1], m).astype(np.int32),
        "counts": counts, "jet_phi": jet_phi,
    }  # fmt: skip
    raw["mass"] = np.where(raw["charge"] != 0, 0.13957, rng.choice([0.0, 0.4976], m)).astype(np.float32)
    chunk = {f"part_{k}": ak.unflatten(raw[k], counts) for k in ("pt", "eta", "phi", "charge")}
    chunk.update(jet_eta=jet_eta.astype(np.float32), jet_phi=jet_phi, label=rng.integers(0, 2, n))
    if with_mass:
        chunk["part_m"] = ak.unflatten(raw["mass"], counts)
    else:
        raw["mass"] = None
    return chunk, raw


def make_hits(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``n`` random events of showers and tracks from a vertex (cm, ns, ke-): flat hits, counts, entries (every
    third entry, as after a selection); the last three events hold almost no charge (only noise can draw them)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 300, n)
    owner, m = np.repeat(np.arange(n), counts), int(counts.sum())
    vertex = rng.uniform([-150, -150, 50], [150, 150, 300], (n, 3))
    direction = rng.normal(0, 1, (n, 3))
    direction[:, 2] = np.abs(direction[:, 2]) + 0.5
    pos = vertex[owner] + direction[owner] * rng.exponential(40.0, m)[:, None] + rng.normal(0, 3.0, (m, 3))
    q = rng.exponential(25.0, m)
    q[owner >= n - 3] = 1e-3
    hits = {k: pos[:, i].astype(np.float32) for i, k in enumerate("xyz")}
    hits.update(t=rng.uniform(0, 1000, m).astype(np.float32), q=q.astype(np.float32),
                e=rng.exponential(1e-3, m).astype(np.float32), label=rng.integers(1, 3, m))  # fmt: skip
    return hits, counts, 3 * np.arange(n) + 5


def _settings(prep: dict[str, Any]) -> dict[str, str]:
    return metadata(prep, {"arch": "test", "args": {}})


def _section(spec: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(spec).items()}


def _draw(programs: Path, tmp_path: Path, settings: dict[str, str], shape: tuple[int, ...], n: int) -> tuple:
    cpp_events.write_settings(tmp_path / "settings.txt", settings)
    args = [programs / "draw_images", tmp_path / "settings.txt", tmp_path / "events.txt", tmp_path / "images.f32"]
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return cpp_events.read_images(tmp_path / "images.f32", n, shape)


JET_SPECS = [
    ImageSpec(n_pix=16),
    ImageSpec(n_pix=33, normalise="pt_sum"),
    ImageSpec(n_pix=20, rotate=False, axis="pseudorapidity", channels=("total_pt", "multiplicity", "neutral_pt")),
    ImageSpec(n_pix=25, flip=False, normalise="pt_sum", half_width=0.3),
]


@pytest.mark.parametrize("with_mass", [True, False], ids=["massive", "massless"])
@pytest.mark.parametrize("spec", JET_SPECS, ids=["default16", "pt_sum33", "eta_norotate", "noflip_hw03"])
def test_jet_images_equal_the_rasterisers(programs: Path, tmp_path: Path, spec: ImageSpec, with_mass: bool) -> None:
    chunk, raw = make_jets(N_EVENTS, seed=1, with_mass=with_mass)
    want, _, _ = rasterise_chunk(chunk_arrays(chunk, spec.axis), spec)
    cpp_events.write_jets(tmp_path / "events.txt", **raw)
    got, drawn = _draw(programs, tmp_path, _settings({"events": "jets", "images": _section(spec), "seed": 0}),
                       want.shape[1:], N_EVENTS)  # fmt: skip
    assert drawn.all() and np.count_nonzero(want) > N_EVENTS * 5
    np.testing.assert_array_equal(got, want)  # the same sums in the same order: equal to the bit


HIT_SPECS = [
    HitImageSpec(views=("xz", "yz"), n_pix=16, pitch_cm=6.0),
    HitImageSpec(views=("u", "v", "w"), n_pix=32, channels=("charge", "time"), noise_ke=7.5),
    HitImageSpec(views=("yz",), n_pix=24, noise_ke=0.0, threshold_ke=0.0, start_quantile=0.0, margin_pix=0),
]


@pytest.mark.parametrize("spec", HIT_SPECS, ids=["xz_yz_noise", "uvw_time", "quiet"])
def test_hit_images_equal_the_rasterisers(programs: Path, tmp_path: Path, spec: HitImageSpec) -> None:
    hits, counts, entries = make_hits(N_EVENTS, seed=2)
    want = hit_images(hits, counts, spec, event_ids(HIT_FILE, entries), SEED).X
    visible = want[:, :: len(spec.channels)].reshape(N_EVENTS, -1).max(axis=1) > 0
    cpp_events.write_hits(tmp_path / "events.txt", hits, counts, HIT_FILE, entries)
    got, drawn = _draw(programs, tmp_path, _settings({"events": "hits", "hit_images": _section(spec), "seed": SEED}),
                       want.shape[1:], N_EVENTS)  # fmt: skip
    np.testing.assert_array_equal(drawn, visible)
    np.testing.assert_array_equal(got, want)  # noise included: the counter-based draws are the same


def _save_network(path: Path, arch: str, args: dict[str, Any], task: str, output: tuple[float, float] | None) -> None:
    """A network with random weights, input scaling (and output scaling) saved as the train stage saves it."""
    from detcnn.models import create_model
    from detcnn.training.network import save_network
    from detcnn.training.scaling import InputScaling, OutputScaling, ScaledModel

    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(4)
    c = args["in_channels"]
    scaling = InputScaling(torch.rand(c, generator=gen, dtype=torch.float64), 0.5 + torch.rand(c, generator=gen))
    model = ScaledModel(scaling, create_model(arch, **args), OutputScaling(*output) if output else None)
    for module in model.modules():  # batch norm with non-trivial statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=gen)
            module.running_var.uniform_(0.5, 2.0, generator=gen)
    save_network(path, model, {"arch": arch, "args": args, "class_names": ["gluon", "quark"], "task": task,
                               "task_args": {}})  # fmt: skip


def _score(programs: Path, package: Path, events: Path, tmp_path: Path, batch: int) -> tuple[np.ndarray, Path, dict]:
    images = tmp_path / f"images_{batch}.f32"
    args = [programs / "score_events", package, events, "--out", tmp_path / "scores.txt", "--images", images,
            "--batch", str(batch)]  # fmt: skip
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return np.loadtxt(tmp_path / "scores.txt", ndmin=2), images, json.loads(done.stderr.strip().splitlines()[-1])


def _pytorch(weights: Path, images: np.ndarray, softmax: bool) -> np.ndarray:
    from detcnn.training.network import load_network

    model, _ = load_network(weights)
    with torch.no_grad():
        out = model(torch.from_numpy(images)).reshape(len(images), -1)
    return (torch.softmax(out, 1) if softmax else out).numpy()


def test_jet_chain_scores_equal_pytorch(programs: Path, tmp_path: Path) -> None:
    """``detcnn export-aoti`` (the CLI) packs a classifier with the image settings; score_events draws each jet
    and gives PyTorch's class probabilities on the rasteriser's images, batch by batch or event by event."""
    from detcnn.cli import main

    spec = ImageSpec(n_pix=16, normalise="pt_sum")
    args = {"in_channels": 3, "num_classes": 2, "image_size": 16, "filters": [4, 4], "kernels": [4, 3], "dense": 8}
    _save_network(tmp_path / "weights.pt", "komiske_cnn", args, "classification", None)
    prep = {"events": "jets", "images": _section(spec), "seed": SEED}
    assert main(["-q", "export-aoti", "--weights", str(tmp_path / "weights.pt"), "--out", str(tmp_path / "model.pt2"),
                 "--preprocessing", json.dumps(prep)]) == 0  # fmt: skip
    meta = load_aoti(tmp_path / "model.pt2").get_metadata()
    assert meta["detcnn.images.n_pix"] == "16" and meta["detcnn.postprocess"] == "softmax"
    assert json.loads(meta["detcnn.preprocessing"]) == prep

    chunk, raw = make_jets(N_EVENTS, seed=5, with_mass=True)
    want_images = rasterise_chunk(chunk_arrays(chunk, spec.axis), spec)[0]
    cpp_events.write_jets(tmp_path / "events.txt", **raw)
    want = _pytorch(tmp_path / "weights.pt", want_images, softmax=True)
    for batch in (1, 64):
        scores, images, timing = _score(programs, tmp_path / "model.pt2", tmp_path / "events.txt", tmp_path, batch)
        np.testing.assert_array_equal(np.fromfile(images, np.float32).reshape(want_images.shape), want_images)
        assert scores.shape == (N_EVENTS, 2) and timing["events"] == N_EVENTS
        np.testing.assert_allclose(scores, want, rtol=0, atol=1e-5)
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    assert 0.2 < want[:, 1].mean() < 0.8 and want[:, 1].std() > 1e-3  # the scores vary from jet to jet
    _check_predict_stage(tmp_path, chunk, spec, scores)


def _predicted(tmp_path: Path, events: Path, ds: dict[str, Any], model: str) -> dict[str, np.ndarray]:
    """The friend tree of ``events`` the predict stage writes with the network ``weights.pt`` as ``model`` (the
    reference image file rasterised from the same events)."""
    import uproot

    from detcnn.stages import predict, rasterise

    splits = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    rasterise.run(inputs=[events], **splits, stats=tmp_path / "stats.json", dataset="x", ds=ds, seed=SEED,
                  progress=False)  # fmt: skip
    predict.run(events=events, out=tmp_path / "friend.root", dataset="x", ds=ds, reference=splits["test"],
                models={model: tmp_path / "weights.pt"}, seed=SEED, progress=False)  # fmt: skip
    return uproot.open(tmp_path / "friend.root")["events"].arrays(library="np")


def _check_predict_stage(tmp_path: Path, chunk: dict[str, Any], spec: ImageSpec, scores: np.ndarray) -> None:
    """The same jets as a ROOT file, scored by the Python predict stage: its friend tree holds the C++ chain's
    class probabilities within 1e-5, entry by entry."""

    from detcnn.io.events import write_events

    events = tmp_path / "jets.root"
    write_events(events, {k: (v if isinstance(v, ak.Array) else np.asarray(v)) for k, v in chunk.items()})
    ds = {"source": "root_files", "tasks": ["classification"], "files": [str(events)], "images": _section(spec),
          "split": {"train": 0.6, "val": 0.2, "test": 0.2}}  # fmt: skip
    friend = _predicted(tmp_path, events, ds, "cnn")
    assert len(friend["cnn_quark"]) == len(scores) == N_EVENTS
    np.testing.assert_allclose(np.stack([friend["cnn_gluon"], friend["cnn_quark"]], axis=1), scores, rtol=0, atol=1e-5)


def test_hit_chain_values_equal_pytorch(programs: Path, tmp_path: Path) -> None:
    """The export stage (``detcnn export --aoti``, the image settings from the dataset config) packs an energy
    regression (with output scaling) of two views; score_events draws each event (noise included) and gives
    PyTorch's value on the rasteriser's images, NaN for the events with nothing above threshold."""
    from detcnn.cli import main

    ds = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())["datasets"]["nu"]  # xz, yz; 16 pixels of 6 cm
    ds["hit_images"]["threshold_ke"] = 30.0  # 6 sigma of noise: the events without charge draw nothing
    spec = HitImageSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in ds["hit_images"].items()})
    hits, counts, entries = make_hits(N_EVENTS, seed=6)
    images = hit_images(hits, counts, spec, event_ids(HIT_FILE, entries), SEED).X
    visible = images.reshape(N_EVENTS, -1).max(axis=1) > 0
    with h5py.File(tmp_path / "test.h5", "w") as f:
        f["X"], f["y"] = images[visible], np.zeros(int(visible.sum()), dtype=np.int64)
    # a small plain CNN: nova_cvn compiles too, but in 45 s instead of 15 (its inception modules)
    args = {"in_channels": 2, "num_classes": 1, "image_size": 16, "filters": [4, 4], "kernels": [4, 3], "dense": 8}
    _save_network(tmp_path / "weights.pt", "komiske_cnn", args, "energy_regression", (2.0, 0.7))
    files = {k: str(tmp_path / v) for k, v in {"onnx": "model.onnx", "summary": "export.json", "aoti": "model.pt2",
                                              "weights": "weights.pt", "test": "test.h5"}.items()}  # fmt: skip
    assert main(["-q", "export", *(a for k, v in files.items() for a in (f"--{k}", v)), "--dataset-config",
                 json.dumps(ds), "--seed", str(SEED)]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "export.json").read_text())
    assert summary["preprocessing"]["hit_images"]["threshold_ke"] == 30.0 and summary["preprocessing"]["seed"] == SEED
    assert summary["aoti"]["max_abs_diff"] <= 1e-5 and summary["aoti"]["bytes"] > 10_000

    cpp_events.write_hits(tmp_path / "events.txt", hits, counts, HIT_FILE, entries)
    want = _pytorch(tmp_path / "weights.pt", images[visible], softmax=False)
    values, drawn_images, _ = _score(programs, tmp_path / "model.pt2", tmp_path / "events.txt", tmp_path, 32)
    np.testing.assert_array_equal(np.fromfile(drawn_images, np.float32).reshape(images.shape), images)
    assert values.shape == (N_EVENTS, 1) and np.isnan(values[~visible]).all() and (~visible).sum() >= 3
    np.testing.assert_allclose(values[visible], want, rtol=1e-6, atol=1e-5)
    assert want.std() > 1e-3  # the values vary from event to event
    _check_predict_hits(tmp_path, hits, counts, entries, ds, values[:, 0])


def _check_predict_hits(tmp_path: Path, hits: dict[str, np.ndarray], counts: np.ndarray, entries: np.ndarray,
                        ds: dict[str, Any], values: np.ndarray) -> None:  # fmt: skip
    """The same events as entries ``entries`` of a ROOT file named as ``HIT_FILE`` (the entries between them
    failing the selection), scored by the Python predict stage: its friend tree holds the C++ chain's values within
    1e-5 at those entries (NaN where neither draws an image) and NaN elsewhere."""

    from detcnn.io.events import write_events

    n = int(entries[-1]) + 1
    full = np.zeros(n, dtype=np.int64)
    full[entries] = counts
    flat = {f"hit_{k}": v for k, v in hits.items()}
    columns = {k: ak.unflatten(v, full) for k, v in flat.items()}
    keep = np.zeros(n, dtype=np.int32)
    keep[entries] = 1
    columns.update(label=np.zeros(n, dtype=np.int32), keep=keep, nu_energy=np.full(n, 2.0, dtype=np.float32))
    events = tmp_path / Path(HIT_FILE).name
    write_events(events, columns)
    ds = {**ds, "source": "root_files", "events": "hits", "files": [str(events)], "selection": "keep == 1",
          "class_names": ["nu_e CC", "nu_mu CC", "NC"], "truth": ["nu_energy"], "tasks": ["energy_regression"],
          "hit_images": {**ds["hit_images"], "empty_events": "drop"}}  # fmt: skip
    ds.pop("generate", None)
    friend = _predicted(tmp_path, events, ds, "energy")
    (name,) = friend
    assert len(friend[name]) == n and np.isnan(np.delete(friend[name], entries)).all(), name
    np.testing.assert_allclose(friend[name][entries], values, rtol=1e-6, atol=1e-5)  # NaN at the same events
