"""Building blocks of the model zoo: each takes ``norm_layer`` / ``act_layer`` constructors and cites its paper."""

from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.dense import DenseBlock, DenseLayer, Transition
from detcnn.models.blocks.inception import InceptionModule
from detcnn.models.blocks.locally_connected import LocallyConnected2d
from detcnn.models.blocks.pointwise import Bottleneck1x1, Pointwise
from detcnn.models.blocks.separable import SeparableConv2d
from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation

__all__ = [
    "Bottleneck1x1",
    "ConvNormAct",
    "DenseBlock",
    "DenseLayer",
    "InceptionModule",
    "LocallyConnected2d",
    "Pointwise",
    "SeparableConv2d",
    "SqueezeExcitation",
    "Transition",
]
