"""Generation benchmark: events/s of the whole generate step (Pythia + fastjet + selection) against
Pythia alone, per sample, on one core.

    python bench/bench_generate.py --events 2000 --repeat 3

Both measure the same Pythia settings and seeds; "Pythia alone" is ``nextBatch`` and nothing else.
Results go to docs/benchmarks.md (section ``generate``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from detcnn.generate.pythia_jets import (
    JetSelection,
    generate_shard,
    leading_jets,
    make_pythia,
    pythia_settings,
    visible_final_state,
)

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section


def pythia_alone(sample: str, seed: int, n_events: int, batch: int) -> float:
    """Events/s of Pythia's ``nextBatch`` alone (initialisation excluded)."""
    pythia = make_pythia(pythia_settings(sample, seed, ecm=14000.0, pthat_min=450.0, pthat_max=600.0))
    t0 = time.perf_counter()
    done = 0
    while done < n_events:
        done += len(pythia.nextBatch(batch))
    return done / (time.perf_counter() - t0)


def full_chain(sample: str, seed: int, n_events: int, batch: int) -> tuple[float, float]:
    """Events/s and kept fraction of generate + select + cluster (initialisation excluded)."""
    pythia = make_pythia(pythia_settings(sample, seed, ecm=14000.0, pthat_min=450.0, pthat_max=600.0))
    t0 = time.perf_counter()
    done = kept = 0
    while done < n_events:
        events = pythia.nextBatch(batch)
        done += len(events)
        kept += len(leading_jets(visible_final_state(events), JetSelection())[0])
    return done / (time.perf_counter() - t0), kept / done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch", type=int, default=400)
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args()
    rows = []
    for sample in ("quark", "gluon"):
        alone = statistics.median(pythia_alone(sample, 100 + r, a.events, a.batch) for r in range(a.repeat))
        runs = [full_chain(sample, 100 + r, a.events, a.batch) for r in range(a.repeat)]
        full = statistics.median(r[0] for r in runs)
        kept = statistics.mean(r[1] for r in runs)
        rows.append((sample, alone, full, kept))
    # the whole step as the workflow runs it, writing the ROOT file included
    with tempfile.TemporaryDirectory() as tmp:
        stats = generate_shard(Path(tmp) / "q.root", sample="quark", n_jets=500, seed=7, progress=False)
    lines = "\n".join(
        f"| {s} | {alone:.0f} | {full:.0f} | **{full / alone:.0%}** | {kept:.1%} | {full * kept:.1f} |"
        for s, alone, full, kept in rows
    )
    table = f"""
## Generate (Pythia 8 + fastjet)

`python bench/bench_generate.py --events {a.events} --repeat {a.repeat}`: one core, median of {a.repeat} runs of
{a.events} events, pT-hat in [450, 600] GeV, leading jet pT in [500, 550] GeV and |y| < 1.7.

| sample | Pythia alone [events/s] | generate + cluster + select [events/s] | fraction of Pythia-alone rate | events kept | selected jets/s per core |
|---|---|---|---|---|---|
{lines}

Whole `generate_shard` (500 quark jets, ROOT file written, initialisation included):
{stats.n_jets / stats.total_seconds:.1f} jets/s, {stats.n_events / stats.total_seconds:.0f} events/s
({stats.n_events / stats.total_seconds / (stats.n_events / stats.pythia_seconds):.0%} of its own Pythia time).
"""
    print(table)
    if not a.no_write:
        write_section("generate", table)


if __name__ == "__main__":
    main()
