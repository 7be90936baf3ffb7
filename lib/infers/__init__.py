from .dual_subnet_infer import EMBEDDING_KEY, WITH_SUBNETS, DualSubnetInfer, NoTrainedModelError
from .mc_dropout import McDropoutInfer
from .uncertainty_contrastive import UncertaintyContrastiveInfer
from .uncertainty_region import REGION_MODEL, UncertaintyRegionInfer

__all__ = [
    "DualSubnetInfer",
    "EMBEDDING_KEY",
    "McDropoutInfer",
    "NoTrainedModelError",
    "REGION_MODEL",
    "WITH_SUBNETS",
    "UncertaintyContrastiveInfer",
    "UncertaintyRegionInfer",
]
