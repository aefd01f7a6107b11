"""Generator-window benchmark: which pT-hat window keeps >= 98 % of the jets of each class that end up in the
leading-jet window (pT in [500, 550] GeV, |y| < 1.7), and what each window costs.

    python bench/bench_generator_window.py --chunks 14

The reference (the recipe's settings, pT-hat in [250, 1200] GeV) is generated per class in two slices joined
with Pythia's cross section of each (:data:`SLICES`), in chunks of ``--chunk`` events, each saved to ``--out``
as soon as it is done (a rerun skips the chunks that are there): per event its pT-hat, per kept leading jet
(the recipe's selection) the event's pT-hat, jet pT and y. For every window [lo, hi] of a grid, per class: the
(cross-section weighted) fraction of the reference's kept jets whose pT-hat is inside, with its error, and the
generation cost, generated events per kept jet (the window's cross section over that of its kept jets: Pythia
samples pT-hat in [lo, hi] as the reference does). The chosen window is the cheapest (quark + gluon events per
jet) whose kept fraction minus its error is >= 98 % for both classes. Then the whole ``generate_shard`` is
timed at the old window (450-600) and at the chosen one, same seed, for the day's jets/s. Results go to
docs/benchmarks.md (section ``generator_window``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from detcnn.generate.pythia_jets import (
    RECIPE,
    JetSelection,
    generate_shard,
    leading_jets,
    make_pythia,
    pythia_settings,
    visible_final_state,
)
from detcnn.io.atomic import atomic_path

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section

SEED = 20190121  #: every chunk's Pythia seed derives from it (and the class, slice and chunk number)
SAMPLES = ("quark", "gluon")
#: The reference: pT-hat slices [GeV] generated apart and joined with their cross sections. ``main``: ``--chunks``
#: chunks per class; ``low``, where about one event in 1000 gives a jet in the window (its jets got a transverse
#: kick from initial-state radiation, more often in the quark process, qg -> Zq), a fixed number of events.
SLICES = {"main": (300.0, 1200.0), "low": (250.0, 300.0)}
LOW_EVENTS = {"quark": 32_000, "gluon": 8_000}
OLD = (450.0, 600.0)
LOWS = np.arange(250.0, 500.0 + 1, 10.0)
HIGHS = np.arange(550.0, 1200.0 + 1, 25.0)
TARGET = 0.98
SHOWN = [(450.0, 600.0), (400.0, 700.0), (350.0, 800.0), (300.0, 900.0), (250.0, 1200.0)]  #: always shown
BANDS = [(250, 275), (275, 300), (300, 325), (325, 350), (800, 900), (900, 1000), (1000, 1100), (1100, 1200)]
OUTER = [(250.0, 275.0), (1100.0, 1200.0)]  #: the reference's outermost bands, for :func:`outside`


def chunk_seed(sample: str, slice_name: str, chunk: int) -> int:
    """Pythia seed of one reference chunk (1 .. 9e8)."""
    return SEED + 1_000_000 * SAMPLES.index(sample) + 100_000 * list(SLICES).index(slice_name) + chunk


def reference_chunk(sample: str, slice_name: str, chunk: int, n_events: int, batch: int) -> dict[str, np.ndarray]:
    """Generate ``n_events`` events with pT-hat in the slice; return per event ``pthat_all`` [GeV], per kept
    leading jet ``pthat``, ``jet_pt`` [GeV] and ``jet_y``, and the chunk's ``seconds``, ``sigma_mb`` (Pythia's
    estimate of the slice's cross section [mb]) and its error ``sigma_err_mb``."""
    lo, hi = SLICES[slice_name]
    seed = chunk_seed(sample, slice_name, chunk)
    pythia = make_pythia(pythia_settings(sample, seed, ecm=RECIPE["ecm"], pthat_min=lo, pthat_max=hi))
    out: dict[str, list[np.ndarray]] = {"pthat_all": [], "pthat": [], "jet_pt": [], "jet_y": []}
    t0 = time.perf_counter()
    done = 0
    while done < n_events:
        events = pythia.nextBatch(batch)
        done += len(events)
        pthat = np.sqrt(ak.to_numpy(events.info.pT2Hat))
        kept, jets = leading_jets(visible_final_state(events), JetSelection())
        out["pthat_all"].append(pthat)
        out["pthat"].append(pthat[kept])
        out["jet_pt"].append(np.asarray(jets["jet_pt"]))
        out["jet_y"].append(np.asarray(jets["jet_y"]))
    arrays = {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}
    info = pythia.infoPython()
    return {**arrays, "seconds": np.array(time.perf_counter() - t0), "sigma_mb": np.array(info.sigmaGen()),
            "sigma_err_mb": np.array(info.sigmaErr())}  # fmt: skip


