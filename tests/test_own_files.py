"""Users' own ROOT files as experiments write them: files written by ROOT (tests/data, see PROVENANCE.md) read
through a tree name, expressions, a selection and several jets per event; a JetClass-like file built here;
bad files failing in one line or skipped; rapidity and massive constituents."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest

from detcnn.errors import ConfigError, InputError
from detcnn.io.events import BadFile, write_events
from detcnn.io.expressions import BranchMap
from detcnn.physics.jet_images import ImageSpec
from detcnn.physics.kinematics import rapidity
from detcnn.rasterisers.jets import rasterise_jets
from detcnn.rasterisers.jets_per_event import JetsPerEvent, explode
from tests.conftest import make_jets

DATA = Path(__file__).parent / "data"
NANO = DATA / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
HZZ = DATA / "uproot-HZZ.root"
SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2}


def run(tmp_path: Path, files: list[Path], **kw: object) -> dict:
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    args = {"spec": ImageSpec(n_pix=16), "split": SPLIT, "seed": 3, "config_hash": "t", "dataset": "own",
            "progress": False, **kw}  # fmt: skip
    return rasterise_jets(files, outputs, **args)


def images(tmp_path: Path) -> dict[str, np.ndarray]:
    out = {}
    for s in ("train", "val", "test"):
        with h5py.File(tmp_path / f"{s}.h5", "r") as f:
            out[s] = f["X"][...]
    return out


def n_images(tmp_path: Path) -> int:
    return sum(len(x) for x in images(tmp_path).values())


# ------------------------------------------------------------------------------ files written by ROOT
QUARK = "(abs(Jet_partonFlavour[:, 0]) >= 1) & (abs(Jet_partonFlavour[:, 0]) <= 5)"
EVENT_IMAGES = {"jet_eta": "Jet_eta[:, 0]", "jet_phi": "Jet_phi[:, 0]", "label": QUARK, "part_pt": "Jet_pt",
                "part_eta": "Jet_eta", "part_phi": "Jet_phi", "part_m": "Jet_mass",
                "part_charge": "0 * Jet_pt"}  # fmt: skip


def test_nanoaod_events_as_images_of_their_jets(tmp_path: Path) -> None:
    """CMS NanoAOD (tree Events): one image per event with a jet, its jets drawn around the leading one;
    every contract name an expression, the selection before them (Jet_eta[:, 0] needs nJet >= 1)."""
    import uproot

    branches = EVENT_IMAGES
    stats = run(tmp_path, [NANO], tree="Events", selection="nJet >= 1", branches=branches)
    n_jet = uproot.open(NANO)["Events"]["nJet"].array(library="np")
    assert n_images(tmp_path) == int(np.sum(n_jet >= 1)) == 186
    assert stats["entries_read"] == 200 and stats["kept_fraction"] == pytest.approx(186 / 200)
    assert stats["n_constituents"] == int(n_jet.sum())


def test_nanoaod_jets_per_event_with_linked_constituents(tmp_path: Path) -> None:
    """Several jets per event, constituents linked by an index branch (Muon_jetIdx): one image per jet of
    the leading two above 20 GeV that holds a muon, as counted here with plain awkward."""
    import uproot

    branches = {"jet_eta": "Jet_eta", "jet_phi": "Jet_phi", "jet_pt": "Jet_pt", "label": QUARK.replace("[:, 0]", ""),
                "part_pt": "Muon_pt", "part_eta": "Muon_eta", "part_phi": "Muon_phi", "part_m": "Muon_mass",
                "part_charge": "Muon_charge", "part_jet": "Muon_jetIdx"}  # fmt: skip
    stats = run(tmp_path, [NANO], tree="Events", branches=branches, jets=JetsPerEvent(per_event=True, max_jets=2),
                jet_selection="Jet_pt > 20")  # fmt: skip
    a = uproot.open(NANO)["Events"].arrays(["Jet_pt", "Muon_jetIdx"])
    expected = 0
    for pts, links in zip(a["Jet_pt"].to_list(), a["Muon_jetIdx"].to_list(), strict=True):
        leading = [j for j in sorted(range(len(pts)), key=lambda j: -pts[j]) if pts[j] > 20][:2]
        expected += sum(1 for j in leading if j in links)
    assert (
        expected > 10 and n_images(tmp_path) == expected == stats["jets_selected"] - stats["jets_without_constituents"]
    )


def test_hzz_momenta_as_expressions(tmp_path: Path) -> None:
    """The uproot HZZ sample (ROOT 5, tree events): muons from Px, Py, Pz, E by expressions, events with two."""
    import uproot

    pt = "sqrt(Muon_Px**2 + Muon_Py**2)"
    branches = {"part_pt": pt, "part_eta": f"arcsinh(Muon_Pz / {pt})", "part_phi": "arctan2(Muon_Py, Muon_Px)",
                "part_m": "sqrt(maximum(Muon_E**2 - Muon_Px**2 - Muon_Py**2 - Muon_Pz**2, 0))",
                "part_charge": "Muon_Charge", "jet_eta": "part_eta[:, 0]", "jet_phi": "part_phi[:, 0]",
                "label": "NJet >= 2"}  # fmt: skip
    run(tmp_path, [HZZ], branches=branches, selection="NMuon >= 2")
    assert n_images(tmp_path) == int(np.sum(uproot.open(HZZ)["events"]["NMuon"].array(library="np") >= 2))


def test_a_wrong_tree_or_expression_names_what_there_is(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no TTree 'events' \(the file has \['Events'\]\).*set the dataset's 'tree'"):
        run(tmp_path, [NANO])
    with pytest.raises(InputError, match=r"branch 'Jet_etaa'.*closest: \['Jet_eta'.*947 branches"):
        run(tmp_path, [NANO], tree="Events", branches={**EVENT_IMAGES, "jet_eta": "Jet_etaa[:, 0]"})
    with pytest.raises(InputError, match=r"Jet_eta\[:, 0\].*cannot be evaluated.*nJet >= 1"):
        run(tmp_path, [NANO], tree="Events", branches=EVENT_IMAGES)  # without its selection
    with pytest.raises(ConfigError, match="not an expression"):
        BranchMap({"jet_eta": "Jet_eta[:, 0"})
    with pytest.raises(ConfigError, match="no contract names \\['part_ptt'\\]"):
        run(tmp_path, [NANO], tree="Events", branches={"part_ptt": "Jet_pt"})
    assert not list(tmp_path.glob("*.h5")), "nothing half-written"


# ------------------------------------------------------------------------------ JetClass-like layout
def test_a_jetclass_layout_gives_the_images_of_our_own(tmp_path: Path) -> None:
    """Constituents relative to the jet (part_deta, part_dphi) and one-hot labels, mapped back by expressions:
    the very images our own layout of the same jets gives."""
    jets = make_jets(300, seed=5)
    ours = tmp_path / "ours.root"
    write_events(ours, jets)
    jetclass = {"jet_eta": jets["jet_eta"], "jet_phi": jets["jet_phi"], "jet_pt": jets["jet_pt"],
                "label_QCD": (jets["label"] == 0).astype(np.int32), "label_Zqq": (jets["label"] == 1).astype(np.int32),
                "part_pt": jets["part_pt"], "part_mass": jets["part_m"], "part_charge": jets["part_charge"],
                "part_deta": jets["part_eta"] - jets["jet_eta"],
                "part_dphi": jets["part_phi"] - jets["jet_phi"]}  # fmt: skip
    theirs = tmp_path / "jetclass.root"
    write_events(theirs, jetclass, tree="tree")
    run(tmp_path / "a", [ours])
    mapping = {"part_eta": "part_deta + jet_eta", "part_phi": "part_dphi + jet_phi", "part_m": "part_mass",
               "label": "label_QCD == 0"}  # fmt: skip
    run(tmp_path / "b", [theirs], tree="tree", branches=mapping)
    for split, x in images(tmp_path / "a").items():
        np.testing.assert_allclose(images(tmp_path / "b")[split], x, atol=1e-5)


def test_explode_doubly_jagged_constituents() -> None:
    """Jets per event with doubly jagged constituents: the leading jet above threshold of each event, its
    constituents, the event's label on it; a jet without constituents dropped and counted."""
    values = {
        "jet_eta": ak.Array([[0.1, 0.2, 0.3], [1.0], []]),
        "jet_phi": ak.Array([[0.0, 1.0, 2.0], [3.0], []]),
        "jet_pt": ak.Array([[50.0, 80.0, 10.0], [40.0], []]),
        "jet_selection": ak.Array([[True, True, False], [True], []]),
        "label": np.array([1, 0, 1]),
        "part_pt": ak.Array([[[1.0], [2.0, 3.0], [4.0]], [[]], []]),
        "part_eta": ak.Array([[[0.1], [0.2, 0.2], [0.3]], [[]], []]),
    }
    out, counters = explode(values, JetsPerEvent(per_event=True, max_jets=1), "f")
    assert out["jet_pt"].tolist() == [80.0] and out["part_pt"].tolist() == [[2.0, 3.0]]
    assert out["label"].tolist() == [1]
    assert counters == {"jets_in_events": 4, "jets_selected": 2, "jets_without_constituents": 1}


