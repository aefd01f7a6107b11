"""detcnn: particle-detector events to images to convolutional networks.

Stages (each a file-to-file step, driven by Snakemake, exposed by the ``detcnn`` CLI):
generate -> rasterise -> train / baselines -> evaluate -> report.
"""

from __future__ import annotations

__version__ = "0.1.0"
