"""The quark/gluon systematic variations (issue 19) against the nominal Pythia recipe: per class, the relative
shift of the mean constituent multiplicity and of the mean jet mass, and the CPU seconds per selected jet.

    OMP_NUM_THREADS=1 python bench/bench_qg_variations.py --jets 200 --vincia-jets 30

Every sample is one ``generate_shard`` (initialisation and ROOT file included, CPU time of this process) at
the default window (pT-hat 320-925 GeV, leading jet 500-550 GeV, |y| < 1.7, R = 0.4), quark seed 11, gluon
seed 12 for every variation (the samples are statistically independent all the same: a changed setting
changes the random sequence). The observables are those of the image files (constituents' rapidity and
masses). Shifts are (varied - nominal) / nominal with the error of the two independent means. Prints a
Markdown table (for docs/studies.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import uproot

from detcnn.generate.pythia_jets import generate_shard
from detcnn.physics.observables import jet_observables
from detcnn.rasterisers.jets import chunk_arrays

VARIATIONS = {
    "nominal": [],
    "fsr_mur_down": ["TimeShower:renormMultFac = 0.25"],
    "fsr_mur_up": ["TimeShower:renormMultFac = 4.0"],
    "vincia": ["PartonShowers:model = 2"],
    "string_pt_up": ["StringPT:sigma = 0.45"],
}
SEEDS = {"quark": 11, "gluon": 12}
NAMES = ("n_constituents", "mass")


def sample(name: str, cls: str, n_jets: int, tmp: Path) -> tuple[float, dict[str, np.ndarray]]:
    """CPU seconds per selected jet and the observables ``{name: (n_jets,)}`` of one generated shard."""
    path = tmp / f"{name}_{cls}.root"
    t0 = time.process_time()
    generate_shard(path, sample=cls, n_jets=n_jets, seed=SEEDS[cls], settings=VARIATIONS[name], progress=False)
    cpu = time.process_time() - t0
    with uproot.open(path) as f:
        values = f["events"].arrays(["jet_eta", "jet_phi", "label", "part_pt", "part_eta", "part_phi",
                                     "part_charge", "part_m"], library="ak")  # fmt: skip
    arrays = chunk_arrays(values)
    keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi", "mt")
    obs = jet_observables("numpy", 0.4, **{k: arrays[k] for k in keys})
    return cpu / n_jets, {k: obs[k] for k in NAMES}


def shift(varied: np.ndarray, nominal: np.ndarray) -> str:
    """Relative shift of the mean [%] with its statistical error."""
    m0, m1 = nominal.mean(), varied.mean()
    err = np.hypot(varied.std(ddof=1) / np.sqrt(len(varied)), nominal.std(ddof=1) / np.sqrt(len(nominal)))
    return f"{100 * (m1 - m0) / m0:+.1f} ± {100 * err / m0:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jets", type=int, default=200, help="jets per class and variation")
    p.add_argument("--vincia-jets", type=int, default=30, help="jets per class for vincia (about 15x slower)")
    p.add_argument("--only", nargs="*", default=list(VARIATIONS), help="variations to run (nominal always)")
    a = p.parse_args()
    names = ["nominal", *[n for n in a.only if n != "nominal"]]
    results: dict[tuple[str, str], tuple[float, dict[str, np.ndarray]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for cls in SEEDS:
                n = a.vincia_jets if name == "vincia" else a.jets
                results[name, cls] = sample(name, cls, n, Path(tmp))
                cpu, obs = results[name, cls]
                means = ", ".join(f"{k} {v.mean():.2f}" for k, v in obs.items())
                print(f"# {name} {cls}: {n} jets, {cpu:.3f} CPU s per jet, {means}", flush=True)
    print("\n| variation | settings | jets per class | n_constituents gluon / quark [%] | mass gluon / quark [%] "
          "| CPU s per jet gluon / quark (x nominal) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name in names:
        nominal = {cls: results["nominal", cls] for cls in ("gluon", "quark")}
        cells = [" / ".join(shift(results[name, c][1][k], nominal[c][1][k]) for c in ("gluon", "quark")) for k in NAMES]
        cpu = " / ".join(f"{results[name, c][0]:.3f} ({results[name, c][0] / nominal[c][0]:.1f})"
                         for c in ("gluon", "quark"))  # fmt: skip
        n = len(results[name, "quark"][1]["mass"])
        print(f"| {name} | {'; '.join(VARIATIONS[name]) or '-'} | {n} | {cells[0]} | {cells[1]} | {cpu} |")


if __name__ == "__main__":
    main()
