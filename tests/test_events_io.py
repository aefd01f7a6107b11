"""ROOT round trip and the errors bad input must give (file, branch and fix named)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from detcnn.errors import InputError
from detcnn.io.events import PART_BRANCHES, check_file, iterate_events, write_events
from detcnn.physics.jet_images import ImageSpec
from detcnn.rasterisers.jets import rasterise_jets

from .conftest import make_jets

IDENTITY = {b: b for b in ("jet_eta", "jet_phi", "label", "part_pt", "part_eta", "part_phi", "part_charge")}


def test_root_round_trip(tmp_path: Path) -> None:
    jets = make_jets(50, seed=3)
    path = tmp_path / "rt.root"
    write_events(path, jets)
    assert check_file(path, list(jets)) == 50
    chunks = [c for _, c in iterate_events([path], {b: b for b in jets}, step_size=20)]
    assert [len(c) for c in chunks] == [20, 20, 10]
    back = ak.concatenate(chunks)
    for name, values in jets.items():
        if isinstance(values, ak.Array):
            assert ak.all(ak.num(back[name]) == ak.num(values)), name
            np.testing.assert_array_equal(ak.to_numpy(ak.flatten(back[name])), ak.to_numpy(ak.flatten(values)))
        else:
            np.testing.assert_array_equal(back[name].to_numpy(), values)


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "bad.root"
    with pytest.raises(InputError):
        write_events(path, {"a": np.zeros(3), "b": np.zeros(4)})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def _rasterise(tmp_path: Path, inputs: list[Path], **kw: object) -> dict:
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    return rasterise_jets(
        inputs, outputs, spec=ImageSpec(n_pix=9), split={"train": 0.6, "val": 0.2, "test": 0.2}, seed=1,
        config_hash="test", dataset="t", progress=False, **kw,
    )  # fmt: skip


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.root"
    with pytest.raises(InputError, match=r"nope\.root.*does not exist"):
        _rasterise(tmp_path, [missing])


def test_missing_branch_names_file_and_branch(tmp_path: Path) -> None:
    jets = make_jets(20)
    del jets["part_charge"]
    path = tmp_path / "nocharge.root"
    write_events(path, jets)
    with pytest.raises(InputError, match=r"nocharge\.root.*branch 'part_charge'.*missing branch.*Fix"):
        _rasterise(tmp_path, [path])
    assert not (tmp_path / "train.h5").exists()


def test_branch_mapping_reads_user_names(tmp_path: Path) -> None:
    jets = make_jets(60)
    jets["truth"] = jets.pop("label")
    path = tmp_path / "renamed.root"
    write_events(path, jets)
    with pytest.raises(InputError, match="branch 'label'"):
        _rasterise(tmp_path, [path])
    stats = _rasterise(tmp_path, [path], branches={"label": "truth"})
    assert sum(stats["per_split"].values()) == 60


def test_nan_values_name_the_branch(tmp_path: Path) -> None:
    jets = make_jets(30)
    eta = ak.to_numpy(ak.flatten(jets["part_eta"])).copy()
    eta[5] = np.nan
    jets["part_eta"] = ak.unflatten(eta, ak.num(jets["part_pt"]))
    path = tmp_path / "nan.root"
    write_events(path, jets)
    with pytest.raises(InputError, match=r"nan\.root.*branch 'part_eta'.*1 NaN"):
        _rasterise(tmp_path, [path])
    assert not any(p.suffix == ".h5" for p in tmp_path.iterdir())


def test_empty_selection_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "three.root"
    write_events(path, make_jets(1))
    with pytest.raises(InputError, match=r"split '(train|val|test)' received no jets"):
        _rasterise(tmp_path, [path])
    assert not any(p.suffix == ".h5" for p in tmp_path.iterdir())


def test_empty_jet_is_an_error(tmp_path: Path) -> None:
    jets = make_jets(5)
    counts = ak.num(jets["part_pt"]).to_numpy().copy()
    for name in PART_BRANCHES:
        flat = ak.to_numpy(ak.flatten(jets[name]))
        keep = np.ones(len(flat), bool)
        keep[: counts[0]] = False
        new_counts = counts.copy()
        new_counts[0] = 0
        jets[name] = ak.unflatten(flat[keep], new_counts)
    path = tmp_path / "empty.root"
    write_events(path, jets)
    with pytest.raises(InputError, match=r"empty\.root.*part_pt.*1 jets have no constituents"):
        _rasterise(tmp_path, [path])


def test_bad_labels_are_an_error(tmp_path: Path) -> None:
    jets = make_jets(10)
    jets["label"] = np.full(10, 7, dtype=np.int32)
    path = tmp_path / "labels.root"
    write_events(path, jets)
    with pytest.raises(InputError, match=r"labels\.root.*branch 'label'.*\[7\]"):
        _rasterise(tmp_path, [path])


def test_split_is_deterministic_and_complete(tmp_path: Path, jets_file: Path) -> None:
    from detcnn.io.images import read_images

    a = _rasterise(tmp_path / "a", [jets_file])
    b = _rasterise(tmp_path / "b", [jets_file])
    assert a["per_split"] == b["per_split"]
    assert sum(a["per_split"].values()) == 400
    xa, xb = read_images(tmp_path / "a" / "test.h5"), read_images(tmp_path / "b" / "test.h5")
    np.testing.assert_array_equal(xa.X, xb.X)
    assert xa.attrs["channels"] == ["charged_pt", "neutral_pt", "charged_multiplicity"]
    assert xa.attrs["config_hash"] == "test"
    assert xa.X.shape[1:] == (3, 9, 9)
    assert set(xa.observables) == {"n_constituents", "mass", "girth", "ptd", "c1_b02", "lha"}


def test_outputs_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    from detcnn.io.atomic import write_text

    write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_mismatched_jagged_lengths_name_the_branch(tmp_path: Path) -> None:
    """A user's eta branch with its own counter: one jet has one entry too few, the totals still agree."""
    jets = make_jets(20, seed=5)
    eta = jets.pop("part_eta")
    counts = ak.num(eta).to_numpy().copy()
    counts[0] -= 1
    counts[1] += 1
    jets["other_eta"] = ak.unflatten(ak.flatten(eta), counts)
    path = tmp_path / "ragged.root"
    write_events(path, jets)
    with pytest.raises(InputError, match=r"ragged\.root.*branch 'other_eta'.*2 jets have a different number"):
        _rasterise(tmp_path, [path], branches={"part_eta": "other_eta"})
    assert not any(p.suffix == ".h5" for p in tmp_path.iterdir())
