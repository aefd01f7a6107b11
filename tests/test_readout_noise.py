"""The counter-based readout noise of hit images (:mod:`detcnn.physics.readout_noise`): SplitMix64's known
outputs, values a C++ port checks itself against, a plain-Python reference of the spec, the noise's
distribution, and images that do not depend on how the file is cut into chunks."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from detcnn.physics.readout_noise import MASK, event_bases, event_ids, pixel_noise, splitmix64

#: (input, output) of SplitMix64's output function: the standard first and second outputs of SplitMix64 seeded
#: with 0 (state 0 and 0x9E3779B97F4A7C15), and two more.
SPLITMIX = [
    (0, 0xE220A8397B1DCDAF),
    (0x9E3779B97F4A7C15, 0x6E789E6AA1B965F4),
    (1, 0x910A2DEC89025CC1),
    (MASK, 0xE4D971771B652C20),
]
#: The noise z of pixels 0..3 of entries 0 and 7 of a file named quark_0.root, seed 1 (for a C++ port).
QUARK_0 = [
    [2.109722655691229, 1.0155677777517478, 0.23819305213207723, 1.6427047086934012],
    [0.755445249425947, 1.0752934304134716, 1.461793858598055, 0.5544553798162761],
]


def _splitmix(z: int) -> int:
    """The spec in plain Python integers."""
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _noise(name: str, entry: int, pixel: int, seed: int) -> float:
    """One pixel's z by the spec, in plain Python."""
    base = _splitmix(_splitmix(seed) ^ (zlib.crc32(name.encode()) << 32 | entry))
    a, b = _splitmix((base + 2 * pixel) & MASK), _splitmix((base + 2 * pixel + 1) & MASK)
    u1, u2 = ((a >> 11) + 1) * 2.0**-53, (b >> 11) * 2.0**-53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@pytest.mark.parametrize(("z", "expected"), SPLITMIX)
def test_splitmix64_gives_the_standard_outputs(z: int, expected: int) -> None:
    assert int(splitmix64(z)) == expected == _splitmix(z)
    assert int(splitmix64(np.array([z], dtype=np.uint64))[0]) == expected


def test_the_noise_follows_the_spec_and_its_reference_values() -> None:
    ids = event_ids("results/events/qg/quark_0.root", [0, 7])  # the basename only
    assert [int(i) for i in ids] == [0xBE18E464 << 32, 0xBE18E464 << 32 | 7]
    assert int(event_bases(ids, 1)[1]) == 0x277AD1F8723CC31C
    np.testing.assert_allclose(pixel_noise(ids, 4, 1), QUARK_0, rtol=1e-15)
    rng = np.random.default_rng(0)
    for entry, pixel, seed in zip(rng.integers(0, 2**32, 20), rng.integers(0, 10**5, 20), rng.integers(0, 2**63, 20),
                                  strict=True):  # fmt: skip
        got = pixel_noise(event_ids("nu_nc_3.root", [entry]), int(pixel) + 1, int(seed))[0, -1]
        assert got == pytest.approx(_noise("nu_nc_3.root", int(entry), int(pixel), int(seed)), rel=1e-13, abs=1e-13)
    with pytest.raises(ValueError, match="entry numbers"):
        event_ids("a.root", [2**32])


def test_the_noise_is_standard_normal_and_independent_of_the_block() -> None:
    z = pixel_noise(event_ids("a.root", np.arange(250)), 4000, seed=11)  # 1e6 pixels, several blocks
    assert z.shape == (250, 4000)
    assert abs(z.mean()) < 5 / 1000  # 5 standard errors of the mean
    assert abs(z.std() - 1) < 5 * math.sqrt(0.5) / 1000
    assert abs(np.mean(np.abs(z) > 3) - 0.0027) < 5 * math.sqrt(0.0027 / 1e6)  # the tails of a Gaussian
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 5e-3  # neighbouring pixels
    one = pixel_noise(event_ids("a.root", [17]), 4000, seed=11)
    np.testing.assert_array_equal(one[0], z[17])  # the same event alone: the same noise
    assert not np.allclose(pixel_noise(event_ids("a.root", [17]), 4000, seed=12), one)


def test_hit_images_do_not_depend_on_the_chunking(tmp_path: Path) -> None:
    """The same events rasterised 7 and 1000 per chunk: identical images, noise included."""
    from detcnn.config import fill_generate
    from detcnn.generate import detector_sim
    from detcnn.physics.hit_images import HitImageSpec
    from detcnn.rasterisers.hits import rasterise_hits

    cfg = fill_generate("detector_sim", {"n_events_per_shard": 30})
    events = tmp_path / "nu_nc_0.root"
    detector_sim.generate(events, sample="nc", shard=0, seed=4, cfg=cfg, progress=False)
    volume = detector_sim.rasterise_options({"generate": cfg})["volume_cm"]
    images = []
    for step, noise in ((7, 5.0), (1000, 5.0), (1000, 0.0)):
        out = {s: tmp_path / f"{step}_{noise}" / f"{s}.h5" for s in ("train", "val", "test")}
        spec = HitImageSpec(n_pix=16, pitch_cm=6.0, noise_ke=noise, threshold_ke=10.0)
        rasterise_hits([events], out, spec=spec, class_names=["a", "b", "c"], split={"train": 0.6, "val": 0.2,
                       "test": 0.2}, seed=9, config_hash="x", dataset="nu", volume_cm=volume, step_size=step,
                       progress=False)  # fmt: skip
        with h5py.File(out["train"]) as f:
            images.append(f["X"][...])
    assert images[0].shape[0] > 10
    np.testing.assert_array_equal(images[0], images[1])
    changed = np.mean(images[1] != images[2])  # the noise moves every pixel above threshold, adds a few
    assert changed > 0.01, changed


@pytest.mark.parametrize(("noise", "threshold"), [(5.0, 15.0), (5.0, 0.0), (5.0, 1e6), (0.0, 15.0), (7.5, 10.0)])
def test_the_readout_is_the_spec_bit_for_bit(noise: float, threshold: float) -> None:
    """Noise on every pixel then zero suppression, computed plainly, against :func:`readout`, which computes the
    noise only where a pixel can end above the threshold: charges at and around the threshold, and many empty
    pixels (a few of which the noise lifts over it)."""
    from detcnn.physics.readout_noise import readout

    rng = np.random.default_rng(5)
    charge = np.zeros((40, 2, 24, 24), dtype=np.float32)
    hit = rng.random(charge.shape) < 0.1
    charge[hit] = rng.choice([threshold, threshold - noise, 1e-3, 20.0, 500.0], int(hit.sum())).astype(np.float32)
    charge[hit] += rng.normal(0, 1, int(hit.sum())).astype(np.float32)
    charge = np.abs(charge)
    ids = event_ids("nu_nue_cc_0.root", np.arange(40) * 3)
    plain = charge + (noise * pixel_noise(ids, 2 * 24 * 24, 4).reshape(charge.shape)).astype(np.float32)
    plain[plain < np.float32(threshold)] = 0.0
    fast = charge.copy()
    readout(fast, ids, 4, noise, threshold)
    np.testing.assert_array_equal(fast, plain)
    if 0 < threshold < 100 and noise > 0:  # the empty pixels the noise alone carries over the threshold
        empty = charge == 0
        p, n = 0.5 * math.erfc(threshold / noise / math.sqrt(2)), int(empty.sum())
        assert abs(np.sum(fast[empty] > 0) / n - p) < 5 * math.sqrt(p * (1 - p) / n)
