"""Fused, compiled kernels for jet images and observables (numba), one pass per jet over its constituents.

The numpy functions in :mod:`detcnn.physics.jet_images` and :mod:`detcnn.physics.observables` are the
reference: these kernels do the same arithmetic in the same order (so sums agree bit for bit up to the
last-digit differences between numba's and numpy's transcendental functions), but keep every
intermediate in registers instead of writing a million-element array per step. Without numba the
callers fall back to the numpy reference. The exception is C_1, a second, O(n^2) pass over the jet's pairs:
it sums them row by row, with phi taken about the jet axis (computed for girth), so it agrees with the
padded numpy pairs to ~1e-15 relative, not bit for bit.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

#: Channel name -> code understood by the kernel.
CHANNEL_CODES = {"charged_pt": 0, "neutral_pt": 1, "charged_multiplicity": 2, "total_pt": 3, "multiplicity": 4}
#: Row order of :func:`observables`: the observables it fuses (:data:`detcnn.physics.observables.FUSED`).
OBSERVABLE_ORDER = ("n_constituents", "mass", "girth", "ptd", "c1_b02", "lha")
#: Whether numba is installed (it is a dependency; without it the numpy path still works). numba itself is
#: imported, and the kernels compiled (or loaded from numba's cache), on the first call that uses them: the
#: workflow's rules and most stages import this module through the rasteriser table and never call a kernel.
AVAILABLE = importlib.util.find_spec("numba") is not None
_COMPILED = False


def use_compiled(backend: str) -> bool:
    """Whether ``backend`` ('auto', 'numba' or 'numpy') means the compiled kernels here."""
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got '{backend}'")
    if backend == "numba" and not AVAILABLE:
        raise ImportError("backend 'numba' needs the numba package: pip install numba")
    return backend == "numba" or (backend == "auto" and AVAILABLE)


def _wrap(d: float) -> float:
    return (d + math.pi) % (2.0 * math.pi) - math.pi


def _centre(pt, eta, phi, jet_phi, s, e, x, y):
    """Constituents ``s:e`` of one jet about their pT-weighted centroid in (eta, delta phi about the jet axis)."""
    spt = 0.0
    seta = 0.0
    sphi = 0.0
    for i in range(s, e):
        dphi = _wrap(phi[i] - jet_phi)
        y[i] = dphi
        spt += pt[i]
        seta += pt[i] * eta[i]
        sphi += pt[i] * dphi
    safe = spt if spt > 0 else 1.0
    eta_c = seta / safe
    phi_c = sphi / safe
    for i in range(s, e):
        x[i] = eta[i] - eta_c
        y[i] = y[i] - phi_c


def _rotate(pt, s, e, x, y):
    """Turn one jet's (x, y) so that its principal axis (of the pT-weighted second moments) is vertical."""
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(s, e):
        sxx += pt[i] * x[i] * x[i]
        syy += pt[i] * y[i] * y[i]
        sxy += pt[i] * x[i] * y[i]
    alpha = 0.5 * math.pi - 0.5 * math.atan2(2.0 * sxy, sxx - syy)
    c = math.cos(alpha)
    sn = math.sin(alpha)
    for i in range(s, e):
        xi = x[i]
        yi = y[i]
        x[i] = c * xi - sn * yi
        y[i] = sn * xi + c * yi


def _flip(pt, s, e, x, y):
    """Mirror one jet's (x, y) so that the quadrant with the most pT is the one with x >= 0 and y >= 0."""
    q = np.zeros(4)
    for i in range(s, e):
        q[(1 if x[i] < 0 else 0) + (2 if y[i] < 0 else 0)] += pt[i]
    hardest = np.argmax(q)
    sign_x = -1.0 if (hardest == 1 or hardest == 3) else 1.0
    sign_y = -1.0 if hardest >= 2 else 1.0
    for i in range(s, e):
        x[i] = sign_x * x[i]
        y[i] = sign_y * y[i]


