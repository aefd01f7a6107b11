"""Single-molecule localisation microscopy: the simulated camera, the matching of localisations to emitters,
the classical baseline, the localisation task's targets and decoding, and the smlm_sim source's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detcnn.baselines.local_maxima import localise
from detcnn.evaluation.localisation import frame_counts, match, scores
from detcnn.physics.microscope import Camera, camera_frames, expected_frames, pixel_fractions, to_photons


def test_psf_width_and_integral() -> None:
    """sigma = 0.21 lambda / NA; an emitter's expected photons on the camera add up to its photons (less the
    tail beyond the frame: none for one in the middle, half for one on an edge)."""
    camera = Camera(wavelength_nm=680.0, numerical_aperture=1.4, pixel_nm=100.0, n_pix=24)
    assert camera.sigma_nm == pytest.approx(102.0)
    x = np.array([1234.5, 0.0])
    y = np.array([1187.0, 1200.0])
    frames = expected_frames(x, y, np.array([1500.0, 800.0]), np.array([0, 1]), 2, camera)
    assert frames[0].sum() == pytest.approx(1500.0, rel=1e-9)
    assert frames[1].sum() == pytest.approx(400.0, rel=1e-6)  # on the left edge: half of it
    # the brightest pixel is the emitter's; its share is the Gaussian integrated over the pixel
    i, j = np.unravel_index(frames[0].argmax(), frames[0].shape)
    assert (i, j) == (11, 12)
    fx = pixel_fractions(np.array([1234.5]), camera.sigma_nm, 100.0, 24)[0, 12]
    fy = pixel_fractions(np.array([1187.0]), camera.sigma_nm, 100.0, 24)[0, 11]
    assert frames[0, 11, 12] == pytest.approx(1500.0 * fx * fy)
    # the camera: offset + gain * Poisson(photons + background) + read noise, and back to photons
    rng = np.random.default_rng(0)
    adu = camera_frames(np.full((2000, 24, 24), 30.0), camera, rng)
    photons = to_photons(adu, camera.offset, camera.gain)
    assert photons.mean() == pytest.approx(30.0 + camera.background, rel=2e-3)
    expected_var = (30.0 + camera.background) + (camera.read_noise / camera.gain) ** 2
    assert photons.var() == pytest.approx(expected_var, rel=2e-2)


def test_matching_is_optimal_within_the_tolerance() -> None:
    """Greedy nearest-neighbour would pair A with T1 (40 nm) and leave B and T2 (130 nm apart) unmatched; the
    optimal assignment pairs A-T2 (70 nm) and B-T1 (20 nm). A localisation 150 nm from everything is a false
    positive; a NaN row is padding."""
    found = np.array([[[0.0, 0.0], [60.0, 0.0], [500.0, 500.0], [np.nan, np.nan]]])
    truth = np.array([[[40.0, 0.0], [-70.0, 0.0], [np.nan, np.nan]]])
    a, b = match(found[0], truth[0], 100.0)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (1, 0)]
    counts = frame_counts(found, truth, 100.0)
    np.testing.assert_allclose(counts, [[2, 1, 0, 70.0**2 + 20.0**2]])
    s = scores(counts)
    assert s["recall"] == 1.0 and s["precision"] == pytest.approx(2 / 3) and s["jaccard"] == pytest.approx(2 / 3)
    assert s["rmse_nm"] == pytest.approx(np.sqrt((70.0**2 + 20.0**2) / 2))
    assert s["efficiency"] == pytest.approx(1 - np.sqrt((1 / 3) ** 2 + (0.01 * s["rmse_nm"]) ** 2))
    # with a tolerance of 50 nm only B-T1 is close enough
    np.testing.assert_allclose(frame_counts(found, truth, 50.0), [[1, 2, 1, 400.0]])


def test_baseline_localises_an_isolated_bright_emitter_within_a_tenth_of_a_pixel() -> None:
    camera = Camera()
    rng = np.random.default_rng(3)
    n = 100
    x, y = rng.uniform(500.0, 1900.0, n), rng.uniform(500.0, 1900.0, n)
    expected = expected_frames(x, y, np.full(n, 5000.0), np.arange(n), n, camera)
    frames = to_photons(camera_frames(expected, camera, rng), camera.offset, camera.gain)
    locs = localise(frames, camera.sigma_nm / camera.pixel_nm, threshold=20.0, pixel_nm=camera.pixel_nm)
    assert locs.shape[:2] == (n, 1)  # one localisation per frame, no spurious ones
    err_px = np.hypot(locs[:, 0, 0] - x, locs[:, 0, 1] - y) / camera.pixel_nm
    assert err_px.max() < 0.1, err_px.max()
    assert np.median(locs[:, 0, 2]) == pytest.approx(5000.0, rel=0.05)  # fitted photons


def test_fine_targets_and_decoding_round_trip() -> None:
    """Occupancy and offsets drawn from the emitter lists, decoded back to the positions exactly."""
    torch = pytest.importorskip("torch")
    from detcnn.tasks.localisation import decode
    from detcnn.training.losses import fine_targets

    fine_nm, n_fine = 25.0, 16
    emitters = torch.tensor([[[110.0, 37.5, 900.0], [300.0, 260.0, 500.0], [np.nan, np.nan, np.nan]]])
    occupancy, offsets, _ = fine_targets(emitters, n_fine, fine_nm)
    assert occupancy.sum() == 2 and occupancy[0, 1, 4] == 1 and occupancy[0, 10, 12] == 1  # (row = y, col = x)
    assert offsets[0, 0, 1, 4] == pytest.approx(110.0 / 25 - 4 - 0.5) and offsets[0, 1, 1, 4] == pytest.approx(0.0)
    maps = torch.cat([occupancy[:, None], offsets], dim=1).numpy()
    locs = decode(maps, fine_nm, threshold=0.5)
    np.testing.assert_allclose(np.sort(locs[0, :, 0]), [110.0, 300.0], atol=1e-4)
    np.testing.assert_allclose(np.sort(locs[0, :, 1]), [37.5, 260.0], atol=1e-4)


def test_localiser_gradient_flows_through_the_task_loss() -> None:
    torch = pytest.importorskip("torch")
    import detcnn.models  # noqa: F401  (registers the networks)
    from detcnn.models.registry import create_model
    from detcnn.tasks import TASKS

    attrs = {"pixel_nm": 100.0, "upsampling": 4, "channels": ["photons"], "class_names": ["a"],
             "match_tolerance_nm": 250.0}  # fmt: skip
    plugin = TASKS["localisation"].plugin(attrs, {"pos_weight": 4.0})
    model = create_model("loc_unet", in_channels=1, num_classes=plugin.num_outputs, image_size=16, upsampling=4,
                        width=4, depth=1, head_width=8)  # fmt: skip
    x = torch.rand(2, 1, 16, 16) * 50
    out = model(x)
    assert out.shape == (2, 3, 64, 64)
    emitters = torch.tensor([[[800.0, 800.0, 1.0]], [[np.nan, np.nan, np.nan]]])
    loss = plugin.loss(out, emitters)
    loss.backward()
    grads = [p.grad.abs().sum().item() for p in model.parameters() if p.grad is not None]
    assert np.isfinite(loss.item()) and len(grads) > 4 and min(grads[:2]) > 0


def test_same_seed_same_file(tmp_path: Path) -> None:
    import uproot

    from detcnn.generate import smlm_sim

    cfg = {"n_frames_per_shard": 30, "microscope": {"n_pix": 16}}
    paths = [tmp_path / f"{k}.root" for k in "abc"]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        smlm_sim.generate(path, sample="dense", shard=0, seed=seed, cfg=cfg, progress=False)
    arrays = [uproot.open(p)["events"].arrays(library="np") for p in paths]
    assert arrays[0]["frame"].shape == (30, 16, 16)
    for name in ("frame", "n_emitters"):
        np.testing.assert_array_equal(arrays[0][name], arrays[1][name])
    for name in ("em_x", "em_y", "em_photons"):  # jagged: one array per frame
        np.testing.assert_array_equal(np.concatenate(list(arrays[0][name])), np.concatenate(list(arrays[1][name])))
    assert not np.array_equal(arrays[0]["frame"], arrays[2]["frame"])
    counts = arrays[0]["n_emitters"]
    assert counts.mean() == pytest.approx(3.0 * 2.56, rel=0.25)  # dense: 3 per um^2 on 1.6 x 1.6 um
    assert all(len(x) == c for x, c in zip(arrays[0]["em_x"], counts, strict=True))
    assert np.all(arrays[0]["structure"] == -1)  # uniform emitters image no structure


def test_missing_frames_per_shard_is_one_line() -> None:
    from detcnn.errors import ConfigError
    from detcnn.generate import smlm_sim

    with pytest.raises(ConfigError, match="n_frames_per_shard"):
        smlm_sim.generate("x.root", sample="dense", shard=0, seed=1, cfg={}, progress=False)
    with pytest.raises(ConfigError, match="unknown microscope setting"):
        smlm_sim.MicroscopeSettings.from_config({"pixel_size": 100})
