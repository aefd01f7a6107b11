"""The rasterise stage: a dataset's ROOT files -> one image file per split (train, val, test) and stats.

The rasteriser is the one for the dataset's kind of events (:data:`detcnn.rasterisers.RASTERISERS`), with
what the dataset's source contributes (class names, event truth, detector volume, how its files are read)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from detcnn.catalogue import event_kind
from detcnn.config import config_hash, fill_dataset
from detcnn.config.variations import without_studies
from detcnn.generate import get_source
from detcnn.io.atomic import write_json
from detcnn.rasterisers import RASTERISERS

Path = str | os.PathLike[str]


def run(
    *, inputs: Sequence[Path], train: Path, val: Path, test: Path, stats: Path, dataset: str,
    ds: Mapping[str, Any], seed: int, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Rasterise the ROOT files ``inputs`` of dataset ``dataset`` (its config section ``ds``, its defaults
    filled here) into the split files ``train``, ``val``, ``test`` (HDF5, renamed into place only when all
    succeeded) and ``stats`` (JSON). The split draw is seeded by ``seed``; the files carry the hash of the
    filled ``ds``."""
    ds = fill_dataset(ds, key=f"datasets.{dataset}")
    source = get_source(ds["source"], key=f"datasets.{dataset}.source")
    hashed = ds if ds["variations"] else without_studies(ds)  # a variation's file: its variation hashed too
    rasteriser = RASTERISERS[event_kind(ds)]
    result = rasteriser.rasterise_dataset(
        inputs, {"train": train, "val": val, "test": test}, ds, dataset=dataset, seed=seed,
        config_hash=config_hash(hashed), progress=progress, **source.rasterise_options(ds),
    )  # fmt: skip
    write_json(stats, result)
    return result


def run_variation(
    *, inputs: Sequence[Path], test: Path, stats: Path, dataset: str, variation: str, ds: Mapping[str, Any],
    seed: int, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Rasterise the ROOT files ``inputs`` of the systematic variation ``variation`` of dataset ``dataset`` (its
    config section ``ds``, the variation under ``ds['variations']``) with the dataset's nominal image settings
    and the variation's read-out (:func:`detcnn.config.variations.variation_dataset`) into one test file
    ``test`` (every event: the sample is never trained or validated on; attribute ``variation``) and ``stats``."""
    import tempfile

    import h5py

    from detcnn.config.study_checks import readout_keys
    from detcnn.config.variations import variation_dataset, variation_section
    from detcnn.errors import ConfigError

    ds = fill_dataset(ds, key=f"datasets.{dataset}")
    try:
        section = variation_section(ds, variation)
    except ConfigError as exc:
        raise exc.under(f"datasets.{dataset}") from None
    varied = variation_dataset(ds, section, readout_keys(ds), f"datasets.{dataset}.variations.{variation}")
    folder = os.path.dirname(os.path.abspath(test))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".variation-") as tmp:
        parts = {s: os.path.join(tmp, f"{s}.h5") for s in ("train", "val", "test")}
        result = run(inputs=inputs, **parts, stats=os.path.join(tmp, "stats.json"), dataset=dataset, ds=varied,
                     seed=seed, progress=progress)  # fmt: skip
        with h5py.File(parts["test"], "a") as f:
            f.attrs["variation"] = variation
        os.replace(parts["test"], test)
    write_json(stats, {**result, "variation": variation})
    return result