def _pixel(v, half_width, step, n_pix):
    """Pixel index floor((v + half_width) / step) of coordinate ``v``; -1 when off the ``n_pix`` grid."""
    k = math.floor((v + half_width) / step)
    return k if 0 <= k < n_pix else -1


def _in_window_pt(pt, s, e, x, y, n_pix, half_width, step):
    """Scalar pT sum of one jet's constituents that land on the image."""
    total = 0.0
    for i in range(s, e):
        if _pixel(x[i], half_width, step, n_pix) >= 0 and _pixel(y[i], half_width, step, n_pix) >= 0:
            total += pt[i]
    return total


def _weight(code, pt_i, charged, scale):
    """A constituent's contribution to a channel (``CHANNEL_CODES``); the pT channels times ``scale``."""
    if code == 0:
        w = pt_i if charged else 0.0
    elif code == 1:
        w = 0.0 if charged else pt_i
    elif code == 2:
        w = 1.0 if charged else 0.0
    elif code == 3:
        w = pt_i
    else:
        w = 1.0
    if code == 0 or code == 1 or code == 3:
        w = w * scale
    return w


def _images_kernel(pt, eta, phi, charge, offsets, jet_phi, codes, n_pix, half_width, rotate, flip, pt_sum, x, y, out):
    """Every jet's image into the flat float32 ``out`` ``(n_jets * n_chan * n_pix**2,)``; ``x``, ``y`` are
    scratch per constituent. Returns how many constituents fell outside the image."""
    n_jets = len(offsets) - 1
    n_chan = len(codes)
    step = 2.0 * half_width / n_pix
    per_image = n_pix * n_pix
    n_outside = 0
    for j in range(n_jets):
        s, e = offsets[j], offsets[j + 1]
        _centre(pt, eta, phi, jet_phi[j], s, e, x, y)
        if rotate:
            _rotate(pt, s, e, x, y)
        if flip:
            _flip(pt, s, e, x, y)
        scale = 1.0
        if pt_sum:
            total = _in_window_pt(pt, s, e, x, y, n_pix, half_width, step)
            scale = 1.0 / total if total > 0 else 1.0
        for i in range(s, e):
            ix = _pixel(x[i], half_width, step, n_pix)
            iy = _pixel(y[i], half_width, step, n_pix)
            if ix < 0 or iy < 0:
                n_outside += 1
                continue
            charged = charge[i] != 0
            for ch in range(n_chan):
                w = _weight(codes[ch], pt[i], charged, scale)
                out[j * n_chan * per_image + ch * per_image + iy * n_pix + ix] += np.float32(w)
    return n_outside


def _observables_kernel(pt, mt, eta, phi, offsets, jet_eta, jet_phi, jet_radius, beta, rel_phi, out):
    half_beta = 0.5 * beta
    for j in range(len(offsets) - 1):
        s, e = offsets[j], offsets[j + 1]
        spt = 0.0
        spt2 = 0.0
        en = 0.0
        px = 0.0
        py = 0.0
        pz = 0.0
        radial = 0.0
        angularity = 0.0
        for i in range(s, e):
            exp_eta = math.exp(eta[i])
            forward = 0.5 * mt[i] * exp_eta
            backward = 0.5 * mt[i] / exp_eta
            en += forward + backward
            pz += forward - backward
            px += pt[i] * math.cos(phi[i])
            py += pt[i] * math.sin(phi[i])
            spt += pt[i]
            spt2 += pt[i] * pt[i]
            rel_phi[i] = _wrap(phi[i] - jet_phi[j])
            dr = math.hypot(eta[i] - jet_eta[j], rel_phi[i])
            radial += pt[i] * dr
            angularity += pt[i] * math.sqrt(dr / jet_radius)
        ecf2 = 0.0  # sum over pairs i < j of pT_i pT_j dR_ij^beta: O(n^2)
        for i in range(s, e):
            pair = 0.0
            for k in range(i + 1, e):
                d_phi = rel_phi[i] - rel_phi[k]  # in (-2 pi, 2 pi): wrapped by one turn at most
                if d_phi >= math.pi:
                    d_phi -= 2.0 * math.pi
                elif d_phi < -math.pi:
                    d_phi += 2.0 * math.pi
                d_eta = eta[i] - eta[k]
                pair += pt[k] * (d_eta * d_eta + d_phi * d_phi) ** half_beta
            ecf2 += pt[i] * pair
        safe = spt if spt > 0 else 1.0
        out[0, j] = e - s
        out[1, j] = math.sqrt(max(en * en - px * px - py * py - pz * pz, 0.0))
        out[2, j] = radial / safe
        out[3, j] = math.sqrt(spt2) / safe
        out[4, j] = ecf2 / (safe * safe)
        out[5, j] = angularity / safe


