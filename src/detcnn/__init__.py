"""detcnn: particle-detector events to images to convolutional networks.

Stages (each a file-to-file step, driven by Snakemake, exposed by the ``detcnn`` CLI):
generate -> rasterise -> train / baselines -> evaluate -> report.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:  # the one version is pyproject.toml's, as installed (CHANGELOG.md says what each brought)
    __version__ = version("detcnn")
except PackageNotFoundError:  # the source tree on sys.path without an install
    __version__ = "unknown"
