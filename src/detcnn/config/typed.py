"""The workflow config parsed once: :func:`load` validates it against the composed schema, fills every
default, runs the checks of :mod:`detcnn.config_checks` and returns typed, frozen sections, each keeping its
plain filled dict (``section``) for what the rules pass to the stages as JSON."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from detcnn.config.fill import validate
from detcnn.kinds import ModelKind

Section = Mapping[str, Any]


@dataclass(frozen=True)
class DatasetConfig:
    """A dataset: its source, kind of events (a key of :data:`detcnn.rasterisers.RASTERISERS`), tasks, the
    samples its source generates (none for files that are read) and its event classes, in label order."""

    name: str
    source: str
    events: str
    tasks: tuple[str, ...]
    samples: tuple[str, ...]
    class_names: tuple[str, ...]
    section: Section


@dataclass(frozen=True)
class ModelConfig:
    """A network: its arch, task, the datasets it trains on and the GPUs a training asks for."""

    name: str
    arch: str
    task: str
    datasets: tuple[str, ...]
    gpus: int
    section: Section

    kind = ModelKind.NETWORK


@dataclass(frozen=True)
class BaselineConfig:
    """A baseline: its kind, that kind's task, and the datasets it is fitted on."""

    name: str
    baseline_kind: str
    task: str
    datasets: tuple[str, ...]
    section: Section

    kind = ModelKind.BASELINE


@dataclass(frozen=True)
class EvaluateConfig:
    """Working points (signal efficiencies, purities) and bootstrap resamples of every evaluation."""

    efficiencies: tuple[float, ...]
    purities: tuple[float, ...]
    n_bootstrap: int
    section: Section


@dataclass(frozen=True)
class TrackingConfig:
    """Where runs are logged (None: the SQLite store under results/mlflow) and what is logged with them."""

    uri: str | None
    log_model: bool
    register_models: bool
    system_metrics: bool
    section: Section


@dataclass(frozen=True)
class ExportConfig:
    onnx: bool
    aoti: bool
    section: Section


@dataclass(frozen=True)
class ResourcesConfig:
    """What jobs ask of the machine: ``section`` is read by :mod:`detcnn.resources`, stage by stage."""

    section: Section


@dataclass(frozen=True)
class WorkflowConfig:
    """The whole config, filled (``plain``: the filled dict itself) and checked, by section."""

    seed: int
    datasets: Mapping[str, DatasetConfig]
    models: Mapping[str, ModelConfig]
    baselines: Mapping[str, BaselineConfig]
    evaluate: EvaluateConfig
    tracking: TrackingConfig
    export: ExportConfig
    resources: ResourcesConfig
    plain: Section

    def model(self, name: str) -> ModelConfig | BaselineConfig:
        """The network or baseline ``name``; a KeyError naming both sections for another name."""
        if name in self.models:
            return self.models[name]
        if name in self.baselines:
            return self.baselines[name]
        raise KeyError(f"'{name}' is neither under 'models' nor under 'baselines' in the config")


def load(config: Mapping[str, Any], *, networks: bool = True) -> WorkflowConfig:
    """Validate ``config`` (not changed; a copy is filled), fill its defaults and check it
    (:func:`detcnn.config_checks.check_config`; ``networks``: build every network too, which imports torch);
    the first mistake is a ConfigError naming its key and the fix."""
    from detcnn.config_checks import check_config

    filled = copy.deepcopy(dict(config))
    validate(filled)
    check_config(filled, networks=networks)
    return _typed(filled)


def _typed(cfg: dict[str, Any]) -> WorkflowConfig:
    from detcnn.catalogue import class_names, entry_task, event_kind, runs_on, samples
    from detcnn.resources import model_gpus

    ds = cfg["datasets"]

    def on(entry: Section) -> tuple[str, ...]:
        return tuple(d for d in ds if runs_on(entry, d, ds))

    datasets = {name: DatasetConfig(name, s["source"], event_kind(s), tuple(s["tasks"]), samples(s),
                                    tuple(class_names(s)), s) for name, s in ds.items()}  # fmt: skip
    models = {name: ModelConfig(name, s["arch"], s["task"], on(s), model_gpus(s), s)
              for name, s in cfg["models"].items()}  # fmt: skip
    baselines = {name: BaselineConfig(name, s["kind"], entry_task(s), on(s), s) for name, s in cfg["baselines"].items()}
    ev, tr = cfg["evaluate"], cfg["tracking"]
    return WorkflowConfig(
        seed=int(cfg["seed"]), datasets=MappingProxyType(datasets), models=MappingProxyType(models),
        baselines=MappingProxyType(baselines),
        evaluate=EvaluateConfig(tuple(map(float, ev["efficiencies"])), tuple(map(float, ev["purities"])),
                                int(ev["n_bootstrap"]), ev),
        tracking=TrackingConfig(tr["uri"], tr["log_model"], tr["register_models"], tr["system_metrics"], tr),
        export=ExportConfig(bool(cfg["export"]["onnx"]), bool(cfg["export"]["aoti"]), cfg["export"]),
        resources=ResourcesConfig(cfg["resources"]),
        plain=cfg,
    )  # fmt: skip
