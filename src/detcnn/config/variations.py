"""Systematic variations of a dataset: named test-only samples made with changed generator, detector or camera
settings (``datasets.<d>.variations``), rasterised with the dataset's nominal image settings and judged with
models trained on the nominal sample only.

A variation section holds (defaults in ``config.schema.yaml``): ``generate`` (a partial ``generate`` section
merged over the dataset's, key by key, nested objects too: :func:`variation_generate`), ``files`` (the
variation's own ROOT files, for a dataset of the user's files), ``readout`` (the read-out settings of the image
section the kind of events lets a variation change, e.g. the noise and threshold of detector images:
:func:`variation_dataset`) and ``expect`` (the physics check). The dataset's ``variation_sample`` sets the size
of every variation sample (``shards``, and ``generate`` keys such as the events per shard).

Every dataset with variations also has the nominal twin, :data:`TWIN`: a sample of the nominal settings with
the size and the seeds of the variations, the reference of every shift. A generated variation's shard ``k``
takes the seed of shard ``n_nominal + k`` of the source's seed formula: no event of a variation repeats an
event of the nominal splits, and a detector or read-out variation holds the same interactions as the twin, in
the same order, so that the shifts are paired event by event.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from detcnn.errors import ConfigError

#: A variation's sample goes whole to the test split (it is never trained or validated on).
TEST_ONLY = {"train": 0.0, "val": 0.0, "test": 1.0}
#: The name of the nominal twin (reserved: no variation may take it).
TWIN = "nominal"
#: A dataset's keys of the studies (and of the scoring of its files, ``predict``): they change no nominal file
#: (the rasterise step and the image files' config hash see the dataset without them, so adding a variation, a
#: learning curve or a prediction reruns nothing nominal).
STUDY_KEYS = ("variations", "variation_sample", "bins", "learning_curve", "predict")


def without_studies(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset section ``ds`` without its :data:`STUDY_KEYS`."""
    return {k: v for k, v in ds.items() if k not in STUDY_KEYS}


def variation_section(ds: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The variation ``name`` of the (filled) dataset ``ds``, the twin's (nothing changed) for :data:`TWIN`; a
    ConfigError listing the dataset's variations for another name."""
    if name == TWIN:
        return {}
    if name not in ds["variations"]:
        raise ConfigError(f"no variation '{name}'; valid: {[TWIN, *ds['variations']]}", key="variations")
    return ds["variations"][name]


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged over it, key by key (nested mappings merged, everything else replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def variation_generate(ds: Mapping[str, Any], variation: Mapping[str, Any]) -> dict[str, Any]:
    """The ``generate`` section of a variation of the (filled) dataset ``ds``: the dataset's ``generate``, the
    size of its ``variation_sample`` and the variation's own keys merged over it, in that order (a list, such
    as Pythia's extra ``settings``, is replaced)."""
    sized = merged(ds["generate"], ds["variation_sample"]["generate"])
    return merged(sized, variation.get("generate") or {})


def shard_numbers(ds: Mapping[str, Any]) -> range:
    """The seed shard numbers of the files of every generated variation and of the twin: after the dataset's
    nominal shards."""
    first = int(ds["generate"]["shards"])
    return range(first, first + int(ds["variation_sample"]["shards"]))


def variation_dataset(ds: Mapping[str, Any], variation: Mapping[str, Any], readout: tuple[str, tuple[str, ...]] | None,
                      key: str) -> dict[str, Any]:  # fmt: skip
    """The dataset section a variation's events are rasterised with: the nominal one (its image settings, and
    its ``generate`` section, from which a source takes what the analysis assumes, such as the jet radius or
    the microscope's PSF width), ``files`` replaced by the variation's own, the read-out keys of ``readout``
    (``(image section, keys)`` of the kind of events, None: it has none) by the variation's, and every event
    in the test split. A ConfigError naming ``key`` for a read-out key the kind does not have."""
    out = copy.deepcopy(dict(ds))
    if variation.get("files"):
        out["files"] = list(variation["files"])
    changes = variation.get("readout") or {}
    if changes:
        section, keys = readout if readout else ("", ())
        unknown = sorted(set(changes) - set(keys))
        if unknown:
            raise ConfigError(f"the read-out has no key(s) {unknown}; valid: {list(keys)}", key=f"{key}.readout")
        out[section] = {**out.get(section, {}), **changes}
    out["split"] = dict(TEST_ONLY)
    return out
