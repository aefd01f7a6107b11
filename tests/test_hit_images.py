"""Detector images from hits: hand-placed hits land in known pixels, truth per pixel, readout, observables,
and the rasterise stage's handling of bad input (outside the volume, mismatched lengths, empty events)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest

from detcnn.errors import InputError
from detcnn.io.events import write_events
from detcnn.physics.hit_images import HitImageSpec, hit_images
from detcnn.physics.hit_observables import HIT_OBSERVABLES, ChargeViews, hit_observables
from detcnn.rasterisers.hits import rasterise_hits

QUIET = HitImageSpec(views=("xz", "yz"), n_pix=8, pitch_cm=2.0, margin_pix=1, noise_ke=0.0, threshold_ke=0.0)


def flat(**columns: list[float]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}


def test_hits_land_in_the_pixels_worked_out_by_hand() -> None:
    # event 0: three hits; event 1: one hit.  x, y, z in cm; e in GeV; q in ke-.
    hits = flat(
        x=[10.0, 10.0, 13.0, 50.0], y=[0.0, 0.0, 2.5, -5.0], z=[100.0, 101.0, 104.5, 7.0],
        t=[1.0, 3.0, 5.0, 0.0], e=[0.002, 0.001, 0.004, 0.010], q=[30.0, 10.0, 40.0, 100.0], label=[1, 2, 2, 1],
    )  # fmt: skip
    img = hit_images(hits, np.array([3, 1]), QUIET, np.arange(2, dtype=np.uint64), 0)
    assert img.X.shape == (2, 2, 8, 8) and img.y_pix.shape == img.e_pix.shape == (2, 2, 8, 8)
    # event 0, view xz: columns start one pixel (2 cm) before the first z (100) -> z0 = 98;
    # rows centred on the charge-weighted mean x = (30*10 + 10*10 + 40*13) / 80 = 11.5 -> x0 = 11.5 - 8 = 3.5
    np.testing.assert_allclose(img.origins[0, 0], [3.5, 98.0])
    # hits 0, 1: row floor((10 - 3.5) / 2) = 3, columns floor(2/2) = 1 and floor(3/2) = 1 -> one pixel, 40 ke-
    assert img.X[0, 0, 3, 1] == pytest.approx(40.0)
    assert img.e_pix[0, 0, 3, 1] == pytest.approx(3.0)  # MeV
    assert img.y_pix[0, 0, 3, 1] == 1  # 2 MeV track against 1 MeV shower
    # hit 2: row floor((13 - 3.5) / 2) = 4, column floor(6.5 / 2) = 3
    assert img.X[0, 0, 4, 3] == pytest.approx(40.0) and img.y_pix[0, 0, 4, 3] == 2
    assert img.X[0].sum() == pytest.approx(2 * 80.0)  # both views hold all the charge
    assert np.count_nonzero(img.y_pix[0, 0]) == 2
    # event 1: a single hit sits at the centre row and one pixel after the margin
    assert img.X[1, 0, 4, 1] == pytest.approx(100.0) and img.X[1, 1, 4, 1] == pytest.approx(100.0)
    assert img.n_outside == 0


def test_time_channel_and_view_order() -> None:
    spec = HitImageSpec(views=("xz", "yz", "u"), channels=("charge", "time"), n_pix=8, pitch_cm=2.0,
                        margin_pix=1, noise_ke=0.0, threshold_ke=0.0)  # fmt: skip
    assert spec.channel_names == ["xz_charge", "xz_time", "yz_charge", "yz_time", "u_charge", "u_time"]
    hits = flat(x=[10.0, 10.0], y=[0.0, 0.0], z=[100.0, 100.5], t=[2.0, 8.0], e=[0.001, 0.001], q=[10.0, 30.0],
                label=[1, 1])  # fmt: skip
    img = hit_images(hits, np.array([2]), spec, np.arange(1, dtype=np.uint64), 0)
    assert img.X.shape == (1, 6, 8, 8)
    assert img.X[0, 1].max() == pytest.approx((10 * 2 + 30 * 8) / 40)  # charge-weighted mean time [ns]


def test_noise_and_threshold_are_seeded() -> None:
    spec = HitImageSpec(n_pix=16, pitch_cm=2.0, noise_ke=5.0, threshold_ke=15.0)
    hits = flat(x=[10.0] * 3, y=[0.0] * 3, z=[100.0, 110.0, 120.0], t=[0.0] * 3, e=[0.003] * 3,
                q=[100.0, 12.0, 100.0], label=[1] * 3)  # fmt: skip
    a = hit_images(hits, np.array([3]), spec, np.array([5], dtype=np.uint64), 7)
    b = hit_images(hits, np.array([3]), spec, np.array([5], dtype=np.uint64), 7)
    np.testing.assert_array_equal(a.X, b.X)
    other = hit_images(hits, np.array([3]), spec, np.array([6], dtype=np.uint64), 7)  # another event: other noise
    assert not np.array_equal(a.X, other.X)
    assert np.all((a.X == 0) | (a.X >= 15.0)), "zero suppression leaves nothing below threshold"
    # the 12 ke- hit is below threshold unless noise lifts it; truth keeps it whatever the readout does
    assert np.count_nonzero(a.e_pix[0, 0]) == 3
    assert np.count_nonzero(a.y_pix[0, 0]) == 3


def test_observables_of_a_line_and_a_blob() -> None:
    charge = np.zeros((2, 1, 16, 16))
    charge[0, 0, 8, 2:12] = 10.0  # a horizontal track of 10 pixels
    charge[1, 0, 6:11, 4:9] = 10.0  # a 5x5 blob
    obs = hit_observables(charge, pitch_cm=2.0)
    assert obs["total_charge"].tolist() == [100.0, 250.0]
    assert obs["n_pixels"].tolist() == [10.0, 25.0]
    assert obs["length_cm"][0] == pytest.approx(9 * 2.0)  # first to last pixel centre
    assert obs["width_cm"][0] == pytest.approx(0.0, abs=1e-9)
    assert obs["width_cm"][1] == pytest.approx(2.0 * np.sqrt(2.0))  # RMS of 5 uniform rows: sqrt(2) pixels
    assert obs["dense_fraction"][0] == 0.0
    assert obs["dense_fraction"][1] == pytest.approx(9 / 25 + 12 / 25)  # inner 3x3 (8) + edge pixels (5)
    assert obs["start_charge"][0] == pytest.approx(20.0)  # the first pixel and its right neighbour


def views_with_charge(views: ChargeViews) -> np.ndarray:
    """Views with a pixel above threshold (an observable the table did not have)."""
    return views.occupied.any(axis=(2, 3)).sum(axis=1).astype(np.float64)


def test_a_new_hit_observable_is_one_function_and_one_table_line(monkeypatch: pytest.MonkeyPatch) -> None:
    charge = np.zeros((3, 2, 8, 8))
    charge[0, 0, 4, 1:5] = 20.0  # one view
    charge[1, :, 2:4, 2:4] = 30.0  # both views
    before = hit_observables(charge, pitch_cm=3.0)
    monkeypatch.setitem(HIT_OBSERVABLES, "views_with_charge", views_with_charge)
    obs = hit_observables(charge, pitch_cm=3.0)
    assert list(obs) == ["total_charge", "n_pixels", "length_cm", "width_cm", "dense_fraction", "start_charge",
                         "views_with_charge"]  # fmt: skip
    assert obs["views_with_charge"].tolist() == [1.0, 2.0, 0.0]
    assert obs["n_pixels"].tolist() == [4.0, 8.0, 0.0] and obs["total_charge"].tolist() == [40.0, 120.0, 0.0]
    for name, values in before.items():
        assert obs[name].tobytes() == values.tobytes(), name


def write_hits(
    path: Path, events: list[dict[str, list[float]]], labels: list[int], extra: dict[str, ak.Array] | None = None
) -> Path:
    branches: dict[str, object] = {"label": np.asarray(labels, dtype=np.int32), **(extra or {})}
    for f in ("x", "y", "z", "t", "e", "q"):
        branches[f"hit_{f}"] = ak.Array([np.asarray(ev[f], dtype=np.float32) for ev in events])
    branches["hit_label"] = ak.Array([np.asarray(ev["label"], dtype=np.int8) for ev in events])
    branches["nu_energy"] = np.linspace(1.0, 2.0, len(labels))
    write_events(path, branches, title="test hits")
    return path


def event(z0: float, n: int = 5, x: float = 10.0) -> dict[str, list[float]]:
    return {"x": [x] * n, "y": [0.0] * n, "z": [z0 + i for i in range(n)], "t": [0.0] * n, "e": [0.002] * n,
            "q": [100.0] * n, "label": [1] * n}  # fmt: skip


def run(tmp_path: Path, files: list[Path], **kw: object) -> dict:
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "val", "test")}
    args = {"spec": HitImageSpec(n_pix=16, pitch_cm=2.0), "class_names": ["a", "b", "c"],
            "split": {"train": 0.34, "val": 0.33, "test": 0.33}, "seed": 1, "config_hash": "x", "dataset": "nu",
            "volume_cm": [[0, 100], [-50, 50], [0, 500]], "truth": ["nu_energy"], "progress": False, **kw}  # fmt: skip
    return rasterise_hits(files, outputs, **args)


def test_rasterise_writes_pixels_truth_and_drops_empty_events_counted(tmp_path: Path) -> None:
    events = [event(100.0 + i) for i in range(30)]
    events[4] = {k: [] for k in events[4]}  # an event without hits
    path = write_hits(tmp_path / "ev.root", events, [i % 3 for i in range(30)])
    stats = run(tmp_path, [path])
    assert sum(stats["per_split"].values()) == 29
    assert stats["n_dropped/b"] == 1 and stats["n_dropped/a"] == 0  # event 4 has label 4 % 3 = 1
    with h5py.File(tmp_path / "train.h5") as f:
        assert f["X"].shape[1:] == (2, 16, 16) and f["y_pix"].shape[1:] == (2, 16, 16)
        assert set(f["observables"]) >= {"total_charge", "length_cm"} and "nu_energy" in f["truth"]
    with pytest.raises(InputError, match="no hits"):
        run(tmp_path, [path], empty_events="error")


def test_hits_outside_the_volume_name_the_branch(tmp_path: Path) -> None:
    events = [event(100.0) for _ in range(6)]
    events[2] = event(100.0, x=1000.0)  # 10 m: mm written as cm, say
    path = write_hits(tmp_path / "ev.root", events, [0] * 6)
    with pytest.raises(InputError, match=r"hit_x.*5 hits lie outside the detector volume"):
        run(tmp_path, [path])


def test_mismatched_hit_lengths_are_an_error(tmp_path: Path) -> None:
    """A user's charge branch with its own counter: one event one entry short, another one long."""
    events = [event(100.0) for _ in range(6)]
    counts = np.full(6, 5)
    counts[3], counts[4] = 4, 6  # the same total, different per event
    other_q = ak.unflatten(np.full(30, 100.0, dtype=np.float32), counts)
    path = write_hits(tmp_path / "ev.root", events, [0] * 6, extra={"other_q": other_q})
    with pytest.raises(InputError, match=r"branch 'other_q'.*2 events have a different number of entries"):
        run(tmp_path, [path], branches={"hit_q": "other_q"})
    assert not any(p.suffix == ".h5" for p in tmp_path.iterdir())


def test_weighted_quantile_matches_a_loop_over_events() -> None:
    from detcnn.physics.hit_images import weighted_quantile

    rng = np.random.default_rng(3)
    counts = rng.integers(1, 40, 200)
    owner = np.repeat(np.arange(200), counts)
    values, weights = rng.normal(500, 300, owner.size), rng.uniform(0, 5, owner.size)
    for q in (0.0, 0.02, 0.5):
        got = weighted_quantile(values, weights, owner, 200, q)
        for e in range(200):
            v, w = values[owner == e], weights[owner == e]
            order = np.argsort(v)
            cum = np.cumsum(w[order])
            assert got[e] == v[order][np.searchsorted(cum, q * w.sum(), side="left")]
