"""Shared fixtures: tiny jets made by hand and written as ROOT files on the fly.

awkward and uproot are imported inside the helpers, so the model and training tests also run where
only PyTorch is installed (the GPU machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """``snakemake --cores 2 <args>`` in ``workdir`` with this environment's Python and tools first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def snakemake_edited(workdir: Path, edit: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``snakemake <args>`` in ``workdir`` with its config changed by ``edit`` (a function of the config dict),
    the config file restored afterwards, whatever happened."""
    import yaml

    config_path = workdir / "config" / "config.yaml"
    original = config_path.read_text()
    cfg = yaml.safe_load(original)
    edit(cfg)
    config_path.write_text(yaml.safe_dump(cfg))
    try:
        return snakemake(workdir, *args)
    finally:
        config_path.write_text(original)


def workflow_folder(folder: Path, config: dict | None = None) -> Path:
    """``folder`` with workflow/ (workflow/Snakefile, which snakemake finds there) and config/config.yaml (the
    tiny config, or ``config``)."""
    import yaml

    shutil.copytree(ROOT / "workflow", folder / "workflow")
    (folder / "config").mkdir()
    if config is None:
        shutil.copy(ROOT / "config" / "tiny.yaml", folder / "config" / "config.yaml")
    else:
        (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny workflow run end to end in a temporary folder, tracking there too (once per session)."""
    wd = workflow_folder(tmp_path_factory.mktemp("workflow"))
    result = snakemake(wd)
    if result.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted((wd / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{result.stderr[-4000:]}\n{logs}")
    return wd


def without_studies(ds: dict) -> dict:
    """A dataset section of the tiny config without its variations and learning curve (a test of another part
    of the workflow that runs only some of its models)."""
    return {k: v for k, v in ds.items() if k not in ("variations", "variation_sample", "learning_curve")}


def seed_events(folder: Path, workdir: Path, dataset: str = "qg") -> None:
    """Copy the generated events of ``dataset`` from the tiny workflow's run into ``folder`` (times kept):
    a test of a later stage starts there instead of running Pythia again."""
    target = folder / "results" / "events" / dataset
    shutil.copytree(workdir / "results" / "events" / dataset, target, copy_function=shutil.copy2)


def assert_figure(path: Path, min_width: int = 400, min_height: int = 300, min_colours: int = 8) -> None:
    """``path`` is a PNG of at least ``min_width`` x ``min_height`` pixels with something drawn on it: at least
    ``min_colours`` distinct colours, and at least 1 % of its pixels not the background (the corner's colour)."""
    import matplotlib.image

    image = matplotlib.image.imread(path)  # (H, W, 3 or 4) floats in [0, 1]
    height, width = image.shape[:2]
    assert width >= min_width and height >= min_height, f"{path.name}: {width} x {height} pixels"
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., : image.shape[-1]] = np.round(image * 255)
    pixels = rgba.view(np.uint32).ravel()  # one number per colour: np.unique in 1-d, not row by row
    colours = len(np.unique(pixels))
    assert colours >= min_colours, f"{path.name}: {colours} colours, an empty figure?"
    drawn = np.mean(pixels != pixels[0])
    assert drawn > 0.01, f"{path.name}: {drawn:.1%} of the pixels differ from the background"


def make_jets(n: int, seed: int = 0, label: int | None = None) -> dict[str, Any]:
    """``n`` random jets following the jets file contract (GeV, radians): numpy and awkward arrays."""
    import awkward as ak

    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 30, size=n)
    total = int(counts.sum())
    jet_eta = rng.uniform(-1.5, 1.5, n)
    jet_phi = rng.uniform(-np.pi, np.pi, n)

    def jag(x: np.ndarray) -> ak.Array:
        return ak.unflatten(x, counts)

    eta = np.repeat(jet_eta, counts) + rng.normal(0, 0.1, total)
    phi = (np.repeat(jet_phi, counts) + rng.normal(0, 0.1, total) + np.pi) % (2 * np.pi) - np.pi
    labels = rng.integers(0, 2, n) if label is None else np.full(n, label)
    charge = rng.choice([-1, 0, 1], total)
    return {
        "jet_pt": rng.uniform(500, 550, n).astype(np.float32),
        "jet_eta": jet_eta.astype(np.float32),
        "jet_phi": jet_phi.astype(np.float32),
        "jet_m": rng.uniform(10, 100, n).astype(np.float32),
        "label": labels.astype(np.int32),
        "part_pt": jag(rng.exponential(15.0, total).astype(np.float32)),
        "part_eta": jag(eta.astype(np.float32)),
        "part_phi": jag(phi.astype(np.float32)),
        "part_m": jag(np.where(charge != 0, 0.13957, 0.0).astype(np.float32)),  # charged pions and photons
        "part_charge": jag(charge.astype(np.int32)),
        "part_pid": jag((211 * charge + 22 * (charge == 0)).astype(np.int32)),
    }


@pytest.fixture
def jets_file(tmp_path: Path) -> Path:
    """A ROOT file with 400 random jets."""
    from detcnn.io.events import write_events

    path = tmp_path / "jets.root"
    write_events(path, make_jets(400, seed=1))
    return path
