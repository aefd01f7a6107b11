"""Rasteriser benchmark for detector hits: reading the hit branches with uproot alone, drawing the images and
observables in memory, and the whole ``rasterise_hits`` stage, on the same ROOT files.

    python bench/bench_rasterise_hits.py results/events/nu/*.root
    python bench/bench_rasterise_hits.py --events 2000 --wait-quiet 25   # simulate nue_cc, numu_cc, nc first

(1) uproot: ``uproot.iterate`` over the hit branches and ``label`` in chunks of ``--step`` events, as the stage
reads them (without its checks); (2) ``hit_images`` + ``hit_observables`` with the default ``HitImageSpec()`` on
the flattened arrays of every chunk (events without hits dropped first, as the stage does); (3) the stage
``rasterise_hits`` into temporary HDF5 files (read + checks + draw + truth + write). Each is the median of
``--repeat`` runs after one warm-up run. Without files, one shard per sample is simulated into a temporary folder
(``generate_hits_shard``). ``--wait-quiet M`` waits up to M minutes (polling every 30 s) for a 1-minute load
average below 1.0 before measuring. Results go to docs/benchmarks.md (section ``rasterise-hits``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from detcnn.generate.detector_sim import TRUTH
from detcnn.generate.lartpc.events import generate_hits_shard, shard_seed
from detcnn.generate.lartpc.settings import CLASS_NAMES, SAMPLES, SimSettings
from detcnn.io.events import TREE_NAME
from detcnn.physics.hit_images import HitImageSpec, hit_images
from detcnn.physics.hit_observables import hit_observables
from detcnn.rasterisers.hits import HIT_BRANCHES, HIT_FIELDS, rasterise_hits

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section
from _timing import median_time

READ_BRANCHES = [*HIT_BRANCHES, "label"]
QUIET_LOAD = 1.0  # 1-minute load average below which the machine counts as quiet
POLL_S = 30.0


def wait_quiet(minutes: float) -> tuple[bool, float, float]:
    """Poll the 1-minute load average every 30 s until it is below 1.0 or ``minutes`` have passed.

    Returns (quiet, load when measuring starts, seconds waited).
    """
    t0 = time.monotonic()
    load = os.getloadavg()[0]
    while load >= QUIET_LOAD and time.monotonic() - t0 < 60 * minutes:
        print(f"load average {load:.2f} >= {QUIET_LOAD}: waiting ({(time.monotonic() - t0) / 60:.1f} min)", flush=True)
        time.sleep(POLL_S)
        load = os.getloadavg()[0]
    return load < QUIET_LOAD, load, time.monotonic() - t0


def machine() -> str:
    """CPU model, logical cores and memory of this machine, in words."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = names[0] if names else model
    mem = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        mem = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    return f"{model}, {os.cpu_count()} logical cores{mem}, {platform.system()}, Python {platform.python_version()}"


def simulate(folder: Path, n_events: int, seed: int) -> list[Path]:
    """One shard of ``n_events`` per sample (nue_cc, numu_cc, nc) into ``folder``; returns the files."""
    files = []
    for sample in SAMPLES:
        path = folder / f"{sample}.root"
        t0 = time.perf_counter()
        generate_hits_shard(
            path, sample=sample, n_events=n_events, seed=shard_seed(seed, sample, 0), settings=SimSettings(),
            progress=False,
        )  # fmt: skip
        print(f"simulated {n_events} {sample} events in {time.perf_counter() - t0:.1f} s", flush=True)
        files.append(path)
    return files


def read_chunks(files: list[Path], step: int) -> list[ak.Array]:
    """The hit branches and ``label`` of every file, ``step`` events per chunk, as ``uproot.iterate`` gives them."""
    return [
        chunk
        for f in files
        for chunk in uproot.iterate(f"{f}:{TREE_NAME}", READ_BRANCHES, step_size=step, library="ak")
    ]


