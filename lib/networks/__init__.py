from .decoder import VNetDecoder
from .dual_subnet import DualSubnetSegmenter, StackedSubnetSoftmax, SubnetOutput, averaged_softmax
from .resnet_encoder import ResNetEncoder
from .subnet import EncoderDecoder
from .vnet_encoder import VNetEncoder

__all__ = [
    "DualSubnetSegmenter",
    "EncoderDecoder",
    "ResNetEncoder",
    "StackedSubnetSoftmax",
    "SubnetOutput",
    "VNetDecoder",
    "VNetEncoder",
    "averaged_softmax",
]
