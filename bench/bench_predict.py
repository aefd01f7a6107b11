"""Predict benchmark: the predict stage (ROOT file -> friend tree) against the rasterise + evaluate path on the
same events with the same models, for jets per event and for detector hits, and the cost of the counter-based
readout noise against the generator stream it replaced.

    python bench/bench_predict.py --jets 20000 --hits 500 --repeat 3

Jets: a NanoAOD-like file (``tests/test_predict.py``'s ``nano_file``: 0-4 jets per event, PF candidates linked
by ``PFCands_jetIdx``, an event and a jet selection, ``max_jets: 2``), 16x16 images; hits: ``detector_sim``
events (``--hits`` per sample, three files, one predicted), the default 2 views of 48x48. Models: an untrained
``komiske_cnn`` (tiny config's size) and a fitted baseline (``gbdt_classifier``; ``calorimetric`` for hits).
Timed, each the median of ``--repeat`` runs after a warm-up: (1) ``predict.run`` on one file, (2) the
rasterise stage of the same file into a test-only split file, (3) the evaluate stage's scoring of that file
(``ImageFile`` load + ``SCORERS[...].predict`` of each model; evaluate's metrics, bootstrap, plot and MLflow
log come on top), (2) + (3) the path the evaluate stage takes. Results go to docs/benchmarks.md (section
``predict``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _table import write_section
from _timing import median_time
from bench_rasterise_hits import flatten_chunk, machine, read_chunks

from detcnn.io.images import ImageFile
from detcnn.kinds import ModelKind
from detcnn.physics.hit_images import HitImageSpec, hit_images
from detcnn.physics.readout_noise import event_ids, readout
from detcnn.stages import predict, rasterise
from detcnn.stages.evaluate import SCORERS
from tests.test_predict import JETS_DS, fitted_baseline, nano_file, tiny_network

SEED = 7
TEST_ONLY = {"train": 0.0, "val": 0.0, "test": 1.0}


def splits(folder: Path, files: list[Path], ds: dict[str, Any], split: dict[str, float] | None = None) -> dict:
    """The rasterise stage of ``files`` into ``folder`` (the dataset's split, or ``split``)."""
    out = {s: folder / f"{s}.h5" for s in ("train", "val", "test")}
    rasterise.run(inputs=files, **out, stats=folder / "stats.json", dataset="bench", ds={**ds, "split": split or
                  ds["split"]}, seed=SEED, progress=False)  # fmt: skip
    return out


def score(test: Path, models: dict[str, Path]) -> int:
    """The evaluate stage's scoring of every model on the split file ``test``; the images scored."""
    with ImageFile(test) as f:
        images = f.load(with_images=True)
    for path in models.values():
        kind = ModelKind.NETWORK if path.suffix == ".pt" else ModelKind.BASELINE
        SCORERS[kind](path, images.attrs, 1, None).predict(images)
    return len(images.y)


def compare(folder: Path, files: list[Path], ds: dict[str, Any], models: dict[str, Path], repeat: int) -> dict:
    """Times [s] of predict, rasterise (test only) and evaluate's scoring on ``files[0]``, and the counts."""
    train = splits(folder / "train", files, ds)["train"]
    stats: dict[str, Any] = {}

    def run_predict() -> None:
        stats.update(predict.run(events=files[0], out=folder / "friend.root", dataset="bench", ds=ds,
                                 reference=train, models=models, seed=SEED, progress=False))  # fmt: skip

    test = splits(folder / "test_only", files[:1], ds, TEST_ONLY)["test"]
    times = {
        "predict": median_time(run_predict, repeat, warmup=True),
        "rasterise": median_time(lambda: splits(folder / "test_only", files[:1], ds, TEST_ONLY), repeat, warmup=True),
        "evaluate": median_time(lambda: score(test, models), repeat, warmup=True),
    }
    return {"times": times, "entries": stats["entries"], "selected": stats["selected"], "images": stats["imaged"]}


def jets_case(folder: Path, n: int, repeat: int) -> dict:
    events = nano_file(folder / "nano.root", n=n, seed=1)
    ds = {**JETS_DS, "files": [str(events)], "images": {"n_pix": 16, "half_width": 0.5}, "chunk_size": 5000}
    train = splits(folder / "ref", [events], ds)
    with ImageFile(train["train"]) as f:
        attrs = dict(f.attrs)
    models = {"cnn": tiny_network(folder / "cnn.pt", attrs, 16, filters=[8, 8, 8], dense=16),
              "bdt": fitted_baseline(folder / "bdt.json", {"kind": "gbdt_classifier", "max_iter": 20}, train["train"],
                                     train["val"])}  # fmt: skip
    return compare(folder, [events], ds, models, repeat)


def hits_case(folder: Path, n: int, repeat: int) -> dict:
    from detcnn.config import fill_generate
    from detcnn.generate import detector_sim

    cfg = fill_generate("detector_sim", {"n_events_per_shard": n})
    files = [folder / f"nu_{s}_0.root" for s in detector_sim.SAMPLES]
    for i, (sample, path) in enumerate(zip(detector_sim.SAMPLES, files, strict=True)):
        detector_sim.generate(path, sample=sample, shard=0, seed=i, cfg=cfg, progress=False)
    ds = {"source": "root_files", "events": "hits", "files": [str(f) for f in files], "split": JETS_DS["split"],
          "class_names": ["nu_e CC", "nu_mu CC", "NC"], "truth": ["nu_energy"], "chunk_size": 2000,
          "hit_images": {"volume_cm": detector_sim.rasterise_options({"generate": cfg})["volume_cm"]}}  # fmt: skip
    train = splits(folder / "ref", files, ds)
    with ImageFile(train["train"]) as f:
        attrs = dict(f.attrs)
    models = {"nova": tiny_network(folder / "nova.pt", attrs, 48, filters=[8, 8, 8], dense=16),
              "calo": fitted_baseline(folder / "calo.json", {"kind": "calorimetric", "classes": ["nu_e CC"]},
                                      train["train"], train["val"])}  # fmt: skip
    return compare(folder, files, ds, models, repeat)


def noise_times(files: list[Path], repeat: int) -> tuple[float, float, int, float]:
    """Seconds to read out (noise, then zero suppression) the charge images (the default 2 views of 48x48) of
    the events of ``files``: counter-based (:func:`readout`), and with the noise drawn from a generator stream
    (``standard_normal`` float32, as before); the events and the fraction of pixels with charge."""
    hits, counts = flatten_chunk(ak.concatenate(read_chunks(files, 10**6)))
    spec = HitImageSpec()
    charge = hit_images(hits, counts, HitImageSpec(noise_ke=0.0, threshold_ke=0.0), np.zeros(len(counts), np.uint64),
                        0).X  # fmt: skip
    ids, rng = event_ids("nu_nue_cc_0.root", np.arange(len(charge))), np.random.default_rng(1)

    def stream() -> None:
        noisy = charge + np.float32(spec.noise_ke) * rng.standard_normal(charge.shape, dtype=np.float32)
        noisy[noisy < spec.threshold_ke] = 0.0

    counter = median_time(lambda: readout(charge.copy(), ids, SEED, spec.noise_ke, spec.threshold_ke), repeat,
                          warmup=True)  # fmt: skip
    return counter, median_time(stream, repeat, warmup=True), len(charge), float(np.mean(charge > 0))


def rows(name: str, r: dict) -> str:
    t, n = r["times"], r["entries"]
    path = t["rasterise"] + t["evaluate"]
    cells = [("`predict.run` (read + draw + score + write the friend tree)", t["predict"]),
             ("rasterise stage, test-only split file (read + draw + write HDF5)", t["rasterise"]),
             ("evaluate stage's scoring of that file (load + score)", t["evaluate"]),
             ("rasterise + evaluate scoring", path)]  # fmt: skip
    return "\n".join(f"| {name} | {w} | {s * 1e3:.0f} ms | {n / s:,.0f} | {s / t['predict']:.2f}x |" for w, s in cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jets", type=int, default=20000, help="events of the NanoAOD-like file")
    p.add_argument("--hits", type=int, default=500, help="detector_sim events per sample (three files)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    command = shlex.join(["python", "bench/bench_predict.py", *sys.argv[1:]])
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        (Path(tmp) / "jets").mkdir()
        (Path(tmp) / "hits").mkdir()
        jets = jets_case(Path(tmp) / "jets", a.jets, a.repeat)
        hits = hits_case(Path(tmp) / "hits", a.hits, a.repeat)
        counter, stream, n_noise, occupied = noise_times(sorted((Path(tmp) / "hits").glob("nu_*.root")), a.repeat)
    table = f"""
## Predict: friend trees against rasterise + evaluate

`{command}` ({time.strftime("%Y-%m-%d")}): {machine()}; one process, 1 thread, median of {a.repeat} runs after a
warm-up, 1-minute load average {load:.2f} at the start (other work shared the 2 cores: compare the ratios, measured
in one run). Jets: {jets["entries"]} NanoAOD-like entries ({jets["selected"]} selected, {jets["images"]} jet images of
16x16, `max_jets: 2`), an untrained `komiske_cnn` and a `gbdt_classifier`; hits: {hits["entries"]} `detector_sim`
nu_e CC events of one file ({hits["images"]} images, 2 views of 48x48), the same network kind and `calorimetric`.

| events | what | time | entries/s | time / predict |
|---|---|---|---|---|
{rows("jets", jets)}
{rows("hits", hits)}

- Read-out (noise, then zero suppression) of the {n_noise} hits events' charge images (2 views of 48x48,
  {100 * occupied:.1f} % of the pixels with charge): counter-based (`readout_noise.readout`) {counter * 1e3:.0f} ms,
  {counter / n_noise * 1e6:.0f} us per event; the generator stream it replaced (`standard_normal` float32, not
  reproducible by another program) {stream * 1e3:.0f} ms: **{counter / stream:.2f}x**. The noise's float64 log and
  cos are computed only for pixels that can end above the threshold (those with charge and about 1 % of the
  empty ones): the same images, bit for bit, as noise on every pixel (`tests/test_readout_noise.py`).
"""
    print(table)
    print(json.dumps({"jets": jets, "hits": hits}, default=float))
    if not a.no_write:
        write_section("predict", table)


if __name__ == "__main__":
    main()
