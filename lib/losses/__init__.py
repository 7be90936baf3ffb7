from .patch_contrastive import PatchContrastiveLoss
from .prototype_contrastive import PrototypeContrastiveLoss, PrototypeMemory, class_prototypes
from .pseudo_label import (
    PseudoLabelLoss,
    class_balanced_reliable_mask,
    fuse_pseudo_labels,
    inverse_frequency_weights,
    reliable_mask,
)
from .rampup import sigmoid_rampup
from .semi_supervised import UncertaintyContrastiveLoss
from .supervised import SupervisedLoss
from .targeted_verification import TargetedVerificationLoss, disagreement_region
from .uncertainty_weighting import certainty_weights, uncertainty_weighted_cross_entropy

__all__ = [
    "PatchContrastiveLoss",
    "PrototypeContrastiveLoss",
    "PrototypeMemory",
    "PseudoLabelLoss",
    "SupervisedLoss",
    "TargetedVerificationLoss",
    "UncertaintyContrastiveLoss",
    "certainty_weights",
    "class_balanced_reliable_mask",
    "class_prototypes",
    "disagreement_region",
    "fuse_pseudo_labels",
    "inverse_frequency_weights",
    "reliable_mask",
    "sigmoid_rampup",
    "uncertainty_weighted_cross_entropy",
]