# ------------------------------------------------------------------------------ bad files
def _bad_copies(tmp_path: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    truncated, damaged = tmp_path / "truncated.root", tmp_path / "damaged.root"
    truncated.write_bytes(data[: len(data) // 2])
    broken = bytearray(data)
    broken[len(data) // 3 : len(data) // 3 + 64] = bytes(64)  # inside a compressed basket
    damaged.write_bytes(bytes(broken))
    empty = tmp_path / "empty.root"
    empty.write_bytes(b"")
    text = tmp_path / "notes.root"
    text.write_text("not a ROOT file\n")
    return {"truncated": truncated, "damaged": damaged, "empty": empty, "text": text}


@pytest.mark.parametrize("which", ["truncated", "damaged", "empty", "text"])
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, which: str) -> None:
    good = tmp_path / "good.root"
    write_events(good, make_jets(3000, seed=2))
    bad = _bad_copies(tmp_path, good)[which]
    out = tmp_path / "out"
    with pytest.raises(BadFile) as info:
        run(out, [good, bad])
    message = str(info.value)
    assert str(bad) in message and "on_bad_file: skip" in message and "\n" not in message, message
    assert not out.exists() or not list(out.iterdir()), "nothing half-written"


def test_skipping_bad_files_keeps_the_good_ones_exactly(tmp_path: Path) -> None:
    """on_bad_file: skip leaves out the bad files (also one that fails after its first chunks were written)
    and counts them; the good files' images are those of a run without them, bit for bit."""
    goods = []
    for k in range(2):
        goods.append(tmp_path / f"good{k}.root")
        write_events(goods[-1], make_jets(3000, seed=10 + k))
    bad = _bad_copies(tmp_path, goods[0])
    run(tmp_path / "clean", goods, step_size=500)
    stats = run(tmp_path / "skip", [goods[0], bad["damaged"], bad["truncated"], goods[1], bad["text"]],
                step_size=500, on_bad_file="skip")  # fmt: skip
    assert stats["n_skipped_files"] == 3
    assert {Path(s["file"]).name for s in stats["skipped_files"]} == {"damaged.root", "truncated.root", "notes.root"}
    for split, x in images(tmp_path / "clean").items():
        np.testing.assert_array_equal(images(tmp_path / "skip")[split], x)


# ------------------------------------------------------------------------------ rapidity and mass
def test_rapidity_of_massive_particles() -> None:
    """y = asinh(pT sinh(eta) / mT): y = eta when massless, |y| < |eta| with mass; a pion of 1 GeV at eta 2."""
    assert rapidity(np.array([5.0]), np.array([1.3]), np.array([0.0]))[0] == pytest.approx(1.3)
    y = rapidity(np.array([1.0]), np.array([2.0]), np.array([0.13957]))[0]
    e = np.sqrt((1.0 * np.cosh(2.0)) ** 2 + 0.13957**2)
    pz = 1.0 * np.sinh(2.0)
    assert y == pytest.approx(0.5 * np.log((e + pz) / (e - pz)), rel=1e-12) and y < 2.0


def test_jet_mass_of_massive_constituents(tmp_path: Path) -> None:
    """The mass observable sums massive four-vectors (part_m) on the rapidity axis: it equals the invariant
    mass computed here from (pT, eta, phi, m); the pseudorapidity axis treats them as massless (lower)."""
    jets = make_jets(200, seed=8)
    path = tmp_path / "jets.root"
    write_events(path, jets)
    masses = {}
    for axis in ("rapidity", "pseudorapidity"):
        run(tmp_path / axis, [path], spec=ImageSpec(n_pix=16, axis=axis))
        values = []
        for split in ("train", "val", "test"):
            with h5py.File(tmp_path / axis / f"{split}.h5", "r") as f:
                values.append(f["observables/mass"][...])
        masses[axis] = np.sort(np.concatenate(values))
    import vector

    f64 = {k: ak.values_astype(jets[f"part_{k}"], np.float64) for k in ("pt", "eta", "phi", "m")}  # as read
    four = vector.zip({"pt": f64["pt"], "eta": f64["eta"], "phi": f64["phi"], "mass": f64["m"]})
    expected = np.sort(ak.to_numpy(ak.sum(four, axis=1).mass))
    np.testing.assert_allclose(masses["rapidity"], expected, rtol=1e-4)
    assert np.all(masses["pseudorapidity"] <= masses["rapidity"] + 1e-6)
