"""A new observable, source, baseline kind and kind of events are each one module plus one table line
(docs/extending.md): the modules here, under tests/, put in their tables with monkeypatch, run through the
stage functions (generate, rasterise, fit-baseline, evaluate, report) with no other file edited, and the
config layer (:func:`detcnn.config.load`) accepts a config naming them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import awkward as ak
import h5py
import numpy as np
import pytest
import uproot

from detcnn.baselines import BASELINES
from detcnn.catalogue import event_kind, observable_names
from detcnn.config import load
from detcnn.errors import ConfigError
from detcnn.generate import SOURCES
from detcnn.kinds import ModelKind
from detcnn.physics.observables import OBSERVABLES
from detcnn.rasterisers import RASTERISERS
from detcnn.stages import evaluate, fit_baseline, generate, init_tracking, rasterise, report
from detcnn.tasks import get_task
from tests import toy_baseline, toy_observables, toy_source

SPLIT = {"train": 0.5, "val": 0.2, "test": 0.3}
DATASET = {"source": toy_source.NAME, "tasks": ["classification"], "split": SPLIT,
           "generate": {"n_jets_per_shard": 300}, "images": {"n_pix": 16}}  # fmt: skip
BASELINE = {"kind": toy_baseline.NAME, "observables": [toy_observables.NAME]}


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """One line in each table (what docs/extending.md asks for)."""
    monkeypatch.setitem(OBSERVABLES, toy_observables.NAME, toy_observables.lead_pt_fraction)
    monkeypatch.setitem(SOURCES, toy_source.NAME, toy_source)
    monkeypatch.setitem(BASELINES, toy_baseline.NAME, toy_baseline)


def independent_values(events: list[Path]) -> dict[float, int]:
    """The new observable of every generated jet, computed here from the ROOT files -> the jet's label."""
    out: dict[float, int] = {}
    for path in events:
        with uproot.open(path) as f:
            tree = f["events"]
            pt = tree["part_pt"].array()
            label = tree["label"].array(library="np")
        values = toy_observables.lead_pt_fraction(ak.to_numpy(ak.flatten(pt)).astype(np.float64),
                                                  ak.to_numpy(ak.num(pt)))  # fmt: skip
        out.update(zip(values.tolist(), label.tolist(), strict=True))
    return out


