"""Events/s of the C++ inference chain (cpp/: header-only images + AOTInductor network on libtorch) against
Python (the rasteriser's chunk functions + PyTorch), one CPU thread each, on the same events.

    python bench/bench_cpp.py [--n-events 2000] [--repeat 3] [--no-doc]

Jets: random jets of 20-80 constituents (the 500 GeV q/g jets have 30-60), drawn as the default config's qg
images (33x33, 3 channels, pt_sum) and scored by its ``cnn`` (komiske_cnn, 32 filters). Hits: neutrino events
of the detector simulation (``detector_sim``, all three classes, about 700 hits each), drawn as the default
config's nu images (2 views of 48x48, noise 5 ke-) and scored by its ``nova`` (nova_cvn). Random weights: the
time does not depend on them. Python draws the whole set as one chunk and runs the network in batches; C++ draws
event by event and runs the network event by event (``--batch 1``, a framework's event loop) or in batches.
Checks that both give the same scores (within 1e-5). Writes the ``cpp`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from _table import write_section
from _timing import median_time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test's event generators

BATCH = 256


def build(out: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(ROOT / "tools/build-cpp.sh"), str(out)], check=True, env=env, capture_output=True)


def network(tmp: Path, ds_name: str, model: str, prep: dict[str, Any], n_classes: int) -> tuple[Path, Any]:
    """The default config's ``model`` with random weights, saved and compiled: (model.pt2, the PyTorch model)."""
    from detcnn.deploy.aoti_export import input_shape
    from detcnn.stages import export
    from detcnn.training.network import load_network
    from tests.test_cpp_chain import _save_network

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())["models"][model]
    c, side, _ = input_shape(prep)
    args = {"in_channels": c, "num_classes": n_classes, "image_size": side, **cfg.get("args", {})}
    if cfg["arch"] == "nova_cvn":
        args["n_views"] = len(prep["hit_images"]["views"])
    weights = tmp / f"{ds_name}.pt"
    _save_network(weights, cfg["arch"], args, "classification", None)
    export.run_aoti(weights=weights, out=tmp / f"{ds_name}.pt2", preprocessing=prep)
    return tmp / f"{ds_name}.pt2", load_network(weights)[0]


def jets_case(tmp: Path, n: int) -> dict[str, Any]:
    """The jets: events file, the Python drawing function and the network."""
    from detcnn.deploy import cpp_events
    from detcnn.deploy.aoti_export import preprocessing
    from detcnn.rasterisers.jets import chunk_arrays, rasterise_chunk, spec_from_config
    from tests.test_cpp_chain import make_jets

    ds = yaml.safe_load((ROOT / "config/config.yaml").read_text())["datasets"]["qg"]
    spec = spec_from_config({"images": ds["images"]})
    chunk, raw = make_jets(n, seed=1, with_mass=True, sizes=(20, 80))
    cpp_events.write_jets(tmp / "jets.txt", **raw)
    package, model = network(tmp, "qg", "cnn", preprocessing(ds, 1, "qg"), 2)
    return {"events": tmp / "jets.txt", "package": package, "model": model, "spec": spec, "name": "jets (qg, cnn)",
            "draw": lambda: rasterise_chunk(chunk_arrays(chunk, spec.axis), spec)[0]}  # fmt: skip


def hits_case(tmp: Path, n: int) -> dict[str, Any]:
    """The neutrino events of the detector simulation: events file, Python drawing function and network."""
    import awkward as ak
    import uproot

    from detcnn.config import fill_dataset
    from detcnn.deploy import cpp_events
    from detcnn.deploy.aoti_export import preprocessing
    from detcnn.generate import detector_sim
    from detcnn.physics.hit_images import hit_images
    from detcnn.physics.readout_noise import event_ids
    from detcnn.rasterisers.hits import spec_from_config

    ds = yaml.safe_load((ROOT / "config/config.yaml").read_text())["datasets"]["nu"]
    ds["generate"]["n_events_per_shard"] = n // 3
    filled = fill_dataset(ds, key="datasets.nu")
    parts = []
    for sample in detector_sim.SAMPLES:  # one file per sample, merged: the C++ file is of one ROOT file
        detector_sim.generate(tmp / f"{sample}.root", sample=sample, shard=0, seed=1, cfg=filled["generate"],
                              progress=False)  # fmt: skip
        fields = [f"hit_{k}" for k in ("x", "y", "z", "t", "q", "e", "label")]
        parts.append(uproot.open(tmp / f"{sample}.root")["events"].arrays(fields))
    events = ak.concatenate(parts)
    counts = ak.to_numpy(ak.num(events["hit_x"]))
    hits = {k[4:]: ak.to_numpy(ak.flatten(events[k])) for k in events.fields}  # the truth too: Python draws it
    entries = np.arange(len(counts))
    cpp_events.write_hits(tmp / "hits.txt", hits, counts, "nu_bench.root", entries)
    spec, ids = spec_from_config(filled), event_ids("nu_bench.root", entries)
    package, model = network(tmp, "nu", "nova", preprocessing(ds, 1, "nu"), 3)
    return {"events": tmp / "hits.txt", "package": package, "model": model, "spec": spec, "name": "hits (nu, nova)",
            "draw": lambda: hit_images(hits, counts, spec, ids, 1).X}  # fmt: skip


