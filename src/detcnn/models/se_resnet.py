"""SE-ResNet (Hu, Shen, Albanie, Sun, Wu, "Squeeze-and-Excitation Networks", CVPR 2018): the small ResNet of
``resnet.py`` with squeeze-and-excitation gating every residual branch before the addition.
"""

from __future__ import annotations

from detcnn.kinds import NetworkKind
from detcnn.models.registry import register_model
from detcnn.models.resnet import ResNet


@register_model("se_resnet", kind=NetworkKind.CLASSIFIER)
def se_resnet(**kwargs: object) -> ResNet:
    """The small ResNet with squeeze-and-excitation in every residual branch (Hu et al. 2018)."""
    return ResNet(se=True, **kwargs)  # type: ignore[arg-type]
