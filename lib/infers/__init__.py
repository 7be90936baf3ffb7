from .dual_subnet_infer import WITH_SUBNETS, DualSubnetInfer, NoTrainedModelError
from .mc_dropout import McDropoutInfer
from .uncertainty_contrastive import UncertaintyContrastiveInfer
from .uncertainty_region import UncertaintyRegionInfer

__all__ = [
    "DualSubnetInfer",
    "McDropoutInfer",
    "NoTrainedModelError",
    "WITH_SUBNETS",
    "UncertaintyContrastiveInfer",
    "UncertaintyRegionInfer",
]
