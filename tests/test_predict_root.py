"""The predict stage's friend trees read by ROOT itself: RDataFrame on the events tree with the friend added
(``TTree::AddFriend``) sees every score uproot reads, jet by jet aligned with the file's own jet branches."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
import pytest

from tests.test_predict import hits, jets  # noqa: F401 (the module fixtures: rasterised, scored, written)

try:
    import ROOT
except ImportError:  # ROOT's pip wheel is optional
    pytest.skip("ROOT is not installed (pip install root): friend trees read by uproot only", allow_module_level=True)


def _frame(events: Any, friend: Any, tree: str) -> tuple[Any, Any]:
    """An RDataFrame of the events tree with the friend tree added as ``scores`` (and the tree, kept alive)."""
    chain, friends = ROOT.TChain(tree), ROOT.TChain(tree)
    chain.Add(str(events))
    friends.Add(str(friend))
    chain.AddFriend(friends, "scores")
    return ROOT.RDataFrame(chain), (chain, friends)


def test_rdataframe_reads_the_jet_scores_aligned_with_the_jets(jets: dict[str, Any]) -> None:  # noqa: F811
    df, _keep = _frame(jets["events"], jets["folder"] / "friend.root", "Events")
    assert df.Count().GetValue() == len(jets["friend"]) == 300
    assert df.Filter("scores.cnn_quark.size() != Jet_pt.size()").Count().GetValue() == 0
    for branch in ("cnn_quark", "cut_score", "bdt_gluon"):
        taken = df.Take["ROOT::RVec<float>"](f"scores.{branch}").GetValue()
        got = [np.asarray(list(v), dtype=np.float32) for v in taken]
        want = [np.asarray(v, dtype=np.float32) for v in jets["friend"][branch].to_list()]
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)  # NaN where uproot has NaN
    n_scored = df.Define("n", "Sum(scores.cnn_quark == scores.cnn_quark)").Sum("n").GetValue()  # not NaN
    assert n_scored == jets["stats"]["imaged"] == int(np.sum(np.isfinite(ak.flatten(jets["friend"]["cnn_quark"]))))


def test_rdataframe_reads_the_event_scores(hits: dict[str, Any]) -> None:  # noqa: F811
    events = hits["files"][0]
    df, _keep = _frame(events, events.parent / "friend.root", "events")
    for branch in ("nova_NC", "energy_nu_energy", "calo_nu_energy"):
        got = np.asarray(list(df.Take["float"](f"scores.{branch}").GetValue()), dtype=np.float32)
        np.testing.assert_array_equal(got, hits["friend"][branch])
    passed = df.Filter("nu_energy > 1.2").Filter("!isnan(scores.nova_NC)").Count().GetValue()
    assert passed == int(np.sum(np.isfinite(hits["friend"]["nova_NC"]))) > 0
