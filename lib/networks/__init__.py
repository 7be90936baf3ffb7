from .dual_subnet import DualSubnetSegmenter, StackedSubnetSoftmax, SubnetOutput, averaged_softmax, study_embedding
from .encoder_decoder import EncoderDecoder
from .resnet34_encoder import ResNet34Encoder
from .vnet_decoder import VNetDecoder
from .vnet_encoder import VNetEncoder

__all__ = [
    "DualSubnetSegmenter",
    "EncoderDecoder",
    "ResNet34Encoder",
    "StackedSubnetSoftmax",
    "SubnetOutput",
    "VNetDecoder",
    "VNetEncoder",
    "averaged_softmax",
    "study_embedding",
]
