from .prototype_contrastive import PrototypeContrastiveLoss, class_prototypes
from .pseudo_label import PseudoLabelLoss, fuse_pseudo_labels, reliable_mask
from .rampup import sigmoid_rampup
from .semi_supervised import UncertaintyContrastiveLoss
from .supervised import SupervisedLoss
from .targeted_verification import TargetedVerificationLoss, disagreement_region

__all__ = [
    "PrototypeContrastiveLoss",
    "PseudoLabelLoss",
    "SupervisedLoss",
    "TargetedVerificationLoss",
    "UncertaintyContrastiveLoss",
    "class_prototypes",
    "disagreement_region",
    "fuse_pseudo_labels",
    "reliable_mask",
    "sigmoid_rampup",
]
