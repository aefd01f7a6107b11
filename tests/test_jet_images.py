"""Jet-image rasteriser on hand-made jets whose pixel contents are worked out by hand.

Conventions under test: images are ``X[n, channel, row, col]``; columns run along Delta eta ("x"),
rows along Delta phi ("y"), row 0 is the lowest Delta phi; pixel ``i`` covers
``[-half_width + i * step, -half_width + (i + 1) * step)`` with ``step = 2 * half_width / n_pix``, i.e.
``col = floor((x + half_width) / step)`` and ``row = floor((y + half_width) / step)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detcnn.physics.jet_images import CHANNELS, ImageSpec, jet_images

# n_pix = 4, half_width = 0.4 -> step 0.2, pixel edges at -0.4, -0.2, 0.0, 0.2, 0.4.
SMALL = ImageSpec(n_pix=4, half_width=0.4, rotate=False, flip=False)

# The reference two-constituent jet (jet axis at phi = 0):
#   A: pt 30, eta  0.10, phi 0.05, charge +1
#   B: pt 10, eta -0.30, phi 0.25, charge  0
# pT-weighted centroid: eta_c = (30 * 0.1 + 10 * -0.3) / 40 = 0,  phi_c = (30 * 0.05 + 10 * 0.25) / 40 = 0.1
#   A: x =  0.10, y = -0.05 -> col floor(0.50 / 0.2) = 2, row floor(0.35 / 0.2) = 1
#   B: x = -0.30, y =  0.15 -> col floor(0.10 / 0.2) = 0, row floor(0.55 / 0.2) = 2
# (every coordinate sits a quarter or half pixel away from an edge, safe against rounding)
PT2 = np.array([30.0, 10.0])
ETA2 = np.array([0.10, -0.30])
PHI2 = np.array([0.05, 0.25])
Q2 = np.array([1, 0])


def two_constituent_expected() -> np.ndarray:
    """Hand-built image of the reference jet in the default channels (charged pT, neutral pT, charged mult.)."""
    expected = np.zeros((1, 3, 4, 4), dtype=np.float32)
    expected[0, 0, 1, 2] = 30.0  # A is charged: charged pT at (row 1, col 2)
    expected[0, 1, 2, 0] = 10.0  # B is neutral: neutral pT at (row 2, col 0)
    expected[0, 2, 1, 2] = 1.0  # one charged constituent at A's pixel
    return expected


def test_two_constituent_jet_pixels_by_hand():
    images, n_out = jet_images(PT2, ETA2, PHI2, Q2, np.array([2]), np.array([0.0]), SMALL)
    assert images.shape == (1, 3, 4, 4)
    assert images.dtype == np.float32
    assert n_out == 0
    np.testing.assert_allclose(images, two_constituent_expected(), rtol=0, atol=1e-6)


def test_jet_position_in_eta_and_phi_does_not_matter():
    # The same jet moved by (+1.3 in eta, -2.0 in phi, with the jet axis moved along) gives the same image.
    images, _ = jet_images(PT2, ETA2 + 1.3, PHI2 - 2.0, Q2, np.array([2]), np.array([-2.0]), SMALL)
    np.testing.assert_allclose(images, two_constituent_expected(), rtol=0, atol=1e-6)


def test_channels_follow_spec_order():
    spec = ImageSpec(n_pix=4, half_width=0.4, rotate=False, flip=False, channels=("multiplicity", "total_pt"))
    images, _ = jet_images(PT2, ETA2, PHI2, Q2, np.array([2]), np.array([0.0]), spec)
    expected = np.zeros((1, 2, 4, 4), dtype=np.float32)
    expected[0, 0, 1, 2] = expected[0, 0, 2, 0] = 1.0  # every constituent counts once
    expected[0, 1, 1, 2], expected[0, 1, 2, 0] = 30.0, 10.0  # charged and neutral pT together
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("jet_phi", [np.pi, -np.pi, 3.12, -3.13])
def test_phi_wrap_around(jet_phi):
    # Constituents on both sides of +-pi: A at phi = 3.10, B at phi = -3.10. Relative to phi = pi:
    #   dphi_A = 3.10 - pi = -d,  dphi_B = -3.10 - pi + 2 pi = +d,  with d = pi - 3.10 = 0.041593
    # centroid phi_c = (30 * -d + 10 * d) / 40 = -d / 2
    #   A: y = -d + d/2 = -0.0208 -> row floor(0.3792 / 0.2) = 1;  x = 0.1 -> col 2
    #   B: y =  d + d/2 = +0.0624 -> row floor(0.4624 / 0.2) = 2;  x = -0.3 -> col 0
    # (any reference axis near the jet gives the same centred coordinates)
    d = np.pi - 3.10
    phi = np.array([3.10, -3.10])
    wrapped, n_out = jet_images(PT2, ETA2, phi, Q2, np.array([2]), np.array([jet_phi]), SMALL)
    near_zero, _ = jet_images(PT2, ETA2, np.array([-d, d]), Q2, np.array([2]), np.array([0.0]), SMALL)
    assert n_out == 0
    np.testing.assert_allclose(wrapped, near_zero, rtol=0, atol=1e-5)
    expected = np.zeros((1, 3, 4, 4), dtype=np.float32)
    expected[0, 0, 1, 2] = 30.0
    expected[0, 1, 2, 0] = 10.0
    expected[0, 2, 1, 2] = 1.0
    np.testing.assert_allclose(wrapped, expected, rtol=0, atol=1e-6)


def test_constituents_in_same_pixel_add_up():
    # C: pt 20 charged at (0.05, 0.0), D: pt 20 charged at (-0.05, 0.0), E: pt 10 neutral at (-0.05, 0.0)
    # centroid: eta_c = (1 - 1 - 0.5) / 50 = -0.01, phi_c = 0 -> x_C = 0.06, x_D = x_E = -0.04, y = 0
    #   C: col floor(0.46 / 0.2) = 2, D/E: col floor(0.36 / 0.2) = 1, all rows floor(0.4 / 0.2) = 2
    pt = np.array([20.0, 20.0, 10.0])
    eta = np.array([0.05, -0.05, -0.05])
    phi = np.zeros(3)
    images, _ = jet_images(pt, eta, phi, np.array([1, -1, 0]), np.array([3]), np.array([0.0]), SMALL)
    expected = np.zeros((1, 3, 4, 4), dtype=np.float32)
    expected[0, 0, 2, 2] = 20.0
    expected[0, 0, 2, 1] = 20.0
    expected[0, 1, 2, 1] = 10.0
    expected[0, 2, 2, 2] = 1.0
    expected[0, 2, 2, 1] = 1.0  # a negative charge is charged too
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)


def test_single_constituent_sits_at_the_centre_pixel():
    # Centroid = the constituent itself -> x = y = 0 -> col = row = floor(0.4 / 0.2) = 2 = n_pix / 2
    # (pt 64 and eta 0.25 are exact binary numbers, so the centring is exactly 0).
    images, _ = jet_images([64.0], [0.25], [0.5], [0], np.array([1]), np.array([0.5]), SMALL)
    expected = np.zeros((1, 3, 4, 4), dtype=np.float32)
    expected[0, 1, 2, 2] = 64.0
    np.testing.assert_array_equal(images, expected)


@pytest.mark.parametrize(
    "spec",
    [SMALL, ImageSpec(), ImageSpec(n_pix=9, half_width=0.5, normalise="pt_sum")],
    ids=["small", "default", "norm"],
)
def test_many_jets_at_once_equal_each_jet_alone(spec):
    rng = np.random.default_rng(7)
    counts = np.array([2, 1, 5, 3])  # includes a one-constituent jet
    n = int(counts.sum())
    jet_eta = np.array([0.3, -1.2, 0.0, 2.0])
    jet_phi = np.array([0.0, 3.1, -3.1, 1.0])
    pt = rng.exponential(20.0, n) + 1.0
    eta = np.repeat(jet_eta, counts) + rng.normal(0, 0.1, n)
    phi = (np.repeat(jet_phi, counts) + rng.normal(0, 0.1, n) + np.pi) % (2 * np.pi) - np.pi
    charge = rng.choice([-1, 0, 1], n)
    together, n_out_together = jet_images(pt, eta, phi, charge, counts, jet_phi, spec)
    assert together.shape == (4, len(spec.channels), spec.n_pix, spec.n_pix)
    starts = np.concatenate([[0], np.cumsum(counts)])
    n_out_alone = 0
    for j in range(len(counts)):
        sl = slice(starts[j], starts[j + 1])
        alone, n_out = jet_images(pt[sl], eta[sl], phi[sl], charge[sl], counts[j : j + 1], jet_phi[j : j + 1], spec)
        n_out_alone += n_out
        np.testing.assert_allclose(together[j], alone[0], rtol=1e-6, atol=1e-6)
    assert n_out_together == n_out_alone
    # nothing is lost or duplicated: the charged-multiplicity maps count the charged constituents drawn
    if "charged_multiplicity" in spec.channels and n_out_together == 0:
        k = spec.channels.index("charged_multiplicity")
        assert together[:, k].sum() == np.count_nonzero(charge != 0)


def test_jet_without_constituents_gives_empty_image_and_keeps_neighbours():
    counts = np.array([2, 0, 2])
    pt = np.concatenate([PT2, PT2])
    eta = np.concatenate([ETA2, ETA2])
    phi = np.concatenate([PHI2, PHI2])
    q = np.concatenate([Q2, Q2])
    images, n_out = jet_images(pt, eta, phi, q, counts, np.zeros(3), SMALL)
    assert n_out == 0
    expected = two_constituent_expected()[0]
    np.testing.assert_allclose(images[0], expected, atol=1e-6)
    np.testing.assert_array_equal(images[1], 0.0)
    np.testing.assert_allclose(images[2], expected, atol=1e-6)


def test_constituents_outside_the_grid_are_counted_not_drawn():
    # pt 100 at (0, 0), pt 1 at (eta 1, phi 0), pt 1 at (eta 0, phi -1):
    # centroid (1/102, -1/102) = (0.0098, -0.0098)
    #   hard one: x = -0.0098 -> col floor(0.3902 / 0.2) = 1, y = +0.0098 -> row floor(0.4098 / 0.2) = 2
    #   the soft ones are ~0.99 away from the centroid: outside the +-0.4 grid
    pt = np.array([100.0, 1.0, 1.0])
    eta = np.array([0.0, 1.0, 0.0])
    phi = np.array([0.0, 0.0, -1.0])
    images, n_out = jet_images(pt, eta, phi, np.array([1, 1, 0]), np.array([3]), np.array([0.0]), SMALL)
    assert n_out == 2
    expected = np.zeros((1, 3, 4, 4), dtype=np.float32)
    expected[0, 0, 2, 1] = 100.0
    expected[0, 2, 2, 1] = 1.0
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)


def test_grid_is_half_open():
    # n_pix 4, half_width 0.5 -> step 0.25 (exact). Two pt-1 constituents at eta -0.5 and +0.5, phi 0:
    # centroid exactly 0. x = -0.5 -> col floor(0 / 0.25) = 0 (inside); x = +0.5 -> col 4 (outside).
    spec = ImageSpec(n_pix=4, half_width=0.5, rotate=False, flip=False)
    images, n_out = jet_images([1.0, 1.0], [-0.5, 0.5], [0.0, 0.0], [1, 1], np.array([2]), np.array([0.0]), spec)
    assert n_out == 1
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[2, 0] = 1.0  # y = 0 -> row floor(0.5 / 0.25) = 2
    np.testing.assert_array_equal(images[0, 0], expected)


# n_pix 5, half_width 0.5 -> step 0.2; the centre column 2 covers x in [-0.1, 0.1), rows:
# y = -0.2 -> floor(0.3 / 0.2) = 1, y = 0 -> 2, y = 0.2 -> floor(0.7 / 0.2) = 3.
ODD = ImageSpec(n_pix=5, half_width=0.5, rotate=True, flip=False, channels=("total_pt",))


def test_rotation_makes_horizontal_jet_vertical():
    # pt 10, 20, 10 at eta -0.2, 0, 0.2 on phi = 0: centroid (0, 0), elongated along x.
    # sxx = 2 * 10 * 0.04 = 0.8, syy = sxy = 0 -> theta = 0, rotation by alpha = pi/2: (x, y) -> (-y, x)
    #   -> the constituents go to (0, -0.2), (0, 0), (0, 0.2): column 2, rows 1, 2, 3.
    pt = np.array([10.0, 20.0, 10.0])
    eta = np.array([-0.2, 0.0, 0.2])
    phi = np.zeros(3)
    counts, jet_phi = np.array([3]), np.array([0.0])
    rotated, _ = jet_images(pt, eta, phi, np.zeros(3), counts, jet_phi, ODD)
    unrotated, _ = jet_images(pt, eta, phi, np.zeros(3), counts, jet_phi, dataclasses.replace(ODD, rotate=False))
    expected_rot = np.zeros((5, 5), dtype=np.float32)
    expected_rot[[1, 2, 3], 2] = [10.0, 20.0, 10.0]
    np.testing.assert_allclose(rotated[0, 0], expected_rot, atol=1e-6)
    assert rotated[0, 0, :, 2].sum() == pytest.approx(40.0)  # all pT in one column
    # without rotation the same jet lies in one row (row 2), columns 1, 2, 3
    np.testing.assert_allclose(unrotated[0, 0], expected_rot.T, atol=1e-6)


def test_rotation_of_diagonal_jet():
    # pt 10, 20, 10 at (-0.2, -0.2), (0, 0), (0.2, 0.2): sxx = syy = sxy = 0.8 -> theta = pi/4, alpha = pi/4.
    # (0.2, 0.2) -> (cos a * 0.2 - sin a * 0.2, sin a * 0.2 + cos a * 0.2) = (0, 0.2 * sqrt 2 = 0.283)
    #   -> col 2, row floor(0.783 / 0.2) = 3;  (-0.2, -0.2) -> (0, -0.283) -> row floor(0.217 / 0.2) = 1
    pt = np.array([10.0, 20.0, 10.0])
    coords = np.array([-0.2, 0.0, 0.2])
    images, _ = jet_images(pt, coords, coords, np.zeros(3), np.array([3]), np.array([0.0]), ODD)
    expected = np.zeros((5, 5), dtype=np.float32)
    expected[[1, 2, 3], 2] = [10.0, 20.0, 10.0]
    np.testing.assert_allclose(images[0, 0], expected, atol=1e-6)


@pytest.mark.parametrize("sx", [1.0, -1.0])
@pytest.mark.parametrize("sy", [1.0, -1.0])
def test_flip_puts_hardest_quadrant_upper_right(sx, sy):
    # Base jet (sx = sy = 1), centroid (0, 0) by construction:
    #   A pt 40 at (-0.1, -0.15)  lower-left  <- hardest quadrant
    #   B pt 20 at ( 0.3,  0.05)  upper-right
    #   C pt 20 at (-0.1,  0.25)  upper-left
    #   x_c = (-4 + 6 - 2) / 80 = 0,  y_c = (-6 + 1 + 5) / 80 = 0
    # Mirroring by (sx, sy) moves the hardest quadrant anywhere; the flip must always map it upper right,
    # i.e. A -> (0.1, 0.15), B -> (-0.3, -0.05), C -> (0.1, -0.25). On the n_pix 4 / step 0.2 grid:
    #   A: col floor(0.5 / 0.2) = 2, row floor(0.55 / 0.2) = 2
    #   B: col floor(0.1 / 0.2) = 0, row floor(0.35 / 0.2) = 1
    #   C: col 2,                    row floor(0.15 / 0.2) = 0
    pt = np.array([40.0, 20.0, 20.0])
    x = np.array([-0.1, 0.3, -0.1])
    y = np.array([-0.15, 0.05, 0.25])
    spec = ImageSpec(n_pix=4, half_width=0.4, rotate=False, flip=True, channels=("total_pt",))
    # place the jet at eta 0.7, phi 1.0 so the centring is exercised as well
    images, n_out = jet_images(pt, 0.7 + sx * x, 1.0 + sy * y, np.zeros(3), np.array([3]), np.array([1.0]), spec)
    assert n_out == 0
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[2, 2] = 40.0
    expected[1, 0] = 20.0
    expected[0, 2] = 20.0
    np.testing.assert_allclose(images[0, 0], expected, atol=1e-5)
    quadrants = images[0, 0].reshape(2, 2, 2, 2).sum(axis=(1, 3))  # [row half, col half]
    assert np.argmax(quadrants) == 3  # upper (rows >= 2), right (cols >= 2)


def test_no_flip_keeps_lower_left():
    # Same base jet without flip: A (-0.1, -0.15) -> col floor(0.3 / 0.2) = 1, row floor(0.25 / 0.2) = 1
    pt = np.array([40.0, 20.0, 20.0])
    x = np.array([-0.1, 0.3, -0.1])
    y = np.array([-0.15, 0.05, 0.25])
    spec = ImageSpec(n_pix=4, half_width=0.4, rotate=False, flip=False, channels=("total_pt",))
    images, _ = jet_images(pt, x, y, np.zeros(3), np.array([3]), np.array([0.0]), spec)
    assert images[0, 0, 1, 1] == pytest.approx(40.0)


def test_normalise_pt_sum():
    # Jet 0: the reference jet -> charged 30 / 40 = 0.75 at (1, 2), neutral 10 / 40 = 0.25 at (2, 0).
    # Jet 1: the "outside" jet: only the pt-100 constituent is inside, so its pixel becomes 100 / 100 = 1
    #        (the normalisation is by the pT inside the image).
    pt = np.concatenate([PT2, [100.0, 1.0, 1.0]])
    eta = np.concatenate([ETA2, [0.0, 1.0, 0.0]])
    phi = np.concatenate([PHI2, [0.0, 0.0, -1.0]])
    q = np.concatenate([Q2, [1, 1, 0]])
    counts = np.array([2, 3])
    spec = ImageSpec(n_pix=4, half_width=0.4, rotate=False, flip=False, normalise="pt_sum")
    images, n_out = jet_images(pt, eta, phi, q, counts, np.zeros(2), spec)
    raw, _ = jet_images(pt, eta, phi, q, counts, np.zeros(2), SMALL)
    assert n_out == 2
    np.testing.assert_allclose(images[:, :2].sum(axis=(1, 2, 3)), [1.0, 1.0], rtol=1e-6)
    assert images[0, 0, 1, 2] == pytest.approx(0.75)
    assert images[0, 1, 2, 0] == pytest.approx(0.25)
    assert images[1, 0, 2, 1] == pytest.approx(1.0)
    # the multiplicity channel keeps integer counts
    np.testing.assert_array_equal(images[:, 2], raw[:, 2])
    assert images[0, 2].sum() == 1.0 and images[1, 2].sum() == 1.0


def test_normalise_pt_sum_total_pt_channel():
    spec = ImageSpec(n_pix=9, half_width=0.4, normalise="pt_sum", channels=("total_pt", "multiplicity"))
    rng = np.random.default_rng(3)
    counts = np.array([4, 1, 6])
    n = int(counts.sum())
    pt = rng.uniform(1, 50, n)
    eta = rng.normal(0, 0.1, n)
    phi = rng.normal(0, 0.1, n)
    images, n_out = jet_images(pt, eta, phi, np.zeros(n), counts, np.zeros(3), spec)
    assert n_out == 0
    np.testing.assert_allclose(images[:, 0].sum(axis=(1, 2)), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(images[:, 1].sum(axis=(1, 2)), counts)


def test_image_spec_rejects_unknown_channel():
    with pytest.raises(ValueError, match="colour") as info:
        ImageSpec(channels=("charged_pt", "colour"))
    for name in CHANNELS:
        assert name in str(info.value)


def test_image_spec_rejects_unknown_normalise():
    with pytest.raises(ValueError, match="max") as info:
        ImageSpec(normalise="max")
    assert "'none'" in str(info.value) and "'pt_sum'" in str(info.value)


@pytest.mark.parametrize("kwargs", [{"n_pix": 0}, {"half_width": 0.0}, {"half_width": -0.4}])
def test_image_spec_rejects_bad_grid(kwargs):
    with pytest.raises(ValueError, match="n_pix"):
        ImageSpec(**kwargs)


def test_pixel_size():
    assert ImageSpec(n_pix=4, half_width=0.4).pixel_size == pytest.approx(0.2)
    assert ImageSpec().pixel_size == pytest.approx(0.8 / 33)
