"""Figures that check the liquid-argon simulation against the PDG and NIST tables, and example events.

    python bench/plot_detector_physics.py [--out docs/figures] [--doc docs/detector_sim.md]

Writes ``sim_*.png`` into ``--out`` and prints a markdown section with the numbers; with ``--doc`` it also
replaces the section between ``<!-- sim-checks:start -->`` and ``<!-- sim-checks:end -->`` in that file.
Runs in about 20 s on one core.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from pathlib import Path

import awkward as ak
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from detcnn.generate.lartpc.events import simulate_events
from detcnn.generate.lartpc.settings import CLASS_NAMES, SAMPLES, SimSettings
from detcnn.generate.lartpc.showers import em_showers
from detcnn.generate.lartpc.tracks import SPECIES, propagate_tracks
from detcnn.physics import argon

ROOT = Path(__file__).resolve().parents[1]
# PDG muon CSDA range in LAr (Groom, Mokhov, Striganov, ADNDT 78 (2001) 183; pdg.lbl.gov/2012/
# AtomicNuclearProperties/MUON_ELOSS_TABLES/muonloss_289.pdf, as in LArSoft's TrackMomentumCalculator).
PDG_MUON_KE = np.array([10, 14, 20, 30, 40, 80, 100, 140, 200, 300, 400, 800, 1000, 1400, 2000, 3000, 4000.0])
PDG_MUON_RANGE = np.array(
    [
        0.9833,
        1.786,
        3.321,
        6.598,
        10.58,
        30.84,
        42.50,
        67.32,
        106.3,
        172.5,
        238.5,
        493.4,
        616.3,
        855.2,
        1202,
        1758,
        2297,
    ]
)
# NIST PSTAR proton CSDA range in argon (physics.nist.gov/PhysRefData/Star/Text/PSTAR.html), [MeV] -> [g/cm^2].
PSTAR_KE = np.array([10, 15, 20, 30, 40, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 1000, 1500, 2000.0])
PSTAR_RANGE = np.array(
    [0.1887, 0.3823, 0.6335, 1.296, 2.159, 7.375, 10.92, 22.15, 36.27, 52.82, 71.44, 91.84, 113.8, 137.0, 161.4,
     445.4, 762.6, 1090]
)  # fmt: skip
HUGE_LO, HUGE_HI = SimSettings(volume=(2e5, 2e5, 2e5)).bounds
ORIGIN = np.array([1e5, 0.0, 0.0])
COLOURS = {1: "tab:blue", 2: "tab:red", 0: "tab:gray"}
SPECIES_MASS = {"muon": argon.M_MUON, "pion": argon.M_PION, "proton": argon.M_PROTON}


def along_z(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(ORIGIN, (n, 1)), np.tile([0.0, 0.0, 1.0], (n, 1))


def range_figure(out: Path, rng: np.random.Generator) -> dict[str, float]:
    fig, (ax, rax) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    worst = {}
    for name, ke, table, marker in (
        ("muon", PDG_MUON_KE, PDG_MUON_RANGE, "o"),
        ("proton", PSTAR_KE, PSTAR_RANGE, "s"),
    ):
        n = 20
        kinetic = np.repeat(ke, n)
        start, direction = along_z(len(kinetic))
        species = np.full(len(kinetic), SPECIES[name])
        tracks = propagate_tracks(start, direction, kinetic, species, rng, lo=HUGE_LO, hi=HUGE_HI, step=0.5)
        sim = tracks.path.reshape(len(ke), n).mean(axis=1)
        ref = table / argon.DENSITY
        grid = np.geomspace(ke[0], ke[-1], 200)
        ax.loglog(grid, argon.csda_range(grid, SPECIES_MASS[name]), lw=0.8, color="gray")
        ax.loglog(ke, ref, marker, mfc="none", label=f"{name}: {'PDG (GMS 2001)' if name == 'muon' else 'NIST PSTAR'}")
        ax.loglog(ke, sim, "+", ms=9, label=f"{name}: simulated path length")
        rax.semilogx(ke, sim / ref, marker + "-", mfc="none", label=name)
        sel = ke >= 30
        worst[name] = float(np.max(np.abs(sim[sel] / ref[sel] - 1)))
    ax.set_ylabel("CSDA range in liquid argon [cm]")
    ax.legend(fontsize=8)
    rax.axhline(1, color="gray", lw=0.8)
    rax.set_ylim(0.95, 1.05)
    rax.set_xlabel("kinetic energy [MeV]")
    rax.set_ylabel("sim / table")
    fig.tight_layout()
    fig.savefig(out / "sim_muon_range.png", dpi=120)
    plt.close(fig)
    return worst


def bragg_figure(out: Path, rng: np.random.Generator) -> dict[str, float]:
    fig, ax = plt.subplots(figsize=(6, 4))
    numbers = {}
    for name, kinetic, colour in (("muon", 250.0, "tab:blue"), ("proton", 250.0, "tab:red")):
        n = 300
        start, direction = along_z(n)
        species = np.full(n, SPECIES[name])
        tracks = propagate_tracks(start, direction, np.full(n, kinetic), species, rng, lo=HUGE_LO, hi=HUGE_HI)
        dep = tracks.deposits
        residual = tracks.path[dep.owner] - dep.path
        few = dep.owner < 10
        ax.plot(residual[few], dep.dedx[few], ".", ms=2, color=colour, alpha=0.4)
        bins = np.linspace(0, 60, 121)
        which = np.digitize(residual, bins) - 1
        ok = (which >= 0) & (which < len(bins) - 1)
        mean = np.bincount(which[ok], weights=dep.dedx[ok], minlength=len(bins) - 1)
        count = np.bincount(which[ok], minlength=len(bins) - 1)
        centre = 0.5 * (bins[1:] + bins[:-1])
        ax.plot(
            centre[count > 0], (mean / np.maximum(count, 1))[count > 0], "-", color=colour, label=f"{name} (sim mean)"
        )
        rr = np.linspace(0.25, 60, 300)
        mass = SPECIES_MASS[name]
        ax.plot(rr, argon.bethe_dedx(argon.kinetic_from_range(rr, mass), mass), "--", color="k", lw=0.8)
        near_end = (residual > 2.0) & (residual < 4.0)
        numbers[name] = float(dep.dedx[near_end].mean())
        numbers[f"{name}_bethe"] = float(np.diff(argon.kinetic_from_range(np.array([2.0, 4.0]), mass))[0] / 2.0)
    ax.plot([], [], "--", color="k", lw=0.8, label="Bethe dE/dx(T(residual range))")
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 30)
    ax.set_xlabel("residual range [cm]")
    ax.set_ylabel("dE/dx per 0.5 cm step [MeV/cm]")
    ax.set_title("250 MeV muons and protons: the Bragg peak")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sim_bragg.png", dpi=120)
    plt.close(fig)
    return numbers


def shower_figures(out: Path, rng: np.random.Generator) -> dict[str, float]:
    energies = np.array([100.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0])
    n = 100
    results = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for photon, marker, c, colour in ((False, "o", -0.5, "tab:blue"), (True, "s", 0.5, "tab:red")):
        energy = np.repeat(energies, n)
        start, direction = along_z(len(energy))
        flag = np.full(len(energy), photon)
        showers = em_showers(start, direction, energy, flag, rng, lo=HUGE_LO, hi=HUGE_HI, granularity=5.0)
        dep = showers.deposits
        depth = (dep.pos[:, 2] - ORIGIN[2] - showers.conversion[dep.owner]) / argon.X0_CM
        group = dep.owner // n
        mean = np.bincount(group, weights=dep.e * depth) / np.bincount(group, weights=dep.e)
        label = "photon (from the conversion point)" if photon else "electron"
        ax.semilogx(energies, mean, marker, mfc="none", color=colour, label=f"{label}: simulated")
        ax.semilogx(energies, np.log(energies / argon.CRITICAL_ENERGY) + c + 2.0, "--", lw=0.8, color=colour)
        slope = np.polyfit(np.log(energies[2:]), mean[2:], 1)[0]
        results["photon" if photon else "electron"] = float(slope)
        results[f"{'photon' if photon else 'electron'}_offset"] = float(
            np.mean(mean[2:] - np.log(energies[2:] / argon.CRITICAL_ENERGY))
        )
    ax.plot([], [], "--", color="k", lw=0.8, label="PDG: ln(E/E_c) + C_j + 1/b (the MIP trunk pulls low E down)")
    ax.set_xlabel("energy [MeV]")
    ax.set_ylabel("energy-weighted mean depth [X0]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sim_shower_depth.png", dpi=120)
    plt.close(fig)

    m = 20_000
    start, direction = along_z(m)
    showers = em_showers(start, direction, np.full(m, 200.0), np.ones(m, bool), rng, lo=HUGE_LO, hi=HUGE_HI)
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 100, 51)
    ax.hist(showers.conversion, bins=bins, histtype="step", label=f"simulated, mean {showers.conversion.mean():.2f} cm")
    x = 0.5 * (bins[1:] + bins[:-1])
    lam = argon.CONVERSION_LENGTH_CM
    ax.plot(x, m * (bins[1] - bins[0]) / lam * np.exp(-x / lam), "k--", lw=0.8, label=f"exp(-d / {lam:.1f} cm)")
    ax.set_yscale("log")
    ax.set_xlabel("photon conversion distance [cm]")
    ax.set_ylabel("photons")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sim_conversion.png", dpi=120)
    plt.close(fig)
    results["conversion_mean"] = float(showers.conversion.mean())
    return results


def mip_numbers(rng: np.random.Generator) -> dict[str, float]:
    """Mean and most probable dE/dx of 0.5 cm steps of minimum-ionising muons (p = 0.37 GeV/c)."""
    n = 10_000
    start, direction = along_z(n)
    kinetic = np.full(n, math.hypot(370.0, argon.M_MUON) - argon.M_MUON)
    tracks = propagate_tracks(
        start, direction, kinetic, np.zeros(n, int), rng, lo=HUGE_LO, hi=HUGE_HI, max_path=np.full(n, 5.0)
    )
    hist, edges = np.histogram(tracks.deposits.dedx, bins=np.arange(0.0, 5.0, 0.05))
    return {"mean": float(tracks.deposits.e.sum() / tracks.path.sum()), "mode": float(edges[hist.argmax()] + 0.025)}


def highland_figure(out: Path, rng: np.random.Generator) -> dict[str, float]:
    n, length, p = 20_000, 5.0, 1000.0
    start, direction = along_z(n)
    kinetic = np.full(n, math.hypot(p, argon.M_MUON) - argon.M_MUON)
    tracks = propagate_tracks(
        start, direction, kinetic, np.zeros(n, int), rng, lo=HUGE_LO, hi=HUGE_HI, max_path=np.full(n, length)
    )
    theta = np.arctan2(tracks.direction[:, 0], tracks.direction[:, 2]) * 1000.0
    beta = p / math.hypot(p, argon.M_MUON)
    theta0 = float(argon.highland_theta0(length, p, beta)) * 1000.0
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(-4 * theta0, 4 * theta0, 61)
    ax.hist(theta, bins=bins, histtype="step", label=f"simulated, RMS {theta.std():.2f} mrad")
    x = 0.5 * (bins[1:] + bins[:-1])
    gauss = n * (bins[1] - bins[0]) / (theta0 * math.sqrt(2 * math.pi)) * np.exp(-0.5 * (x / theta0) ** 2)
    ax.plot(x, gauss, "k--", lw=0.8, label=f"Highland theta_0 = {theta0:.2f} mrad")
    ax.set_xlabel("projected angle after 5 cm, 1 GeV/c muon [mrad]")
    ax.set_ylabel("muons")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sim_highland.png", dpi=120)
    plt.close(fig)
    return {"rms": float(theta.std()), "theta0": theta0}


def event_figure(out: Path, settings: SimSettings) -> dict[str, dict[str, float]]:
    per_class = 2
    fig, axes = plt.subplots(len(SAMPLES), 2 * per_class, figsize=(16, 10))
    stats = {}
    for row, (sample, label) in enumerate(SAMPLES.items()):
        rng = np.random.default_rng(100 + label)
        events = simulate_events(sample, 400, rng, settings)
        n_hits = ak.num(events["hit_e"])
        stats[sample] = {"hits": float(ak.mean(n_hits)), "dep": float(np.mean(events["dep_energy"]))}
        # pick events with a few GeV visible so the pictures show something
        chosen = np.flatnonzero(events["dep_energy"] > 0.5)[:per_class]
        for k, ev in enumerate(chosen):
            x, y, z = (ak.to_numpy(events[f"hit_{a}"][ev]) for a in "xyz")
            e = ak.to_numpy(events["hit_e"][ev])
            lab = ak.to_numpy(events["hit_label"][ev])
            colours = np.array([COLOURS[int(v)] for v in lab])
            size = 1.0 + 400.0 * e
            for j, (h, name) in enumerate(((x, "x (drift) [cm]"), (y, "y [cm]"))):
                ax = axes[row, 2 * k + j]
                ax.scatter(z, h, s=size, c=colours, lw=0)
                zc, hc = 0.5 * (z.min() + z.max()), 0.5 * (h.min() + h.max())
                half = 0.55 * max(z.max() - z.min(), h.max() - h.min(), 20.0)
                ax.set_xlim(zc - half, zc + half)
                ax.set_ylim(hc - half, hc + half)
                ax.set_aspect("equal")
                ax.set_xlabel("z (beam) [cm]", fontsize=8)
                ax.set_ylabel(name, fontsize=8)
                ax.tick_params(labelsize=7)
                ax.set_title(
                    f"{CLASS_NAMES[label]}: E_nu {events['nu_energy'][ev]:.2f} GeV, "
                    f"{events['n_proton'][ev]}p {events['n_pion'][ev]}pi {events['n_pi0'][ev]}pi0",
                    fontsize=8,
                )
    handles = [
        plt.Line2D([], [], ls="", marker="o", color=COLOURS[v], label=t) for v, t in ((1, "track"), (2, "shower"))
    ]
    fig.legend(handles=handles, loc="upper right")
    fig.tight_layout()
    fig.savefig(out / "sim_events.png", dpi=110)
    plt.close(fig)
    return stats


def speed(settings: SimSettings) -> dict[str, float]:
    rates = {}
    for sample in SAMPLES:
        rng = np.random.default_rng(1)
        t0 = time.perf_counter()
        simulate_events(sample, 2000, rng, settings)
        rates[sample] = 2000 / (time.perf_counter() - t0)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--doc", type=Path, default=None, help="markdown file whose sim-checks section is replaced")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    settings = SimSettings()
    worst = range_figure(args.out, rng)
    bragg = bragg_figure(args.out, rng)
    shower = shower_figures(args.out, rng)
    highland = highland_figure(args.out, rng)
    events = event_figure(args.out, settings)
    rates = speed(settings)
    mip = mip_numbers(rng)
    rows = "\n".join(
        f"| {CLASS_NAMES[SAMPLES[s]]} | {events[s]['hits']:.0f} | {events[s]['dep']:.2f} | {rates[s]:.0f} |"
        for s in SAMPLES
    )
    md = f"""\