def python_times(case: dict[str, Any], repeat: int) -> tuple[float, float, np.ndarray]:
    """Seconds to draw all events (one chunk) and to score them (batches of :data:`BATCH`), and the scores."""
    import torch

    images = case["draw"]()
    t_draw = median_time(case["draw"], repeat, warmup=True)
    model = case["model"]

    def score() -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate([torch.softmax(model(torch.from_numpy(images[i : i + BATCH])), 1).numpy()
                                   for i in range(0, len(images), BATCH)])  # fmt: skip

    scores = score()
    return t_draw, median_time(score, repeat), scores


def cpp_times(programs: Path, case: dict[str, Any], batch: int, repeat: int) -> tuple[dict[str, float], np.ndarray]:
    """score_events' timing (the median run of ``repeat``) and scores."""
    runs = []
    for _ in range(repeat):
        out = case["events"].with_suffix(".scores")
        args = [programs / "score_events", case["package"], case["events"], "--out", out, "--batch", str(batch)]
        done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stderr.strip().splitlines()[-1]))
    runs.sort(key=lambda r: r["events_per_s"])
    return runs[len(runs) // 2], np.loadtxt(out, ndmin=2)


def rows_for(programs: Path, case: dict[str, Any], repeat: int) -> list[str]:
    t_draw, t_net, want = python_times(case, repeat)
    n = len(want)
    rows = [f"| {case['name']} | Python: chunk + PyTorch, batch {BATCH} | {n / t_draw:,.0f} | {n / t_net:,.0f} | "
            f"{n / (t_draw + t_net):,.0f} | 1.00 | - |"]  # fmt: skip
    for batch in (1, BATCH):
        timing, got = cpp_times(programs, case, batch, repeat)
        drawn = ~np.isnan(got[:, 0])
        diff = float(np.abs(got[drawn] - want[drawn]).max())
        ratio = timing["events_per_s"] * (t_draw + t_net) / n
        rows.append(f"| {case['name']} | C++: event by event + AOTI, batch {batch} | "
                    f"{n / timing['seconds_images']:,.0f} | {n / timing['seconds_network']:,.0f} | "
                    f"{timing['events_per_s']:,.0f} | {ratio:.2f} | {diff:.1e} |")  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-events", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-doc", action="store_true")
    a = p.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench_cpp_") as folder:
        tmp = Path(folder)
        build(tmp / "bin")
        rows = []
        for make in (jets_case, hits_case):
            rows += rows_for(tmp / "bin", make(tmp, a.n_events), a.repeat)
    cmd = "python bench/bench_cpp.py" + (f" --n-events {a.n_events}" if a.n_events != 2000 else "")
    text = "\n".join([
        "## C++ inference chain: events to scores on one core", "",
        f"`{cmd}` ({datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, one thread each; torch "
        f"{torch.__version__}, its libtorch for C++; about {a.n_events} events per kind, median of {a.repeat} runs; "
        "random weights). Images/s and network events/s are each part's own rate; total: events/s drawn and "
        "scored; ratio: total over Python's (same run); max diff: the largest difference of the class "
        "probabilities from Python's. Python's hit images include the pixel truth (energy, track/shower) that the "
        "C++ chain does not draw; both C++ rows draw the same images (event by event), the difference between "
        "their image rates is the cache and the machine's load.", "",
        "| events | chain | images/s | network events/s | total events/s | ratio | max diff |",
        "|---|---|---|---|---|---|---|", *rows,
    ])  # fmt: skip
    print(text)
    if not a.no_doc:
        write_section("cpp", text)


if __name__ == "__main__":
    main()
