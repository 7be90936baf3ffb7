from .auto_intensity import AutoIntensityd
from .class_map import ClassMapd
from .disagreement import SubnetDisagreementd
from .entropy import MeanUncertaintyd
from .label_counts import LabelVoxelCountsd
from .preprocessing import preprocessing
from .strong_view import StrongView

__all__ = [
    "AutoIntensityd",
    "ClassMapd",
    "LabelVoxelCountsd",
    "MeanUncertaintyd",
    "StrongView",
    "SubnetDisagreementd",
    "preprocessing",
]