def flatten_chunk(chunk: ak.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Flat hit arrays ``{x, y, z, t, e, q, label}`` ``(n_hits,)`` and hits per event ``(n_events,)``, events
    without hits dropped (what ``rasterise_hits`` hands to ``hit_images``)."""
    counts = ak.to_numpy(ak.num(chunk["hit_x"])).astype(np.int64)
    sub = chunk[counts > 0]
    return {f: ak.to_numpy(ak.flatten(sub[f"hit_{f}"])) for f in HIT_FIELDS}, counts[counts > 0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*", type=Path, help="ROOT hit files (default: simulate --events per sample)")
    p.add_argument("--events", type=int, default=2000, help="events simulated per sample when no files are given")
    p.add_argument("--seed", type=int, default=1, help="base seed of the simulated shards")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--step", type=int, default=2000, help="events per chunk (the stage's chunk_events default)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="MIN", help="wait up to MIN minutes for load < 1")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    if a.repeat < 1 or a.events < 1 or a.step < 1:
        sys.exit(f"--repeat, --events and --step must be >= 1, got {a.repeat}, {a.events}, {a.step}")
    command = shlex.join(["python", "bench/bench_rasterise_hits.py", *sys.argv[1:]])

    with tempfile.TemporaryDirectory(prefix="bench_hits_") as tmp:
        tmp_dir = Path(tmp)
        files = a.files or simulate(tmp_dir, a.events, a.seed)
        quiet, load, waited = wait_quiet(a.wait_quiet)
        print(f"load average {load:.2f} after waiting {waited:.0f} s: measuring", flush=True)

        chunks = read_chunks(files, a.step)
        n_events = sum(len(c) for c in chunks)
        n_hits = sum(int(ak.sum(ak.num(c["hit_x"]))) for c in chunks)
        flat = [flatten_chunk(c) for c in chunks]
        spec = HitImageSpec()
        n_views = len(spec.views)

        def draw_all() -> None:
            for i, (hits, counts) in enumerate(flat):  # the noise: of the seed, event id and pixel
                images = hit_images(hits, counts, spec, np.arange(len(counts), dtype=np.uint64) + (i << 32), a.seed)
                charge = images.X[:, :: len(spec.channels)]
                visible = charge.reshape(len(charge), -1).max(axis=1) > 0
                hit_observables(charge[visible], spec.pitch_cm)

        lx, ly, lz = SimSettings().volume
        outputs = {s: tmp_dir / "out" / f"{s}.h5" for s in ("train", "val", "test")}
        stats: dict = {}

        def stage() -> None:
            result = rasterise_hits(
                files, outputs, spec=spec, class_names=CLASS_NAMES, split={"train": 0.7, "val": 0.15, "test": 0.15},
                seed=a.seed, config_hash="bench", dataset="bench", volume_cm=[[0.0, lx], [-ly / 2, ly / 2], [0.0, lz]],
                truth=TRUTH, step_size=a.step, progress=False,
            )  # fmt: skip
            stats.update(result)

        t_read = median_time(lambda: read_chunks(files, a.step), a.repeat, warmup=True)
        t_draw = median_time(draw_all, a.repeat, warmup=True)
        t_stage = median_time(stage, a.repeat, warmup=True)
        load_after = os.getloadavg()[0]
        n_written = sum(stats["per_split"].values())

    source = (
        f"{len(files)} files given on the command line"
        if a.files
        else f"simulated by `generate_hits_shard` (default `SimSettings()`), {a.events} events each of "
        f"{', '.join(SAMPLES)} (seed {a.seed}), into a temporary folder"
    )
    load_note = (
        f"1-minute load average {load:.2f} when measuring began (after waiting {waited:.0f} s), {load_after:.2f} at the end"
        if quiet
        else f"**not measured on a quiet machine** (no --wait-quiet): 1-minute load average {load:.2f} when measuring "
        f"began, {load_after:.2f} at the end, so other work shared the cores and the times are upper bounds"
        if a.wait_quiet <= 0
        else f"**the machine never got quiet**: after waiting {waited / 60:.0f} min the 1-minute load average was still "
        f"{load:.2f} (>= {QUIET_LOAD}), {load_after:.2f} at the end, so other work shared the cores and the times are "
        "upper bounds"
    )
    rows = [
        ("uproot: `uproot.iterate` of the hit branches and `label`", t_read),
        (f"detcnn: `hit_images` + `hit_observables` on the flat arrays, in memory ({n_views} views, 48x48)", t_draw),
        ("detcnn: the whole stage `rasterise_hits` (read + checks + draw + truth + write 3 HDF5 files)", t_stage),
    ]
    lines = "\n".join(f"| {w} | {t * 1e3:.1f} ms | {n_events / t:,.0f} | {t / t_read:.2f}x |" for w, t in rows)
    table = f"""
## Rasterise: detector hits

`{command}`: {machine()}; one process, median of {a.repeat} runs after a warm-up run, chunks of {a.step} events
(files in the page cache). Input: {source}; {n_events} events, {n_hits:,} hits ({n_hits / n_events:.0f} per event),
{n_written} events written by the stage. Images: the default `HitImageSpec()` (views {", ".join(spec.views)},
{spec.n_pix}x{spec.n_pix} pixels of {spec.pitch_cm} cm, charge, noise {spec.noise_ke} ke-, threshold {spec.threshold_ke} ke-).

| what | time | events/s | time / uproot read |
|---|---|---|---|
{lines}

- Drawing time / uproot read time: **{t_draw / t_read:.2f}x**; the whole stage: **{t_stage / t_read:.2f}x** the read alone.
- Note: {load_note}.
"""
    print(table)
    if not a.no_write:
        write_section("rasterise-hits", table)


if __name__ == "__main__":
    main()
