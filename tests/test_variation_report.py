"""The variation report (detcnn.stages.variations, detcnn.evaluation.shifts) on hand-made evaluations, report
summaries and small image files: the shift of a metric between independent samples and its error, the ranking
sign for a higher- and a lower-is-better headline, the change of the network's lead from paired and unpaired
differences, the physics check (passing, failing quietly within 3 sigma, stopping beyond), and the outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation import shifts
from detcnn.io.images import ImageWriter
from detcnn.stages import variations
from tests.conftest import assert_figure
from tests.report_inputs import PNG, metric, summary

CLASSES = ["gluon", "quark"]
N = 400  # events per class
DROPPED = 10  # quarks a threshold dropped from the variation 'thresh'


def write_metrics(
    path: Path, model: str, kind: str, values: dict[str, tuple[float, float]], task: str = "classification",
    **extra: Any,
) -> Path:  # fmt: skip
    """A ``metrics.json`` of ``model`` with ``values`` ``{name: (value, err)}`` and the entries ``extra``."""
    if kind == "baseline":
        extra["family"] = "cuts"
    info = summary(model, kind, {k: metric(v, e) for k, (v, e) in values.items()}, task=task, n_test=2 * N, **extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    return path


def write_images(path: Path, mass: np.ndarray, width: np.ndarray, energy: np.ndarray, keep: Any = slice(None)) -> Path:
    """A test sample of ``N`` gluons then ``N`` quarks with the observables ``mass``, ``width`` and the truth
    ``energy`` (``(2N,)`` each), of which only the events ``keep`` are written."""
    y = np.repeat([0, 1], N)[keep]
    path.parent.mkdir(parents=True, exist_ok=True)
    with ImageWriter(path, (1, 2, 2), {"class_names": CLASSES, "channels": ["pt"]}) as w:
        w.append(np.zeros((len(y), 1, 2, 2), np.float32), y, {"mass": mass[keep], "width": width[keep]},
                 truth={"energy": energy[keep]})  # fmt: skip
    return path


def nominal_columns() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    mass = np.concatenate([rng.normal(50, 5, N), rng.normal(30, 5, N)])
    return mass, rng.uniform(0.1, 0.3, 2 * N), rng.uniform(500, 550, 2 * N)


def paired_auc(network: str, baseline: str, value: float, err: float) -> dict[str, Any]:
    return {"paired_auc_difference": {"network": network, "baseline": baseline, "value": value, "err": err,
                                      "significance": value / err, "n_bootstrap": 20, "n_nonfinite": 0}}  # fmt: skip


def evaluated_shift(value: float, err: float, paired: bool = True) -> dict[str, Any]:
    """A ``shift`` entry of one metric as the evaluate stage of a variation writes it."""
    return {"value": value, "err": err, "significance": value / err, "n_bootstrap": 20, "n_nonfinite": 0,
            "paired": paired, "n_variation": 2 * N, "n_nominal": 2 * N}  # fmt: skip


def twin_reference(value: float, err: float) -> dict[str, Any]:
    """A ``nominal_test`` entry: the twin's auc as the variation's evaluation computed it."""
    return {"n_test": 2 * N, "metrics": {"test/auc": metric(value, err)}}


@pytest.fixture
def study(tmp_path: Path) -> dict[str, Any]:
    """The nominal test split's evaluations, the nominal twin and three variations of it: ``soft`` (every mass 5 %
    higher, the same events; the report with its paired difference, both models' auc shifts paired by their
    evaluations), ``flip`` (the cut ahead; no paired difference, no evaluated shift) and ``thresh`` (the last
    ``DROPPED`` quarks lost, the masses of the rest 1 GeV lower)."""
    mass, width, energy = nominal_columns()
    nominal = {"resnet": {"auc": (0.805, 0.004), "rej_at_0.3": (19.0, 0.4)}, "cut": {"auc": (0.758, 0.005)}}
    out: dict[str, Any] = {"nominal_metrics": [
        write_metrics(tmp_path / f"eval/{m}/metrics.json", m, kind, nominal[m])
        for m, kind in (("resnet", "network"), ("cut", "baseline"))]}  # fmt: skip
    net = {"auc": (0.81, 0.01), "rej_at_0.3": (20.0, 1.0), "accuracy": (0.7, 0.01)}
    cut = {"auc": (0.76, 0.012), "rej_at_0.3": (9.0, 0.5)}
    twin = tmp_path / "nominal"
    out["twin_metrics"] = [write_metrics(twin / "eval/resnet/metrics.json", "resnet", "network", net),
                           write_metrics(twin / "eval/cut/metrics.json", "cut", "baseline", cut)]  # fmt: skip
    (twin / "summary.json").write_text(json.dumps({"n_test": 2 * N, **paired_auc("resnet", "cut", 0.05, 0.01)}))
    out["twin_summary"], out["twin_test"] = twin / "summary.json", write_images(twin / "test.h5", mass, width, energy)
    soft_net = {"shift": {"auc": evaluated_shift(-0.031, 0.004)}, "nominal_test": twin_reference(0.811, 0.01)}
    soft_cut = {"shift": {"auc": evaluated_shift(-0.021, 0.003)}}
    samples = {
        "soft": ({"auc": (0.78, 0.02), "rej_at_0.3": (16.0, 2.0)}, {"auc": (0.74, 0.015), "rej_at_0.3": (8.0, 1.0)},
                 paired_auc("resnet", "cut", 0.04, 0.012), mass * 1.05, (soft_net, soft_cut), slice(None)),
        "flip": ({"auc": (0.70, 0.02)}, {"auc": (0.73, 0.015)}, {}, mass - 0.01 * (np.arange(2 * N) >= N), ({}, {}),
                 slice(None)),
        "thresh": ({"auc": (0.80, 0.01)}, {"auc": (0.75, 0.012)}, {}, mass - 1.0, ({}, {}), slice(0, 2 * N - DROPPED)),
    }  # fmt: skip
    out["variations"] = {}
    for name, (net, cut, report, varied_mass, (net_extra, cut_extra), keep) in samples.items():
        folder = tmp_path / name
        metrics = [write_metrics(folder / "eval/resnet/metrics.json", "resnet", "network", net, **net_extra),
                   write_metrics(folder / "eval/cut/metrics.json", "cut", "baseline", cut, **cut_extra)]  # fmt: skip
        (folder / "summary.json").write_text(json.dumps({"n_test": 2 * N, **report}))
        test = write_images(folder / "test.h5", varied_mass, width * 1.1, energy, keep)
        out["variations"][name] = {"metrics": metrics, "summary": folder / "summary.json", "test": test}
    return out


def run(study: dict[str, Any], folder: Path, expect: dict[str, dict[str, str]]) -> dict[str, Any]:
    return variations.run(dataset="qg", task="classification", expect=expect, descriptions={"soft": "harder jets"},
                          table=folder / "variations.md", summary=folder / "variations.json",
                          figure=folder / "variations.png", **study)  # fmt: skip


def test_shift_of_independent_samples_adds_the_errors_in_quadrature() -> None:
    s = shifts.shift({"value": 0.80, "err": 0.03}, {"value": 0.76, "err": 0.04})
    assert s["value"] == 0.76 and s["err"] == 0.04
    assert s["shift"] == pytest.approx(-0.04) and s["shift_err"] == pytest.approx(0.05)
    assert s["significance"] == pytest.approx(-0.8)
    null = shifts.shift({"value": None, "err": 1.0}, {"value": 3.0, "err": 1.0})  # an infinite rejection
    assert math.isnan(null["shift"]) and null["shift_err"] == pytest.approx(math.sqrt(2))


def test_mean_shift_against_hand_computed_standard_errors() -> None:
    m = shifts.mean_shift(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, np.nan]))  # NaN left out
    se = math.sqrt(5 / 3) / 2  # std(ddof=1) of 1..4 is sqrt(5/3), over sqrt(4)
    assert (m["twin"], m["varied"], m["shift"], m["paired"], m["n_variation"]) == (2.5, 4.5, 2.0, False, 4)
    assert m["twin_err"] == pytest.approx(se) and m["shift_err"] == pytest.approx(se * math.sqrt(2))
    assert m["significance"] == pytest.approx(2.0 / (se * math.sqrt(2))) and m["relative"] == pytest.approx(0.8)
    assert math.isnan(shifts.mean_shift(np.array([1.0]), np.array([2.0, 3.0]))["shift"])


def test_paired_mean_shift_takes_the_spread_of_the_per_event_differences() -> None:
    twin, varied = np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 2, 5, 5, np.nan])  # the NaN pair is left out
    m = shifts.paired_mean_shift(twin, varied)
    d = np.array([1.0, 0, 2, 1])  # mean 1, std(ddof=1) sqrt(2/3)
    assert (m["shift"], m["paired"], m["n_twin"]) == (1.0, True, 4)
    assert m["shift_err"] == pytest.approx(math.sqrt(2 / 3) / 2) and m["twin"] == 2.5 and m["varied"] == 3.5
    assert m["shift_err"] == pytest.approx(np.std(d, ddof=1) / 2)
    assert m["shift_err"] < shifts.mean_shift(twin[:4], varied[:4])["shift_err"] / 2  # the shared spread cancels
    with pytest.raises(ValueError, match="same events"):
        shifts.paired_mean_shift(twin, varied[:3])


def test_pairing_by_the_events_per_class() -> None:
    p = shifts.pairing(np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 1]), ["a", "b"])
    assert p["a"] == {"paired": True, "n_twin": 2, "n_variation": 2}
    assert p["b"] == {"paired": False, "n_twin": 3, "n_variation": 2}
    assert p["all"]["paired"] is False


def test_ranking_sign_for_higher_and_lower_is_better() -> None:
    entry = {"network": "cnn", "baseline": "cut", "value": 0.03, "err": 0.01}
    higher, lower = shifts.ranking(entry, True), shifts.ranking(entry, False)
    assert higher["network_ahead"] is True and lower["network_ahead"] is False
    assert higher["significant"] and higher["significance"] == pytest.approx(3.0)
    narrower = shifts.ranking({**entry, "value": -0.015}, False)  # a resolution 0.015 smaller: the network wins
    assert narrower["network_ahead"] is True and not narrower["significant"]
    assert shifts.ranking_holds(lower, narrower) is False and shifts.ranking_holds(higher, narrower) is True
    assert shifts.ranking_holds(higher, None) is None


def test_paired_entry_finds_the_regression_reports_rms() -> None:
    report = {"paired_rms_difference": {"value": -0.01, "err": 0.002}, "paired_core_width_difference": {}}
    assert shifts.paired_entry(report, "resolution") == {"value": -0.01, "err": 0.002}
    assert shifts.paired_entry(report, "auc") is None


def test_study_metrics_headline_first_then_by_prefix() -> None:
    names = ["test/rej_at_0.3", "test/accuracy", "test/auc_quark", "test/eff_at_purity_0.9", "test/auc"]
    assert shifts.study_metrics(names, ("auc", "rej_at_", "eff_at_purity_"), "auc") == [
        "auc", "auc_quark", "rej_at_0.3", "eff_at_purity_0.9"]  # fmt: skip


def test_variations_report_numbers(study: dict[str, Any], tmp_path: Path) -> None:
    out = run(study, tmp_path / "out", {"soft": {"observables/mass": "up"}})
    soft, flip = out["variations"]["soft"], out["variations"]["flip"]
    resnet = soft["models"]["resnet"]
    # the evaluation's paired shift is used as given, against the twin's value it was taken from (nominal_test)
    assert (resnet["auc"]["shift"], resnet["auc"]["shift_err"], resnet["auc"]["paired"]) == (-0.031, 0.004, True)
    assert resnet["auc"]["from_evaluation"] is True and resnet["auc"]["twin"] == 0.811
    assert resnet["auc"]["significance"] == pytest.approx(-7.75)
    # without an evaluated shift: the independent errors in quadrature, against the twin's own evaluation
    rej = resnet["rej_at_0.3"]
    assert (rej["paired"], rej["from_evaluation"], rej["twin"], rej["shift"]) == (False, False, 20.0, -4.0)
    assert rej["shift_err"] == pytest.approx(math.hypot(1.0, 2.0))
    assert list(resnet) == ["auc", "rej_at_0.3"]  # accuracy is no study metric of classification
    assert flip["models"]["cut"]["auc"] == pytest.approx(
        {**shifts.shift(metric(0.76, 0.012), metric(0.73, 0.015)), "paired": False, "from_evaluation": False,
         "n_variation": 2 * N, "n_twin": 2 * N, "twin": 0.76, "twin_err": 0.012})  # fmt: skip
    # the twin against the nominal test split: independent samples
    agree = out["twin"]["agreement"]["resnet"]["auc"]
    assert agree["shift"] == pytest.approx(0.005) and agree["shift_err"] == pytest.approx(math.hypot(0.004, 0.01))
    # the network's lead: the tighter of the paired differences and the two models' (paired) shifts
    lead = soft["robustness"]
    assert lead["auc"]["method"] == "paired shifts" and lead["auc"]["value"] == pytest.approx(-0.010)
    assert lead["auc"]["err"] == pytest.approx(math.hypot(0.004, 0.003))  # tighter than hypot(0.012, 0.01)
    assert lead["rej_at_0.3"]["method"] == "unpaired shifts"
    assert lead["rej_at_0.3"]["value"] == pytest.approx((16 - 20) - (8 - 9))
    assert lead["rej_at_0.3"]["err"] == pytest.approx(math.sqrt(1 + 4 + 0.25 + 1))
    assert flip["robustness"]["auc"]["method"] == "unpaired shifts"
    assert flip["robustness"]["auc"]["err"] == pytest.approx(math.sqrt(0.01**2 + 0.012**2 + 0.02**2 + 0.015**2))
    # the ranking against the twin's: holds under soft (paired, significant), flips under flip (unpaired)
    assert out["twin"]["ranking"]["network_ahead"] is True and out["twin"]["ranking"]["paired"] is True
    assert soft["ranking"]["twin"] == out["twin"]["ranking"]
    assert soft["ranking"]["holds"] is True and soft["ranking"]["variation"]["significant"]
    f = flip["ranking"]["variation"]
    assert (f["paired"], f["network_ahead"], f["significant"], flip["ranking"]["holds"]) == (False, False, False, False)
    assert f["value"] == pytest.approx(-0.03) and f["err"] == pytest.approx(math.hypot(0.02, 0.015))
    nominal = out["nominal"]["ranking"]  # for orientation: unpaired on the nominal test split
    assert nominal["paired"] is False and nominal["value"] == pytest.approx(0.047)


def test_paired_differences_lead_where_tighter(study: dict[str, Any], tmp_path: Path) -> None:
    cut = Path(study["variations"]["soft"]["metrics"][1])
    info = json.loads(cut.read_text())
    info["shift"]["auc"] = evaluated_shift(-0.021, 0.03)  # a loose shift of the cut: the report's pair wins
    cut.write_text(json.dumps(info))
    lead = run(study, tmp_path / "out", {})["variations"]["soft"]["robustness"]["auc"]
    assert lead["method"] == "paired differences" and lead["value"] == pytest.approx(-0.01)
    assert lead["err"] == pytest.approx(math.hypot(0.012, 0.01))


def test_an_evaluated_shift_of_the_old_format_is_an_input_error(study: dict[str, Any], tmp_path: Path) -> None:
    path = Path(study["variations"]["soft"]["metrics"][0])
    info = json.loads(path.read_text())
    info["shift"] = {"auc": -0.03}
    path.write_text(json.dumps(info))
    with pytest.raises(InputError, match=r"shift of 'auc' of model 'resnet' is -0\.03.*re-run the variation"):
        run(study, tmp_path / "out", {})


def test_paired_physics_check_on_the_same_events(study: dict[str, Any], tmp_path: Path) -> None:
    out = run(study, tmp_path / "out", {"soft": {"observables/mass": "up"}, "flip": {"observables/mass": "down"}})
    mass = nominal_columns()[0]
    check = out["variations"]["soft"]["check"]
    assert check["passed"] is True
    gluon = check["variables"]["observables/mass"]["classes"]["gluon"]
    # every mass 5 % higher, the same events: the per-event differences are 0.05 m, their spread 0.05 std(m)
    assert gluon["paired"] is True and gluon["shift"] == pytest.approx(0.05 * mass[:N].mean())
    assert gluon["shift_err"] == pytest.approx(0.05 * np.std(mass[:N], ddof=1) / math.sqrt(N))
    unpaired = shifts.mean_shift(mass[:N], 1.05 * mass[:N])["shift_err"]
    assert gluon["shift_err"] < unpaired / 25 and gluon["significance"] > 100
    assert gluon["ok"] is True
    # flip: the gluons do not move (no sign: not as expected), the quarks go down by 0.01 (as expected)
    flipped = out["variations"]["flip"]["check"]
    classes = flipped["variables"]["observables/mass"]["classes"]
    assert (classes["gluon"]["ok"], classes["quark"]["ok"], flipped["passed"]) == (False, True, False)
    assert classes["quark"]["shift"] == pytest.approx(-0.01)
    changed = out["variations"]["soft"]["observables"]
    assert set(changed) == {"observables/mass", "observables/width", "truth/energy"}
    assert changed["observables/width"]["quark"]["relative"] == pytest.approx(0.1)
    assert changed["truth/energy"]["all"]["shift"] == pytest.approx(0.0, abs=1e-9)
    text = (tmp_path / "out" / "variations.md").read_text()
    assert "| observables/width | +10.0% (" in text and "NOT passed" in text and "sqrt(err_twin² + err_var²)" in text
    assert "| gluon | 400 | 400 | paired |" in text


def test_unequal_class_counts_fall_back_to_unpaired(study: dict[str, Any], tmp_path: Path) -> None:
    out = run(study, tmp_path / "out", {"thresh": {"observables/mass": "down"}})
    thresh = out["variations"]["thresh"]
    assert thresh["pairing"]["quark"] == {"paired": False, "n_twin": N, "n_variation": N - DROPPED}
    assert thresh["pairing"]["gluon"]["paired"] is True and thresh["pairing"]["all"]["paired"] is False
    classes = thresh["check"]["variables"]["observables/mass"]["classes"]
    mass = nominal_columns()[0]
    quark_twin, quark_var = mass[N:], mass[N : 2 * N - DROPPED] - 1.0
    se = math.hypot(np.std(quark_twin, ddof=1) / math.sqrt(N), np.std(quark_var, ddof=1) / math.sqrt(N - DROPPED))
    assert classes["quark"]["paired"] is False and classes["quark"]["shift_err"] == pytest.approx(se)
    assert classes["quark"]["shift"] == pytest.approx(quark_var.mean() - quark_twin.mean())
    assert classes["gluon"]["paired"] is True and classes["gluon"]["shift_err"] == pytest.approx(0.0, abs=1e-9)
    assert thresh["check"]["passed"] is True
    text = (tmp_path / "out" / "variations.md").read_text()
    assert f"| quark | {N} | {N - DROPPED} | unpaired |" in text


def test_a_class_moving_the_wrong_way_beyond_3_sigma_stops_the_stage(study: dict[str, Any], tmp_path: Path) -> None:
    wrong = (
        r"variation 'soft' moves the mean of 'observables/mass' of class 'gluon' by \+2\.47\d* ± 0\.01\d+ \(paired, "
        r".*expected to go down: the variation does not move the physics the known way"
    )
    with pytest.raises(InputError, match=wrong):
        run(study, tmp_path / "out", {"soft": {"observables/mass": "down"}})
    assert not (tmp_path / "out").exists()  # nothing written
    with pytest.raises(ConfigError, match=r"variations\.soft\.expect\.observables/mass"):
        run(study, tmp_path / "out", {"soft": {"observables/mass": "sideways"}})
    with pytest.raises(InputError, match="no 'truth/nothing' in the image file"):
        run(study, tmp_path / "out", {"soft": {"truth/nothing": "up"}})


def test_variations_stage_writes_its_three_files(study: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "out"
    out = run(study, folder, {})
    assert json.loads((folder / "variations.json").read_text())["variations"]["soft"]["description"] == "harder jets"
    assert out["metrics"] == ["auc", "rej_at_0.3"] and out["variations"]["soft"]["check"] is None
    text = (folder / "variations.md").read_text()
    assert "| nominal test split | 800 | resnet - cut: +0.0470 ± 0.0064 (unpaired) | +7.3 σ | yes | yes | - |" in text
    assert "| nominal twin | 800 | resnet - cut: +0.050 ± 0.010 | +5.0 σ | yes | yes | - |" in text
    assert "| flip | 800 | resnet - cut: -0.030 ± 0.025 (unpaired) | -1.2 σ | no | no | no |" in text
    assert "| resnet | network | auc | 0.8050 ± 0.0040 | 0.811 ± 0.010 | 0.780 ± 0.020 | -0.0310 ± 0.0040 | " \
        "-7.8 σ | paired |" in text  # fmt: skip
    assert "| cut | baseline | auc | 0.7580 ± 0.0050 | 0.760 ± 0.012 | 0.730 ± 0.015 | -0.030 ± 0.019 | " \
        "-1.6 σ | unpaired |" in text  # fmt: skip
    assert "| resnet | network | auc | 0.8050 ± 0.0040 | 0.810 ± 0.010 | +0.005 ± 0.011 | +0.5 σ |" in text
    assert (folder / "variations.png").read_bytes()[:8] == PNG
    assert_figure(folder / "variations.png")


def test_lower_is_better_headline_ranks_by_the_regression_reports_rms(tmp_path: Path) -> None:
    """Energy regression: the headline resolution is lower-is-better and its paired difference is the report's
    ``paired_rms_difference``; a smaller network resolution is the network ahead."""
    mass, width, energy = nominal_columns()
    inputs: dict[str, Any] = {}
    for name, (net, cut, diff) in {"twin": (0.20, 0.25, -0.05), "noisy": (0.24, 0.25, -0.01)}.items():
        folder = tmp_path / name
        metrics = [write_metrics(folder / f"{m}.json", m, kind, {"resolution": (v, 0.01)}, "energy_regression")
                   for m, kind, v in (("cnn", "network", net), ("cal", "baseline", cut))]  # fmt: skip
        report = {"paired_rms_difference": {"network": "cnn", "baseline": "cal", "value": diff, "err": 0.01}}
        (folder / "summary.json").write_text(json.dumps(report))
        test = write_images(folder / "test.h5", mass, width, energy)
        inputs[name] = {"metrics": metrics, "summary": folder / "summary.json", "test": test}
    twin = inputs.pop("twin")
    out = variations.run(dataset="nu", task="energy_regression", nominal_metrics=twin["metrics"],
                         twin_metrics=twin["metrics"], twin_summary=twin["summary"], twin_test=twin["test"],
                         variations=inputs, expect={}, descriptions={}, table=tmp_path / "v.md",
                         summary=tmp_path / "v.json", figure=tmp_path / "v.png")  # fmt: skip
    ref, noisy = out["twin"]["ranking"], out["variations"]["noisy"]["ranking"]
    assert (ref["paired"], ref["network_ahead"], ref["significant"]) == (True, True, True)
    varied = noisy["variation"]
    assert (varied["network_ahead"], varied["significant"], noisy["holds"]) == (True, False, True)
    lead = out["variations"]["noisy"]["robustness"]["resolution"]
    assert lead["method"] == "paired differences" and lead["value"] == pytest.approx(0.04)
    assert lead["err"] == pytest.approx(0.01 * math.sqrt(2))
    assert out["twin"]["agreement"]["cnn"]["resolution"]["shift"] == 0.0
    assert "in resolution (lower is better)" in (tmp_path / "v.md").read_text()
