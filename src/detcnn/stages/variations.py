"""The variations stage: every evaluated model of one task of a dataset on its systematic-variation samples,
against the dataset's nominal twin.

A variation (``variations.<name>`` of a dataset's config) is a test-only sample made with changed generator,
detector or camera settings, rasterised with the nominal image settings, evaluated with the nominal models at
the working points set on the nominal validation split, and reported like the nominal test split. Its reference
is the NOMINAL TWIN (``results/variations/{dataset}/nominal``): a sample made with the nominal physics, the same
size and the same seeds, evaluated and reported the same way. For a detector or read-out variation the twin
holds the same simulated interactions in the same order (a threshold may drop a few), so the shifts are measured
paired (:mod:`detcnn.evaluation.shifts`); the nominal test split is shown beside the twin for orientation only
(the twin must agree with it within errors). This stage reads the evaluations (``metrics.json``), the reports'
``summary.json`` and the image files of the twin and the variations, and writes:

- ``table`` (``variations.md``): the twin against the nominal test split; per variation the events per class and
  whether they pair, its physics check, the relative mean shifts of every per-event variable of the file per
  class (what changed), each model's study metrics (the task's ``STUDY_METRICS``, headline first) on the nominal
  test split, the twin and the variation with the shift variation - twin, the change of the best network's lead
  over the best baseline, and whether the ranking holds;
- ``summary`` (``variations.json``): the same numbers (:func:`run` returns them);
- ``figure`` (``variations.png``): the study metrics (at most three, headline first) per sample and model, the
  headline shift per variation and model, and the network-minus-baseline headline difference per sample.

A metric's shift is the variation's evaluation's ``shift`` entry where it has one (a paired bootstrap where the
events pair), else the two independent bootstrap errors in quadrature (``paired: false``). A per-event mean's
shift is paired per class where the twin and the variation hold the same number of its events, else independent.
The physics check: every variable a variation's ``expect`` names must move its per-class mean the known way
(:class:`~detcnn.kinds.Direction`); a class moving the wrong way by more than 3 standard errors stops the stage
with an InputError, since the sample was then not made as intended.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation import shifts
from detcnn.evaluation.bootstrap import significance
from detcnn.io.atomic import read_json, write_json, write_text
from detcnn.io.images import ImageFile, ImageSet
from detcnn.kinds import Direction, ModelKind
from detcnn.report.tables import best_of_kind
from detcnn.tasks import get_task

Paths = str | os.PathLike[str]
Models = dict[str, dict[str, Any]]  # model -> its metrics.json
#: A class moving a variable the wrong way by more than this many standard errors stops the stage.
WRONG_WAY_SIGMA = 3.0


@dataclass(frozen=True)
class VariationInputs:
    """What the workflow made of one sample (a variation or the nominal twin): the evaluations' ``metrics.json``
    (one per model), the report's ``summary.json`` and the sample's ``test.h5``."""

    metrics: Sequence[Paths]
    summary: Paths
    test: Paths


@dataclass(frozen=True)
class Sample:
    """One test sample read: its models' metrics (and the file each came from), its report summary and its
    per-event variables."""

    models: Models
    sources: dict[str, Path]
    report: dict[str, Any]
    images: ImageSet
    path: Path


def load_models(metrics: Sequence[Paths], task: str) -> tuple[Models, dict[str, Path]]:
    """``{model: metrics.json}`` of the evaluations ``metrics`` and ``{model: its path}``; an InputError for one
    of another task, a ConfigError for none."""
    models: Models = {}
    sources: dict[str, Path] = {}
    for path in metrics:
        info = read_json(path, "evaluation metrics")
        if info.get("task") != task:
            raise InputError(f"model '{info.get('model')}' was evaluated for task '{info.get('task')}', not "
                             f"'{task}'", path=path, fix="give the evaluations of one task")  # fmt: skip
        models[info["model"]], sources[info["model"]] = info, Path(path)
    if not models:
        raise ConfigError("no evaluation given", key="metrics")
    return models, sources


def _sample(inputs: VariationInputs, task: str) -> Sample:
    with ImageFile(inputs.test) as f:
        images = f.load(with_images=False)
    models, sources = load_models(inputs.metrics, task)
    return Sample(models, sources, read_json(inputs.summary, "report summary"), images, Path(inputs.test))


def _class_names(sample: Sample) -> list[str]:
    names = sample.images.class_names
    return names or [str(k) for k in range(int(sample.images.y.max()) + 1)]


def _directions(expect: Mapping[str, Mapping[str, str]], names: Sequence[str]) -> dict[str, dict[str, Direction]]:
    """``expect`` as Directions; a ConfigError naming the key for an unknown variation or direction."""
    out: dict[str, dict[str, Direction]] = {}
    for name, variables in expect.items():
        if name not in names:
            raise ConfigError(f"no variation '{name}' (have {list(names)})", key="variations")
        out[name] = {}
        for variable, way in variables.items():
            try:
                out[name][variable] = Direction(way)
            except ValueError:
                raise ConfigError(f"'{way}' is no direction; valid: {[d.value for d in Direction]}",
                                  key=f"variations.{name}.expect.{variable}") from None  # fmt: skip
    return out


def _pairing(twin: Sample, varied: Sample) -> dict[str, dict[str, Any]]:
    return shifts.pairing(twin.images.y, varied.images.y, _class_names(twin))


def _mean_shifts(variable: str, twin: Sample, varied: Sample, pairs: Mapping[str, Any]) -> dict[str, Any]:
    return shifts.class_mean_shifts(twin.images.array(variable), twin.images.y, varied.images.array(variable),
                                    varied.images.y, _class_names(twin), pairs)  # fmt: skip


def physics_check(
    name: str, variables: Mapping[str, Direction], twin: Sample, varied: Sample, pairs: Mapping[str, Any]
) -> dict[str, Any]:
    """The mean of each expected variable per class (and ``all``) in the twin and the variation, its shift
    (paired per class as ``pairs``, :func:`~detcnn.evaluation.shifts.pairing`), and whether it moved the
    expected way (``ok``) for every class present in both (``passed``); an InputError for a class moving the
    wrong way by more than :data:`WRONG_WAY_SIGMA` standard errors."""
    classes = _class_names(twin)
    out: dict[str, Any] = {}
    for variable, direction in variables.items():
        means = _mean_shifts(variable, twin, varied, pairs)
        for cls in classes:
            m = means[cls]
            m["ok"] = None if np.isnan(m["shift"]) else bool(np.sign(m["shift"]) == direction.sign)
            if m["ok"] is False and abs(m["significance"]) > WRONG_WAY_SIGMA:
                how = "paired" if m["paired"] else "unpaired"
                raise InputError(
                    f"variation '{name}' moves the mean of '{variable}' of class '{cls}' by {m['shift']:+.4g} ± "
                    f"{m['shift_err']:.4g} ({how}, {m['significance']:+.1f} σ; twin {m['twin']:.4g}, variation "
                    f"{m['varied']:.4g}) although it is expected to go {direction.value}: the variation does not "
                    "move the physics the known way", path=varied.path,
                    fix=f"check its settings (variations.{name}) and its expect",
                )  # fmt: skip
        oks = [means[c]["ok"] for c in classes if means[c]["ok"] is not None]
        out[variable] = {"expect": direction.value, "classes": {c: means[c] for c in classes}, "all": means["all"],
                         "passed": bool(oks) and all(oks)}  # fmt: skip
    return {"passed": all(v["passed"] for v in out.values()), "variables": out}


def observable_shifts(twin: Sample, varied: Sample, pairs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The mean shift per class (and ``all``, paired as ``pairs``) of every per-event variable both files have
    (``observables/<x>``, ``truth/<x>``): ``{variable: {class: mean-shift entry}}``."""
    out = {}
    for group in ("observables", "truth"):
        a, b = getattr(twin.images, group), getattr(varied.images, group)
        for key in (k for k in a if k in b):
            out[f"{group}/{key}"] = _mean_shifts(f"{group}/{key}", twin, varied, pairs)
    return out


