"""U-ResNet (MicroBooNE: C. Adams et al., "Deep neural network for pixel-level electromagnetic particle
identification in the MicroBooNE liquid argon time projection chamber", PRD 99 (2019) 092001): the U-Net of
``unet.py`` with a residual block (``blocks/residual.py``'s ``BasicBlock``) at every level.
"""

from __future__ import annotations

from detcnn.kinds import NetworkKind
from detcnn.models.registry import register_model
from detcnn.models.unet import UNet


@register_model("uresnet", kind=NetworkKind.SEGMENTER, takes=("n_views",))
def uresnet(**kwargs: object) -> UNet:
    """U-ResNet: the U-Net with residual blocks at every level (MicroBooNE, Adams et al. 2019)."""
    return UNet(block="residual", model_name="uresnet", **kwargs)  # type: ignore[arg-type]
