"""Jet observables on hand-computed jets (massless constituents)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detcnn.physics import compiled
from detcnn.physics.observables import (
    OBSERVABLES,
    energy_correlation_c1,
    girth,
    jet_mass,
    jet_observables,
    les_houches_angularity,
    multiplicity,
    pt_d,
)
from tests.toy_observables import lead_pt_fraction

# Jet 0: pt 100 at (eta 0, phi 0) and pt 50 at (eta 0, phi 0.2).
#   m^2 = 2 pt1 pt2 (cosh(deta) - cos(dphi)) = 2 * 100 * 50 * (1 - cos 0.2) = 10000 * 0.0199334 = 199.334
#   m = 14.1186 GeV
#   pT_D = sqrt(100^2 + 50^2) / 150 = 111.803 / 150 = 0.745356
# Jet 1: one constituent pt 40 at (eta 1.3, phi -2.0): mass 0, pT_D = sqrt(40^2) / 40 = 1.
PT = np.array([100.0, 50.0, 40.0])
ETA = np.array([0.0, 0.0, 1.3])
PHI = np.array([0.0, 0.2, -2.0])
COUNTS = np.array([2, 1])
# jet axes: jet 0 on its pT-weighted centroid (eta 0, phi (100 * 0 + 50 * 0.2) / 150 = 1/15), jet 1 on its constituent
JET_ETA = np.array([0.0, 1.3])
JET_PHI = np.array([1.0 / 15.0, -2.0])


def test_multiplicity():
    out = multiplicity(counts=np.array([2, 1, 0, 7]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [2.0, 1.0, 0.0, 7.0])


def test_mass_two_constituents_in_phi():
    m = jet_mass(PT, ETA, PHI, COUNTS)
    assert m.shape == (2,)
    assert m[0] == pytest.approx(math.sqrt(2 * 100 * 50 * (math.cosh(0.0) - math.cos(0.2))), rel=1e-9)
    assert m[0] == pytest.approx(14.1186, abs=1e-4)
    assert m[1] == pytest.approx(0.0, abs=1e-3)  # massless constituent; only rounding of E^2 - p^2 left


def test_mass_two_constituents_in_eta():
    # pt 100 at eta 0.5 and pt 50 at eta -0.3, same phi: m^2 = 10000 (cosh 0.8 - 1) = 10000 * 0.337435 = 3374.35
    m = jet_mass(np.array([100.0, 50.0]), np.array([0.5, -0.3]), np.array([1.0, 1.0]), np.array([2]))
    assert m[0] == pytest.approx(math.sqrt(10000 * (math.cosh(0.8) - 1.0)), rel=1e-9)
    assert m[0] == pytest.approx(58.0892, abs=1e-3)


def test_mass_across_phi_wrap():
    # phi 3.10 and -3.10 are 2 pi - 6.2 = 0.083185 apart, not 6.2:
    #   1 - cos(0.083185) = 0.083185^2 / 2 - 0.083185^4 / 24 = 0.0034599 - 0.0000020 = 0.0034579
    #   m = sqrt(10000 * 0.0034579) = sqrt(34.579) = 5.8804 GeV
    m = jet_mass(np.array([100.0, 50.0]), np.zeros(2), np.array([3.10, -3.10]), np.array([2]))
    dphi = 2 * math.pi - 6.2
    assert m[0] == pytest.approx(math.sqrt(10000 * (1.0 - math.cos(dphi))), rel=1e-6)
    assert m[0] == pytest.approx(5.8804, abs=1e-3)


def test_girth_relative_to_jet_axis():
    # jet 0 about (0, 1/15): dR = 1/15 and 2/15 -> girth = (100/15 + 100/15) / 150 = 4/45 = 0.088889
    # jet 1 about its only constituent: 0
    g = girth(PT, ETA, PHI, COUNTS, JET_ETA, JET_PHI)
    np.testing.assert_allclose(g, [4.0 / 45.0, 0.0], atol=1e-12)
    # jet 0 about (0, 0): only the pt-50 one is off axis: 50 * 0.2 / 150 = 1/15
    g0 = girth(PT[:2], ETA[:2], PHI[:2], np.array([2]), np.array([0.0]), np.array([0.0]))
    assert g0[0] == pytest.approx(1.0 / 15.0)


def test_girth_with_eta_and_phi_offsets():
    # one pt-10 constituent at (eta 0.3, phi 0.4) from an axis at (0, 0): dR = hypot(0.3, 0.4) = 0.5
    g = girth(np.array([10.0]), np.array([0.3]), np.array([0.4]), np.array([1]), np.array([0.0]), np.array([0.0]))
    assert g[0] == pytest.approx(0.5)


def test_girth_uses_wrapped_delta_phi():
    # pt 10 at phi 3.10 and pt 10 at phi -3.10, axis at phi pi: |dphi| = pi - 3.10 = 0.041593 for both
    # -> girth = 0.041593 (not ~3.1 as an unwrapped difference would give)
    g = girth(
        np.array([10.0, 10.0]), np.zeros(2), np.array([3.10, -3.10]), np.array([2]), np.zeros(1), np.array([np.pi])
    )
    assert g[0] == pytest.approx(math.pi - 3.10, rel=1e-9)


def test_pt_d():
    p = pt_d(PT, COUNTS)
    np.testing.assert_allclose(p, [math.sqrt(100**2 + 50**2) / 150.0, 1.0], rtol=1e-12)
    assert p[0] == pytest.approx(0.745356, abs=1e-6)
    # n equal constituents -> 1 / sqrt(n)
    assert pt_d(np.full(16, 3.0), np.array([16]))[0] == pytest.approx(0.25)


def test_empty_jet_between_others():
    # a jet with no constituents gives 0 everywhere and does not shift its neighbours
    pt = np.concatenate([PT[:2], PT[2:]])
    counts = np.array([2, 0, 1])
    kw = {
        "pt": pt,
        "eta": ETA,
        "phi": PHI,
        "counts": counts,
        "jet_eta": np.array([0.0, 0.0, 1.3]),
        "jet_phi": np.array([1.0 / 15.0, 0.0, -2.0]),
    }
    obs = jet_observables(**kw)
    np.testing.assert_allclose(obs["n_constituents"], [2, 0, 1])
    np.testing.assert_allclose(obs["mass"], [14.1186, 0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(obs["girth"], [4.0 / 45.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(obs["ptd"], [0.745356, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(obs["c1_b02"], [2.0 / 9.0 * 0.2**0.2, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(obs["lha"][1:], [0.0, 0.0], atol=1e-12)


def test_jet_observables_dict():
    # extra arrays (charge) are accepted and ignored
    obs = jet_observables(pt=PT, eta=ETA, phi=PHI, counts=COUNTS, jet_eta=JET_ETA, jet_phi=JET_PHI, charge=np.ones(3))
    assert list(obs) == list(OBSERVABLES) == ["n_constituents", "mass", "girth", "ptd", "c1_b02", "lha"]
    for values in obs.values():
        assert values.shape == (2,)
        assert values.dtype == np.float64
    np.testing.assert_array_equal(obs["n_constituents"], [2.0, 1.0])
    assert obs["mass"][0] == pytest.approx(math.sqrt(10000 * (1 - math.cos(0.2))), rel=1e-9)
    assert obs["mass"][1] == pytest.approx(0.0, abs=1e-3)
    np.testing.assert_allclose(obs["girth"], [4.0 / 45.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(obs["ptd"], [math.sqrt(12500.0) / 150.0, 1.0], rtol=1e-12)
    # jet 0: z = 2/3, 1/3 at dR = 0.2: C1 = 2/9 * 0.2^0.2; LHA about (0, 1/15): 2/3 sqrt(1/6) + 1/3 sqrt(1/3)
    np.testing.assert_allclose(obs["c1_b02"], [2.0 / 9.0 * 0.2**0.2, 0.0], rtol=1e-12)
    np.testing.assert_allclose(obs["lha"], [2 / 3 * math.sqrt(1 / 6) + 1 / 3 * math.sqrt(1 / 3), 0.0], rtol=1e-12)


# Three constituents, pT 1, 2, 1 at (eta, phi) (0, 0), (0.3, 0), (0, 0.4): z = 1/4, 1/2, 1/4 and
# dR_12 = 0.3, dR_13 = 0.4, dR_23 = hypot(0.3, 0.4) = 0.5.
#   C1 = 1/8 0.3^0.2 + 1/16 0.4^0.2 + 1/8 0.5^0.2, with 0.3^0.2 = exp(0.2 ln 0.3) = exp(-0.240795) = 0.786003,
#   0.4^0.2 = exp(-0.183258) = 0.832553, 0.5^0.2 = exp(-0.138629) = 0.870551:
#   C1 = 0.0982504 + 0.0520346 + 0.1088189 = 0.2591038.
#   LHA about (0, 0) with R = 0.4: 1/4 * 0 + 1/2 sqrt(0.3 / 0.4) + 1/4 sqrt(0.4 / 0.4) = 0.4330127 + 0.25 = 0.6830127.
THREE = {"pt": np.array([1.0, 2.0, 1.0]), "eta": np.array([0.0, 0.3, 0.0]), "phi": np.array([0.0, 0.0, 0.4]),
         "counts": np.array([3]), "jet_eta": np.zeros(1), "jet_phi": np.zeros(1)}  # fmt: skip


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_c1_and_lha_of_three_constituents_by_hand(backend: str) -> None:
    obs = jet_observables(backend, **THREE)
    assert obs["c1_b02"][0] == pytest.approx(0.2591038, abs=2e-7)
    assert obs["lha"][0] == pytest.approx(0.6830127, abs=1e-7)
    assert energy_correlation_c1(**THREE)[0] == pytest.approx(
        0.125 * 0.3**0.2 + 0.0625 * 0.4**0.2 + 0.125 * 0.5**0.2, rel=1e-14
    )
    # the pT scale cancels; C1 grows with beta -> 0 towards sum_{i<j} z_i z_j = 5/16
    doubled = {**THREE, "pt": 2 * THREE["pt"]}
    assert energy_correlation_c1(**doubled)[0] == pytest.approx(obs["c1_b02"][0], rel=1e-14)
    assert energy_correlation_c1(**THREE, beta=1e-9)[0] == pytest.approx(5 / 16, rel=1e-8)


def test_lha_scales_with_the_jet_radius_and_uses_wrapped_phi() -> None:
    """R enters as R^-0.5 (R = 0.8 -> lambda / sqrt(2)); a constituent across phi = +-pi is 0.04 from the axis."""
    base = les_houches_angularity(**THREE)[0]
    assert les_houches_angularity(**THREE, jet_radius=0.8)[0] == pytest.approx(base / math.sqrt(2), rel=1e-14)
    for backend in ("numpy", "numba"):
        assert jet_observables(backend, jet_radius=0.8, **THREE)["lha"][0] == pytest.approx(base / math.sqrt(2))
    wrapped = les_houches_angularity(np.array([1.0, 1.0]), np.zeros(2), np.array([3.12, -3.12]), np.array([2]),
                                     np.zeros(1), np.array([math.pi]), jet_radius=0.4)  # fmt: skip
    assert wrapped[0] == pytest.approx(math.sqrt((math.pi - 3.12) / 0.4), rel=1e-9)


def test_c1_across_the_phi_wrap_and_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """phi 3.10 and -3.10 are 0.0832 apart (not 6.2): C1 = 1/4 * 0.0832^0.2; jets of 0, 1, 2 and 3
    constituents give the same C1 whether the padded chunks hold one jet or all."""
    pair = energy_correlation_c1(np.array([5.0, 5.0]), np.zeros(2), np.array([3.10, -3.10]), np.array([2]))
    assert pair[0] == pytest.approx(0.25 * (2 * math.pi - 6.2) ** 0.2, rel=1e-9)
    pt = np.concatenate([[7.0], [5.0, 5.0], THREE["pt"]])
    eta = np.concatenate([[0.1], [0.0, 0.0], THREE["eta"]])
    phi = np.concatenate([[0.2], [3.10, -3.10], THREE["phi"]])
    counts = np.array([0, 1, 2, 3])
    together = energy_correlation_c1(pt, eta, phi, counts)
    np.testing.assert_allclose(together, [0.0, 0.0, pair[0], 0.2591038], rtol=1e-6)
    from detcnn.physics import observables

    monkeypatch.setattr(observables, "PAIR_BUDGET", 1)  # one jet per chunk
    np.testing.assert_array_equal(energy_correlation_c1(pt, eta, phi, counts), together)


@pytest.mark.skipif(not compiled.AVAILABLE, reason="numba is not installed")
def test_the_fused_kernel_keeps_the_first_four_and_adds_c1_and_lha() -> None:
    """The kernel's rows are the table's built-ins in order; the first four as the numpy functions give them."""
    rows = compiled.observables(*(THREE[k] for k in ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi")),
                                jet_radius=0.4, beta=0.2)  # fmt: skip
    assert rows.shape == (6, 1)
    ref = jet_observables("numpy", **THREE)
    np.testing.assert_allclose(rows[:, 0], [ref[n][0] for n in compiled.OBSERVABLE_ORDER], rtol=1e-14)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_a_new_table_entry_is_computed_by_its_function(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One line in OBSERVABLES: its values from its function (jet 0: 100 / 150, jet 1: its one constituent),
    after the built-ins, which keep their numbers (from the fused kernel on numba)."""
    arrays = {"pt": PT, "eta": ETA, "phi": PHI, "counts": COUNTS, "jet_eta": JET_ETA, "jet_phi": JET_PHI}
    before = jet_observables(backend, **arrays)
    monkeypatch.setitem(OBSERVABLES, "lead_fraction", lead_pt_fraction)
    after = jet_observables(backend, **arrays)
    assert list(after) == ["n_constituents", "mass", "girth", "ptd", "c1_b02", "lha", "lead_fraction"]
    np.testing.assert_allclose(after["lead_fraction"], [100.0 / 150.0, 1.0], rtol=1e-15)
    for name, values in before.items():
        assert after[name].tobytes() == values.tobytes(), name


def test_a_replaced_built_in_is_not_taken_from_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused kernel stands in for a table entry only while it is the built-in function."""
    arrays = {"pt": PT, "eta": ETA, "phi": PHI, "counts": COUNTS, "jet_eta": JET_ETA, "jet_phi": JET_PHI}
    monkeypatch.setitem(OBSERVABLES, "mass", lead_pt_fraction)
    obs = jet_observables("numba", **arrays)
    np.testing.assert_allclose(obs["mass"], [100.0 / 150.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(obs["ptd"], [math.sqrt(12500.0) / 150.0, 1.0], rtol=1e-12)