def load(out: Path, slice_name: str, sample: str) -> dict[str, np.ndarray]:
    """The saved chunks of one slice and class, concatenated (``seconds`` summed, cross sections averaged)."""
    parts = [dict(np.load(f)) for f in sorted(out.glob(f"{slice_name}_{sample}_*.npz"))]
    keys = ("pthat_all", "pthat", "jet_pt", "jet_y")
    if not parts:
        return {**{k: np.zeros(0, np.float32) for k in keys}, "seconds": np.array(0.0), "sigma_mb": np.array(0.0)}
    merged = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    merged["seconds"] = np.array(sum(float(p["seconds"]) for p in parts))
    merged["sigma_mb"] = np.array(np.mean([float(p["sigma_mb"]) for p in parts]))
    return merged


def _save_chunk(out: Path, sample: str, slice_name: str, chunk: int, chunk_events: int, batch: int) -> None:
    path = out / f"{slice_name}_{sample}_{chunk:03d}.npz"
    if path.exists():
        return
    arrays = reference_chunk(sample, slice_name, chunk, chunk_events, batch)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    total = load(out, slice_name, sample)
    print(f"{slice_name} {sample} chunk {chunk}: {len(arrays['pthat'])} jets of {len(arrays['pthat_all'])} events "
          f"in {float(arrays['seconds']):.0f} s; total {len(total['pthat'])} jets, {float(total['seconds']):.0f} s",
          flush=True)  # fmt: skip