def sample_ranking(models: Models, report: Mapping[str, Any], headline: tuple[str, bool]) -> dict[str, Any] | None:
    """The best network minus the best baseline in headline on one sample: the report's paired difference
    (``paired: True``) or, where it has none, the unpaired difference of the two models' metrics; with
    :func:`~detcnn.evaluation.shifts.ranking`'s ``network_ahead`` and ``significant``. None without both kinds."""
    name, higher = headline
    entry = shifts.paired_entry(report, name)
    if entry is not None:
        return shifts.ranking({**entry, "paired": True}, higher)
    summaries = list(models.values())
    net, base = (best_of_kind(summaries, kind, headline) for kind in (ModelKind.NETWORK, ModelKind.BASELINE))
    if not (net and base):
        return None
    m = f"test/{name}"
    diff = shifts.difference(models[net]["metrics"][m], models[base]["metrics"][m])
    return shifts.ranking({"network": net, "baseline": base, **diff, "paired": False}, higher)


def evaluation_shift(info: Mapping[str, Any], metric: str, path: Path) -> dict[str, Any] | None:
    """The shift variation - twin of ``metric`` (no ``test/``) as the variation's evaluation ``info`` (its
    ``metrics.json`` at ``path``) wrote it (``shift.<metric>``: ``{value, err, significance, paired,
    n_variation, n_nominal, ...}``), taken as given: ``{shift, shift_err, significance, paired, n_variation,
    n_twin}``; None where it has none; an InputError for an entry without ``value`` and ``err``."""
    entry = (info.get("shift") or {}).get(metric)
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or "value" not in entry or "err" not in entry:
        raise InputError(f"the shift of '{metric}' of model '{info.get('model')}' is {entry!r}, not an entry "
                         "{value, err, paired, ...}", path=path,
                         fix="re-run the variation's evaluate step against its nominal twin")  # fmt: skip
    d, e = shifts.number(entry["value"]), shifts.number(entry["err"])
    given = entry.get("significance")
    return {"shift": d, "shift_err": e, "significance": significance(d, e) if given is None else float(given),
            "paired": bool(entry.get("paired")), "n_variation": entry.get("n_variation"),
            "n_twin": entry.get("n_nominal")}  # fmt: skip


