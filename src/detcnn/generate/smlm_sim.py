"""Source ``smlm_sim``: single-molecule localisation microscopy frames, simulated (seeded, vectorised) with
:mod:`detcnn.physics.microscope`, as ROOT files of camera frames and the true emitters.

In each frame, Poisson(density x frame area) emitters are on (the blinking of a densely labelled sample);
each sends Gamma-distributed photons (``photons_mean``, shape 4) through the Gaussian PSF onto the camera.
Samples (the event classes, in label order): ``sparse``, ``medium``, ``dense`` (uniform positions, emitter
densities per um^2 ``densities``) and ``filaments`` (positions along a few curved filaments, one structure
per shard, seeded by the config seed and the shard: the frames of a shard are one field of view imaged
again and again, one super-resolved structure; another shard is another structure).

Splits: the frames of one structure must never be in two splits (a network would learn where its filaments
run). The rasteriser keeps the frames of one shard of ``filaments`` in one split (``structure`` below,
:func:`detcnn.io.splits.group_splits`: the shards share the splits by the split fractions, at least one
each, so ``generate.shards`` must be at least 3); the uniform samples share no structure and are split frame
by frame, as every other source's events.

Branches: ``frame`` (n_frames, n_pix, n_pix) float32 [ADU]; ``label`` (sample), ``density`` [um^-2],
``n_emitters``, ``structure`` (the id of the structure imaged: the shard for ``filaments``, -1 for the
uniform samples); jagged ``em_x``, ``em_y`` [nm from the frame's corner], ``em_photons``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from detcnn.config.schema import dataclass_properties
from detcnn.errors import ConfigError
from detcnn.generate import seeding
from detcnn.generate.schema import POSITIVE, generate_section
from detcnn.physics.microscope import Camera, camera_frames, expected_frames

NAME = "smlm_sim"
SAMPLES = ("sparse", "medium", "dense", "filaments")
EVENTS = "frames"
DEFAULT_DENSITIES = {"sparse": 0.5, "medium": 1.5, "dense": 3.0, "filaments": 1.0}  # emitters / um^2
TREE_TITLE = ("detcnn SMLM frames: frame in ADU (n_pix x n_pix, pixel_nm per pixel); em_x, em_y in nm from the "
              "frame corner (x along columns); em_photons in photons; density in emitters per um^2; structure: the "
              "structure imaged (the shard of the filaments, -1 for uniform emitters)")  # fmt: skip
MAX_SEED = 2**63 - 1
N_FILAMENTS = 3
#: First seed stream (:mod:`detcnn.generate.seeding`): the detector simulation, which also seeds numpy's
#: generator, has the streams 0, 1, 2 (its sample labels); from 40 on, no shard repeats one of its seeds.
FIRST_STREAM = 40
STREAMS = {sample: FIRST_STREAM + i for i, sample in enumerate(SAMPLES)}


@dataclass(frozen=True)
class MicroscopeSettings(Camera):
    """The ``generate.microscope`` section: the camera (it is a :class:`detcnn.physics.microscope.Camera`, with
    its fields and defaults), the emitters' mean photons, the samples' densities [um^-2] and the filaments'
    jitter [nm] (label size)."""

    photons_mean: float = 2000.0
    densities: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DENSITIES))
    filament_jitter_nm: float = 10.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> MicroscopeSettings:
        cfg = dict(cfg or {})
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise ConfigError(f"unknown microscope setting(s) {unknown}; valid: {valid}", key="generate.microscope")
        densities = {**DEFAULT_DENSITIES, **cfg.pop("densities", {})}
        if set(densities) != set(SAMPLES) or min(densities.values()) <= 0:
            raise ConfigError(f"densities must be positive, one per sample {list(SAMPLES)}", key="generate.microscope")
        try:
            return cls(**cfg, densities=densities)
        except ValueError as exc:  # the camera's own checks
            raise ConfigError(str(exc), key="generate.microscope") from None


#: The dataset keys it adds (JSON-schema properties): the ``generate`` section, the microscope's settings with
#: the defaults of :class:`MicroscopeSettings`.
SCHEMA: dict[str, Any] = {
    "generate": generate_section("The microscope simulation (docs/smlm.md).", {
        "n_frames_per_shard": {"type": "integer", "minimum": 1,
                               "description": "Camera frames per shard and sample (sparse, medium, dense, filaments)."},
        "microscope": {"type": "object", "additionalProperties": False, "default": {},
                       "description": "Optics, camera and emitters.",
                       "properties": dataclass_properties(MicroscopeSettings, {
            "wavelength_nm": {**POSITIVE, "description": "Emission wavelength [nm]; PSF width 0.21 lambda / NA."},
            "numerical_aperture": {**POSITIVE, "description": "Objective's numerical aperture."},
            "pixel_nm": {**POSITIVE, "description": "Camera pixel in the sample plane [nm]."},
            "n_pix": {"type": "integer", "minimum": 4, "description": "Frame size [pixels per side]."},
            "background": {"type": "number", "minimum": 0, "description": "Background [photons / pixel / frame]."},
            "gain": {**POSITIVE, "description": "Camera gain [ADU / photon]."},
            "read_noise": {"type": "number", "minimum": 0, "description": "Gaussian read noise [ADU]."},
            "offset": {"type": "number", "description": "Camera offset [ADU]."},
            "photons_mean": {**POSITIVE, "description": "Mean photons per emitter and frame (Gamma, shape 4)."},
            "densities": {"type": "object", "additionalProperties": False,
                          "description": "Emitters per um^2 of each sample.",
                          "properties": {s: {**POSITIVE, "default": DEFAULT_DENSITIES[s],
                                             "description": f"Emitters per um^2 of the {s} sample."}
                                         for s in SAMPLES}},
            "filament_jitter_nm": {"type": "number", "minimum": 0,
                                   "description": "Spread of the emitters around the filaments' axes [nm] (a "
                                                  "label's size)."},
        })},
    }, required=["n_frames_per_shard"]),
}  # fmt: skip


def shard_seed(base_seed: int, sample: str, shard: int) -> int:
    """The numpy seed of one shard of ``sample``, from the config seed (the sample's stream: :data:`STREAMS`)."""
    return seeding.shard_seed(base_seed, seeding.stream_of(STREAMS, sample), shard, MAX_SEED)


def filaments(base_seed: int, size_nm: float, shard: int) -> np.ndarray:
    """``(N_FILAMENTS, 4, 2)`` control points [nm] of cubic Bezier filaments crossing the field of view, from
    the config seed and the shard (every frame of a shard images the same structure, another shard another)."""
    rng = np.random.default_rng([int(base_seed), 977, int(shard)])
    start = np.stack([np.zeros(N_FILAMENTS), rng.uniform(0.0, 1.0, N_FILAMENTS)], axis=1)  # on the left edge
    end = np.stack([np.ones(N_FILAMENTS), rng.uniform(0.0, 1.0, N_FILAMENTS)], axis=1)  # on the right edge
    middle = rng.uniform(0.15, 0.85, (N_FILAMENTS, 2, 2))
    return np.concatenate([start[:, None], middle, end[:, None]], axis=1) * size_nm


def _bezier(points: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points ``(n, 2)`` on cubic Bezier curves ``points`` ``(n, 4, 2)`` at parameters ``t`` ``(n,)``."""
    t = t[:, None]
    return ((1 - t) ** 3 * points[:, 0] + 3 * (1 - t) ** 2 * t * points[:, 1] + 3 * (1 - t) * t**2 * points[:, 2]
            + t**3 * points[:, 3])  # fmt: skip


def simulate_frames(
    sample: str, n_frames: int, rng: np.random.Generator, settings: MicroscopeSettings, base_seed: int, shard: int
) -> dict[str, Any]:
    """The branches of ``n_frames`` frames of ``sample`` in shard ``shard`` (module doc)."""
    import awkward as ak

    size = settings.size_nm
    density = settings.densities[sample]
    n_em = rng.poisson(density * (size / 1000.0) ** 2, n_frames)
    total = int(n_em.sum())
    frame = np.repeat(np.arange(n_frames), n_em)
    if sample == "filaments":
        curves = filaments(base_seed, size, shard)
        which = rng.integers(0, N_FILAMENTS, total)
        xy = _bezier(curves[which], rng.uniform(0.0, 1.0, total)) + rng.normal(0.0, settings.filament_jitter_nm,
                                                                                 (total, 2))  # fmt: skip
        inside = np.all((xy >= 0) & (xy < size), axis=1)
        xy, frame = xy[inside], frame[inside]
        n_em = np.bincount(frame, minlength=n_frames)
        total = len(frame)
    else:
        xy = rng.uniform(0.0, size, (total, 2))
    photons = rng.gamma(4.0, settings.photons_mean / 4.0, total)
    adu = camera_frames(expected_frames(xy[:, 0], xy[:, 1], photons, frame, n_frames, settings), settings, rng)
    return {
        "frame": adu,
        "label": np.full(n_frames, SAMPLES.index(sample), dtype=np.int32),
        "density": np.full(n_frames, density, dtype=np.float32),
        "n_emitters": n_em.astype(np.int32),
        "structure": np.full(n_frames, shard if sample == "filaments" else -1, dtype=np.int32),
        "em_x": ak.unflatten(xy[:, 0].astype(np.float32), n_em),
        "em_y": ak.unflatten(xy[:, 1].astype(np.float32), n_em),
        "em_photons": ak.unflatten(photons.astype(np.float32), n_em),
    }


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """``cfg['n_frames_per_shard']`` frames of ``sample`` into the ROOT file ``out`` (atomic)."""
    from detcnn.io.events import write_events

    settings = MicroscopeSettings.from_config(cfg.get("microscope"))
    if "n_frames_per_shard" not in cfg:
        raise ConfigError("a smlm_sim dataset needs generate.n_frames_per_shard (frames per shard and sample)",
                          key="generate.n_frames_per_shard")  # fmt: skip
    n_frames = int(cfg["n_frames_per_shard"])
    t0 = time.perf_counter()
    branches = simulate_frames(sample, n_frames, np.random.default_rng(shard_seed(seed, sample, shard)), settings,
                               seed, shard)  # fmt: skip
    write_events(out, branches, title=TREE_TITLE)
    seconds = time.perf_counter() - t0
    return {"sample": sample, "shard": shard, "n_frames": n_frames, "n_emitters": int(branches["n_emitters"].sum()),
            "seconds": seconds, "frames_per_s": n_frames / seconds}  # fmt: skip


def class_names(ds: Mapping[str, Any]) -> list[str]:
    return list(SAMPLES)


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The class names, the camera (pixel size, gain, offset, PSF width) and the structures (one per shard,
    kept whole in one split) the frames rasteriser needs; a ConfigError when the shards are too few to give
    every split a structure of its own."""
    from detcnn.io.splits import group_counts

    settings = MicroscopeSettings.from_config(ds["generate"]["microscope"])
    shards = int(ds["generate"]["shards"])
    try:
        group_counts(shards, ds["split"])
    except ValueError:
        raise ConfigError(f"{shards} shard(s): the filaments sample images one structure per shard and keeps each "
                          "in one split, so train, val and test need a shard each", key="generate.shards",
                          fix="set generate.shards to 3 or more (5 for a 0.6 / 0.2 / 0.2 split)") from None  # fmt: skip
    return {"class_names": list(SAMPLES), "pixel_nm": settings.pixel_nm, "gain": settings.gain,
            "offset": settings.offset, "n_pix": settings.n_pix, "psf_sigma_nm": settings.sigma_nm,
            "structures": shards}  # fmt: skip
