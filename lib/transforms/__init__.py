from .disagreement import SubnetDisagreementd
from .entropy import MeanUncertaintyd
from .label_counts import LabelVoxelCountsd
from .preprocessing import preprocessing

__all__ = ["LabelVoxelCountsd", "MeanUncertaintyd", "SubnetDisagreementd", "preprocessing"]
