"""Rasteriser benchmark: detcnn against energyflow's ``pixelate`` on the same jets, against the time uproot
takes just to read the same files, and the cost of reading another layout through expressions and a
selection (the same jets rewritten JetClass-like: constituents relative to the jet, one-hot labels).

    python bench/bench_rasterise.py results/events/qg/*.root

energyflow 1.4 does not import under numpy 2 (its ``wasserstein`` dependency), so its
``energyflow/utils/image_utils.py`` is loaded on its own: ``pip install --no-deps energyflow==1.4.0``.
Results go to docs/benchmarks.md (section ``rasterise``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import itertools
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import uproot

from detcnn.io.events import read_chunks, write_events
from detcnn.physics.jet_images import ImageSpec, centre_coordinates, jet_images
from detcnn.rasterisers.jets import NEEDED, chunk_arrays, contract_map, rasterise_chunk

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section
from _timing import median_time


def load_pixelate():
    spec = importlib.util.find_spec("energyflow")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("energyflow is not installed: pip install --no-deps energyflow==1.4.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "utils" / "image_utils.py"
    mod_spec = importlib.util.spec_from_file_location("ef_image_utils", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module.pixelate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--ef-jets", type=int, default=3000, help="jets given to energyflow (it is slow)")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    load_before = os.getloadavg()[0]
    read = [*NEEDED, "part_m"]  # what the rasteriser reads of our own layout

    def read_only() -> list:
        return [uproot.open(f)["events"].arrays(read) for f in a.files]

    t_read = median_time(read_only, a.repeat)
    ours = contract_map(None, None)
    values = [v for f in a.files for v, _ in read_chunks(f, ours, step_size=10**9)]
    chunks = [chunk_arrays(v) for v in values]
    n_jets = sum(len(c["counts"]) for c in chunks)
    spec = ImageSpec()

    def rasterise_all(backend: str = "auto") -> None:
        for c in chunks:
            rasterise_chunk(c, spec, backend)

    def images_all() -> None:  # from the read arrays: rapidity, flattening, images and observables
        for v in values:
            rasterise_chunk(chunk_arrays(v), spec)

    def read_and_rasterise() -> None:
        for f in a.files:
            for v, _ in read_chunks(f, ours, step_size=10**9):
                rasterise_chunk(chunk_arrays(v), spec)

    rasterise_all()  # compile the numba kernels (cached on disk afterwards)
    t_ras = median_time(rasterise_all, a.repeat)
    t_img = median_time(images_all, a.repeat)
    t_numpy = median_time(lambda: rasterise_all("numpy"), a.repeat)
    t_full = median_time(read_and_rasterise, a.repeat)

    # The same jets in a JetClass-like layout, read back through expressions and a selection.
    tmp = Path(tempfile.mkdtemp(prefix="bench-jetclass-"))
    jetclass_files = []
    for k, f in enumerate(a.files):
        arr = uproot.open(f)["events"].arrays([*read, "jet_pt"])
        out = tmp / f"jetclass_{k}.root"
        write_events(out, {"jet_pt": arr["jet_pt"], "jet_eta": arr["jet_eta"], "jet_phi": arr["jet_phi"],
                           "label_QCD": np.asarray(arr["label"] == 0, np.int32),
                           "label_Zqq": np.asarray(arr["label"] == 1, np.int32),
                           "part_pt": arr["part_pt"], "part_deta": arr["part_eta"] - arr["jet_eta"],
                           "part_dphi": arr["part_phi"] - arr["jet_phi"], "part_mass": arr["part_m"],
                           "part_charge": arr["part_charge"]}, tree="tree")  # fmt: skip
        jetclass_files.append(out)
    mapping = {"part_eta": "part_deta + jet_eta", "part_phi": "part_dphi + jet_phi", "part_m": "part_mass",
               "label": "label_QCD == 0"}  # fmt: skip
    theirs = contract_map(mapping, "jet_pt > 0")

    def read_expressions() -> None:
        for f in jetclass_files:
            for _ in read_chunks(f, theirs, tree="tree", step_size=10**9):
                pass

    def read_ours() -> None:
        for f in a.files:
            for _ in read_chunks(f, ours, step_size=10**9):
                pass

    t_expr = median_time(read_expressions, a.repeat)
    t_ours = median_time(read_ours, a.repeat)
    for f in jetclass_files:
        f.unlink()
    tmp.rmdir()

    # Same jets, same centring convention: both get coordinates already centred on the pT-weighted
    # centroid (energyflow then snaps that centroid to the central pixel, which is where it already is).
    pixelate = load_pixelate()
    c = chunks[0]
    n_ef = min(a.ef_jets, len(c["counts"]))
    sel_counts = c["counts"][:n_ef]
    n_const = int(sel_counts.sum())
    pt, eta, phi, q = (c[k][:n_const] for k in ("pt", "eta", "phi", "charge"))
    x, y = centre_coordinates(pt, eta, phi, sel_counts, c["jet_phi"][:n_ef])
    pid = np.where(q != 0, 211, 22)  # energyflow counts charge through a pid table
    offsets = np.concatenate([[0], np.cumsum(sel_counts)])
    jets = [np.stack([pt[i:j], x[i:j], y[i:j], pid[i:j]], axis=1) for i, j in itertools.pairwise(offsets)]

    def ef_all() -> np.ndarray:
        return np.stack(
            [pixelate(j, npix=33, img_width=0.8, nb_chan=2, norm=False, charged_counts_only=True) for j in jets]
        )

    t_ef = median_time(ef_all, max(1, a.repeat // 2))
    ef_images = ef_all().transpose(0, 3, 1, 2)  # (n, phi, y, ch) -> (n, ch, row=phi, col=y)
    same = ImageSpec(channels=("total_pt", "charged_multiplicity"), rotate=False, flip=False)
    ours, _ = jet_images(pt, x, y, q, sel_counts, np.zeros(n_ef), same)
    max_diff = float(np.max(np.abs(ours - ef_images)))
    rel_pt = max_diff / float(np.max(ef_images[:, 0]))
    ef_rate = n_ef / t_ef
    our_rate = n_jets / t_ras
    table = f"""