| check | simulated | reference |
|---|---|---|
| muon CSDA range, 30 MeV - 4 GeV (`sim_muon_range.png`) | within {100 * worst["muon"]:.1f} % | PDG table (Groom et al. 2001) |
| proton CSDA range, 30 MeV - 2 GeV | within {100 * worst["proton"]:.1f} % | NIST PSTAR |
| mean dE/dx, muon at p = 0.37 GeV/c (minimum ionising) | {mip["mean"]:.3f} MeV/cm | 1.508 MeV cm²/g × 1.396 = 2.105 MeV/cm |
| most probable dE/dx of 0.5 cm steps, same muons | {mip["mode"]:.2f} MeV/cm | Landau Δp/x = 1.65 MeV/cm (PDG) |
| mean dE/dx at 2-4 cm residual range, muon / proton (`sim_bragg.png`) | {bragg["muon"]:.2f} / {bragg["proton"]:.2f} MeV/cm | CSDA (T(4 cm) - T(2 cm)) / 2 cm: {bragg["muon_bethe"]:.2f} / {bragg["proton_bethe"]:.2f} MeV/cm |
| electron shower mean depth vs ln E, slope (0.5-8 GeV) | {shower["electron"]:.3f} | 1 |
| electron mean depth − ln(E/E_c) | {shower["electron_offset"]:.2f} X0 | C_e + 1/b = 1.5 X0 |
| photon mean depth (after conversion) − ln(E/E_c) | {shower["photon_offset"]:.2f} X0 | C_γ + 1/b = 2.5 X0 |
| mean photon conversion distance (`sim_conversion.png`) | {shower["conversion_mean"]:.2f} cm | 9/7 X0 = 18.0 cm |
| RMS projected angle, 1 GeV/c muon after 5 cm (`sim_highland.png`) | {highland["rms"]:.2f} mrad | Highland {highland["theta0"]:.2f} mrad |

| class | hits / event | deposited energy [GeV] | events/s (simulation, 1 core) |
|---|---|---|---|
{rows}
"""
    print(md)
    if args.doc is not None:
        start, end = "<!-- sim-checks:start -->", "<!-- sim-checks:end -->"
        text = args.doc.read_text()
        block = f"{start}\n{md.strip()}\n{end}"
        args.doc.write_text(re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S))


if __name__ == "__main__":
    main()