def _compile() -> None:
    """Replace the kernels by their numba versions, once (the kernels call ``_wrap`` and the per-jet steps
    through this module's globals, so those are compiled, to be inlined, first)."""
    global _wrap, _pixel, _centre, _rotate, _flip, _in_window_pt, _weight
    global _images_kernel, _observables_kernel, _COMPILED
    if _COMPILED:
        return
    from numba import njit

    _wrap, _pixel, _centre, _rotate, _flip, _in_window_pt, _weight = (
        njit(cache=True, inline="always")(f) for f in (_wrap, _pixel, _centre, _rotate, _flip, _in_window_pt, _weight)
    )
    _images_kernel = njit(cache=True)(_images_kernel)
    _observables_kernel = njit(cache=True)(_observables_kernel)
    _COMPILED = True


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])


def images(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    charge: np.ndarray,
    counts: np.ndarray,
    jet_phi: np.ndarray,
    channels: tuple[str, ...],
    n_pix: int,
    half_width: float,
    rotate: bool,
    flip: bool,
    pt_sum: bool,
) -> tuple[np.ndarray, int]:
    """The compiled twin of :func:`detcnn.physics.jet_images.jet_images` (same arguments, unpacked)."""
    n_jets, n_chan = len(counts), len(channels)
    f64 = np.float64
    pt, eta, phi = (np.ascontiguousarray(a, dtype=f64) for a in (pt, eta, phi))
    out = np.zeros(n_jets * n_chan * n_pix * n_pix, dtype=np.float32)
    x, y = np.empty_like(pt), np.empty_like(pt)
    codes = np.array([CHANNEL_CODES[c] for c in channels], dtype=np.int64)
    _compile()
    n_outside = _images_kernel(
        pt, eta, phi, np.ascontiguousarray(charge), _offsets(counts), np.ascontiguousarray(jet_phi, dtype=f64),
        codes, n_pix, float(half_width), bool(rotate), bool(flip), bool(pt_sum), x, y, out,
    )  # fmt: skip
    return out.reshape(n_jets, n_chan, n_pix, n_pix), int(n_outside)


def observables(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    counts: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    mt: np.ndarray | None = None,
    *,
    jet_radius: float,
    beta: float,
) -> np.ndarray:
    """``(6, n_jets)``: constituent multiplicity, mass [GeV], girth, pT_D, C_1^(beta) and the Les Houches
    angularity (jet radius ``jet_radius``), as the numpy functions of :mod:`detcnn.physics.observables`
    (``mt``: transverse masses, default ``pt``: massless)."""
    f64 = np.float64
    out = np.empty((len(OBSERVABLE_ORDER), len(counts)))
    pt = np.ascontiguousarray(pt, dtype=f64)
    _compile()
    _observables_kernel(
        pt, pt if mt is None else np.ascontiguousarray(mt, dtype=f64),
        *(np.ascontiguousarray(a, dtype=f64) for a in (eta, phi)), _offsets(counts),
        np.ascontiguousarray(jet_eta, dtype=f64), np.ascontiguousarray(jet_phi, dtype=f64), float(jet_radius),
        float(beta), np.empty_like(pt), out,
    )  # fmt: skip
    return out