## Rasterise (jets)

`python bench/bench_rasterise.py {" ".join(str(f) for f in a.files)}` ({platform.processor() or platform.machine()},
one process, median of {a.repeat} runs; {datetime.date.today()}, 1-minute load average {load_before:.2f} before and
{os.getloadavg()[0]:.2f} after: 1 means the other core was busy). {n_jets} jets, {sum(len(ch["pt"]) for ch in chunks)} constituents.

| what | time | jets/s |
|---|---|---|
| uproot: read the branches only | {t_read * 1e3:.1f} ms | {n_jets / t_read:,.0f} |
| detcnn: read our own layout (`read_chunks`: the same branches, NaN checks) | {t_ours * 1e3:.1f} ms | {n_jets / t_ours:,.0f} |
| detcnn: read a JetClass-like copy: 4 expressions (`part_deta + jet_eta`, `label_QCD == 0`, ...) and a selection | {t_expr * 1e3:.1f} ms | {n_jets / t_expr:,.0f} |
| detcnn: images (3 channels, centre + rotate + flip) and observables, in memory (numba kernels) | {t_ras * 1e3:.1f} ms | {our_rate:,.0f} |
| detcnn: the image stage from the read arrays (rapidity, flattening, images, observables) | {t_img * 1e3:.1f} ms | {n_jets / t_img:,.0f} |
| the same with the numpy reference implementation | {t_numpy * 1e3:.1f} ms | {n_jets / t_numpy:,.0f} |
| detcnn: read + images + observables | {t_full * 1e3:.1f} ms | {n_jets / t_full:,.0f} |
| energyflow 1.4 `pixelate`, one jet at a time ({n_ef} jets, 2 channels, no rotation) | {t_ef * 1e3:.1f} ms | {ef_rate:,.0f} |

- Rasterise time / uproot read time: **{t_ras / t_read:.2f}x** (the image stage from the read arrays:
  **{t_img / t_read:.2f}x**; read + rasterise: {t_full / t_read:.2f}x the read alone).
- Expressions and selection: the JetClass-like read takes **{t_expr / t_read:.2f}x** uproot's read of our own
  layout ({t_expr / t_ours:.2f}x our reader on our layout).
- Speed-up over energyflow: **{our_rate / ef_rate:.0f}x** in jets/s (detcnn doing more work per jet).
- Agreement with energyflow under the same centring (pT-weighted centroid, no rotation or flip), channels total pT and
  charged multiplicity: max |difference| = {max_diff:.2e} (relative to the largest pixel: {rel_pt:.1e}).
"""
    print(table)
    if not a.no_write:
        write_section("rasterise", table)


if __name__ == "__main__":
    main()