def run_reference(out: Path, main_chunks: int, chunk_events: int, batch: int) -> None:
    """Generate ``main_chunks`` chunks of the ``main`` slice per class, alternating classes, then the ``low``
    slice's :data:`LOW_EVENTS` (resumes from the chunks in ``out``)."""
    for chunk in range(main_chunks):
        for sample in SAMPLES:
            _save_chunk(out, sample, "main", chunk, chunk_events, batch)
    for sample in SAMPLES:
        for chunk in range(-(-LOW_EVENTS[sample] // chunk_events)):
            _save_chunk(out, sample, "low", chunk, chunk_events, batch)


def _weights(slices: list[dict[str, np.ndarray]]) -> list[float]:
    """Each slice's weight per event: its cross section [mb] over its generated events."""
    return [float(s["sigma_mb"]) / max(len(s["pthat_all"]), 1) for s in slices]


def band_share(slices: list[dict[str, np.ndarray]], lo: float, hi: float) -> tuple[float, float]:
    """Share of the reference's (weighted) jets whose pT-hat is in [lo, hi), and its error (Poisson counts)."""
    weights = _weights(slices)
    w_all = sum(w * len(s["pthat"]) for w, s in zip(weights, slices, strict=True))
    counts = [int(np.count_nonzero((s["pthat"] >= lo) & (s["pthat"] < hi))) for s in slices]
    share = sum(w * k for w, k in zip(weights, counts, strict=True)) / w_all
    return share, float(np.sqrt(sum(w**2 * k for w, k in zip(weights, counts, strict=True)))) / w_all


def outside(slices: list[dict[str, np.ndarray]]) -> tuple[float, float]:
    """Extrapolated share of jets beyond the reference (relative to its jets) and its error: the share of each
    outermost band of :data:`OUTER`. At the edges the jets per band fall by about 2 per band, so everything
    beyond adds about as much as the last band (1/2 + 1/4 + ...)."""
    shares = [band_share(slices, lo, hi) for lo, hi in OUTER]
    return sum(s for s, _ in shares), float(np.hypot(*[e for _, e in shares]))


def window_stats(slices: list[dict[str, np.ndarray]], lo: float, hi: float) -> tuple[float, float, float]:
    """Kept fraction of the jets with pT-hat in [lo, hi] (the reference's jets, each slice's weighted by its
    cross section over its events, plus the extrapolated share :func:`outside` it), its error (Poisson counts
    per slice, the extrapolation's added), and the generated events per kept jet at that window (the window's
    cross section over its jets' cross section)."""
    weights = _weights(slices)
    inside = [int(np.count_nonzero((s["pthat"] >= lo) & (s["pthat"] <= hi))) for s in slices]
    total = [len(s["pthat"]) for s in slices]
    events = [int(np.count_nonzero((s["pthat_all"] >= lo) & (s["pthat_all"] <= hi))) for s in slices]
    w_in = sum(w * k for w, k in zip(weights, inside, strict=True))
    w_all = sum(w * n for w, n in zip(weights, total, strict=True))
    frac = w_in / w_all
    var = sum(w**2 * (k * (1 - frac) ** 2 + (n - k) * frac**2) for w, k, n in zip(weights, inside, total, strict=True))
    floor = min(w for w, n in zip(weights, total, strict=True) if n) / w_all  # one jet: never quote 0
    err = max(np.sqrt(var) / w_all, floor)
    tail, tail_err = outside(slices)
    kept = frac / (1 + tail)
    err = float(np.hypot(err / (1 + tail), frac * tail_err / (1 + tail) ** 2))
    return kept, err, sum(w * e for w, e in zip(weights, events, strict=True)) / w_in


def choose(refs: dict[str, list[dict[str, np.ndarray]]]) -> tuple[float, float]:
    """The cheapest window of the grid (sum over classes of events per jet) whose kept fraction minus its
    error is at least :data:`TARGET` for every class."""
    best, best_cost = None, np.inf
    for lo, hi in itertools.product(LOWS, HIGHS):
        stats = [window_stats(refs[s], lo, hi) for s in SAMPLES]
        if all(f - e >= TARGET for f, e, _ in stats) and sum(c for *_, c in stats) < best_cost:
            best, best_cost = (float(lo), float(hi)), sum(c for *_, c in stats)
    if best is None:
        raise RuntimeError("no window of the grid keeps enough jets: widen the grid or the reference")
    return best


def timed_rates(window: tuple[float, float], n_jets: int) -> dict[str, float]:
    """Selected jets per CPU second of the whole ``generate_shard`` (initialisation and ROOT file included) per
    class: CPU time, not wall time, because the machine may be shared."""
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sample in SAMPLES:
            t0 = time.process_time()
            stats = generate_shard(Path(tmp) / f"{sample}.root", sample=sample, n_jets=n_jets, seed=SEED,
                                   pthat_min=window[0], pthat_max=window[1], progress=False)  # fmt: skip
            rates[sample] = stats.n_jets / (time.process_time() - t0)
    return rates


def tail_shares(slices: list[dict[str, np.ndarray]]) -> str:
    """Share [%] of the reference's (weighted) jets in its outermost pT-hat bands, with the raw jet counts."""
    cells = []
    for a, b in BANDS:
        share, err = band_share(slices, a, b)
        n = sum(int(np.count_nonzero((s["pthat"] >= a) & (s["pthat"] < b))) for s in slices)
        cells.append(f"{a}-{b}: {100 * share:.2f} ± {100 * err:.2f} % ({n})")
    tail, tail_err = outside(slices)
    return ", ".join(cells) + f"; beyond 250-1200 (extrapolated): {100 * tail:.2f} ± {100 * tail_err:.2f} %"


def table(refs: dict[str, list[dict[str, np.ndarray]]], chosen: tuple[float, float]) -> str:
    """Markdown rows: kept fraction per class and events per kept jet relative to the old window."""
    old_cost = sum(window_stats(refs[s], *OLD)[2] for s in SAMPLES)
    rows = []
    for lo, hi in sorted(set(SHOWN) | {chosen}, key=lambda w: w[1] - w[0]):
        stats = [window_stats(refs[s], lo, hi) for s in SAMPLES]
        cells = " | ".join(f"{100 * f:.1f} ± {100 * e:.1f}" for f, e, _ in stats)
        costs = " / ".join(f"{c:.1f}" for *_, c in stats)
        mark = "**" if (lo, hi) == chosen else ""
        rel = sum(c for *_, c in stats) / old_cost
        rows.append(f"| {mark}{lo:.0f}-{hi:.0f}{mark} | {cells} | {costs} | {rel:.2f} |")
    return "\n".join(rows)


def sizes(refs: dict[str, list[dict[str, np.ndarray]]]) -> str:
    """Events, kept jets, CPU time and cross section of each slice."""
    out = []
    for sample in SAMPLES:
        for name, s in zip(SLICES, refs[sample], strict=True):
            out.append(f"{sample} {name} ({SLICES[name][0]:.0f}-{SLICES[name][1]:.0f}): {len(s['pthat_all']):,} "
                       f"events, {len(s['pthat']):,} jets, {float(s['seconds']) / 60:.1f} wall-min, "
                       f"σ = {1e9 * float(s['sigma_mb']):.3g} pb")  # fmt: skip
    return "; ".join(out)


def timing(rates: dict[tuple[float, float], dict[str, float]], n_jets: int) -> str:
    """Markdown table of the timed ``generate_shard`` runs."""
    if not rates:
        return ""
    rows = "\n".join(f"| {w[0]:.0f}-{w[1]:.0f} | {r['quark']:.1f} | {r['gluon']:.1f} |" for w, r in rates.items())
    return f"""

Whole `generate_shard` ({n_jets} jets per class, one process, seed {SEED}, initialisation and ROOT file included),
selected jets per CPU second:

| pT-hat window [GeV] | quark jets/s | gluon jets/s |
|---|---|---|
{rows}"""


def report(refs: dict[str, list[dict[str, np.ndarray]]], chosen: tuple[float, float], rates: dict, args) -> str:
    """The docs section."""
    tails = "\n".join(f"- {s}: {tail_shares(refs[s])}" for s in SAMPLES)
    return f"""
## Generator window (pT-hat)

`python bench/bench_generator_window.py --chunks {args.chunks} --chunk {args.chunk}`: reference pT-hat 250-1200 GeV in two slices
joined by cross section, the recipe's other settings, seeds from {SEED}; {sizes(refs)}.
Kept: the share of the reference's jets with leading-jet pT in [500, 550] GeV and |y| < 1.7 whose event
has pT-hat inside the window, the extrapolated share beyond the reference (below) added to the total;
cost: generated events per kept jet (quark / gluon), and their sum relative to 450-600. Chosen (bold):
the cheapest window of the grid (lo {LOWS[0]:.0f}-{LOWS[-1]:.0f} step 10, hi {HIGHS[0]:.0f}-{HIGHS[-1]:.0f} step 25) with kept − error ≥ {TARGET:.0%} for both classes.

| pT-hat window [GeV] | quark kept [%] | gluon kept [%] | events per kept jet | cost relative to 450-600 |
|---|---|---|---|---|
{table(refs, chosen)}

Share of the reference's jets in its outermost pT-hat bands [GeV] (jets counted):
{tails}{timing(rates, args.timing_jets)}
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chunks", type=int, default=14, help="chunks per class of the main slice")
    p.add_argument("--chunk", type=int, default=4000, help="events per saved reference chunk")
    p.add_argument("--batch", type=int, default=RECIPE["batch_size"])
    p.add_argument("--out", type=Path, default=Path("results/bench/generator_window"))
    p.add_argument("--timing-jets", type=int, default=200, help="jets per class of the timed runs; 0: none")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    run_reference(a.out, a.chunks, a.chunk, a.batch)
    refs = {s: [load(a.out, name, s) for name in SLICES] for s in SAMPLES}
    chosen = choose(refs)
    rates = {w: timed_rates(w, a.timing_jets) for w in (OLD, chosen)} if a.timing_jets else {}
    text = report(refs, chosen, rates, a)
    print(text)
    if not a.no_write:
        write_section("generator_window", text)


if __name__ == "__main__":
    main()