def model_shifts(twin: Sample, varied: Sample, metrics: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{model: {metric: entry}}`` of every model of the twin evaluated on the variation (a metric or model it
    lacks is left out). An entry: the variation's ``value``, ``err``; the twin's ``twin``, ``twin_err`` (the
    twin's metrics as the variation's evaluation computed them, its ``nominal_test``, else the twin's own
    evaluation); ``shift``, ``shift_err``, ``significance``, ``paired``, ``n_variation``, ``n_twin`` and
    ``from_evaluation``: from :func:`evaluation_shift` where the evaluation wrote the shift, else the two
    errors in quadrature (``paired: False``)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for model, info in twin.models.items():
        have = varied.models.get(model)
        if have is None:
            continue
        own = have.get("nominal_test") or {}
        rows = {}
        for metric in (m for m in metrics if f"test/{m}" in have["metrics"]):
            key = f"test/{metric}"
            source = own if key in own.get("metrics", {}) else info
            reference = source["metrics"].get(key)
            if reference is None:
                continue
            row = {**shifts.shift(reference, have["metrics"][key]), "paired": False,
                   "n_variation": have.get("n_test"), "n_twin": source.get("n_test")}  # fmt: skip
            given = evaluation_shift(have, metric, varied.sources[model])
            row.update(given or {}, from_evaluation=given is not None)
            twin_value = {"twin": shifts.number(reference["value"]), "twin_err": shifts.number(reference["err"])}
            rows[metric] = {**row, **twin_value}
        if rows:
            out[model] = rows
    return out


def robustness(
    models: Mapping[str, Mapping[str, Mapping[str, Any]]],
    rankings: tuple[dict[str, Any] | None, dict[str, Any] | None], metrics: Sequence[str], headline: str,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The shift of the twin's best network minus the shift of its best baseline, per study metric, the tighter
    of: the variation's paired network-minus-baseline difference minus the twin's (the headline, where both
    reports have it for the same pair: ``method: paired differences``), and the difference of the two models'
    shifts (:func:`model_shifts`: ``paired shifts`` where both are paired, else ``unpaired shifts``). Each adds
    its two errors in quadrature: an upper bound where the two are positively correlated."""
    ref, var = rankings
    if ref is None:
        return {}
    net, base = ref["network"], ref["baseline"]
    out = {}
    for metric in metrics:
        found = []
        same = var is not None and (var["network"], var["baseline"]) == (net, base)
        if metric == headline and ref["paired"] and same and var["paired"]:
            found.append({**shifts.difference(var, ref), "method": "paired differences"})
        s_net, s_base = models.get(net, {}).get(metric), models.get(base, {}).get(metric)
        if s_net and s_base:
            d = shifts.difference({"value": s_net["shift"], "err": s_net["shift_err"]},
                                  {"value": s_base["shift"], "err": s_base["shift_err"]})  # fmt: skip
            paired = s_net["paired"] and s_base["paired"]
            found.append({**d, "method": "paired shifts" if paired else "unpaired shifts"})
        if found:
            best = min(found, key=lambda f: f["err"] if math.isfinite(f["err"]) else math.inf)
            out[metric] = {"network": net, "baseline": base, **best}
    return out


def _values(models: Models, metrics: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``{model: {metric: {value, err}}}`` of the study ``metrics`` each model has."""
    return {m: {k: {"value": shifts.number(s["metrics"][f"test/{k}"]["value"]),
                    "err": shifts.number(s["metrics"][f"test/{k}"]["err"])}
                for k in metrics if f"test/{k}" in s["metrics"]} for m, s in models.items()}  # fmt: skip


def agreement(nominal: Models, twin: Models, metrics: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``{model: {metric: shift}}`` of the twin against the nominal test split (independent samples:
    :func:`~detcnn.evaluation.shifts.shift`) for every model and study metric both have: the twin is only a
    fair reference where these are consistent with zero."""
    out = {}
    for model, info in twin.items():
        ref = nominal.get(model, {}).get("metrics", {})
        rows = {m: shifts.shift(ref[f"test/{m}"], info["metrics"][f"test/{m}"]) for m in metrics
                if f"test/{m}" in ref and f"test/{m}" in info["metrics"]}  # fmt: skip
        if rows:
            out[model] = rows
    return out


def _variation(
    name: str, varied: Sample, twin: Sample, expect: Mapping[str, Direction], description: str,
    metrics: Sequence[str], headline: tuple[str, bool], twin_ranking: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """The ``variations.<name>`` entry of the summary (module doc); raises where the physics check fails."""
    if _class_names(varied) != _class_names(twin):
        raise InputError(f"variation '{name}' has the classes {_class_names(varied)}, the nominal twin "
                         f"{_class_names(twin)}", path=varied.path,
                         fix="make the variation sample with the dataset's classes")  # fmt: skip
    pairs = _pairing(twin, varied)
    check = physics_check(name, expect, twin, varied, pairs) if expect else None
    var_ranking = sample_ranking(varied.models, varied.report, headline)
    models = model_shifts(twin, varied, metrics)
    return {
        "description": description,
        "n_test": varied.report.get("n_test", len(varied.images.y)),
        "pairing": pairs,
        "models": models,
        "ranking": {"twin": twin_ranking, "variation": var_ranking,
                    "holds": shifts.ranking_holds(twin_ranking, var_ranking)},
        "robustness": robustness(models, (twin_ranking, var_ranking), metrics, headline[0]),
        "check": check,
        "observables": observable_shifts(twin, varied, pairs),
    }  # fmt: skip


def run(
    *, dataset: str, task: str, nominal_metrics: Sequence[Paths], twin_metrics: Sequence[Paths],
    twin_summary: Paths, twin_test: Paths, variations: Mapping[str, VariationInputs | Mapping[str, Any]],
    expect: Mapping[str, Mapping[str, str]], descriptions: Mapping[str, str], table: Paths, summary: Paths,
    figure: Paths,
) -> dict[str, Any]:  # fmt: skip
    """Compare each variation's evaluations of ``task`` on ``dataset`` (``variations[name]``: a
    :class:`VariationInputs` or a mapping with its fields) with the nominal twin's (``twin_metrics``, report
    ``twin_summary``, sample ``twin_test``); the nominal test split's evaluations (``nominal_metrics``) are shown
    for orientation. ``expect[name]``: ``{variable: "up" | "down"}`` the physics check of a variation,
    ``descriptions[name]``: its one line. Writes the three outputs of the module doc (after every check passed)
    and returns the summary."""
    from detcnn.report.study_figures import plot_variations
    from detcnn.report.study_tables import variations_text

    module = get_task(task)
    headline = module.HEADLINE
    if not variations:
        raise ConfigError(f"dataset '{dataset}' has no variations", key="variations")
    directions = _directions(expect, list(variations))
    nominal, _ = load_models(nominal_metrics, task)
    twin = _sample(VariationInputs(twin_metrics, twin_summary, twin_test), task)
    metrics = shifts.study_metrics(dict.fromkeys(k for s in twin.models.values() for k in s["metrics"]),
                                   module.STUDY_METRICS, headline[0])  # fmt: skip
    twin_ranking = sample_ranking(twin.models, twin.report, headline)
    result: dict[str, Any] = {
        "dataset": dataset, "task": task, "headline": {"metric": headline[0], "higher_is_better": headline[1]},
        "metrics": metrics,
        "kinds": {m: s["kind"] for m, s in {**nominal, **twin.models}.items()},
        "nominal": {"n_test": max(int(s.get("n_test", 0)) for s in nominal.values()),
                    "ranking": sample_ranking(nominal, {}, headline), "models": _values(nominal, metrics)},
        "twin": {"n_test": twin.report.get("n_test", len(twin.images.y)), "ranking": twin_ranking,
                 "models": _values(twin.models, metrics), "agreement": agreement(nominal, twin.models, metrics)},
        "variations": {},
    }  # fmt: skip
    for name, given in variations.items():
        inputs = given if isinstance(given, VariationInputs) else VariationInputs(**given)
        result["variations"][name] = _variation(name, _sample(inputs, task), twin, directions.get(name, {}),
                                                descriptions.get(name, ""), metrics, headline,
                                                twin_ranking)  # fmt: skip
    write_text(table, variations_text(result))
    write_json(summary, result)
    plot_variations(figure, result)
    return result
