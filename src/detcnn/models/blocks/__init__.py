"""Building blocks of the model zoo: each takes ``norm_layer`` / ``act_layer`` constructors and cites its paper."""

from detcnn.models.blocks.conv import ConvNormAct, double_conv
from detcnn.models.blocks.dense import DenseBlock, DenseLayer, Transition
from detcnn.models.blocks.inception import InceptionModule, inception_chain
from detcnn.models.blocks.locally_connected import LocallyConnected2d
from detcnn.models.blocks.pointwise import Bottleneck1x1, Pointwise
from detcnn.models.blocks.residual import BLOCKS, BasicBlock, BottleneckBlock
from detcnn.models.blocks.separable import SeparableConv2d, XceptionBlock
from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation
from detcnn.models.blocks.upsample import UPSAMPLERS, UpConvTranspose, UpsampleConv

__all__ = [
    "BLOCKS",
    "UPSAMPLERS",
    "BasicBlock",
    "Bottleneck1x1",
    "BottleneckBlock",
    "ConvNormAct",
    "DenseBlock",
    "DenseLayer",
    "InceptionModule",
    "LocallyConnected2d",
    "Pointwise",
    "SeparableConv2d",
    "SqueezeExcitation",
    "Transition",
    "UpConvTranspose",
    "UpsampleConv",
    "XceptionBlock",
    "double_conv",
    "inception_chain",
]
