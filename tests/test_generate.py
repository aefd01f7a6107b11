"""Pythia + fastjet generation of a few jets: the selection, the file contract, reproducibility."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from detcnn.generate import seeding, smlm_sim
from detcnn.generate.lartpc import settings as lartpc_settings
from detcnn.generate.lartpc.events import shard_seed as lartpc_seed
from detcnn.generate.pythia_jets import RECIPE, JetSelection, generate_shard, shard_seed
from detcnn.io.events import JET_BRANCHES, PART_BRANCHES

N_JETS = 25


@pytest.fixture(scope="module")
def quark_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("gen") / "quark_0.root"
    stats = generate_shard(path, sample="quark", n_jets=N_JETS, seed=11, batch_size=100, progress=False)
    return path, stats


def test_jets_pass_the_selection(quark_file: tuple[Path, object]) -> None:
    path, stats = quark_file
    with uproot.open(path) as f:
        tree = f["events"]
        assert set(JET_BRANCHES) | set(PART_BRANCHES) <= set(tree.keys())
        arrays = tree.arrays(library="ak")
    sel = JetSelection()
    assert len(arrays) == N_JETS == stats.n_jets
    assert stats.n_events >= N_JETS and 0 < stats.kept_fraction <= 1
    assert np.all((arrays["jet_pt"] >= sel.pt_min) & (arrays["jet_pt"] <= sel.pt_max))
    assert np.all(np.abs(arrays["jet_eta"]) < sel.abs_y_max + 0.2)  # |y| < 1.7; eta is close to y for jets
    assert np.all(arrays["label"] == 1)
    # the constituents are the jet: their transverse-momentum vector sum is the jet pT
    px = ak.sum(arrays["part_pt"] * np.cos(arrays["part_phi"]), axis=1)
    py = ak.sum(arrays["part_pt"] * np.sin(arrays["part_phi"]), axis=1)
    np.testing.assert_allclose(np.hypot(px, py), arrays["jet_pt"], rtol=1e-4)
    # anti-kt jets are nearly cones of R = 0.4 in (y, phi); for constituents above 1 GeV eta ~ y,
    # (a soft massive hadron can sit far away in eta), and constituents come sorted by decreasing pT
    dphi = (arrays["part_phi"] - arrays["jet_phi"] + np.pi) % (2 * np.pi) - np.pi
    dr = np.hypot(arrays["part_eta"] - arrays["jet_eta"], dphi)
    assert ak.max(dr[arrays["part_pt"] > 1.0]) < 0.6
    inside = ak.sum(arrays["part_pt"] * (dr < 0.4), axis=1) / ak.sum(arrays["part_pt"], axis=1)
    assert ak.min(inside) > 0.97, "nearly all of each jet's pT lies within R of its axis"
    assert ak.all(arrays["part_pt"][:, :-1] >= arrays["part_pt"][:, 1:])
    # charges follow the PDG ids: photons neutral, charged pions charged
    pid, charge = ak.flatten(arrays["part_pid"]), ak.flatten(arrays["part_charge"])
    assert np.all(charge[pid == 22] == 0)
    assert np.all(charge[pid == 211] == 1) and np.all(charge[pid == -211] == -1)
    assert not np.any(np.isin(np.abs(pid), [12, 14, 16])), "neutrinos are invisible"


def test_pthat_is_the_hard_scale_of_each_jets_event(quark_file: tuple[Path, object]) -> None:
    """``pthat`` [GeV]: the event's generated pT-hat, inside the configured window, near the jet's pT."""
    with uproot.open(quark_file[0]) as f:
        pthat = f["events"]["pthat"].array(library="np")
        jet_pt = f["events"]["jet_pt"].array(library="np")
    assert pthat.dtype == np.float32 and len(np.unique(pthat)) == N_JETS, "one value per event"
    assert np.all((pthat >= RECIPE["pthat_min"]) & (pthat <= RECIPE["pthat_max"]))
    assert 0.85 < np.median(jet_pt / pthat) < 1.05, "the leading jet carries most of the recoiling parton's pT"


def test_same_seed_same_file(tmp_path: Path, quark_file: tuple[Path, object]) -> None:
    again = tmp_path / "again.root"
    generate_shard(again, sample="quark", n_jets=N_JETS, seed=11, batch_size=100, progress=False)
    with uproot.open(quark_file[0]) as a, uproot.open(again) as b:
        for branch in ("jet_pt", "part_pt", "part_pid"):
            assert ak.all(ak.flatten(a["events"][branch].array(), axis=None) ==
                          ak.flatten(b["events"][branch].array(), axis=None)), branch  # fmt: skip


def test_gluon_sample_and_seeds(tmp_path: Path) -> None:
    path = tmp_path / "gluon.root"
    generate_shard(path, sample="gluon", n_jets=5, seed=12, batch_size=100, progress=False)
    with uproot.open(path) as f:
        assert np.all(f["events"]["label"].array(library="np") == 0)
    seeds = {shard_seed(1, s, k) for s in ("quark", "gluon") for k in range(50)}
    assert len(seeds) == 100, "every (sample, shard) gets its own seed"


def test_shard_seeds_are_the_ones_the_files_were_made_with() -> None:
    """Pinned seeds (:mod:`detcnn.generate.seeding`): a change here changes every generated file."""
    assert [shard_seed(1, s, 3) for s in ("gluon", "quark")] == [1_000_007, 1_010_014]
    assert [shard_seed(123456789, s, 3) for s in ("gluon", "quark")] == [559_370_371, 559_380_378]  # mod 9e8
    assert [lartpc_seed(1, s, 3) for s in ("nue_cc", "numu_cc", "nc")] == [1_000_007, 1_010_014, 1_020_021]
    assert lartpc_seed(123456789, "nc", 3) == 123_457_159_390_385
    assert [smlm_sim.shard_seed(1, s, 3) for s in smlm_sim.SAMPLES] == [1_400_287, 1_410_294, 1_420_301, 1_430_308]
    assert seeding.shard_seed(1, 0, 0, 5) == (1_000_003 % 5) + 1 == 4


def test_numpy_sources_never_share_a_seed() -> None:
    """The detector and microscope simulations both seed numpy: their shards' seeds are disjoint."""
    lartpc = {lartpc_seed(b, s, k) for b in (0, 1, 7) for s in ("nue_cc", "numu_cc", "nc") for k in range(300)}
    smlm = {smlm_sim.shard_seed(b, s, k) for b in (0, 1, 7) for s in smlm_sim.SAMPLES for k in range(300)}
    assert len(lartpc) == 3 * 3 * 300 and len(smlm) == 3 * 4 * 300 and not lartpc & smlm
    assert min(smlm_sim.STREAMS.values()) > max(lartpc_settings.SAMPLES.values())
    with pytest.raises(ValueError, match=r"unknown sample 'top'; valid: \['gluon', 'quark'\]"):
        shard_seed(1, "top", 0)
    with pytest.raises(ValueError, match="unknown sample 'nue'"):
        smlm_sim.shard_seed(1, "nue", 0)


def test_bad_requests_fail_fast(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sample 'top'"):
        generate_shard(tmp_path / "x.root", sample="top", n_jets=1, seed=1)
    with pytest.raises(ValueError, match="n_jets must be positive"):
        generate_shard(tmp_path / "x.root", sample="quark", n_jets=0, seed=1)
    assert not (tmp_path / "x.root").exists()
