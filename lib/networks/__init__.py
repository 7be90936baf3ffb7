from .batch_norm_folding import fold_batch_norms
from .channels_last import GradContiguousBatchNorm3d, to_channels_last
from .dual_subnet import (
    SUBNET_NAMES,
    DualSubnetSegmenter,
    StackedSubnetSoftmax,
    SubnetOutput,
    averaged_softmax,
    study_embedding,
)
from .encoder_decoder import EncoderDecoder
from .resnet34_encoder import ResNet34Encoder
from .vnet_decoder import VNetDecoder
from .vnet_encoder import VNetEncoder

__all__ = [
    "SUBNET_NAMES",
    "DualSubnetSegmenter",
    "EncoderDecoder",
    "GradContiguousBatchNorm3d",
    "ResNet34Encoder",
    "StackedSubnetSoftmax",
    "SubnetOutput",
    "VNetDecoder",
    "VNetEncoder",
    "averaged_softmax",
    "fold_batch_norms",
    "study_embedding",
    "to_channels_last",
]