def pairwise_auc(signal: np.ndarray, background: np.ndarray) -> float:
    """P(signal scores above background), ties 1/2, over all pairs (no ranks, no detcnn code)."""
    diff = signal[:, None] - background[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


@pytest.mark.usefixtures("tables")
def test_new_observable_source_and_baseline_run_through_the_stages(tmp_path: Path) -> None:
    config = load({"seed": 5, "datasets": {"toy": DATASET}, "baselines": {"lead": BASELINE}}, networks=False)
    ds, baseline = config.datasets["toy"].section, config.baselines["lead"].section  # filled, as the rules pass them
    events = []
    for sample in toy_source.SAMPLES:
        events.append(tmp_path / "events" / f"{sample}_0.root")
        stats = generate.run(source=toy_source.NAME, sample=sample, shard=0, seed=5, cfg=ds["generate"],
                             events=events[-1], stats=tmp_path / f"{sample}.json", progress=False)  # fmt: skip
        assert stats["n_jets"] == 300 and events[-1].is_file()
    splits = {name: tmp_path / "images" / f"{name}.h5" for name in SPLIT}
    result = rasterise.run(inputs=events, **splits, stats=tmp_path / "rasterise.json", dataset="toy", ds=ds, seed=3,
                           progress=False)  # fmt: skip
    assert sum(result["per_split"].values()) == 600

    # the image files carry every observable of the table, the new one's values the function's on each jet
    expected = independent_values(events)
    test_values, test_labels = None, None
    for name, path in splits.items():
        with h5py.File(path) as f:
            assert list(f["observables"]) == sorted([*observable_names("jets")])
            values, labels = f["observables"][toy_observables.NAME][()], f["y"][()]
        assert all(v in expected for v in values.tolist()), f"{name}: a value no jet of the events has"
        assert [expected[v] for v in values.tolist()] == labels.tolist()
        if name == "test":
            test_values, test_labels = values, labels
    assert observable_names("jets") == ("n_constituents", "mass", "girth", "ptd", "c1_b02", "lha", toy_observables.NAME)

    model = tmp_path / "baseline.json"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_tracking.run(uri=uri, marker=tmp_path / "store.json")
    fitted = fit_baseline.run(train=splits["train"], val=splits["val"], model=model, dataset="toy", name="lead",
                              cfg=baseline, efficiencies=[0.5], tracking_uri=uri)  # fmt: skip
    assert fitted["sign"] == 1, "quark jets (signal) have fewer constituents: a larger leading fraction"
    out = {name: tmp_path / "eval" / name for name in ("scores.npz", "metrics.json", "plot.png")}
    summary = evaluate.run(model=model, kind=ModelKind.BASELINE, val=splits["val"],
                           test=splits["test"], scores=out["scores.npz"],
                           metrics=out["metrics.json"], plot=out["plot.png"], dataset="toy", name="lead",
                           efficiencies=[0.5], purities=[0.9], n_bootstrap=20, seed=1, tracking_uri=uri)  # fmt: skip
    auc = pairwise_auc(test_values[test_labels == 1], test_values[test_labels == 0])
    assert summary["metrics"]["test/auc"]["value"] == pytest.approx(auc, abs=1e-12)
    assert 0.75 < auc < 1.0, auc

    figures = {f: tmp_path / "report" / f"{f}.png" for f in get_task("classification").FIGURES}
    table = tmp_path / "report" / "comparison.md"
    report.run(metrics=[out["metrics.json"]], scores=[out["scores.npz"]], test=splits["test"], table=table,
               csv=tmp_path / "report" / "comparison.csv", summary=tmp_path / "report" / "summary.json",
               figures=figures, dataset="toy", task="classification", n_bootstrap=20, seed=1)  # fmt: skip
    assert "| lead | baseline |" in table.read_text()
    assert json.loads((tmp_path / "report" / "summary.json").read_text())["models"]["lead"] == pytest.approx(auc)


@pytest.mark.usefixtures("tables")
def test_the_config_layer_accepts_them_and_names_a_mistake() -> None:
    """The source's and the baseline's SCHEMA join the config's schema; the observable is checked against the
    table of the dataset's kind of events."""
    config = load({"seed": 1, "datasets": {"toy": DATASET}, "baselines": {"lead": BASELINE}}, networks=False)
    assert config.datasets["toy"].samples == toy_source.SAMPLES and config.datasets["toy"].events == "jets"
    assert config.datasets["toy"].section["generate"] == {"n_jets_per_shard": 300}
    bad = {**BASELINE, "observables": ["lead_pt_fractoin"]}
    with pytest.raises(ConfigError, match=r"'lead_pt_fractoin'.*valid: \[.*'lead_pt_fraction'\]") as error:
        load({"seed": 1, "datasets": {"toy": DATASET}, "baselines": {"lead": bad}}, networks=False)
    assert error.value.key == "baselines.lead.observables"
    misspelt = {**DATASET, "generate": {"n_jets": 300}}
    with pytest.raises(ConfigError, match="unknown key; valid: n_jets_per_shard") as error:
        load({"seed": 1, "datasets": {"toy": misspelt}}, networks=False)
    assert error.value.key == "datasets.toy.generate.n_jets"


def test_an_observable_outside_the_table_is_a_config_error() -> None:
    """Without its table line the new observable is unknown, for the observables and for the cuts."""
    datasets = {"nu": {"source": "detector_sim", "split": SPLIT, "generate": {"n_events_per_shard": 10}}}
    cuts = {"kind": "sequential_cuts", "cuts": [{"observable": "length_cm"}, {"observable": toy_observables.NAME}]}
    with pytest.raises(ConfigError, match=r"lead_pt_fraction.*valid: \['total_charge'") as error:
        load({"seed": 1, "datasets": datasets, "baselines": {"sel": cuts}}, networks=False)
    assert error.value.key == "baselines.sel.cuts"


def test_a_kind_of_events_is_a_key_of_the_rasterisers(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = {"source": "root_files", "events": "clusters", "files": ["a.root"]}
    with pytest.raises(ConfigError, match=r"events must be one of \['jets', 'hits', 'frames'\], got 'clusters'"):
        event_kind(ds)
    module = SimpleNamespace(EVENTS="clusters", OBSERVABLES={"size": len})
    monkeypatch.setitem(RASTERISERS, "clusters", module)
    assert event_kind(ds) == "clusters" and observable_names("clusters") == ("size",)
