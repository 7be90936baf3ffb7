from .semi_supervised_iteration import SemiSupervisedIteration
from .uncertainty_contrastive import UncertaintyContrastiveTrain

__all__ = ["SemiSupervisedIteration", "UncertaintyContrastiveTrain"]
