from .class_map import ClassMapd
from .disagreement import SubnetDisagreementd
from .entropy import MeanUncertaintyd
from .label_counts import LabelVoxelCountsd
from .preprocessing import preprocessing

__all__ = ["ClassMapd", "LabelVoxelCountsd", "MeanUncertaintyd", "SubnetDisagreementd", "preprocessing"]
