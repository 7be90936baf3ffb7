from .dual_subnet_infer import DualSubnetInfer, NoTrainedModelError
from .uncertainty_contrastive import UncertaintyContrastiveInfer
from .uncertainty_region import UncertaintyRegionInfer

__all__ = ["DualSubnetInfer", "NoTrainedModelError", "UncertaintyContrastiveInfer", "UncertaintyRegionInfer"]
