"""What the tiny workflow's predict rule leaves: a friend tree per event file of every dataset with a ``predict``
section, entry for entry the events file's, holding the scores the evaluate stage gave the same events."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot

pytestmark = pytest.mark.workflow


def _arrays(path: Path, tree: str = "events") -> dict[str, np.ndarray]:
    with uproot.open(path) as f:
        return {k: np.asarray(v) for k, v in f[tree].arrays(library="np").items()}


def test_the_own_files_scored_by_the_qg_taggers_carry_the_evaluate_stages_scores(workdir: Path) -> None:
    import h5py

    scores = np.load(workdir / "results/eval/qg/cnn/scores.npz")
    with h5py.File(workdir / "results/images/qg/test.h5", "r") as f:
        test_pt = np.asarray(f["truth/jet_pt"])[scores["rows"]]  # the file's jet_pt: one jet per entry
    matched = 0
    for sample in ("quark", "gluon"):
        events = _arrays(workdir / f"results/events/qg/{sample}_0.root")
        friend = _arrays(workdir / f"results/predict/own/{sample}_0.root")
        assert set(friend) == {"cnn_gluon", "cnn_quark", "gbdt_qg_gluon", "gbdt_qg_quark"}, sorted(friend)
        assert all(len(v) == len(events["jet_pt"]) for v in friend.values())
        for model in ("cnn", "gbdt_qg"):
            total = friend[f"{model}_gluon"] + friend[f"{model}_quark"]
            np.testing.assert_allclose(total, 1.0, atol=1e-5, err_msg=model)  # every jet drawn: no NaN
        entry = {float(pt): i for i, pt in enumerate(events["jet_pt"])}
        found = [(row, entry[float(pt)]) for row, pt in enumerate(test_pt) if float(pt) in entry]
        rows, entries = np.array(found).T
        np.testing.assert_allclose(friend["cnn_quark"][entries], scores["proba"][rows, 1], rtol=0, atol=1e-5)
        matched += len(found)
    assert matched == len(scores["rows"]) > 40, matched  # every test jet found in one of the two files


def test_every_neutrino_file_gets_a_friend_with_nan_only_where_no_image_was_drawn(workdir: Path) -> None:
    stats = json.loads((workdir / "results/images/nu/stats.json").read_text())
    friends = sorted((workdir / "results/predict/nu").glob("*.root"))
    assert [p.name for p in friends] == ["nc_0.root", "nue_cc_0.root", "numu_cc_0.root"], friends
    imaged = 0
    for path in friends:
        events = _arrays(workdir / "results/events/nu" / path.name)
        friend = _arrays(path)
        n = len(next(iter(events.values())))
        assert all(len(v) == n for v in friend.values()), path
        proba = np.stack([v for k, v in friend.items() if k.startswith("nova_") and "energy" not in k], axis=1)
        assert proba.shape[1] == 3, sorted(friend)
        drawn = np.isfinite(proba).all(axis=1)
        np.testing.assert_allclose(proba[drawn].sum(axis=1), 1.0, atol=1e-5)
        energy = [v for k, v in friend.items() if k.startswith("nova_energy_")]
        assert len(energy) == 1 and np.array_equal(np.isfinite(energy[0]), drawn), path
        assert np.all(energy[0][drawn] > 0), path  # GeV
        imaged += int(drawn.sum())
    assert imaged == sum(stats["per_split"].values()), (imaged, stats["per_split"])
